"""``OpenAIProvider``: a model behind an OpenAI-compatible chat-completions API proposes a fix.

It is asked exactly what Claude is asked (``integrations.providers.prompt``) and its answer is checked the
same way (``integrations.providers.proposal``), then by the patch policy. With tool calls, the model must
call ``propose_fix`` (``tool_choice: "required"`` with one tool: the form vLLM, llama.cpp and OpenAI all
understand). Many local models cannot call tools: for them the same input is asked for as a JSON-only
answer. Either way a malformed reply is named precisely and sent back to the model once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from integrations.openai.client import (
    BACKOFF_ROUNDS,
    BACKOFF_SECONDS,
    SDK_MAX_RETRIES,
    create_completion,
    make_client,
)
from integrations.providers import FixRequest, Usage
from integrations.providers.model import ModelProvider
from integrations.providers.prompt import (
    INSTRUCTIONS,
    JSON_ONLY_INSTRUCTIONS,
    PROPOSAL_SCHEMA,
    TOOL_DESCRIPTION,
    TOOL_NAME,
    user_prompt,
)
from integrations.providers.proposal import MalformedProposal

# An answer larger than this is no search/replace fix; it is refused before it is parsed.
MAX_ANSWER_CHARS = 1_000_000
TOOL = {
    "type": "function",
    "function": {"name": TOOL_NAME, "description": TOOL_DESCRIPTION, "parameters": PROPOSAL_SCHEMA},
}
PING = "Answer with the single word: ready"
PING_MAX_TOKENS = 32


class OpenAIProvider(ModelProvider):
    name = "openai"

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout: float = 180.0,
        max_output_tokens: int = 8192,
        tool_calls: bool = True,
        max_retries: int = SDK_MAX_RETRIES,
        backoff_rounds: int = BACKOFF_ROUNDS,
        backoff_seconds: float = BACKOFF_SECONDS,
    ) -> None:
        self.api_key = api_key
        self.model = model
        self.max_output_tokens = max_output_tokens
        self.tool_calls = tool_calls
        self.client = make_client(api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)
        self.backoff_rounds = backoff_rounds
        self.backoff_seconds = backoff_seconds

    def ask(self, params: dict[str, Any]) -> Any:
        return create_completion(
            self.client, params, rounds=self.backoff_rounds, backoff_seconds=self.backoff_seconds
        )

    def proposal_input(self, reply: Any) -> Mapping[str, Any]:
        return self.answer(reply, self.call_in(reply))

    def corrected(self, params: dict[str, Any], reply: Any, problem: str) -> dict[str, Any]:
        return with_correction(params, first_message(reply), self.call_in(reply), problem)

    def add_usage(self, total: Usage, reply: Any) -> Usage:
        return added_usage(total, reply.usage)

    def call_in(self, reply: Any) -> Any | None:
        """The ``propose_fix`` tool call of the reply, when the model is asked for tool calls."""
        return tool_call(first_message(reply)) if self.tool_calls else None

    def initial_params(self, request: FixRequest) -> dict[str, Any]:
        instructions = INSTRUCTIONS if self.tool_calls else f"{INSTRUCTIONS}\n{JSON_ONLY_INSTRUCTIONS}"
        params: dict[str, Any] = {
            "model": self.model,
            # max_tokens rather than max_completion_tokens: the name every compatible server knows.
            "max_tokens": self.max_output_tokens,
            "messages": [
                {"role": "system", "content": instructions},
                {"role": "user", "content": user_prompt(request, secrets=[self.api_key])},
            ],
        }
        if self.tool_calls:
            return {**params, "tools": [TOOL], "tool_choice": "required"}
        return {**params, "response_format": {"type": "json_object"}}

    def answer(self, completion, call) -> Mapping[str, Any]:
        """The ``propose_fix`` input the reply carries, in a tool call or as its whole text."""
        if not completion.choices:
            raise MalformedProposal("the reply had no choices")
        choice = completion.choices[0]
        if choice.finish_reason == "length":
            raise MalformedProposal(
                "the reply was cut off at the output token limit; propose a smaller change"
            )
        if not self.tool_calls:
            return decode(choice.message.content or "", "the answer")
        if call is None:
            raise MalformedProposal(f"the reply did not call {TOOL_NAME}")
        return decode(call.function.arguments or "", f"the {TOOL_NAME} arguments")

    def ping(self) -> str:
        """The model's answer to a tiny request, asked once: what "test connection" shows."""
        completion = create_completion(
            self.client.with_options(max_retries=0),
            {
                "model": self.model,
                "max_tokens": PING_MAX_TOKENS,
                "messages": [{"role": "user", "content": PING}],
            },
            rounds=1,
        )
        message = completion.choices[0].message if completion.choices else None
        return ((message.content if message else "") or "").strip()[:200]


def first_message(completion) -> Any | None:
    return completion.choices[0].message if completion.choices else None


def tool_call(message) -> Any | None:
    calls = (message.tool_calls or []) if message is not None else []
    return next(
        (call for call in calls if getattr(call, "function", None) and call.function.name == TOOL_NAME), None
    )


def decode(text: str, what: str) -> Mapping[str, Any]:
    """A JSON object from the model's text, bounded before it is parsed; a code fence around it is allowed."""
    if len(text) > MAX_ANSWER_CHARS:
        raise MalformedProposal(f"{what} is longer than {MAX_ANSWER_CHARS} characters")
    text = text.strip()
    if text.startswith("```"):
        text = text.partition("\n")[2].rstrip().removesuffix("```")
    try:
        data = json.loads(text)
    except ValueError:
        raise MalformedProposal(f"{what} is not valid JSON") from None
    if not isinstance(data, Mapping):
        raise MalformedProposal(f"{what} is not a JSON object")
    return data


def with_correction(params: dict[str, Any], message, call, problem: str) -> dict[str, Any]:
    """The conversation so far plus a turn telling the model what was wrong with its reply."""
    correction = f"Your {TOOL_NAME} answer was not usable: {problem}. Answer again with a valid input."
    if call is None:
        assistant = {"role": "assistant", "content": (message.content if message else None) or ""}
        reply = {"role": "user", "content": correction}
    else:
        # Only the call answered here goes back: every tool call sent must be answered by a tool message.
        assistant = {
            "role": "assistant",
            "content": message.content,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": call.function.arguments},
                }
            ],
        }
        reply = {"role": "tool", "tool_call_id": call.id, "content": correction}
    return {**params, "messages": [*params["messages"], assistant, reply]}


def added_usage(total: Usage, usage) -> Usage:
    """Prompt tokens the server read from its cache are counted apart, as Anthropic's usage counts them."""
    if usage is None:  # some compatible servers report none
        return total
    details = getattr(usage, "prompt_tokens_details", None)
    cached = (getattr(details, "cached_tokens", None) or 0) if details else 0
    prompt = usage.prompt_tokens or 0
    return Usage(
        input_tokens=total.input_tokens + max(prompt - cached, 0),
        output_tokens=total.output_tokens + (usage.completion_tokens or 0),
        cache_creation_input_tokens=total.cache_creation_input_tokens,
        cache_read_input_tokens=total.cache_read_input_tokens + cached,
    )
