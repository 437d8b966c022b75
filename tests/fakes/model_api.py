"""What the model APIs' fakes share (``tests.fakes.anthropic``, ``tests.fakes.openai``): replies queued and
served in turn, every POST recorded, the fault plan checked before the queue, JSON answers, and the control
routes (``GET /_requests``, the plan's ``/_faults``). A subclass says how its API answers: ``_answer`` for a
request, ``error_body`` for an error, ``fault_answer`` for a failing rule of the plan."""

from __future__ import annotations

import argparse
import collections
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.faults import Answer, Rule, control, serve_with_faults, write_body
from tests.fakes.server import FakeServer

MAX_BODY_BYTES = 10 * 1024 * 1024


def fault_status(rule: Rule) -> int:
    """The status a model API answers for a failing rule: its rate limits are 429s, a timeout a 504."""
    if rule.kind in ("429", "rate_limit", "secondary_rate_limit"):
        return 429
    if rule.kind == "timeout":
        return 504
    if rule.kind == "lost_response":
        return 502
    return int(rule.kind)


class ModelAPIFake(FakeServer):
    request_id_header = "request-id"

    def __init__(self, host: str, port: int) -> None:
        self._replies: collections.deque[dict[str, Any]] = collections.deque()
        self._requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        super().__init__(host, port, self._handler_class())

    def _queue(self, reply: dict[str, Any]) -> None:
        with self._lock:
            self._replies.append(reply)

    def _next_reply(self) -> dict[str, Any] | None:
        with self._lock:
            return self._replies.popleft() if self._replies else None

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request received so far, oldest first: ``{"path", "headers", "body"}``."""
        with self._lock:
            return list(self._requests)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._replies)

    # --- what a subclass says ------------------------------------------------------------------------

    def _answer(self, path: str, headers, body: dict[str, Any]) -> Answer:
        raise NotImplementedError

    @staticmethod
    def error_body(status: int, message: str) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def fault_answer(rule: Rule) -> Answer:
        raise NotImplementedError

    # --- serving -------------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read fake.requests
                pass

            def do_GET(self) -> None:
                if self.path == "/_requests":
                    self._send((200, fake.requests, {}))
                elif (answer := control(fake.faults, "GET", self.path, None)) is not None:
                    self._send(answer)
                else:
                    self._send((404, fake.error_body(404, f"no route GET {self.path}"), {}))

            def do_POST(self) -> None:
                try:
                    length = int(self.headers.get("content-length") or 0)
                except ValueError:
                    length = -1
                if not 0 <= length <= MAX_BODY_BYTES:
                    self.close_connection = True
                    self._send((413, fake.error_body(413, "the body is too large or has no length"), {}))
                    return
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except (json.JSONDecodeError, UnicodeDecodeError):
                    self._send((400, fake.error_body(400, "the request body is not JSON"), {}))
                    return
                if (answer := control(fake.faults, "POST", self.path, body)) is not None:
                    self._send(answer)
                    return
                with fake._lock:
                    fake._requests.append(
                        {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                    )
                serve_with_faults(
                    fake.faults,
                    self,
                    "POST",
                    self.path.split("?")[0],
                    lambda: fake._answer(self.path, self.headers, body),
                    fake.fault_answer,
                    self._send,
                )

            def _send(self, answer: Answer, seconds: float = 0) -> None:
                status, payload, headers = answer
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.send_header(fake.request_id_header, f"req_fake_{len(fake.requests)}")
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    write_body(self, fake.faults, data, seconds)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

        return Handler


def standalone_parser(description: str, port: int, responses: str) -> argparse.ArgumentParser:
    """The command line every model API's fake takes when run on its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--responses", help=f"JSON file: a list of {responses}, returned in order")
    parser.add_argument("--faults", metavar="FILE", help="a JSON fault plan (see tests.fakes.faults)")
    return parser


def serve_standalone(
    fake: ModelAPIFake, args: argparse.Namespace, queue: Callable[[Any], None], title: str
) -> None:
    """Load the fault plan and the replies the command line names, say where the fake listens, serve."""
    if args.faults:
        fake.faults.load_file(args.faults)
    if args.responses:
        with open(args.responses, encoding="utf-8") as handle:
            for reply in json.load(handle):
                queue(reply)
    print(f"{title} on {fake.base_url}", flush=True)
    fake.serve_until_interrupted()
