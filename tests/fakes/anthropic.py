"""A local HTTP server speaking Anthropic's Messages API, so the real ``anthropic`` SDK can be exercised.

Python API (tests and end-to-end runs)::

    with FakeAnthropic() as fake:                  # listens on 127.0.0.1, a free port
        fake.queue_tool_input({"root_cause": …})   # the next reply calls propose_fix with this input
        fake.queue_error(529, times=3)             # the next three replies are overload errors
        fake.fail("POST /v1/messages", "529", times=None, retry_after=0.01)   # the fault plan
        fake.fail("POST /v1/messages", "reset", calls=[2])                    # (tests.fakes.faults)
        fake.hold("POST /v1/messages"); fake.held("POST /v1/messages").wait(5); fake.release()
        client = anthropic.Anthropic(api_key="k", base_url=fake.base_url)
        …
        fake.requests                              # every request received: path, headers, JSON body

Replies are served in the order they were queued; with the queue empty the fake answers 500 with
``x-should-retry: false``, so a test that forgot to queue something fails at once and says why.
Queued errors are scripted replies, served in their turn and carrying ``retry-after-ms: 1`` so the SDK's
own retries do not slow tests down. Faults by route and call count (5xx, 429, timeouts, resets, lost
answers, slow bodies, holds) come from the fault plan, which is checked before the queue: a request
failed before the work leaves the queue as it was, one failed after it (``lost_response``) used a reply.

Standalone: ``python -m tests.fakes.anthropic --port 8766 --responses FILE [--faults FILE]`` where the
responses FILE is a JSON list of tool inputs returned in order. ``GET /_requests`` returns what was
recorded, ``/_faults`` the fault plan.
"""

from __future__ import annotations

import json
import math
from typing import Any

from tests.fakes.faults import Answer, Rule
from tests.fakes.model_api import ModelAPIFake, fault_status, serve_standalone, standalone_parser

# https://docs.anthropic.com/en/api/errors
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


class FakeAnthropic(ModelAPIFake):
    thread_name = "fake-anthropic"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._cached_prefixes: set[str] = set()
        super().__init__(host, port)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    # --- what to answer --------------------------------------------------------------------------

    def queue_tool_input(
        self, tool_input: dict[str, Any], *, name: str = "propose_fix", stop_reason: str = "tool_use"
    ) -> None:
        """The next reply: the model calls tool ``name`` with ``tool_input``."""
        self._queue({"kind": "tool", "input": tool_input, "name": name, "stop_reason": stop_reason})

    def queue_text(self, text: str) -> None:
        """The next reply: plain text, no tool call."""
        self._queue({"kind": "text", "text": text})

    def queue_error(self, status: int, message: str = "", *, times: int = 1, retry_after_ms: int = 1) -> None:
        """The next ``times`` replies: an API error with ``status`` (e.g. 429, 529, 500, 401, 404)."""
        for _ in range(times):
            self._queue(
                {"kind": "error", "status": status, "message": message, "retry_after_ms": retry_after_ms}
            )

    # --- serving ---------------------------------------------------------------------------------

    @staticmethod
    def error_body(status: int, message: str) -> dict[str, Any]:
        return error_body(status, message)

    @staticmethod
    def fault_answer(rule: Rule) -> Answer:
        return fault_answer(rule)

    def _answer(self, path: str, headers, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        if path.split("?")[0] != "/v1/messages":
            return 404, error_body(404, f"no route POST {path}"), {}
        if not (headers.get("x-api-key") or headers.get("authorization")):
            return 401, error_body(401, "x-api-key header is required"), {}
        reply = self._next_reply()
        if reply is None:
            return 500, error_body(500, "the fake has no reply queued"), {"x-should-retry": "false"}
        if reply["kind"] == "error":
            status = reply["status"]
            message = reply["message"] or ERROR_TYPES.get(status, "error")
            return status, error_body(status, message), {"retry-after-ms": str(reply["retry_after_ms"])}
        return 200, self._message(body, reply), {}

    def _message(self, body: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        number = len(self.requests)
        if reply["kind"] == "tool":
            content = [
                {
                    "type": "tool_use",
                    "id": f"toolu_fake_{number}",
                    "name": reply["name"],
                    "input": reply["input"],
                }
            ]
            stop_reason = reply["stop_reason"]
        else:
            content = [{"type": "text", "text": reply["text"]}]
            stop_reason = "end_turn"
        return {
            "id": f"msg_fake_{number}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", ""),
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": self._usage(body, content),
        }

    def _usage(self, body: dict[str, Any], content: list[dict[str, Any]]) -> dict[str, int]:
        """Token counts estimated at four characters a token; a cache_control'd prefix is cached once."""
        prefix = json.dumps([body.get("tools"), body.get("system")], sort_keys=True)
        total = len(json.dumps(body)) // 4
        cached = len(prefix) // 4 if "cache_control" in prefix else 0
        with self._lock:
            seen = prefix in self._cached_prefixes
            self._cached_prefixes.add(prefix)
        return {
            "input_tokens": total - cached,
            "output_tokens": max(len(json.dumps(content)) // 4, 1),
            "cache_creation_input_tokens": 0 if seen else cached,
            "cache_read_input_tokens": cached if seen else 0,
        }


def fault_answer(rule: Rule) -> Answer:
    """The Messages API's answer for a failing rule of the fault plan."""
    status = fault_status(rule)
    message = rule.message or ERROR_TYPES.get(status, "error").replace("_", " ")
    headers = {}
    if status == 429 or status >= 500:
        # https://docs.anthropic.com/en/api/rate-limits#response-headers — whole seconds in retry-after;
        # retry-after-ms is the SDK's finer hint, which lets tests ask for short waits.
        headers = {
            "retry-after": str(math.ceil(rule.retry_after)),
            "retry-after-ms": str(round(rule.retry_after * 1000)),
        }
    return status, error_body(status, message), headers


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message}}


def main(argv: list[str] | None = None) -> None:
    parser = standalone_parser("A local fake of Anthropic's Messages API.", 8766, "tool inputs")
    args = parser.parse_args(argv)
    fake = FakeAnthropic(args.host, args.port)
    serve_standalone(fake, args, fake.queue_tool_input, "fake Anthropic Messages API")


if __name__ == "__main__":
    main()
