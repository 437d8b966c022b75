"""CPU per request of ingest and of the bare view, straight through the WSGI handler (no HTTP, no load).

    DATABASE_URL=postgres://… python bench/ingest_profile.py [--requests N] [--profile]

Calls Django's WSGI handler in this process with ``bench/ingest.py``'s own bodies (a rotation of distinct
~3 KB Python errors, every one seen before the timed rounds, so the load is mostly events that only count)
and key, and reports ``time.process_time()`` per request for both views, alternating rounds and keeping
medians. ``--profile`` prints a cProfile breakdown of ingest on stderr. What wrk adds on top (gunicorn,
sockets, PostgreSQL's own CPU) is not in these figures: they say where Django's share of the time goes.
Prints one JSON line last; deletes what it created.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import BARE_PATH, INGEST_PATH, clean_up, create_bench_project, sample_event  # noqa: E402


def wsgi_environ(path: str, body: bytes, key: str) -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1",
        "HTTP_X_BUGSTACK_KEY": key,
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def send(application, path: str, bodies: list[bytes], key: str, count: int) -> float:
    """CPU seconds per request over ``count`` requests; every answer must be 202."""
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    started = time.process_time()
    for n in range(count):
        result = application(wsgi_environ(path, bodies[n % len(bodies)], key), start_response)
        b"".join(result)
        if hasattr(result, "close"):
            result.close()
    elapsed = time.process_time() - started
    refused = [status for status in statuses if not status.startswith("202")]
    if refused:
        raise SystemExit(f"{path} answered {refused[0]} ({len(refused)} of {count})")
    return elapsed / count


def wsgi_application():
    """Django set up on the configured database, migrated, with the bare view mounted: its WSGI handler."""
    from bench.ingest import setup_django

    setup_django()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    settings.ROOT_URLCONF = "bench.ingest"
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per round and view")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--errors", type=int, default=100, help="distinct errors the load rotates through")
    parser.add_argument("--profile", action="store_true", help="print a cProfile breakdown of ingest")
    args = parser.parse_args()

    application = wsgi_application()
    account, key = create_bench_project()
    bodies = [json.dumps(sample_event(f"CartError{n}")).encode() for n in range(args.errors)]
    try:
        for path in (BARE_PATH, INGEST_PATH):  # warm up: imports, connection, key cache, every group
            send(application, path, bodies, key.public_key, len(bodies))
        bare, ingest = [], []
        for _ in range(args.rounds):
            bare.append(send(application, BARE_PATH, bodies, key.public_key, args.requests))
            ingest.append(send(application, INGEST_PATH, bodies, key.public_key, args.requests))
        if args.profile:
            profiler = cProfile.Profile(time.process_time)
            profiler.runcall(send, application, INGEST_PATH, bodies, key.public_key, args.requests)
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("cumulative").print_stats(60)
            stats.sort_stats("tottime").print_stats(40)
    finally:
        clean_up(account)
    for name, rounds in (("bare", bare), ("ingest", ingest)):
        print(f"{name}: " + ", ".join(f"{r * 1000:.3f}" for r in rounds) + " ms CPU", file=sys.stderr)
    bare_ms, ingest_ms = median(bare) * 1000, median(ingest) * 1000
    print(
        json.dumps(
            {
                "bare_cpu_ms": round(bare_ms, 3),
                "ingest_cpu_ms": round(ingest_ms, 3),
                "cpu_ratio": round(ingest_ms / bare_ms, 2),
                "requests": args.requests,
                "rounds": args.rounds,
            }
        )
    )


if __name__ == "__main__":
    main()
