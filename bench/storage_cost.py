"""What PostgreSQL spends to store one event's payload, by the column's type and the rows per statement.

    DATABASE_URL=postgres://… python bench/storage_cost.py [--rows N] [--rounds R]

Inserts ``bench/ingest.py``'s ~3 KB events (serialised as accept serialises them, by orjson) into tables of
the configured PostgreSQL database made for the run — the payload as ``jsonb`` (as ``Event`` keeps it, and the
incoming table accept once appended to did), as ``text``, and zlib-compressed as ``bytea`` — in statements of
1, 4 and 50 rows, each committed (a regular, logged table, as ingest's). Reports the server process's CPU per
row, read from ``/proc/<pid>/stat`` (so it runs on the database's own machine, Linux), and this process's, as
medians of alternating rounds. It measures a question ingest's budget raises (how much of PostgreSQL's work
per event is the payload's type), not a budget. Prints one JSON line last; drops its tables.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zlib
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bugstack.settings")
os.environ.setdefault("SECRET_KEY", f"bench-{os.getpid()}-{time.time_ns()}")  # a throwaway key if none is set

import django  # noqa: E402

django.setup()

import orjson  # noqa: E402
from django.db import connection  # noqa: E402

from bench.ingest import process_cpu_seconds, sample_event  # noqa: E402

KINDS = {
    "jsonb": lambda payload: payload.decode(),
    "text": lambda payload: payload.decode(),
    "bytea": lambda payload: zlib.compress(payload, 1),
}
BATCHES = (1, 4, 50)


def insert(cursor, table: str, values: list, batch: int) -> None:
    rows = ", ".join(["(1, now(), %s)"] * batch)
    for start in range(0, len(values), batch):
        cursor.execute(
            f"INSERT INTO {table} (project, received, data) VALUES {rows}",  # noqa: S608 - the run's tables
            values[start : start + batch],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4000, help="rows inserted per kind, batch and round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (medians kept)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("storage_cost.py measures PostgreSQL: set DATABASE_URL=postgres://…")
    if not Path("/proc/self/stat").exists():
        raise SystemExit(
            "storage_cost.py reads the server's CPU from /proc: run it on Linux, beside PostgreSQL"
        )

    payloads = [orjson.dumps(sample_event(f"Error{n}")) for n in range(100)]
    rows = args.rows - args.rows % max(BATCHES)
    connection.set_autocommit(True)  # every statement commits, as the appender's do
    server: dict[str, dict[int, list[float]]] = {kind: {batch: [] for batch in BATCHES} for kind in KINDS}
    client: dict[str, dict[int, list[float]]] = {kind: {batch: [] for batch in BATCHES} for kind in KINDS}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
        tables = {kind: f"bench_storage_cost_{kind}" for kind in KINDS}
        try:
            for kind, table in tables.items():
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
                cursor.execute(
                    f"CREATE TABLE {table} (id bigserial PRIMARY KEY, project integer, received timestamptz, "
                    f"data {kind})"
                )
            for _ in range(args.rounds):
                for kind, convert in KINDS.items():
                    for batch in BATCHES:
                        started, own = process_cpu_seconds(pid), time.process_time()
                        values = [convert(payloads[n % len(payloads)]) for n in range(rows)]
                        insert(cursor, tables[kind], values, batch)
                        server[kind][batch].append((process_cpu_seconds(pid) - started) * 1000 / rows)
                        client[kind][batch].append((time.process_time() - own) * 1000 / rows)
        finally:
            for table in tables.values():
                cursor.execute(f"DROP TABLE IF EXISTS {table}")

    def medians(figures: dict[str, dict[int, list[float]]]) -> dict:
        return {
            kind: {str(batch): round(median(v), 3) for batch, v in by.items()} for kind, by in figures.items()
        }

    print(
        json.dumps(
            {
                "rows": rows,
                "rounds": args.rounds,
                "payload_bytes": round(median(len(payload) for payload in payloads)),
                "compressed_bytes": round(median(len(zlib.compress(payload, 1)) for payload in payloads)),
                "server_ms_per_row": medians(server),
                "client_ms_per_row": medians(client),
            }
        )
    )


if __name__ == "__main__":
    main()
