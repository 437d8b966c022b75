#!/usr/bin/env python
"""SDK overhead, Go: what bugstack's Go SDK adds to a net/http request, without and with an error.

    .venv/bin/python bench/sdk_overhead_go.py [--count 5] [--benchtime 1s]

Runs the SDK's own benchmarks (``sdks/go/bench_test.go``) with ``go test -bench``, ``--count`` times each,
and takes the median ns/op of each. Requests go straight into the handler (no sockets), which is where the
SDK adds its cost; events go to a local server from the SDK's background goroutine, on the same machine.

- ``ok``: a request that fails nothing, bare and through ``Middleware``; ``overhead_us`` is what the
  middleware adds (budget: under 1 µs);
- ``error``: a failing request answered 500, bare (the handler answers it), with a panic ``Middleware``
  reports and answers, and with ``CaptureRequestError``; ``*_added_us`` is what reporting adds to the
  response (budget: under 200 µs).

Progress goes to stderr; stdout gets one JSON line, last.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

SDK_DIR = Path(__file__).resolve().parents[1] / "sdks" / "go"
# The SDK uses the standard library alone: no module proxy is needed, nor may one be asked.
GO_ENV = {"GOPROXY": "off", "GOFLAGS": "-mod=mod"}
# The budgets, reported and not asserted: timings do not make pass/fail tests.
MAX_OVERHEAD_US = 1
MAX_ERROR_ADDED_US = 200
Figures = dict[str, dict[str, float]]  # per benchmark: ns_per_op, bytes_per_op, allocs_per_op
RESULT = re.compile(r"^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+(\d+) B/op\s+(\d+) allocs/op)?")


def run_benchmarks(count: int, benchtime: str) -> str:
    argv = ["go", "test", "-run", "^$", "-bench", ".", "-benchmem", f"-count={count}"]
    argv.append(f"-benchtime={benchtime}")
    progress(" ".join(argv))
    done = subprocess.run(  # noqa: S603 - the Go toolchain on the SDK's own benchmarks
        argv, cwd=SDK_DIR, env={**os.environ, **GO_ENV}, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"go test -bench failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def parse(output: str) -> Figures:
    """Per benchmark: the median ns/op over the runs, and its allocations."""
    runs: dict[str, list[tuple[float, int, int]]] = {}
    for line in output.splitlines():
        found = RESULT.match(line)
        if found:
            name, ns, size, allocs = found.groups()
            runs.setdefault(name, []).append((float(ns), int(size or 0), int(allocs or 0)))
    return {
        name: {
            "ns_per_op": round(statistics.median(ns for ns, _, _ in samples), 1),
            "bytes_per_op": max(size for _, size, _ in samples),
            "allocs_per_op": max(allocs for _, _, allocs in samples),
        }
        for name, samples in runs.items()
    }


def added_us(figures: Figures, name: str, baseline: str) -> float:
    return round((figures[name]["ns_per_op"] - figures[baseline]["ns_per_op"]) / 1000, 3)


def summarise(figures: Figures, args: argparse.Namespace, load_start: list[float]) -> dict:
    overhead = added_us(figures, "BenchmarkRequest/sdk", "BenchmarkRequest/bare")
    panic_added = added_us(figures, "BenchmarkError/panic", "BenchmarkError/bare")
    capture_added = added_us(figures, "BenchmarkError/capture", "BenchmarkError/bare")
    return {
        "ok": {
            "bare": figures["BenchmarkRequest/bare"],
            "bugstack": figures["BenchmarkRequest/sdk"],
            "overhead_us": overhead,
        },
        "error": {
            "bare": figures["BenchmarkError/bare"],
            "bugstack_panic": figures["BenchmarkError/panic"],
            "bugstack_capture": figures["BenchmarkError/capture"],
            "panic_added_us": panic_added,
            "capture_added_us": capture_added,
        },
        "budget_overhead_held": overhead < MAX_OVERHEAD_US,
        "budget_error_held": max(panic_added, capture_added) < MAX_ERROR_ADDED_US,
        "count": args.count,
        "benchtime": args.benchtime,
        "go": go_version(),
        "nproc": os.cpu_count(),
        "loadavg_start": load_start,
        "loadavg_end": load_averages(),
    }


def go_version() -> str:
    done = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=False)  # noqa: S607
    return done.stdout.strip()


def load_averages() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5, help="runs of each benchmark (the median is kept)")
    parser.add_argument("--benchtime", default="1s", help="go test -benchtime for each run")
    args = parser.parse_args()
    load_start = load_averages()
    progress(f"{os.cpu_count()} CPUs, load averages at start {load_start}")
    figures = parse(run_benchmarks(args.count, args.benchtime))
    summary = summarise(figures, args, load_start)
    progress(f"load averages at end {summary['loadavg_end']}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
