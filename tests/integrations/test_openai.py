"""OpenAIProvider driven through the real openai SDK against the local chat-completions fake."""

import json
import re
import socket
import subprocess
import sys
import urllib.request

import pytest

from integrations.errors import ModelUnavailable, PermanentError, TransientError
from integrations.openai import OpenAIProvider
from integrations.openai.provider import MAX_ANSWER_CHARS
from integrations.providers import Edit
from tests.fakes.openai import FakeOpenAI
from tests.integrations.test_anthropic import GOOD_INPUT, INJECTION, fix_request

API_KEY = "sk-proj-test-key-for-the-openai-fake-0123456789"
ROUTE = "POST /chat/completions"


@pytest.fixture
def fake():
    with FakeOpenAI(api_key=API_KEY) as server:
        yield server


def provider(fake, **options):
    return OpenAIProvider(
        api_key=API_KEY, model="local-coder", base_url=fake.base_url, backoff_seconds=0.01, **options
    )


def sent(fake, number: int = 0) -> dict:
    return fake.requests[number]["body"]


def test_a_tool_call_becomes_a_proposal_with_usage_and_audit_trail(fake):
    fake.queue_tool_arguments(GOOD_INPUT)

    proposal = provider(fake).propose(fix_request())

    assert proposal.edits == (Edit(**GOOD_INPUT["edits"][0]),)
    assert proposal.new_files[0].path == "tests/test_average_rating.py"
    assert (proposal.confidence, proposal.provider, proposal.model) == (0.85, "openai", "local-coder")
    assert proposal.usage.input_tokens > 0 and proposal.usage.output_tokens > 0
    assert json.loads(proposal.prompt)["messages"] == sent(fake)["messages"]
    arguments = json.loads(proposal.response)[0]["choices"][0]["message"]["tool_calls"][0]["function"]
    assert json.loads(arguments["arguments"]) == GOOD_INPUT


def test_the_request_forces_the_shared_tool_with_the_projects_limits(fake):
    from integrations.anthropic.prompt import TOOL as ANTHROPIC_TOOL

    fake.queue_tool_arguments(GOOD_INPUT)

    provider(fake, max_output_tokens=2048).propose(fix_request())

    body = sent(fake)
    assert body["model"] == "local-coder" and body["max_tokens"] == 2048
    assert body["tool_choice"] == "required"
    function = body["tools"][0]["function"]
    assert function["name"] == "propose_fix"
    assert function["parameters"] == ANTHROPIC_TOOL["input_schema"]  # one schema for every model
    assert "never instructions" in body["messages"][0]["content"]
    assert fake.requests[0]["headers"]["Authorization"] == f"Bearer {API_KEY}"


def test_prompt_fences_untrusted_text_and_carries_no_secret(fake):
    fake.queue_tool_arguments(GOOD_INPUT)
    leaked = "sk-proj-" + "Z9y8X7w6" * 4
    request = fix_request(message=f"division by zero. {INJECTION} {leaked}")

    proposal = provider(fake).propose(request)

    user = sent(fake)["messages"][1]["content"]
    fenced = re.search(r'<(data-[0-9a-f]{12}) source="error">\n(.*?)\n</\1>', user, re.S)
    assert fenced and INJECTION in fenced.group(2)
    assert user.count(INJECTION) == 1
    for secret in (leaked, API_KEY):
        assert secret not in proposal.prompt
        assert secret not in json.dumps(sent(fake)["messages"])


def test_a_malformed_call_is_answered_with_a_tool_message_then_the_corrected_one_is_used(fake):
    fake.queue_tool_arguments({**GOOD_INPUT, "edits": [{"path": "shop/catalog.py", "replace": "x"}]})
    fake.queue_tool_arguments(GOOD_INPUT)

    proposal = provider(fake).propose(fix_request())

    assert proposal.edits == (Edit(**GOOD_INPUT["edits"][0]),)
    assistant, tool = sent(fake, 1)["messages"][-2:]
    assert assistant["tool_calls"][0]["id"] == tool["tool_call_id"] == "call_fake_1"
    assert tool["role"] == "tool" and "edits[0].search must be a string" in tool["content"]
    assert len(json.loads(proposal.response)) == 2


@pytest.mark.parametrize(
    ("first", "problem"),
    [
        ("{not json", "the propose_fix arguments is not valid JSON"),
        ('["a list"]', "is not a JSON object"),
    ],
)
def test_arguments_that_are_not_a_json_object_are_named_to_the_model(fake, first, problem):
    fake.queue_tool_arguments(first)
    fake.queue_tool_arguments(GOOD_INPUT)

    provider(fake).propose(fix_request())

    assert problem in sent(fake, 1)["messages"][-1]["content"]


def test_malformed_twice_is_a_transient_error_naming_the_field(fake):
    fake.queue_tool_arguments({**GOOD_INPUT, "confidence": "very"})
    fake.queue_tool_arguments({**GOOD_INPUT, "confidence": 7})

    with pytest.raises(TransientError, match="confidence must be a number from 0 to 1"):
        provider(fake).propose(fix_request())


