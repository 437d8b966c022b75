"""Accepted events per second when an SDK sends the events it has queued together, against the bare view.

    DATABASE_URL=postgres://… python bench/ingest_batched.py [--sizes 2,5,10] [--seconds 6] [--rounds 3]

The same server, bodies, key and digest workers as ``bench/ingest.py``; each round runs the bare view, single
events (``/api/v1/events/``, as ``bench/ingest.py`` sends them) and, for each size, batches of that many
distinct events (``/api/v1/events/batch/``, what the Go and Ruby SDKs send when several events are queued),
digest draining what each run accepted before the next. Events per second of a batched run are its requests
per second times the batch's size. Medians of the rounds; prints one JSON line last and deletes what it
created.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ingest as bench  # noqa: E402

BATCH_PATH = "/api/v1/events/batch/"
ERRORS = 100  # distinct errors the load rotates through, as bench/ingest.py's default


def per_event(cpu: list, field: str, size: int) -> float | None:
    """The median over the runs of one process kind's CPU per request, per event the requests carried."""
    values = [getattr(sample, field) for sample in cpu if getattr(sample, field) is not None]
    return round(median(values) / size, 3) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2,5,10", help="batch sizes, comma-separated")
    parser.add_argument("--seconds", type=int, default=6, help="duration of each measured wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (medians kept)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    os.environ["BUGSTACK_DIGEST"] = "loop"
    bench.setup_django()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    account, key = bench.create_bench_project()
    headers = {"Content-Type": "application/json", "X-Bugstack-Key": key.public_key}
    events = [bench.sample_event(f"CartError{n}") for n in range(ERRORS)]
    singles = [json.dumps(event).encode() for event in events]
    batches = {
        size: [
            json.dumps([events[(n * size + k) % ERRORS] for k in range(size)]).encode() for n in range(ERRORS)
        ]
        for size in sizes
    }
    port = bench.free_port()
    base = f"http://127.0.0.1:{port}"
    connections = 2 * bench.WORKERS * bench.THREADS
    digest_count = 2 if connection.vendor == "postgresql" else 1
    loadavg_start = [round(load, 2) for load in os.getloadavg()]
    try:
        with (
            tempfile.NamedTemporaryFile(suffix=".log") as log,
            tempfile.NamedTemporaryFile(suffix=".log") as digest_log,
            bench.gunicorn(port, Path(log.name), bench.THREADS) as web,
            bench.digest_workers(digest_count, Path(digest_log.name)) as workers,
        ):
            loads = [
                ("bare", base + bench.BARE_PATH, singles, 1),
                ("single", base + bench.INGEST_PATH, singles, 1),
            ]
            loads += [(f"batch_{size}", base + BATCH_PATH, batches[size], size) for size in sizes]
            for _, url, bodies, _ in loads:  # warm up: imports, connections, the key cache
                bench.run_wrk(url, bodies, headers, connections, 2)
            bench.drain(workers)
            bench.refresh_statistics()
            results: dict[str, list] = {name: [] for name, *_ in loads}
            for _ in range(args.rounds):
                for name, url, bodies, size in loads:
                    result = bench.run_wrk(
                        url, bodies, headers, connections, args.seconds, web, digest_pids=workers.pids
                    )
                    if result.errors:
                        raise SystemExit(f"{name}: {result.errors} non-2xx or socket errors")
                    results[name].append((result, size))
                    bench.drain(workers)
                    print(f"{name}: {result}", file=sys.stderr)
    finally:
        bench.clean_up(account)

    bare_rps = median(result.rps for result, _ in results["bare"])
    figures: dict[str, dict] = {}
    for name, runs in results.items():
        if name == "bare":
            continue
        events_per_s = median(result.rps * size for result, size in runs)
        size = runs[0][1]
        cpu = [result.cpu for result, _ in runs if result.cpu]
        figures[name] = {
            "events_per_s": round(events_per_s),
            "ratio": round(events_per_s / bare_rps, 3),
            **{
                f"{field}_per_event": per_event(cpu, field, size)
                for field in ("web_ms", "database_ms", "digest_ms")
            },
        }
    print(
        json.dumps(
            {
                "database": connection.vendor,
                "bare_rps": round(bare_rps),
                **figures,
                "rounds": args.rounds,
                "seconds": args.seconds,
                "loadavg_start": loadavg_start,
                "loadavg_end": [round(load, 2) for load in os.getloadavg()],
            }
        )
    )


if __name__ == "__main__":
    main()
