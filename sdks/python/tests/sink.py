"""A local ingest endpoint for the SDK's tests: records what arrives and answers as each test scripts it."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Sink:
    """``replies`` are (status, headers) answered in turn, then 202; ``hang`` holds every request open."""

    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    replies: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    hang: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def dsn(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://public-key@{host}:{port}/7"

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
        return list(self.received)

    def record(self, item: Received) -> None:
        with self.arrived:
            self.received.append(item)
            self.arrived.notify_all()


def start_sink() -> Sink:
    sink: Sink

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            sink.record(Received(self.path, dict(self.headers), body))
            if sink.hang.is_set():
                sink.release.wait(30)
                return
            status, headers = sink.replies.popleft() if sink.replies else (202, {})
            payload = json.dumps({"id": body.get("event_id")} if status == 202 else {"detail": "refused"})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload.encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    sink = Sink(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return sink
