"""The raw chat-completions call: the official SDK, its retries, our bounded backoff, and errors that say
whether trying again could help.

API reference: https://platform.openai.com/docs/api-reference/chat/create and
https://platform.openai.com/docs/guides/error-codes
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import openai
from django.utils import timezone
from openai.types.chat import ChatCompletion

from integrations.errors import IntegrationError, ModelUnavailable, PermanentError
from integrations.providers.model import call_in_rounds

CONNECT_TIMEOUT_SECONDS = 10.0
# The SDK retries connection errors, 408/409/429 and 5xx itself, with short waits that honour Retry-After.
SDK_MAX_RETRIES = 2
# One round by default: past it the pipeline's stage retries wait longer, then the run waits for the model.
BACKOFF_ROUNDS = 1
BACKOFF_SECONDS = 10.0
# The SDK will not start without a key; servers that ask for none (vLLM, Ollama, llama.cpp run locally)
# accept any.
NO_KEY = "no-key"


def make_client(
    api_key: str, *, base_url: str | None, timeout: float, max_retries: int = SDK_MAX_RETRIES
) -> openai.OpenAI:
    """An SDK client; ``base_url`` None lets the SDK read ``OPENAI_BASE_URL`` (a gateway or the fake)."""
    return openai.OpenAI(
        api_key=api_key or NO_KEY,
        base_url=base_url or None,
        max_retries=max_retries,
        timeout=httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT_SECONDS, timeout)),
    )


def create_completion(
    client: openai.OpenAI,
    params: dict[str, Any],
    *,
    rounds: int = BACKOFF_ROUNDS,
    backoff_seconds: float = BACKOFF_SECONDS,
) -> ChatCompletion:
    """``chat.completions.create`` with the SDK's retries, then up to ``rounds`` more tries after a longer
    wait."""
    return call_in_rounds(
        # https://platform.openai.com/docs/api-reference/chat/create
        lambda: client.chat.completions.create(**params),
        lambda error: (
            translate(error, params.get("model", "")) if isinstance(error, openai.APIError) else None
        ),
        rounds=rounds,
        backoff_seconds=backoff_seconds,
        vendor="OpenAI-compatible",
    )


def translate(error: openai.APIError, model: str) -> IntegrationError:
    """Our error for an SDK error: permanent when a person must act, transient when waiting may help."""
    if isinstance(error, openai.APIConnectionError):  # includes timeouts
        return ModelUnavailable(f"Could not reach the OpenAI-compatible server: {error.message}")
    if not isinstance(error, openai.APIStatusError):
        return PermanentError(f"The OpenAI-compatible server answered something unexpected: {error.message}")
    detail = api_message(error)
    status = error.status_code
    if status == 401:
        return PermanentError(
            f"The OpenAI-compatible server rejected the API key (401: {detail}). Check the account's "
            "OpenAI-compatible credential, or OPENAI_API_KEY."
        )
    if status == 403:
        return PermanentError(f"The OpenAI-compatible API key may not use this (403: {detail}).")
    if status == 404:
        return PermanentError(
            f"Model {model!r} or the chat-completions endpoint was not found (404: {detail}). Check the "
            "project's model name and base URL (it usually ends in /v1)."
        )
    if status in (408, 409, 429) or status >= 500:
        return ModelUnavailable(
            f"The OpenAI-compatible server is busy or failing ({status}: {detail})",
            retry_after=retry_after_seconds(error.response.headers),
        )
    return PermanentError(f"The OpenAI-compatible server refused the request ({status}: {detail}).")


def api_message(error: openai.APIStatusError) -> str:
    """The error body's own message (``{"error": {"message": …}}``), shortened: servers echo prompts."""
    body = error.body
    message = body.get("message") if isinstance(body, dict) else None
    return (message if isinstance(message, str) and message else error.message)[:500]


def retry_after_seconds(headers) -> float | None:
    """The wait a server asks for: ``retry-after-ms``, or ``retry-after`` in seconds or as an HTTP date."""
    try:
        return float(headers.get("retry-after-ms")) / 1000
    except (TypeError, ValueError):
        pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(value) - timezone.now()).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None
