#!/usr/bin/env python
"""SDK overhead, Ruby: a Rack app bare and behind the bugstack gem's middleware, called in-process.

    python bench/sdk_overhead_ruby.py [--iterations 200000] [--error-iterations 2000] [--rounds 7]

The measuring is ``sdks/ruby/bench/overhead.rb`` (it says how); this script serves the sink its events go
to, in this process (a process apart from the app's, as bugstack is in production), runs it with Debian's
``ruby`` and prints one JSON line: per route the µs per request bare and with the SDK, ``overhead_us``
(route without error; budget < 5 µs), ``error_added_ms`` (budget < 1 ms), the SDK's counts, what the sink
received, and the load averages before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SDK_DIR = Path(__file__).resolve().parents[1] / "sdks" / "ruby"


class Sink(ThreadingHTTPServer):
    """Answers every event as ingest does (202 for one, 200 with results for a batch), and counts them."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SinkHandler)
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()


class SinkHandler(BaseHTTPRequestHandler):
    server: Sink

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.counts[self.path] = self.server.counts.get(self.path, 0) + 1
        if self.path.endswith("/batch/"):
            events = json.loads(zlib.decompress(body, wbits=16 + zlib.MAX_WBITS))
            self.answer(200, {"results": [{"id": "0" * 32, "status": 202} for _ in events]})
        else:
            self.answer(202, {"id": "0" * 32})

    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        return


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=200_000)
    parser.add_argument("--error-iterations", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    sink = Sink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    load_start = os.getloadavg()
    dsn = f"http://bench-key@127.0.0.1:{sink.server_address[1]}/1"
    command = ["ruby", "-Ilib", "bench/overhead.rb", "--dsn", dsn, "--iterations", str(args.iterations),
               "--error-iterations", str(args.error_iterations), "--rounds", str(args.rounds)]  # fmt: skip
    print(f"running {' '.join(command)} in {SDK_DIR}", file=sys.stderr)
    result = subprocess.run(command, cwd=SDK_DIR, capture_output=True, text=True, check=True)  # noqa: S603
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    sink.shutdown()
    with sink.lock:
        figures["sink_received"] = dict(sink.counts)
    figures["nproc"] = os.cpu_count()
    figures["loadavg_start"] = [round(value, 2) for value in load_start]
    figures["loadavg_end"] = [round(value, 2) for value in os.getloadavg()]
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
