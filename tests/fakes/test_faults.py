"""The fault plan does to plain clients what it says: per route and call count, each kind as documented."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import anthropic
import pytest
import requests
from github import Github, GithubException

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.faults import FaultPlan
from tests.fakes.github import FakeGitHub

REPO = "acme/shop"
MESSAGES = "POST /v1/messages"
REQUEST = {"model": "claude-test", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def github():
    with FakeGitHub() as fake:
        fake.add_repo(REPO, files={"README.md": "# Shop\n"})
        yield fake


@pytest.fixture
def claude():
    with FakeAnthropic() as fake:
        yield fake


def readme(github: FakeGitHub, timeout: float = 5) -> requests.Response:
    return requests.get(f"{github.base_url}/repos/{REPO}/contents/README.md", timeout=timeout)


def sdk(fake: FakeAnthropic, **options) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="k", base_url=fake.base_url, **options)


def test_a_rule_fires_on_the_calls_it_names_counted_on_its_route(github):
    github.fail("GET /contents/README", "503", calls=[2, 3])
    requests.get(f"{github.base_url}/repos/{REPO}", timeout=5)  # another route: not counted

    statuses = [readme(github).status_code for _ in range(4)]

    assert statuses == [200, 503, 503, 200]
    assert github.faults.rules[0].as_json() | {"route": None} == {
        "route": None,
        "kind": "503",
        "calls": [2, 3],
        "seen": 4,
        "fired": 2,
        "arrived": False,
    }


def test_github_rate_limits_carry_their_documented_messages_and_headers(github):
    github.fail("GET /contents/", "secondary_rate_limit", retry_after=7)
    github.fail("GET /contents/", "rate_limit", calls=[2])
    github.fail("GET /contents/", "429", calls=[3], retry_after=3)

    secondary, primary, too_many = readme(github), readme(github), readme(github)

    assert secondary.status_code == 403 and secondary.headers["Retry-After"] == "7"
    assert secondary.json()["message"].startswith("You have exceeded a secondary rate limit.")
    assert primary.status_code == 403 and primary.headers["X-RateLimit-Remaining"] == "0"
    assert int(primary.headers["X-RateLimit-Reset"]) > time.time()
    assert too_many.status_code == 429 and too_many.headers["Retry-After"] == "3"


def test_a_reset_closes_the_connection_without_an_answer(github):
    github.fail("GET /contents/", "reset")

    with pytest.raises(requests.ConnectionError):
        readme(github)
    assert readme(github).status_code == 200


def test_a_timeout_answers_only_after_the_client_gave_up(github):
    github.fail("GET /contents/", "timeout", seconds=2)

    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        readme(github, timeout=0.5)
    assert time.monotonic() - started < 2


def test_a_lost_response_does_the_work_and_a_reset_after_work_too(github):
    client = Github(
        base_url=github.base_url, retry=None, seconds_between_writes=0, seconds_between_requests=0
    )
    repo = client.get_repo(REPO)
    main = repo.get_git_ref("heads/main").object.sha
    github.fail("POST /git/refs$", "lost_response")
    github.fail("POST /git/refs$", "reset", calls=[2], after_work=True)

    with pytest.raises(GithubException) as lost:
        repo.create_git_ref("refs/heads/one", main)
    with pytest.raises(requests.ConnectionError):
        repo.create_git_ref("refs/heads/two", main)

    assert lost.value.status == 502
    assert {"refs/heads/one", "refs/heads/two"} <= set(github.repo(REPO).refs)


def test_a_slow_body_sends_headers_at_once_and_trickles_the_body(github):
    github.fail("GET /contents/", "slow_body", seconds=1)

    started = time.monotonic()
    with requests.get(f"{github.base_url}/repos/{REPO}/contents/README.md", timeout=5, stream=True) as answer:
        headers_after = time.monotonic() - started
        body = answer.content
    assert headers_after < 0.5
    assert time.monotonic() - started >= 0.9
    assert json.loads(body)["path"] == "README.md"


def test_a_held_request_waits_for_release_and_its_arrival_is_signalled(github):
    github.hold("GET /contents/", seconds=30)
    answers = []
    caller = threading.Thread(target=lambda: answers.append(readme(github).status_code))
    caller.start()

    assert github.held("GET /contents/").wait(5)
    time.sleep(0.2)
    assert answers == []  # still held
    assert github.release() == 1
    caller.join(5)
    assert answers == [200]


def test_a_hold_ends_by_itself_at_its_deadline(github):
    github.hold("GET /contents/", seconds=0.3)

    assert readme(github).status_code == 200
    assert github.held("GET /contents/").is_set()


def test_the_older_inject_shorthand_is_a_rule_of_the_plan(github):
    github.inject("/contents/", "502", times=1, method="GET")

    assert [readme(github).status_code, readme(github).status_code] == [502, 200]


def test_model_faults_are_anthropic_errors_the_sdk_retries_or_reports(claude):
    claude.fail(MESSAGES, "529", times=2, retry_after=0.01)
    claude.fail(MESSAGES, "429", calls=[3], retry_after=0.01)
    claude.queue_text("hello")

    reply = sdk(claude, max_retries=3).messages.create(**REQUEST)

    assert reply.content[0].text == "hello"
    assert len(claude.requests) == 4
    claude.fail(MESSAGES, "401", message="invalid x-api-key")
    with pytest.raises(anthropic.AuthenticationError, match="invalid x-api-key"):
        sdk(claude, max_retries=3).messages.create(**REQUEST)


def test_a_lost_model_answer_used_its_reply_and_a_reset_did_not(claude):
    claude.queue_text("first")
    claude.queue_text("second")
    claude.fail(MESSAGES, "lost_response")
    claude.fail(MESSAGES, "reset", calls=[2])

    with pytest.raises(anthropic.InternalServerError):
        sdk(claude, max_retries=0).messages.create(**REQUEST)
    with pytest.raises(anthropic.APIConnectionError):
        sdk(claude, max_retries=0).messages.create(**REQUEST)

    assert sdk(claude, max_retries=0).messages.create(**REQUEST).content[0].text == "second"


def test_a_model_call_past_the_clients_timeout_is_a_timeout(claude):
    claude.queue_text("late")
    claude.fail(MESSAGES, "timeout", seconds=2)

    with pytest.raises(anthropic.APITimeoutError):
        sdk(claude, max_retries=0, timeout=0.5).messages.create(**REQUEST)
    assert claude.pending == 1  # the work was never done


def test_a_plan_file_is_loaded_and_checked(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"faults": [{"route": "POST /pulls$", "kind": "hold", "seconds": 5}]}))
    plan = FaultPlan()

    (rule,) = plan.load_file(path)

    assert (rule.method, rule.kind, rule.seconds, rule.calls) == ("POST", "hold", 5.0, frozenset({1}))
    with pytest.raises(ValueError, match="unknown fault"):
        plan.add("GET /x", "explode")
    with pytest.raises(ValueError, match="METHOD PATTERN"):
        plan.add("/pulls", "502")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_standalone_fake_takes_its_plan_from_a_file_and_is_released_over_http(tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps([{"route": "POST /v1/messages", "kind": "hold", "seconds": 30}]))
    responses = tmp_path / "responses.json"
    responses.write_text(
        json.dumps([{"root_cause": "r", "explanation": "e", "confidence": 0.5, "edits": []}])
    )
    port = free_port()
    command = [sys.executable, "-m", "tests.fakes.anthropic", "--port", str(port)]
    command += ["--responses", str(responses), "--faults", str(plan)]
    process = subprocess.Popen(  # noqa: S603 - our own module
        command, cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE, text=True
    )
    try:
        assert "fake Anthropic" in process.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        answers = []
        caller = threading.Thread(
            target=lambda: answers.append(
                requests.post(f"{base}/v1/messages", json=REQUEST, headers={"x-api-key": "k"}, timeout=10)
            )
        )
        caller.start()
        deadline = time.monotonic() + 5
        while not requests.get(f"{base}/_faults", timeout=5).json()["faults"][0]["arrived"]:
            assert time.monotonic() < deadline, "the held request never arrived"
            time.sleep(0.05)

        assert requests.post(f"{base}/_faults/release", json={}, timeout=5).json() == {"released": 1}
        caller.join(10)
        assert answers[0].status_code == 200
        assert answers[0].json()["content"][0]["input"]["root_cause"] == "r"
    finally:
        process.terminate()
        process.wait(timeout=10)
