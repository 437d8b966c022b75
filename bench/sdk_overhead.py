#!/usr/bin/env python
"""SDK overhead: the same Flask app with no SDK, with bugstack-sdk and with sentry-sdk, measured in one run.

Each variant lives in its own process (sentry-sdk patches Flask globally) and the parent runs them in
turn, batch after batch, so drift on a shared machine hits all three alike; the figure per variant is the
median of its batch means. Requests go straight into the WSGI callable (no sockets), which is where an SDK
adds its cost; errors are sent to a local sink in a fourth process, as they would be in production.

Prints one JSON line last: {"none_us", "bugstack_us", "sentry_us", "bugstack_overhead_us",
"sentry_overhead_us", "error_path_added_ms", …} (µs per request; ms added to a failing request).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VARIANTS = ("none", "bugstack", "sentry")


# --- the sink: answers every event like ingest does, and counts them -------------------------------------


def serve_sink() -> None:
    counts: dict[str, int] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                counts[self.path] = counts.get(self.path, 0) + 1
            self._answer(202, b'{"id": "accepted"}')

        def do_GET(self) -> None:  # noqa: N802
            with lock:
                self._answer(200, json.dumps(counts).encode())

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


# --- a variant: the app, instrumented or not, driven over stdin -------------------------------------------


def build_app(variant: str, dsn: str) -> Any:
    if variant == "sentry":
        import sentry_sdk

        sentry_sdk.init(dsn=dsn)  # defaults, as a new user would set it up: Flask is integrated automatically
    from flask import Flask, jsonify

    app = Flask("bench")
    app.logger.disabled = True  # every variant skips logging the traceback alike

    def price_with_tax(cents: int, rate: int) -> int:
        return cents + cents * 100 // rate  # rate 0 is the bug the error path exercises

    @app.get("/products/<int:product_id>")
    def product(product_id: int):
        return jsonify(id=product_id, name="Moka pot", price=price_with_tax(3400, 20))

    @app.get("/broken/<int:product_id>")
    def broken(product_id: int):
        return jsonify(id=product_id, price=price_with_tax(3400, 0))

    if variant == "bugstack":
        from bugstack_sdk.flask import Bugstack

        Bugstack(app, dsn=dsn)
    return app


def request_environ(path: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_USER_AGENT": "bench",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def timed_requests(app: Any, path: str, count: int, expected: str) -> float:
    """Mean nanoseconds per request over ``count`` requests."""
    statuses: list[str] = []

    def start_response(status: str, headers: list, exc_info: Any = None) -> None:
        statuses.append(status)

    base = request_environ(path)
    started = time.perf_counter_ns()
    for _ in range(count):
        environ = dict(base, **{"wsgi.input": io.BytesIO(b"")})
        body = app(environ, start_response)
        for _chunk in body:
            pass
        if hasattr(body, "close"):
            body.close()
    elapsed = time.perf_counter_ns() - started
    if any(not s.startswith(expected) for s in statuses):
        raise SystemExit(f"unexpected status for {path}: {set(statuses)}")
    return elapsed / count


def flush_sdk(variant: str) -> None:
    if variant == "bugstack":
        import bugstack_sdk

        bugstack_sdk.flush(30)
    elif variant == "sentry":
        import sentry_sdk

        sentry_sdk.flush(30)


def serve_variant(variant: str, dsn: str) -> None:
    app = build_app(variant, dsn)
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "ok":
            print(timed_requests(app, "/products/1", int(arg), "200"), flush=True)
        elif command == "error":
            print(timed_requests(app, "/broken/1", int(arg), "500"), flush=True)
        elif command == "flush":
            flush_sdk(variant)
            print("flushed", flush=True)


# --- the parent: interleave the variants and summarise ----------------------------------------------------


class Variant:
    def __init__(self, name: str, dsn: str) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--variant", name, "--dsn", dsn],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, command: str) -> str:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        if not answer:
            raise SystemExit(f"the {self.name} variant stopped (exit code {self.process.poll()})")
        return answer

    def stop(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=30)


def measure(variants: dict[str, Variant], command: str, rounds: int, batch: int) -> dict[str, float]:
    """Median over rounds of each variant's mean µs per request, variants interleaved within a round."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, variant in variants.items():
            samples[name].append(float(variant.ask(f"{command} {batch}")) / 1000)
            if command == "error":
                variant.ask("flush")  # the queue starts each batch empty: no drops flatter the figure
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=2000, help="requests per batch without error")
    parser.add_argument("--error-batch", type=int, default=20, help="failing requests per batch")
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        return serve_sink()
    if args.variant:
        return serve_variant(args.variant, args.dsn)

    sink = subprocess.Popen([sys.executable, __file__, "--sink"], stdout=subprocess.PIPE, text=True)
    assert sink.stdout
    port = int(sink.stdout.readline())
    dsn = f"http://benchkey@127.0.0.1:{port}/1"
    variants = {name: Variant(name, dsn) for name in VARIANTS}
    try:
        measure(variants, "ok", rounds=3, batch=args.batch)  # warm-up: imports, caches, first-request setup
        measure(variants, "error", rounds=2, batch=args.error_batch)
        ok = measure(variants, "ok", args.rounds, args.batch)
        error = measure(variants, "error", args.rounds, args.error_batch)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:  # noqa: S310
            received = json.loads(response.read())
    finally:
        for variant in variants.values():
            variant.stop()
        sink.terminate()
        sink.wait()

    failing_requests = (2 + args.rounds) * args.error_batch
    summary = {
        "none_us": round(ok["none"], 2),
        "bugstack_us": round(ok["bugstack"], 2),
        "sentry_us": round(ok["sentry"], 2),
        "bugstack_overhead_us": round(ok["bugstack"] - ok["none"], 2),
        "sentry_overhead_us": round(ok["sentry"] - ok["none"], 2),
        "error_path_added_ms": round((error["bugstack"] - error["none"]) / 1000, 3),
        "sentry_error_path_added_ms": round((error["sentry"] - error["none"]) / 1000, 3),
        "bugstack_events_received": received.get("/api/v1/events/", 0),
        "sentry_envelopes_received": received.get("/api/1/envelope/", 0),
        "failing_requests_per_variant": failing_requests,
        "rounds": args.rounds,
        "requests_per_batch": args.batch,
    }
    print(
        f"per request without error: none {ok['none']:.1f} µs, bugstack {ok['bugstack']:.1f} µs, "
        f"sentry {ok['sentry']:.1f} µs; with an error: none {error['none']:.1f} µs, "
        f"bugstack {error['bugstack']:.1f} µs, sentry {error['sentry']:.1f} µs",
        flush=True,
    )
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
