"""``AnthropicProvider``: Claude proposes a fix through a forced ``propose_fix`` tool call.

Why a tool call rather than SEARCH/REPLACE blocks in text: Aider measured code inside JSON a few points
worse than markdown blocks for Claude 3.5 Sonnet, but that was whole-file code in JSON; here the JSON holds
short search/replace snippets, where escaping costs little. In exchange a forced tool call gives a reply
whose shape the API guarantees (no prose around the blocks to parse, no ambiguity about which file a block
belongs to), and explanation, root cause and confidence arrive as typed fields. Whatever arrives is still
checked here (shape) and then by the patch policy (content), so a malformed reply is named precisely and
sent back to the model once as a tool error before we give up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from integrations.anthropic.client import (
    BACKOFF_ROUNDS,
    BACKOFF_SECONDS,
    SDK_MAX_RETRIES,
    create_message,
    make_client,
)
from integrations.anthropic.prompt import TOOL, system_blocks
from integrations.providers import FixRequest, Usage
from integrations.providers.model import ModelProvider
from integrations.providers.prompt import TOOL_NAME, user_prompt
from integrations.providers.proposal import MalformedProposal

MAX_OUTPUT_TOKENS = 8192


class AnthropicProvider(ModelProvider):
    name = "anthropic"
    speaker = "Claude"

    def __init__(
        self,
        *,
        api_key: str,
        model: str | None = None,
        base_url: str | None = None,
        max_retries: int = SDK_MAX_RETRIES,
        backoff_rounds: int = BACKOFF_ROUNDS,
        backoff_seconds: float = BACKOFF_SECONDS,
        timeout: float | None = None,
    ) -> None:
        self.api_key = api_key
        self.model = model or settings.BUGSTACK_ANTHROPIC_MODEL
        if timeout is None:
            timeout = settings.BUGSTACK_ANTHROPIC_TIMEOUT
        self.client = make_client(api_key, base_url=base_url, max_retries=max_retries, timeout=timeout)
        self.backoff_rounds = backoff_rounds
        self.backoff_seconds = backoff_seconds

    def ask(self, params: dict[str, Any]) -> Any:
        return create_message(
            self.client, params, rounds=self.backoff_rounds, backoff_seconds=self.backoff_seconds
        )

    def proposal_input(self, reply: Any) -> Mapping[str, Any]:
        return tool_input(reply, tool_use_block(reply))

    def corrected(self, params: dict[str, Any], reply: Any, problem: str) -> dict[str, Any]:
        return with_correction(params, reply, tool_use_block(reply), problem)

    def add_usage(self, total: Usage, reply: Any) -> Usage:
        return added_usage(total, reply.usage)

    def initial_params(self, request: FixRequest) -> dict[str, Any]:
        return {
            "model": self.model,
            "max_tokens": MAX_OUTPUT_TOKENS,
            "system": system_blocks(),
            "tools": [TOOL],
            "tool_choice": {"type": "tool", "name": TOOL_NAME},
            "messages": [{"role": "user", "content": user_prompt(request, secrets=[self.api_key])}],
        }


def tool_use_block(message) -> Any | None:
    return next(
        (block for block in message.content if block.type == "tool_use" and block.name == TOOL_NAME), None
    )


def tool_input(message, block) -> Mapping[str, Any]:
    if message.stop_reason == "max_tokens":
        raise MalformedProposal("the reply was cut off at the output token limit; propose a smaller change")
    if block is None:
        raise MalformedProposal(f"the reply did not call {TOOL_NAME}")
    if not isinstance(block.input, Mapping):
        raise MalformedProposal(f"the {TOOL_NAME} input is not an object")
    return block.input


def with_correction(params: dict[str, Any], message, block, problem: str) -> dict[str, Any]:
    """The conversation so far plus a turn telling the model what was wrong with its reply."""
    correction = (
        f"Your {TOOL_NAME} call was not usable: {problem}. Call {TOOL_NAME} again with a valid input."
    )
    if block is None:
        reply: Any = correction
    else:
        reply = [{"type": "tool_result", "tool_use_id": block.id, "is_error": True, "content": correction}]
    assistant = {
        "role": "assistant",
        "content": [item.model_dump(mode="json", exclude_none=True) for item in message.content],
    }
    return {**params, "messages": [*params["messages"], assistant, {"role": "user", "content": reply}]}


def added_usage(total: Usage, usage) -> Usage:
    return Usage(
        input_tokens=total.input_tokens + (usage.input_tokens or 0),
        output_tokens=total.output_tokens + (usage.output_tokens or 0),
        cache_creation_input_tokens=total.cache_creation_input_tokens
        + (usage.cache_creation_input_tokens or 0),
        cache_read_input_tokens=total.cache_read_input_tokens + (usage.cache_read_input_tokens or 0),
    )
