"""Slow clients and ingest throughput: `manage.py serve` (granian) against gunicorn's workers.

    make bench-deps && DATABASE_URL=postgres://… python bench/serving.py

The servers run on 127.0.0.1, on the configured database: bugstack's and gunicorn's threaded workers with
2 processes × 4 threads, gunicorn's sync workers with 4 processes. First, for each, eight clients send an
event's headers and then its body a byte a second; with them connected, a ninth client posts a real event
and another asks for ``/healthz``, each allowed 30 s; then the slow clients are watched until the server
cuts them off (or 45 s pass). Then ingest throughput, the servers alternated for
``--rounds`` rounds: wrk on ``POST /api/v1/events/`` with bench/ingest.py's events, connections and CPU
accounting. Prints its runs on stderr and one JSON line last; deletes what it created.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import (  # noqa: E402 - the checkout's root is put on the path first
    INGEST_PATH,
    ROOT,
    LoadResult,
    clean_up,
    connection_spread,
    create_bench_project,
    free_port,
    median_cpu,
    run_wrk,
    sample_event,
    setup_django,
    wait_until_up,
)

WORKERS, THREADS = 2, 4
SLOW_CLIENTS = 8
ANSWER_WITHIN = 30  # seconds the ninth client and the health check wait
CUT_OFF_WITHIN = 45  # seconds the slow clients are watched


def server_commands(port: int) -> dict[str, list[str]]:
    bind = f"127.0.0.1:{port}"
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    return {
        "manage.py serve": [sys.executable, str(ROOT / "manage.py"), "serve", bind, "--web-only"],
        # As README recommended before for ingest: threads, and (as bench/ingest.py) a listening socket per
        # worker, so the kernel spreads connections over them by a hash.
        "gunicorn gthread": [
            gunicorn, "bugstack.wsgi", "--bind", bind, "--workers", str(WORKERS),
            "--worker-class", "gthread", "--threads", str(THREADS), "--reuse-port",
        ],
        # As README recommended before for production: four sync workers.
        "gunicorn sync": [gunicorn, "bugstack.wsgi", "--bind", bind, "--workers", str(2 * WORKERS)],
    }  # fmt: skip


@contextmanager
def server(name: str):
    """One of the servers on a free port: its port and its session (every process it starts is in it)."""
    port = free_port()
    env = {**os.environ, "BUGSTACK_WEB_WORKERS": str(WORKERS), "BUGSTACK_WEB_THREADS": str(THREADS)}
    process = subprocess.Popen(
        server_commands(port)[name], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until_up(port, process)
        yield port, process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- slow clients ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer in time
    seconds: float


@dataclass(frozen=True)
class SlowClientResult:
    spread: tuple[int, ...] | None  # slow clients held by each server process, most first
    event: Answer
    health: Answer
    cut_off: list[str]  # what each slow client got: its status line, "closed" or "open"
    cut_off_after_s: float | None  # when the last one was cut off


def timed_request(port: int, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Answer:
    started = time.monotonic()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=ANSWER_WITHIN)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        status: int | None = response.status
    except OSError:
        status = None
    return Answer(status, round(time.monotonic() - started, 3))


def open_slow_clients(port: int, key: str) -> list[socket.socket]:
    head = (
        f"POST {INGEST_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-Bugstack-Key: {key}\r\nContent-Length: 100000\r\n\r\n{{"
    ).encode()
    sockets = []
    for _ in range(SLOW_CLIENTS):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(head)
        sockets.append(sock)
    return sockets


def drip(sockets: list[socket.socket], stop: threading.Event) -> None:
    while not stop.wait(1):
        for sock in sockets:
            with suppress(OSError):
                sock.sendall(b" ")


def watch_cut_off(sockets: list[socket.socket], started: float) -> tuple[list[str], float | None]:
    """Wait for the server to answer or close each slow client; what each got, and when the last did."""
    outcome = ["open"] * len(sockets)
    last = None
    for sock in sockets:
        sock.setblocking(False)
    while "open" in outcome and time.monotonic() - started < CUT_OFF_WITHIN:
        for n, sock in enumerate(sockets):
            if outcome[n] != "open":
                continue
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            outcome[n] = data.split(b"\r\n", 1)[0].decode("latin-1") if data else "closed"
            last = round(time.monotonic() - started, 1)
        time.sleep(0.2)
    return outcome, last


def slow_clients(port: int, session: int, key: str) -> SlowClientResult:
    sockets = open_slow_clients(port, key)
    started = time.monotonic()
    stop = threading.Event()
    dripper = threading.Thread(target=drip, args=(sockets, stop), daemon=True)
    dripper.start()
    try:
        time.sleep(1.5)  # every slow client's headers are in and its body has begun
        spread = connection_spread(session, port)
        body = json.dumps(sample_event("SlowClientsError")).encode()
        headers = {"Content-Type": "application/json", "X-Bugstack-Key": key}
        event = timed_request(port, "POST", INGEST_PATH, body, headers)
        health = timed_request(port, "GET", "/healthz", None, {})
        outcome, last = watch_cut_off(sockets, started)
    finally:
        stop.set()
        dripper.join()
        for sock in sockets:
            sock.close()
    return SlowClientResult(spread, event, health, outcome, last)


# --- the run --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="duration of each measured wrk run")
    parser.add_argument("--rounds", type=int, default=4, help="rounds, the servers alternated in each")
    parser.add_argument("--connections", type=int, default=2 * WORKERS * THREADS, help="wrk connections")
    parser.add_argument("--errors", type=int, default=100, help="distinct errors the load rotates through")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: run `make bench-deps` (apt-get install wrk)")

    setup_django()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    account, key = create_bench_project()
    connection.close()  # the servers are other processes; this one only cleans up at the end
    names = list(server_commands(0))
    bodies = [json.dumps(sample_event(f"CartError{n}")).encode() for n in range(args.errors)]
    headers = {"Content-Type": "application/json", "X-Bugstack-Key": key.public_key}
    slow: dict[str, SlowClientResult] = {}
    load: dict[str, list[LoadResult]] = {name: [] for name in names}
    print(f"database: {connection.vendor}; {WORKERS} processes × {THREADS} threads each", file=sys.stderr)
    try:
        for name in names:
            with server(name) as (port, session):
                slow[name] = slow_clients(port, session, key.public_key)
            print(f"{name}, {SLOW_CLIENTS} slow clients: {slow[name]}", file=sys.stderr)
        for _ in range(args.rounds):
            for name in names:
                with server(name) as (port, session):
                    url = f"http://127.0.0.1:{port}{INGEST_PATH}"
                    run_wrk(url, bodies, headers, args.connections, 2)  # warm-up
                    load[name].append(run_wrk(url, bodies, headers, args.connections, args.seconds, session))
                print(f"{name}: {load[name][-1]}", file=sys.stderr)
    finally:
        clean_up(account)
    print(
        json.dumps(
            {
                name: {
                    "slow_clients": asdict(slow[name]),
                    "events_per_s": round(median(r.rps for r in load[name]), 1),
                    "p50_ms": round(median(r.p50_ms for r in load[name]), 2),
                    "p99_ms": round(median(r.p99_ms for r in load[name]), 2),
                    "errors": sum(r.errors for r in load[name]),
                    "cpu": median_cpu(load[name]),
                }
                for name in names
            }
        )
    )


if __name__ == "__main__":
    main()
