"""The web server: granian reads each request whole on its event loop, then a thread runs Django on it.

A WSGI server that hands a connection to a thread before the body has arrived (gunicorn's workers, granian's
own WSGI mode) lets eight clients that send their bodies a byte at a time hold eight threads, and every
other request waits behind them. Here a request takes one of the worker's threads only once its body is
complete: a slow client costs a pending read on the loop, and is answered 408 when the read timeout passes.
Responses are collected whole before they are sent: bugstack streams none, and its static files are small.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class ServerOptions:
    """How the web server runs; each field comes from a BUGSTACK_WEB_* setting."""

    workers: int
    threads: int
    read_timeout: float
    header_timeout: float
    max_body_bytes: int
    max_buffered_bytes: int

    @classmethod
    def from_settings(cls) -> ServerOptions:
        from django.conf import settings

        return cls(
            workers=settings.BUGSTACK_WEB_WORKERS,
            threads=settings.BUGSTACK_WEB_THREADS,
            read_timeout=settings.BUGSTACK_WEB_READ_TIMEOUT,
            header_timeout=settings.BUGSTACK_WEB_HEADER_TIMEOUT,
            max_body_bytes=settings.BUGSTACK_WEB_MAX_BODY_BYTES,
            max_buffered_bytes=settings.BUGSTACK_WEB_BUFFER_BYTES,
        )


class Refusal(Exception):
    """A request answered by the server itself, before Django sees it."""

    def __init__(self, status: int, reason: bytes, headers: Headers | None = None) -> None:
        super().__init__(status, reason)
        self.status = status
        self.reason = reason
        self.headers = [(b"connection", b"close"), *(headers or [])]


class ClientGone(Exception):
    """The client closed the connection before its body was complete."""


class BufferedWSGI:
    """ASGI app that reads each request's body whole, then runs a WSGI app on it in a fixed thread pool."""

    def __init__(self, app: WSGIApp, options: ServerOptions) -> None:
        self.app = app
        self.options = options
        # Bytes of request bodies this process holds, read or being read: many large bodies at once are
        # refused (503) rather than let memory grow with the number of connections.
        self.buffered = 0
        # A fixed pool: Django's database connections are per thread and kept between requests.
        self.pool = ThreadPoolExecutor(max_workers=options.threads, thread_name_prefix="django")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # websockets are off in the server; nothing else is spoken
        try:
            body = await self.read_body(scope, receive)
        except Refusal as refusal:
            await send_whole(send, refusal.status, refusal.headers, refusal.reason)
            return
        except ClientGone:
            return
        try:
            environ = wsgi_environ(scope, body)
            loop = asyncio.get_running_loop()
            status, headers, content = await loop.run_in_executor(self.pool, call_wsgi, self.app, environ)
            await send_whole(send, status, headers, content)
        finally:
            self.buffered -= len(body)

    async def read_body(self, scope: Scope, receive: Receive) -> bytes:
        declared = declared_length(scope)
        if declared is not None and declared > self.options.max_body_bytes:
            raise Refusal(413, b"Request body too large.\n")
        try:
            async with asyncio.timeout(self.options.read_timeout):
                return await self.receive_body(receive)
        except TimeoutError:
            raise Refusal(408, b"The request body did not arrive in time.\n") from None

    async def receive_body(self, receive: Receive) -> bytes:
        """Read the body, counted in ``buffered``; the caller releases it once the request is answered."""
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientGone
                chunk = message.get("body", b"")
                size += len(chunk)
                self.buffered += len(chunk)
                # Checked as it arrives: a chunked body declares no length.
                if size > self.options.max_body_bytes:
                    raise Refusal(413, b"Request body too large.\n")
                if self.buffered > self.options.max_buffered_bytes:
                    raise Refusal(503, b"Too many request bodies at once; retry.\n", [(b"retry-after", b"1")])
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
        except BaseException:  # a refusal, a client gone, or the read timeout's cancellation
            self.buffered -= size
            raise


async def answer_lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge the server's startup and shutdown: Django is loaded when the worker imports this app."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def send_whole(send: Send, status: int, headers: Headers, content: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            # Past 18 digits no exact value is needed: the read stops at the cap anyway.
            return int(value) if value.isdigit() and len(value) <= 18 else None
    return None


def wsgi_environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """The PEP 3333 environ for an ASGI HTTP scope whose body has been read whole."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client")
    root_path = scope.get("root_path", "")
    path = scope["path"]
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        # WSGI carries the decoded path as bytes in a latin-1 str; ASGI gives it decoded from UTF-8.
        "SCRIPT_NAME": root_path.encode().decode("latin-1"),
        "PATH_INFO": path.encode().decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0] if client else "",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        # "X_Real_IP" and "X-Real-IP" would both become HTTP_X_REAL_IP: a name with an underscore is
        # dropped (as gunicorn does), so a client cannot pass off a header the proxy sets as its own.
        if "_" in name or name == "content-length":
            continue
        key = "CONTENT_TYPE" if name == "content-type" else "HTTP_" + name.upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def call_wsgi(app: WSGIApp, environ: dict[str, Any]) -> tuple[int, Headers, bytes]:
    """Run the WSGI app and return its status, headers and whole body."""
    started: dict[str, Any] = {}
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
        # Nothing has been sent before the app returns, so a later call (with exc_info) simply replaces.
        started["status"] = int(status.split(" ", 1)[0])
        started["headers"] = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        return chunks.append

    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return started["status"], started["headers"], b"".join(chunks)


def build_application() -> BufferedWSGI:
    """Load Django and wrap it; granian calls this once in each worker process."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bugstack.settings")
    from django.core.wsgi import get_wsgi_application

    return BufferedWSGI(get_wsgi_application(), ServerOptions.from_settings())


def run_server(host: str, port: int, options: ServerOptions) -> None:
    """Serve bugstack on host:port until SIGINT or SIGTERM."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings

    Granian(
        "bugstack.serving:build_application",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGINL,
        http=HTTPModes.http1,
        websockets=False,
        workers=options.workers,
        # A client that has not sent its headers within this is disconnected by granian itself.
        http1_settings=HTTP1Settings(header_read_timeout=int(options.header_timeout * 1000)),
        # A worker stuck in a request is killed this long after a stop was asked for.
        workers_kill_timeout=30,
    ).serve()
