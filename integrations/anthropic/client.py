"""The raw Messages API call: the official SDK, its retries, our bounded backoff, and errors that say
whether trying again could help.

API reference: https://docs.anthropic.com/en/api/messages and https://docs.anthropic.com/en/api/errors
"""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2

from integrations.errors import IntegrationError, ModelUnavailable, PermanentError
from integrations.providers.model import call_in_rounds

# A fix proposal is a few thousand tokens out; past this a hung connection is treated as transient.
REQUEST_TIMEOUT_SECONDS = 180.0
CONNECT_TIMEOUT_SECONDS = 10.0
# The SDK retries 408/409/429/5xx/529 itself with short exponential waits (0.5 s doubling, 8 s cap)…
SDK_MAX_RETRIES = 3
# …and callers may ask for longer waits between more rounds. By default there is one round: the pipeline's
# stage retries wait longer, and past them a run waits for the model without holding a worker asleep.
BACKOFF_ROUNDS = 1
BACKOFF_SECONDS = 10.0


def make_client(
    api_key: str,
    *,
    base_url: str | None = None,
    max_retries: int = SDK_MAX_RETRIES,
    timeout: float = REQUEST_TIMEOUT_SECONDS,
) -> anthropic.Anthropic:
    """An SDK client; ``base_url`` None lets the SDK read ``ANTHROPIC_BASE_URL`` (a gateway or the fake)."""
    return anthropic.Anthropic(
        api_key=api_key,
        base_url=base_url,
        max_retries=max_retries,
        timeout=httpx2.Timeout(timeout, connect=min(CONNECT_TIMEOUT_SECONDS, timeout)),
    )


def create_message(
    client: anthropic.Anthropic,
    params: dict[str, Any],
    *,
    rounds: int = BACKOFF_ROUNDS,
    backoff_seconds: float = BACKOFF_SECONDS,
) -> anthropic.types.Message:
    """``messages.create`` with the SDK's retries, then up to ``rounds`` more tries after a longer wait."""
    return call_in_rounds(
        lambda: client.messages.create(**params),  # https://docs.anthropic.com/en/api/messages
        lambda error: (
            translate(error, params.get("model", "")) if isinstance(error, anthropic.APIError) else None
        ),
        rounds=rounds,
        backoff_seconds=backoff_seconds,
        vendor="Anthropic",
    )


def translate(error: anthropic.APIError, model: str) -> IntegrationError:
    """Our error for an SDK error: permanent when a person must act, transient when waiting may help."""
    if isinstance(error, anthropic.APIConnectionError):  # includes timeouts
        return ModelUnavailable(f"Could not reach the Anthropic API: {error.message}")
    if not isinstance(error, anthropic.APIStatusError):
        return PermanentError(f"The Anthropic API answered something unexpected: {error.message}")
    detail = error.api_message or error.message
    status = error.status_code
    if status == 401:
        return PermanentError(
            f"Anthropic rejected the API key (401: {detail}). Check ANTHROPIC_API_KEY or the account's "
            "Anthropic credential."
        )
    if status == 403:
        return PermanentError(f"The Anthropic API key may not use this (403: {detail}).")
    if status == 404:
        return PermanentError(
            f"Model {model!r} was not found (404: {detail}). "
            "Set BUGSTACK_ANTHROPIC_MODEL to a current model id."
        )
    if status in (408, 409, 429) or status >= 500:
        retry_after = retry_after_seconds(error.response.headers)
        return ModelUnavailable(
            f"The Anthropic API is busy or failing ({status}: {detail})", retry_after=retry_after
        )
    return PermanentError(f"The Anthropic API refused the request ({status}: {detail}).")


def retry_after_seconds(headers) -> float | None:
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            return float(headers.get(name)) / scale
        except (TypeError, ValueError):
            continue
    return None
