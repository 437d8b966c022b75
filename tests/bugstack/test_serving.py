"""The web server: slow clients hold no thread, a stalled body is cut off, and requests reach Django intact.

The first tests start the real server (`manage.py serve --web-only`) on a free port with a migrated SQLite
database of their own; the rest call the ASGI app that reads bodies whole directly.
"""

import asyncio
import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from bugstack.serving import BufferedWSGI, ServerOptions

ROOT = Path(__file__).resolve().parents[2]
MANAGE = [sys.executable, str(ROOT / "manage.py")]
IN_TIME = 10  # seconds: generous, so only a server that is stuck fails
EVENT = {"exception": {"values": [{"type": "ZeroDivisionError", "value": "division by zero"}]}}


# --- the real server ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """Environment for a migrated SQLite database with one project, and that project's key."""
    path = tmp_path_factory.mktemp("serving") / "bugstack.sqlite3"
    spool = tmp_path_factory.mktemp("spool")  # the servers' own, not the checkout's var/spool
    env = {**os.environ, "DEBUG": "0", "DATABASE_URL": f"sqlite:///{path}", "BUGSTACK_SPOOL_DIR": str(spool)}
    subprocess.run([*MANAGE, "migrate", "-v0"], env=env, cwd=ROOT, check=True, timeout=120)
    created = subprocess.run(
        [*MANAGE, "createproject", "Slow clients"], env=env, cwd=ROOT, check=True, timeout=60,
        capture_output=True, text=True,
    )  # fmt: skip
    return env, json.loads(created.stdout.strip().splitlines()[-1])["key"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(env: dict[str, str], **settings: str):
    """`manage.py serve` on a free port with one worker of two threads; its port."""
    port = free_port()
    env = {**env, "BUGSTACK_WEB_WORKERS": "1", "BUGSTACK_WEB_THREADS": "2", **settings}
    server = subprocess.Popen(
        [*MANAGE, "serve", f"127.0.0.1:{port}", "--web-only"], env=env, cwd=ROOT, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until_up(port, server)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def wait_until_up(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the server exited with {server.returncode}"
        try:
            if get(port, "/healthz").status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not answer /healthz")


def get(port: int, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=IN_TIME)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    return response


def post_event(port: int, key: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=IN_TIME)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    connection.request("POST", "/api/v1/events/", body=json.dumps(EVENT), headers=headers)
    response = connection.getresponse()
    response.read()
    return response


@contextmanager
def slow_clients(port: int, key: str, count: int):
    """Clients that send an event's headers, then its body a byte every half second; their sockets."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=IN_TIME)
        sock.sendall(
            b"POST /api/v1/events/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + key.encode() + b"\r\nContent-Length: 100000\r\n\r\n{"
        )
        sockets.append(sock)
    stop = threading.Event()

    def drip() -> None:
        while not stop.wait(0.5):
            for sock in sockets:
                with suppress(OSError):  # the server has cut this one off
                    sock.sendall(b" ")

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        yield sockets
    finally:
        stop.set()
        dripper.join()
        for sock in sockets:
            sock.close()


def unanswered(sock: socket.socket) -> bool:
    """Still open, with nothing from the server yet (an answer or a close would make it readable)."""
    readable, _, _ = select.select([sock], [], [], 0)
    return not readable


def test_eight_slow_clients_do_not_hold_up_an_event_or_the_health_check(database):
    env, key = database
    with running_server(env, BUGSTACK_WEB_READ_TIMEOUT="120") as port, slow_clients(port, key, 8) as slow:
        time.sleep(1)  # every slow client's headers are in and its body has begun

        assert post_event(port, key).status == 202
        assert get(port, "/healthz").status == 200
        assert all(unanswered(sock) for sock in slow)


def test_a_body_that_does_not_arrive_in_time_is_cut_off(database):
    env, key = database
    with running_server(env, BUGSTACK_WEB_READ_TIMEOUT="2") as port, slow_clients(port, key, 1) as slow:
        slow[0].settimeout(30)
        answer = slow[0].recv(4096)
        assert answer.startswith(b"HTTP/1.1 408 ")
        rest = answer
        while chunk := slow[0].recv(4096):
            rest += chunk
        assert b"did not arrive in time" in rest  # then the server closed the connection

        assert post_event(port, key).status == 202


def test_headers_that_do_not_arrive_in_time_are_cut_off(database):
    env, _ = database
    with running_server(env, BUGSTACK_WEB_HEADER_TIMEOUT="2") as port:
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(b"POST /api/v1/events/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        stop = threading.Event()

        def drip_headers() -> None:
            while not stop.wait(0.5):
                with suppress(OSError):
                    sock.sendall(b"X-Padding: a\r\n")

        dripper = threading.Thread(target=drip_headers, daemon=True)
        dripper.start()
        try:
            assert sock.recv(4096) == b""  # closed, though headers were still arriving
        finally:
            stop.set()
            dripper.join()
            sock.close()
        assert get(port, "/healthz").status == 200


# --- the app that reads bodies whole --------------------------------------------------------------------


def echo_environ(environ, start_response):
    """A WSGI app that answers with what it was given."""
    body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    seen = {k: v for k, v in environ.items() if k.isupper()} | {"body": body.decode()}
    start_response("200 OK", [("Content-Type", "application/json"), ("X-Seen", "yes")])
    return [json.dumps(seen).encode()]


def scope(headers: list[tuple[bytes, bytes]], method: str = "POST") -> dict:
    return {
        "type": "http", "http_version": "1.1", "method": method, "scheme": "http", "root_path": "",
        "path": "/api/v1/événements/", "query_string": b"a=1&b=%20", "headers": headers,
        "server": ("127.0.0.1", 8000), "client": ("10.1.2.3", 50000),
    }  # fmt: skip


def call(app: BufferedWSGI, request_scope: dict, messages: list[dict]) -> list[dict]:
    """Run the ASGI app on one request whose body arrives as ``messages``; what it sent."""
    return asyncio.run(handle(app, request_scope, messages))


async def handle(app: BufferedWSGI, request_scope: dict, messages: list[dict]) -> list[dict]:
    sent: list[dict] = []

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()  # the client sends nothing more
        raise AssertionError("unreachable")

    async def send(message: dict) -> None:
        sent.append(message)

    await app(request_scope, receive, send)
    return sent


@pytest.fixture
def app():
    options = ServerOptions(
        workers=1, threads=2, read_timeout=0.5, header_timeout=1, max_body_bytes=64, max_buffered_bytes=100
    )
    buffered = BufferedWSGI(echo_environ, options)
    yield buffered
    buffered.pool.shutdown()


def test_a_request_reaches_the_wsgi_app_as_sent(app):
    headers = [
        (b"content-type", b"application/json"),
        (b"x-bugstack-key", b"k1"),
        (b"accept", b"text/html"),
        (b"accept", b"application/json"),
    ]
    chunks = [
        {"type": "http.request", "body": b'{"a":', "more_body": True},
        {"type": "http.request", "body": b"1}"},
    ]

    start, body = call(app, scope(headers), chunks)

    assert start["status"] == 200 and (b"x-seen", b"yes") in start["headers"]
    seen = json.loads(body["body"])
    assert seen["body"] == '{"a":1}' and seen["CONTENT_LENGTH"] == "7"
    assert seen["PATH_INFO"] == "/api/v1/événements/".encode().decode("latin-1")
    assert seen["QUERY_STRING"] == "a=1&b=%20" and seen["REQUEST_METHOD"] == "POST"
    assert seen["REMOTE_ADDR"] == "10.1.2.3" and seen["SERVER_PORT"] == "8000"
    assert seen["CONTENT_TYPE"] == "application/json" and seen["HTTP_X_BUGSTACK_KEY"] == "k1"
    assert seen["HTTP_ACCEPT"] == "text/html,application/json"


def test_a_header_spelled_with_underscores_cannot_pass_for_a_proxy_header(app):
    headers = [(b"x_real_ip", b"1.2.3.4")]

    _, body = call(app, scope(headers, "GET"), [{"type": "http.request", "body": b""}])

    assert "HTTP_X_REAL_IP" not in json.loads(body["body"])


def test_a_declared_body_over_the_cap_is_refused_unread(app):
    start, body = call(app, scope([(b"content-length", b"65")]), [])

    assert start["status"] == 413 and (b"connection", b"close") in start["headers"]
    assert body["body"] == b"Request body too large.\n"


def test_a_chunked_body_over_the_cap_is_refused_as_it_arrives(app):
    chunk = {"type": "http.request", "body": b"x" * 40, "more_body": True}

    start, _ = call(app, scope([]), [chunk, dict(chunk)])

    assert start["status"] == 413


def test_a_body_that_stops_arriving_is_answered_408(app):
    start, body = call(app, scope([]), [{"type": "http.request", "body": b"{", "more_body": True}])

    assert start["status"] == 408 and b"did not arrive in time" in body["body"]


def test_a_client_gone_before_its_body_is_complete_gets_no_answer(app):
    messages = [{"type": "http.request", "body": b"{", "more_body": True}, {"type": "http.disconnect"}]

    assert call(app, scope([]), messages) == []


def test_bodies_past_the_process_budget_at_once_are_refused_503(app):
    waiting = [{"type": "http.request", "body": b"x" * 60, "more_body": True}]  # then stalls: 408
    arriving = [{"type": "http.request", "body": b"y" * 50}]

    async def both():
        return await asyncio.gather(handle(app, scope([]), waiting), handle(app, scope([]), arriving))

    first, second = asyncio.run(both())

    assert first[0]["status"] == 408
    assert second[0]["status"] == 503 and (b"retry-after", b"1") in second[0]["headers"]


def test_refused_and_abandoned_bodies_leave_the_budget_whole(app):
    stalled = {"type": "http.request", "body": b"x" * 40, "more_body": True}
    assert call(app, scope([]), [dict(stalled)])[0]["status"] == 408
    assert call(app, scope([]), [dict(stalled), dict(stalled)])[0]["status"] == 413
    assert call(app, scope([]), [dict(stalled), {"type": "http.disconnect"}]) == []

    start, _ = call(app, scope([]), [{"type": "http.request", "body": b"z" * 60}])

    assert start["status"] == 200