def test_a_reply_cut_off_at_the_token_limit_is_sent_back(fake):
    fake.queue_tool_arguments('{"root_cause": "A product', finish_reason="length")
    fake.queue_tool_arguments(GOOD_INPUT)

    proposal = provider(fake).propose(fix_request())

    assert proposal.confidence == 0.85
    assert "cut off at the output token limit" in sent(fake, 1)["messages"][-1]["content"]


def test_an_answer_past_the_size_bound_is_refused_unparsed(fake):
    fake.queue_tool_arguments(" " * (MAX_ANSWER_CHARS + 1))
    fake.queue_tool_arguments(GOOD_INPUT)

    provider(fake).propose(fix_request())

    assert f"longer than {MAX_ANSWER_CHARS} characters" in sent(fake, 1)["messages"][-1]["content"]


def test_without_tool_calls_a_json_only_answer_is_asked_for_and_checked_the_same_way(fake):
    fake.queue_text("Here you go: no JSON at all")
    fake.queue_text("```json\n" + json.dumps(GOOD_INPUT) + "\n```")

    proposal = provider(fake, tool_calls=False).propose(fix_request())

    body = sent(fake)
    assert "tools" not in body and body["response_format"] == {"type": "json_object"}
    assert "answer instead with\none JSON object" in body["messages"][0]["content"]
    correction = sent(fake, 1)["messages"][-2:]
    assert correction[0] == {"role": "assistant", "content": "Here you go: no JSON at all"}
    assert correction[1]["role"] == "user" and "the answer is not valid JSON" in correction[1]["content"]
    assert proposal.edits == (Edit(**GOOD_INPUT["edits"][0]),)


def test_a_rate_limit_with_retry_after_is_waited_out_by_the_sdk(fake):
    fake.queue_error(429, "Rate limit reached for requests", retry_after=0.05)
    fake.queue_tool_arguments(GOOD_INPUT)

    proposal = provider(fake).propose(fix_request())

    assert proposal.confidence == 0.85 and len(fake.requests) == 2


def test_a_failing_server_past_the_retries_is_model_unavailable_with_its_retry_after(fake):
    fake.fail(ROUTE, "503", times=None, retry_after=7, message="The engine is currently overloaded")

    with pytest.raises(ModelUnavailable, match="503: The engine is currently overloaded") as caught:
        provider(fake, max_retries=0).propose(fix_request())

    assert caught.value.retry_after == 7
    assert len(fake.requests) == 1


def test_a_reset_connection_is_retried_by_the_sdk(fake):
    fake.fail(ROUTE, "reset", calls=[1])
    fake.queue_tool_arguments(GOOD_INPUT)

    assert provider(fake).propose(fix_request()).confidence == 0.85


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, "rejected the API key \\(401: Incorrect API key provided"),
        (403, "may not use this \\(403"),
        (404, "Model 'local-coder' or the chat-completions endpoint was not found"),
    ],
)
def test_refusals_are_permanent_with_a_clear_reason_and_not_retried(fake, status, expected):
    fake.queue_error(status, "Incorrect API key provided." if status == 401 else "")

    with pytest.raises(PermanentError, match=expected):
        provider(fake).propose(fix_request())

    assert len(fake.requests) == 1


def test_a_wrong_key_is_refused_by_the_fake_as_by_openai(fake):
    wrong = OpenAIProvider(api_key="sk-wrong", model="local-coder", base_url=fake.base_url)

    with pytest.raises(PermanentError, match="rejected the API key"):
        wrong.propose(fix_request())


def test_an_unreachable_server_is_model_unavailable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    unreachable = OpenAIProvider(api_key=API_KEY, model="m", base_url=closed, max_retries=0)

    with pytest.raises(ModelUnavailable, match="Could not reach the OpenAI-compatible server"):
        unreachable.propose(fix_request())


def test_ping_shows_the_models_answer_or_the_error(fake):
    fake.queue_text("ready")

    assert provider(fake).ping() == "ready"
    assert sent(fake)["max_tokens"] <= 32

    fake.queue_error(503)
    with pytest.raises(ModelUnavailable):
        provider(fake).ping()
    assert len(fake.requests) == 2  # asked once: a person is waiting for the answer


def test_fake_runs_standalone_with_a_responses_file(tmp_path):
    responses = tmp_path / "responses.json"
    responses.write_text(json.dumps([GOOD_INPUT]))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai", "--port", str(port), "--responses", str(responses)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = f"http://127.0.0.1:{port}/v1"
        assert server.stdout.readline().strip() == f"fake OpenAI chat completions API on {base_url}"
        proposal = OpenAIProvider(api_key=API_KEY, model="m", base_url=base_url).propose(fix_request())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_requests") as response:  # noqa: S310 - local
            recorded = json.load(response)
    finally:
        server.terminate()
        server.wait(timeout=10)

    assert proposal.edits == (Edit(**GOOD_INPUT["edits"][0]),)
    assert recorded[0]["path"] == "/v1/chat/completions"
    assert recorded[0]["body"]["tools"][0]["function"]["name"] == "propose_fix"
