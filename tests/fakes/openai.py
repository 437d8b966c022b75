"""A local HTTP server speaking OpenAI's chat-completions API, so the real ``openai`` SDK can be exercised.

Python API (tests and end-to-end runs)::

    with FakeOpenAI() as fake:                     # listens on 127.0.0.1, a free port
        fake.queue_tool_arguments({"root_cause": …})   # the next reply calls propose_fix with these
        fake.queue_text('{"root_cause": …}')       # the next reply is text (a JSON-only answer, a ping)
        fake.queue_error(429, times=2)             # the next two replies are rate limits with Retry-After
        fake.fail("POST /chat/completions", "503", times=None)   # the fault plan (tests.fakes.faults)
        client = openai.OpenAI(api_key="k", base_url=fake.base_url)
        …
        fake.requests                              # every request received: path, headers, JSON body

Replies are served in the order they were queued; with the queue empty the fake answers 500 with
``x-should-retry: false``, so a test that forgot to queue something fails at once and says why. Errors carry
OpenAI's error body (``{"error": {"message", "type", "param", "code"}}``); 429 and 5xx carry
``retry-after`` (whole seconds) and ``retry-after-ms``, which the SDK prefers, so tests stay fast. With
``api_key`` set, a request with another key gets OpenAI's 401. Faults by route and call count come from the
fault plan, checked before the queue.

Standalone: ``python -m tests.fakes.openai --port 8767 --responses FILE [--faults FILE]`` where the
responses FILE is a JSON list of ``propose_fix`` arguments returned in order. ``GET /_requests`` returns
what was recorded, ``/_faults`` the fault plan.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from tests.fakes.faults import Answer, Rule
from tests.fakes.model_api import ModelAPIFake, fault_status, serve_standalone, standalone_parser

ROUTE = "/v1/chat/completions"
# https://platform.openai.com/docs/guides/error-codes — (type, code) of each status's error body.
ERRORS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    413: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", None),
    503: ("server_error", None),
    504: ("server_error", None),
}


class FakeOpenAI(ModelAPIFake):
    thread_name = "fake-openai"
    request_id_header = "x-request-id"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, api_key: str | None = None) -> None:
        self.api_key = api_key
        super().__init__(host, port)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    # --- what to answer --------------------------------------------------------------------------

    def queue_tool_arguments(
        self, arguments: dict[str, Any] | str, *, name: str = "propose_fix", finish_reason: str = "tool_calls"
    ) -> None:
        """The next reply: the model calls tool ``name``; ``arguments`` as given if a string, else as JSON."""
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        self._queue({"kind": "tool", "arguments": raw, "name": name, "finish_reason": finish_reason})

    def queue_text(self, text: str, *, finish_reason: str = "stop") -> None:
        """The next reply: plain text, no tool call."""
        self._queue({"kind": "text", "text": text, "finish_reason": finish_reason})

    def queue_error(
        self, status: int, message: str = "", *, times: int = 1, retry_after: float = 0.001
    ) -> None:
        """The next ``times`` replies: an API error with ``status`` (e.g. 429, 503, 401, 404)."""
        for _ in range(times):
            self._queue({"kind": "error", "status": status, "message": message, "retry_after": retry_after})

    # --- serving ---------------------------------------------------------------------------------

    @staticmethod
    def error_body(status: int, message: str) -> dict[str, Any]:
        return error_body(status, message)

    @staticmethod
    def fault_answer(rule: Rule) -> Answer:
        return fault_answer(rule)

    def _answer(self, path: str, headers, body: dict[str, Any]) -> Answer:
        if path.split("?")[0] != ROUTE:
            return 404, error_body(404, f"Unknown request URL: POST {path}."), {}
        authorization = headers.get("authorization") or ""
        if not authorization.startswith("Bearer ") or (
            self.api_key is not None and authorization != f"Bearer {self.api_key}"
        ):
            return 401, error_body(401, "Incorrect API key provided."), {}
        reply = self._next_reply()
        if reply is None:
            return 500, error_body(500, "the fake has no reply queued"), {"x-should-retry": "false"}
        if reply["kind"] == "error":
            status = reply["status"]
            return status, error_body(status, reply["message"]), retry_headers(status, reply["retry_after"])
        return 200, self._completion(body, reply), {}

    def _completion(self, body: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        number = len(self.requests)
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
        if reply["kind"] == "tool":
            message["tool_calls"] = [
                {
                    "id": f"call_fake_{number}",
                    "type": "function",
                    "function": {"name": reply["name"], "arguments": reply["arguments"]},
                }
            ]
        else:
            message["content"] = reply["text"]
        return {
            "id": f"chatcmpl-fake-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": [
                {"index": 0, "message": message, "finish_reason": reply["finish_reason"], "logprobs": None}
            ],
            "usage": usage(body, message),
        }


def usage(body: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    """Token counts estimated at four characters a token."""
    prompt = len(json.dumps(body)) // 4
    completion = max(len(json.dumps(message)) // 4, 1)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


def fault_answer(rule: Rule) -> Answer:
    """The API's answer for a failing rule of the fault plan."""
    status = fault_status(rule)
    return status, error_body(status, rule.message), retry_headers(status, rule.retry_after)


def retry_headers(status: int, seconds: float) -> dict[str, str]:
    if status != 429 and status < 500:
        return {}
    return {"retry-after": str(math.ceil(seconds)), "retry-after-ms": str(round(seconds * 1000))}


def error_body(status: int, message: str) -> dict[str, Any]:
    kind, code = ERRORS.get(status, ("server_error", None))
    text = message or f"The fake answers {status}."
    return {"error": {"message": text, "type": kind, "param": None, "code": code}}


def main(argv: list[str] | None = None) -> None:
    parser = standalone_parser(
        "A local fake of OpenAI's chat-completions API.", 8767, "propose_fix arguments"
    )
    parser.add_argument("--api-key", help="refuse requests with any other key (401)")
    args = parser.parse_args(argv)
    fake = FakeOpenAI(args.host, args.port, api_key=args.api_key)
    serve_standalone(fake, args, fake.queue_tool_arguments, "fake OpenAI chat completions API")


if __name__ == "__main__":
    main()
