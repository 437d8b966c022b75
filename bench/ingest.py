"""Ingest (accept and digest) throughput, lag, latency, a duplicate burst and a mixed load.

    make bench-deps && DATABASE_URL=postgres://… python bench/ingest.py

Starts the app under gunicorn (2 workers, ``--threads`` each, a listening socket each) on 127.0.0.1 with
``BUGSTACK_DIGEST=loop``, so that requests only accept (spool the event and answer 202), and beside it
``--digest-workers`` ``manage.py digest`` loops (two on PostgreSQL, one on SQLite), as a deployment runs
them. With wrk on loopback it then measures, alternating for ``--rounds`` rounds, (a) a bare Django JSON
view that only parses the body (mounted by this script's own URL conf, nowhere in production) and (b)
``POST /api/v1/events/``, both with the same bodies (a rotation of distinct ~3 KB Python errors) and
connections, and in each run the CPU each request took in gunicorn, PostgreSQL (when it runs on this
machine), the digest workers and wrk, how wrk's connections spread over the workers, and how much of the
machine's CPU sat idle or was stolen by the hypervisor. During each ingest run and after it, until no
accepted event waits, it counts the events digest stores per second. Then ingest latency with one
connection per worker; then the lag from an event's 202 to the event stored in its group, with clients
sending at half the measured accept rate; then a burst of identical events from concurrent clients, and a
mixed load of many distinct errors, each counted in the database once digested. Prints its runs on
stderr and one JSON line last. Everything the bench creates (its account, project, events, runs and their
queued tasks) is deleted at the end, and the digest workers are stopped with gunicorn.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from statistics import median
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BARE_PATH = "/bench/bare/"
INGEST_PATH = "/api/v1/events/"
BENCH_SPOOL_PREFIX = "bugstack-bench-spool-"
WORKERS = 2
# Ingest waits on the database's commit (an fsync) far longer than it computes: threads let one worker
# keep several requests in flight, and PostgreSQL flushes their commits together (group commit).
THREADS = 4
# How often the bench looks at the backlog and for digested events: the lag's and the drains' resolution.
POLL_SECONDS = 0.05
# Longest wait for what was accepted to be digested before the bench gives up (and says so).
DRAIN_TIMEOUT = 300
# Threads of the client that sends at a fixed rate for the lag, each on its own schedule.
PACED_CLIENTS = 8


# --- the app gunicorn serves: the project's URLs plus the bare view ---------------------------------------


def bare_view(request):
    """The floor: Django parses the JSON body and answers, with nothing of ingest in between."""
    from django.http import JsonResponse

    json.loads(request.body)
    return JsonResponse({"id": uuid.uuid4().hex}, status=202)


def bench_application():
    """WSGI app for ``gunicorn 'bench.ingest:bench_application()'``: bugstack with the bare view mounted."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bugstack.settings")
    import django
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = __name__
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def __getattr__(name: str) -> Any:
    # The URL conf is built on first use, after Django is set up by bench_application().
    if name == "urlpatterns":
        from django.urls import include, path
        from django.views.decorators.csrf import csrf_exempt

        return [path(BARE_PATH.strip("/") + "/", csrf_exempt(bare_view)), path("", include("bugstack.urls"))]
    raise AttributeError(name)


# --- the event sent -----------------------------------------------------------------------------------------


def sample_event(exception_type: str = "ZeroDivisionError") -> dict[str, Any]:
    """A typical Python error: a Django request, ten frames, request data and contexts (~3 KB)."""
    framework = [
        ("django/core/handlers/exception.py", "inner", 55, "response = get_response(request)"),
        ("django/core/handlers/base.py", "_get_response", 197, "response = wrapped_callback(request)"),
        ("django/views/generic/base.py", "view", 104, "return self.dispatch(request, *args, **kwargs)"),
        ("django/views/generic/base.py", "dispatch", 143, "return handler(request, *args, **kwargs)"),
        ("django/contrib/auth/mixins.py", "dispatch", 73, "return super().dispatch(request, *args)"),
    ]
    app = [
        ("shop/views.py", "get", 31, "summary = cart_summary(request.user)"),
        ("shop/cart.py", "cart_summary", 88, "    'average': average_price(items),"),
        ("shop/cart.py", "average_price", 42, "    return total / len(items)"),
    ]
    frames = [
        {
            "filename": f,
            "abs_path": f"/usr/lib/python3.11/site-packages/{f}",
            "function": fn,
            "lineno": n,
            "context_line": line,
            "in_app": False,
        }
        for f, fn, n, line in framework
    ] + [
        {
            "filename": f,
            "abs_path": f"/srv/shop/{f}",
            "function": fn,
            "lineno": n,
            "context_line": line,
            "in_app": True,
            "pre_context": ["    total = sum(i.price for i in items)"],
            "post_context": [""],
            "vars": {"items": "[]", "total": "0"},
        }
        for f, fn, n, line in app
    ]
    return {
        "platform": "python",
        "level": "error",
        "environment": "production",
        "release": "2f4c1a9",
        "server_name": "web-1",
        "exception": {
            "values": [
                {
                    "type": exception_type,
                    "value": "division by zero",
                    "mechanism": {"type": "django", "handled": False},
                    "stacktrace": {"frames": frames},
                }
            ]
        },
        "request": {
            "method": "GET",
            "url": "https://shop.example.com/cart/summary?page=1",
            "route": "/cart/summary",
            "headers": {"Accept": "text/html", "User-Agent": "Mozilla/5.0", "Cookie": "sessionid=abc"},
        },
        "contexts": {
            "runtime": {"name": "CPython", "version": "3.11.7"},
            "os": {"name": "Linux"},
            "framework": {"name": "django", "version": "5.2"},
        },
        "sdk": {"name": "bugstack.python", "version": "0.1.0"},
        "tags": {"region": "eu-west-1", "customer_tier": "pro"},
    }


# --- gunicorn and wrk --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(port: int, log: Path, threads: int = THREADS):
    # Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads connections over
    # them. On one shared socket, whichever worker is idle when wrk connects takes the connection, so at the
    # start of a run one worker often took 7 or all 8 and served them alone for the whole run (keep-alive):
    # the run then measured one core, at random, for either view.
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "bench.ingest:bench_application()",
        "--workers", str(WORKERS),
        "--worker-class", "gthread",
        "--threads", str(threads),
        "--bind", f"127.0.0.1:{port}",
        "--chdir", str(ROOT),
        "--error-logfile", str(log),
        "--backlog", "2048",
        "--reuse-port",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True)
    try:
        wait_until_up(port, process)
        yield process.pid  # also its session: every worker is in it
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def wait_until_up(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}; see its log")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz in time")


@dataclass(frozen=True)
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    cpu: CpuPerRequest | None = None
    spread: tuple[int, ...] | None = None  # wrk's connections held by each gunicorn worker, most first


# --- where the CPU goes ------------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class CpuSample:
    web: float  # CPU seconds used so far by gunicorn's processes (its session)
    database: float | None  # by PostgreSQL's, when they run on this machine
    load: float  # by this script's finished children (wrk)
    machine: tuple[int, int, int] = (0, 0, 0)  # the machine's idle (with I/O wait), stolen and total ticks
    digest: float = 0.0  # by the digest workers' processes


@dataclass(frozen=True)
class CpuPerRequest:
    web_ms: float
    database_ms: float | None
    load_ms: float
    idle_pct: float = 0.0  # of the machine's CPU time during the run: nothing to run
    steal_pct: float = 0.0  # taken by the hypervisor for other guests
    digest_ms: float | None = None  # the digest workers', when they were counted

    @property
    def total_ms(self) -> float:
        return self.web_ms + (self.database_ms or 0) + (self.digest_ms or 0) + self.load_ms


def cpu_sample(web_session: int, digest_pids: frozenset[int] = frozenset()) -> CpuSample | None:
    """CPU time so far of the web server's processes, PostgreSQL's, the digest workers' (``digest_pids``)
    and the load generator's, from /proc.

    Each process counts its own time and that of the children it reaped, so a worker or backend that
    exits between two samples (an autovacuum worker, say) moves its time to its parent's count instead of
    taking it away. PostgreSQL's processes are counted only if they are visible here (a server on this
    machine): then it is the share the database takes of the same cores. None without /proc (not Linux).
    """
    if not os.path.isdir("/proc"):
        return None
    web = database = digest = 0.0
    database_seen = False
    for pid, name, fields in processes():
        used = sum(int(ticks) for ticks in fields[11:15]) / CLOCK_TICKS  # utime, stime, cutime, cstime
        if int(fields[3]) == web_session:  # session id
            web += used
        elif int(pid) in digest_pids:
            digest += used
        elif name.startswith("postgres"):
            database += used
            database_seen = True
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = children.ru_utime + children.ru_stime
    return CpuSample(web, database if database_seen else None, load, machine_ticks(), digest)


def processes():
    """Every process's id, name and /proc/<pid>/stat fields after the name (Linux)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                line = stat.read()
        except OSError:  # the process ended meanwhile
            continue
        yield entry, line[line.index("(") + 1 : line.rindex(")")], line[line.rindex(")") + 2 :].split()


def process_cpu_seconds(pid: int) -> float:
    """One process's own CPU time so far (user and system), from /proc; OSError if it is gone."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return sum(int(ticks) for ticks in fields[11:13]) / CLOCK_TICKS  # utime, stime


def machine_ticks() -> tuple[int, int, int]:
    """The whole machine's idle (I/O wait included), stolen and total CPU ticks so far, from /proc/stat."""
    with open("/proc/stat") as stat:
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    return idle + iowait, steal, user + nice + system + idle + iowait + irq + softirq + steal


def cpu_per_request(
    before: CpuSample, after: CpuSample, requests: int, digest_counted: bool = False
) -> CpuPerRequest:
    def per_request(seconds: float) -> float:
        return round(seconds / max(requests, 1) * 1000, 3)

    database = None
    if before.database is not None and after.database is not None:
        database = per_request(after.database - before.database)
    idle, steal, total = (now - then for now, then in zip(after.machine, before.machine, strict=True))
    return CpuPerRequest(
        per_request(after.web - before.web),
        database,
        per_request(after.load - before.load),
        idle_pct=round(100 * idle / max(total, 1), 1),
        steal_pct=round(100 * steal / max(total, 1), 1),
        digest_ms=per_request(after.digest - before.digest) if digest_counted else None,
    )


def wrk_script(bodies: list[bytes], headers: dict[str, str]) -> str:
    """A wrk script that sends the bodies in turn, each request prepared once."""
    header_table = "{" + ", ".join(f'["{name}"] = "{value}"' for name, value in headers.items()) + "}"
    return "\n".join(
        [
            "local bodies = {" + ",\n".join(f"[==[{body.decode()}]==]" for body in bodies) + "}",
            "local requests, i = {}, 0",
            "init = function(args)",
            # A fresh header table per body: wrk.format stores Content-Length in the table it is given.
            "  for n, body in ipairs(bodies) do",
            f"    requests[n] = wrk.format('POST', nil, {header_table}, body)",
            "  end",
            "end",
            "request = function() i = i % #requests + 1; return requests[i] end",
        ]
    )


def run_wrk(
    url: str,
    bodies: list[bytes],
    headers: dict[str, str],
    connections: int,
    seconds: int,
    web_session: int | None = None,
    one_per_worker: bool = False,
    digest_pids: frozenset[int] = frozenset(),
) -> LoadResult:
    """One wrk run; with ``web_session``, also the CPU each request took, by process kind (the digest
    workers' among them when their ``digest_pids`` are given).

    ``one_per_worker``: the kernel places connections by a hash, so a run whose connections did not land
    one on each worker is stopped and started again (ten tries at most; the last one is kept whatever its
    spread, which is reported).
    """
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(wrk_script(bodies, headers))
    tries = 10 if one_per_worker else 1
    try:
        for attempt in range(tries):
            before = cpu_sample(web_session, digest_pids) if web_session else None
            wrk = subprocess.Popen(
                ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name, url],
                stdout=subprocess.PIPE,
                text=True,
            )
            time.sleep(min(1, seconds / 2))  # every connection is open by then
            spread = connection_spread(web_session, urlsplit(url).port) if web_session else None
            if attempt == tries - 1 or spread in (None, (1,) * connections):
                break
            wrk.kill()
            wrk.communicate()
        output, _ = wrk.communicate()
        after = cpu_sample(web_session, digest_pids) if web_session else None
    finally:
        os.unlink(script.name)
    if wrk.returncode:
        raise SystemExit(f"wrk exited with {wrk.returncode}")
    result = replace(parse_wrk(output), spread=spread)
    if before and after:
        result = replace(result, cpu=cpu_per_request(before, after, result.requests, bool(digest_pids)))
    return result


def connection_spread(web_session: int, port: int) -> tuple[int, ...] | None:
    """How many established connections to ``port`` each process of the web server holds, most first.

    Read from /proc: each process's socket inodes against the kernel's TCP table. None without /proc.
    """
    try:
        with open("/proc/net/tcp") as table:
            rows = [line.split() for line in table.readlines()[1:]]
    except OSError:
        return None
    # Local address is hex "ADDR:PORT"; state 01 is ESTABLISHED; the inode is the tenth column.
    inodes = {row[9] for row in rows if row[3] == "01" and int(row[1].split(":")[1], 16) == port}
    held = []
    for pid, _, fields in processes():
        if int(fields[3]) != web_session:
            continue
        try:
            sockets = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        except OSError:
            continue
        count = sum(f"socket:[{inode}]" in sockets for inode in inodes)
        if count:
            held.append(count)
    return tuple(sorted(held, reverse=True))


_DURATION = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> LoadResult:
    def percentile(p: str) -> float:
        value, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * _DURATION[unit]

    requests = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return LoadResult(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        p50_ms=percentile("50"),
        p99_ms=percentile("99"),
        requests=requests,
        errors=errors,
    )


def post_events(port: int, key: str, bodies: list[bytes], clients: int) -> int:
    """Send ``bodies`` from ``clients`` threads at once (client n sends every ``clients``-th body from the
    n-th, so the list's order is roughly the order of arrival); the number answered 202."""
    accepted = [0] * clients
    start = threading.Barrier(clients)

    def client(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Content-Type": "application/json", "X-Bugstack-Key": key}
        start.wait()
        for body in bodies[n::clients]:
            connection.request("POST", INGEST_PATH, body, headers)
            response = connection.getresponse()
            response.read()
            accepted[n] += response.status == 202

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(accepted)


# --- digest: its workers, what waits for it and how long ----------------------------------------------------


class DigestWorkers:
    """The ``manage.py digest`` loops running beside gunicorn, as a deployment with ``BUGSTACK_DIGEST=loop``
    runs them: one that ends is started again, as its supervisor would, and what ended it is kept."""

    def __init__(self, count: int, log: Path) -> None:
        self.log = log
        self.output = open(log, "ab")  # noqa: SIM115 - closed by stop()
        self.processes = [self.start() for _ in range(count)]
        self.exits: list[str] = []  # each ended worker's exit code and the last error in the log

    def start(self) -> subprocess.Popen:
        return subprocess.Popen(
            # Without the system checks: they ask for the encryption keys a production server needs for
            # its secrets, which the bench neither has nor stores.
            [sys.executable, str(ROOT / "manage.py"), "digest", "--skip-checks"],
            cwd=ROOT,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pids(self) -> frozenset[int]:
        return frozenset(process.pid for process in self.processes)

    def check(self) -> None:
        """Start again, and report on stderr, each worker that has ended."""
        for n, process in enumerate(self.processes):
            if process.poll() is None:
                continue
            tail = self.log.read_text(errors="replace")[-3000:]
            errors = re.findall(r"^[\w.]+(?:Error|Exception|Detected)\b.*$", tail, re.M)
            self.exits.append(f"{process.returncode}: {errors[-1] if errors else 'no error logged'}")
            print(
                f"digest worker {process.pid} exited with {process.returncode}; log:\n{tail}", file=sys.stderr
            )
            self.processes[n] = self.start()

    def pause(self) -> None:
        """Stop the workers where they are (SIGSTOP), so that accepted events pile up."""
        for process in self.processes:
            process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """SIGTERM each worker, on which it ends between batches, and wait; kill one still there after 30 s
        (its batch rolls back)."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.send_signal(signal.SIGCONT)  # a paused worker handles its SIGTERM once it goes on
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.output.close()

    def cpu_seconds(self) -> float:
        """CPU time so far of the workers running now (0 without /proc)."""
        used = 0.0
        for pid in self.pids:
            try:
                used += process_cpu_seconds(pid)
            except OSError:
                continue
        return used


@contextmanager
def digest_workers(count: int, log: Path):
    """``count`` digest workers, stopped on the way out."""
    workers = DigestWorkers(count, log)
    try:
        yield workers
    finally:
        workers.stop()


def waiting() -> int:
    """How many accepted events wait for digest (in the whole spool: the bench's is its own)."""
    from ingest.digest import waiting

    return waiting()


def stored(project_id: int) -> int:
    """How many of the project's events digest has stored, read as the sum of its groups' counts.

    Digest adds to both in one transaction; the groups are one row per error, where the events are a table
    that grows by thousands a second.
    """
    from django.db.models import Sum

    from ingest.models import ErrorGroup

    return ErrorGroup.objects.filter(project_id=project_id).aggregate(n=Sum("times_seen"))["n"] or 0


def waiting_any() -> bool:
    """Whether any accepted event waits, from the bytes the spool holds past digest's offsets (a count would
    read all of them)."""
    from ingest.digest import backlog_bytes

    return backlog_bytes() > 0


def drain(workers: DigestWorkers) -> float:
    """Wait until no accepted event waits for digest; when that was first seen (``time.monotonic()``)."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while waiting_any():
        workers.check()
        if time.monotonic() > deadline:
            raise SystemExit(f"{waiting()} accepted events still wait for digest after {DRAIN_TIMEOUT} s")
        time.sleep(POLL_SECONDS)
    return time.monotonic()


@dataclass(frozen=True)
class DigestResult:
    """What digest did during one accept run at full load, and after it until nothing waited."""

    processed_rps: float  # events stored per second while wrk ran
    backlog: int  # accepted events waiting when wrk stopped: what digest fell behind by
    drain_s: float  # from wrk's end until nothing waited
    cpu_ms: float | None  # the digest workers' own CPU (PostgreSQL's not counted) per event they stored


def accept_run(
    url: str,
    bodies: list[bytes],
    headers: dict[str, str],
    connections: int,
    seconds: int,
    web_session: int,
    workers: DigestWorkers,
    project_id: int,
) -> tuple[LoadResult, DigestResult]:
    """One wrk run against ingest, with what digest stored meanwhile, then the wait until it caught up.

    Starts with nothing waiting (the previous run was drained), so the backlog at wrk's end is what digest
    fell behind by while both shared the machine. Where digest keeps up, it stores what arrives, no more:
    its rate here is then the accept rate, not what it could do (``digest_capacity``).
    """
    before, cpu_before, started = stored(project_id), workers.cpu_seconds(), time.monotonic()
    result = run_wrk(url, bodies, headers, connections, seconds, web_session, digest_pids=workers.pids)
    at_end, ended = stored(project_id), time.monotonic()
    backlog = waiting()
    drained = drain(workers)
    after, cpu_after = stored(project_id), workers.cpu_seconds()
    return result, DigestResult(
        processed_rps=round((at_end - before) / (ended - started), 1),
        backlog=backlog,
        drain_s=round(drained - ended, 2),
        cpu_ms=round((cpu_after - cpu_before) * 1000 / (after - before), 3) if after > before else None,
    )


@dataclass(frozen=True)
class DigestCapacity:
    """Digest with work waiting: alone, and beside accept at full load."""

    drain_rps: float  # events stored per second alone, from a backlog until nothing waited
    processed_rps: float  # events stored per second beside accept at full load, while work waited
    accept_rps: float  # the accept rate of that same run
    busy_s: float  # how long work waited in that run (its length if digest never caught up)
    backlog_before: int  # accepted events waiting when that run started
    backlog_after: int  # and when it ended
    cpu_ms: float | None  # the digest workers' own CPU per event they stored in that run


def digest_capacity(
    url: str,
    bodies: list[bytes],
    headers: dict[str, str],
    connections: int,
    seconds: int,
    web_session: int,
    workers: DigestWorkers,
    project_id: int,
) -> tuple[LoadResult, DigestCapacity]:
    """How many events digest stores per second when it has work waiting, alone and beside accept at full
    load. ``accept_run`` cannot tell: a digest that keeps up only stores what arrives.

    Twice the digest workers are paused (SIGSTOP) while accept runs alone, so that a backlog piles up.
    The first backlog they drain alone. For the second (twice as large), accept runs at full load again as
    they go on, and the events stored are counted for as long as work waits: the backlog shrinks during
    that run only if digest stores more events per second than accept takes in.
    """
    pile_up(url, bodies, headers, connections, seconds, workers)
    before, started = stored(project_id), time.monotonic()
    drained = drain(workers)
    drain_rps = (stored(project_id) - before) / (drained - started)

    pile_up(url, bodies, headers, connections, 2 * seconds, workers)
    backlog_before, cpu_before = waiting(), workers.cpu_seconds()
    result: list[LoadResult] = []
    load = threading.Thread(
        target=lambda: result.append(
            run_wrk(url, bodies, headers, connections, seconds, web_session, digest_pids=workers.pids)
        )
    )
    load.start()
    first = last = (time.monotonic(), stored(project_id))
    while load.is_alive():
        time.sleep(POLL_SECONDS)
        now, count = time.monotonic(), stored(project_id)
        if not waiting_any():  # digest caught up: from here on it stores only what arrives
            break
        last = (now, count)
    load.join()
    if not result:
        raise SystemExit("wrk failed; see above")
    backlog_after, cpu_after, at_end = waiting(), workers.cpu_seconds(), stored(project_id)
    drain(workers)
    return result[0], DigestCapacity(
        drain_rps=round(drain_rps, 1),
        processed_rps=round((last[1] - first[1]) / (last[0] - first[0]), 1) if last > first else 0.0,
        accept_rps=result[0].rps,
        busy_s=round(last[0] - first[0], 2),
        backlog_before=backlog_before,
        backlog_after=backlog_after,
        cpu_ms=round((cpu_after - cpu_before) * 1000 / (at_end - first[1]), 3) if at_end > first[1] else None,
    )


def pile_up(
    url: str,
    bodies: list[bytes],
    headers: dict[str, str],
    connections: int,
    seconds: int,
    workers: DigestWorkers,
) -> None:
    """Accept alone for ``seconds``, digest paused, so that accepted events wait; digest goes on after."""
    workers.pause()
    try:
        run_wrk(url, bodies, headers, connections, seconds)
    finally:
        workers.resume()


@dataclass(frozen=True)
class LagResult:
    """Events sent at a fixed rate: each one's time to its 202, and from its 202 to being found digested."""

    rate: float  # events per second sent, as achieved
    accepted: int
    errors: int  # answers other than 202, and connection errors
    request_ms: list[float]
    lag_ms: list[float]
    unseen: int  # answered 202 but not found stored within DRAIN_TIMEOUT


def paced_lag(
    port: int,
    key: str,
    bodies: list[bytes],
    project_id: int,
    rate: float,
    seconds: int,
    workers: DigestWorkers,
) -> LagResult:
    """Send events at ``rate`` for ``seconds`` and time each from its 202 to its event stored in its group.

    ``PACED_CLIENTS`` threads send, each on a fixed schedule of its own, staggered: a client whose answer
    came late sends its next events at once, keeping to the schedule rather than slowing down with the
    server (as independent SDKs do). Meanwhile, every ``POLL_SECONDS``, the ids answered and not yet found
    are looked up among the project's stored events (digest stores an event and counts it in its group in
    one transaction). An event's lag ends when the query that found it returns, so each lag is overstated
    by up to one poll and one query, never understated.
    """
    from ingest.models import Event

    answered: list[tuple[str, float]] = []  # (event id, time.monotonic() of its 202); appends are atomic
    request_ms: list[float] = []
    errors = [0]
    finished: list[float] = []
    interval = PACED_CLIENTS / rate  # between one client's sends
    sends = max(1, round(seconds / interval))
    begin = time.monotonic() + 0.2  # every thread has started by then

    def client(n: int) -> None:
        headers = {"Content-Type": "application/json", "X-Bugstack-Key": key}
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for k in range(sends):
            delay = begin + (k + n / PACED_CLIENTS) * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent = time.monotonic()
            try:
                connection.request(
                    "POST", INGEST_PATH, bodies[(k * PACED_CLIENTS + n) % len(bodies)], headers
                )
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                errors[0] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            now = time.monotonic()
            if response.status == 202:
                answered.append((json.loads(body)["id"], now))
                request_ms.append((now - sent) * 1000)
            else:
                errors[0] += 1
        connection.close()
        finished.append(time.monotonic())

    threads = [threading.Thread(target=client, args=(n,)) for n in range(PACED_CLIENTS)]
    for thread in threads:
        thread.start()
    pending: dict[str, float] = {}
    seen: dict[str, float] = {}
    taken = 0
    deadline = None
    while True:
        polled = time.monotonic()
        sending = any(thread.is_alive() for thread in threads)
        answered_now = len(answered)
        pending.update(answered[taken:answered_now])
        taken = answered_now
        waiting_ids = list(pending)
        for first in range(0, len(waiting_ids), 500):
            found = list(
                Event.objects.filter(
                    project_id=project_id, event_id__in=waiting_ids[first : first + 500]
                ).values_list("event_id", flat=True)
            )
            now = time.monotonic()
            for event_id in found:
                seen[event_id.hex] = now
                del pending[event_id.hex]
        if not sending and taken == len(answered):
            if not pending:
                break
            deadline = deadline or polled + DRAIN_TIMEOUT
            if polled > deadline:
                break
        workers.check()
        time.sleep(max(0.0, polled + POLL_SECONDS - time.monotonic()))
    sent_in = max(finished, default=begin) - begin
    return LagResult(
        rate=(len(answered) + errors[0]) / sent_in if sent_in > 0 else 0.0,
        accepted=len(answered),
        errors=errors[0],
        request_ms=request_ms,
        lag_ms=[(seen[event_id] - at) * 1000 for event_id, at in answered if event_id in seen],
        unseen=len(pending),
    )


def percentile(values: list[float], p: float) -> float | None:
    """The ``p``-th percentile (nearest rank) of ``values``; None if there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# --- the run ------------------------------------------------------------------------------------------------


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bugstack.settings")
    # The bench serves with DEBUG off, as production does; a throwaway key if none is configured.
    os.environ.setdefault("SECRET_KEY", "bench-" + uuid.uuid4().hex)
    os.environ["DEBUG"] = "0"
    # A spool of the bench's own for gunicorn and the digest workers (they inherit it), deleted by clean_up.
    os.environ["BUGSTACK_SPOOL_DIR"] = tempfile.mkdtemp(prefix=BENCH_SPOOL_PREFIX)
    import django

    django.setup()


def refresh_statistics() -> None:
    """Vacuum and analyze the tables accept and digest write, as autovacuum keeps them on a live database.

    The planner picks the group's unique index and the latest-run index from the tables' statistics;
    where autovacuum is off (as on some CI machines) a table last analyzed while empty looks empty to
    it, and earlier runs' deleted rows stay in the tables. After the warm-up the tables hold the bench's
    groups and runs, as a live project's would.
    """
    from django.db import connection

    from ingest.models import ErrorGroup, Event, SpoolFile
    from pipeline.models import FixRun

    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    models = (SpoolFile, ErrorGroup, Event, FixRun)
    tables = ", ".join(quote(model._meta.db_table) for model in models)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {tables}")


def create_bench_project():
    from bugstack.models import Account, Project, ProjectKey

    tag = uuid.uuid4().hex[:8]
    account = Account.objects.create(name=f"bench {tag}", slug=f"bench-{tag}")
    project = Project.objects.create(account=account, name=f"bench {tag}", slug=f"bench-{tag}")
    return account, ProjectKey.objects.create(project=project, label="bench")


def burst_counts(project_id: int, exception_type: str) -> dict[str, int]:
    from ingest.models import ErrorGroup, Event
    from pipeline.models import FixRun

    groups = ErrorGroup.objects.filter(project_id=project_id, exception_type=exception_type)
    return {
        "groups": groups.count(),
        "times_seen": sum(groups.values_list("times_seen", flat=True)),
        "runs": FixRun.objects.filter(group__in=groups).count(),
        "events": Event.objects.filter(group__in=groups).count(),
    }


def mixed_counts(project_id: int, prefix: str, per_error: int) -> dict[str, int]:
    """The mixed load's groups, how many of them did not count exactly ``per_error`` events or store
    exactly that many, and their runs."""
    from django.db.models import Count

    from ingest.models import ErrorGroup, Event
    from pipeline.models import FixRun

    groups = ErrorGroup.objects.filter(project_id=project_id, exception_type__startswith=prefix)
    times_seen = dict(groups.values_list("pk", "times_seen"))
    events = dict(
        Event.objects.filter(group__in=groups)
        .order_by()
        .values("group")
        .annotate(n=Count("pk"))
        .values_list("group", "n")
    )
    return {
        "groups": len(times_seen),
        "miscounted": sum(n != per_error for n in times_seen.values()),
        "misstored": sum(events.get(pk, 0) != per_error for pk in times_seen),
        "runs": FixRun.objects.filter(group__in=groups).count(),
    }


def clean_up(account) -> None:
    """Delete what the bench created, including the first-stage tasks its runs queued on the ORM broker."""
    from django.conf import settings

    from pipeline.models import FixRun

    run_ids = set(FixRun.objects.filter(project__account=account).values_list("pk", flat=True))
    if "orm" in settings.Q_CLUSTER:
        from django_q.models import OrmQ

        for queued in OrmQ.objects.all():
            try:
                args = queued.task().get("args") or ()
            except Exception:  # noqa: S112 - a payload signed with another key is someone else's task
                continue
            if args and args[0] in run_ids:
                queued.delete()
    account.delete()
    spool = Path(settings.BUGSTACK_SPOOL_DIR)
    if spool.name.startswith(BENCH_SPOOL_PREFIX) and spool.is_dir():  # the bench's own (setup_django)
        from ingest.models import SpoolFile

        SpoolFile.objects.filter(name__in=os.listdir(spool)).delete()
        shutil.rmtree(spool, ignore_errors=True)


def cpu_list(text: str) -> set[int]:
    """``0,1`` or ``0-3`` or ``0,2-3``: a set of CPU numbers."""
    cpus: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        try:
            cpus.update(range(int(first), int(last or first) + 1))
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a CPU list: {text!r}") from None
    return cpus


def median_cpu(results: list[LoadResult]) -> dict[str, float | None] | None:
    """The CPU per request of the round with the median total, for the JSON line (None without /proc)."""
    rounds = sorted((r.cpu for r in results if r.cpu), key=lambda cpu: cpu.total_ms)
    if not rounds:
        return None
    median_round = rounds[len(rounds) // 2]
    return {**asdict(median_round), "total_ms": round(median_round.total_ms, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each measured wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating bare/ingest rounds (medians kept)")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads per gunicorn worker")
    parser.add_argument(
        "--connections", type=int, help="wrk connections (default: two per thread, so every thread is busy)"
    )
    parser.add_argument(
        "--digest-workers", type=int, help="`manage.py digest` loops (default: 2 on PostgreSQL, 1 on SQLite)"
    )
    parser.add_argument("--errors", type=int, default=100, help="distinct errors the load rotates through")
    parser.add_argument("--burst", type=int, default=10_000, help="identical events in the burst")
    parser.add_argument(
        "--burst-clients", type=int, default=32, help="clients of the burst and the mixed load"
    )
    parser.add_argument("--mixed-errors", type=int, default=1_000, help="distinct errors in the mixed load")
    parser.add_argument("--mixed-events", type=int, default=3, help="events of each error in the mixed load")
    parser.add_argument(
        "--cpus",
        type=cpu_list,
        help="run gunicorn, wrk and this script on these CPUs only (e.g. 0,1 or 0-1): on a larger machine "
        "that leaves PostgreSQL cores of its own, the setting DESIGN.md's budget does not measure",
    )
    args = parser.parse_args()
    if args.cpus:
        if not hasattr(os, "sched_setaffinity"):
            raise SystemExit("--cpus needs Linux (sched_setaffinity)")
        os.sched_setaffinity(0, args.cpus)  # every process started from here on inherits it
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: run `make bench-deps` (apt-get install wrk)")

    # Requests only accept; the digest workers started below do the rest, as in a deployment that runs them.
    os.environ["BUGSTACK_DIGEST"] = "loop"
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    account, key = create_bench_project()
    headers = {"Content-Type": "application/json", "X-Bugstack-Key": key.public_key}
    # Distinct errors, as a project has: events of one group queue on its row lock (see the burst).
    bodies = [json.dumps(sample_event(f"CartError{n}")).encode() for n in range(args.errors)]
    tag = uuid.uuid4().hex[:6]
    burst_type, mixed_prefix = f"BurstError{tag}", f"MixedError{tag}_"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The kernel spreads connections over the workers by a hash, not evenly: with one connection per thread
    # a worker often held 2 of 8 and left threads idle. With two per thread, each worker nearly always
    # holds at least as many as it has threads.
    connections = args.connections or 2 * WORKERS * args.threads
    digest_count = args.digest_workers or (2 if connection.vendor == "postgresql" else 1)
    # Where the scheduler's affinity calls do not exist (not Linux), every CPU.
    cpus = (
        sorted(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else list(range(os.cpu_count() or 1))
    )
    print(
        f"database: {connection.vendor}; gunicorn {WORKERS}×{args.threads} on :{port}, {digest_count} digest "
        f"worker(s), CPUs {cpus} of {os.cpu_count()}",
        file=sys.stderr,
    )
    try:
        with (
            tempfile.NamedTemporaryFile(suffix=".log") as log,
            tempfile.NamedTemporaryFile(suffix=".log") as digest_log,
            gunicorn(port, Path(log.name), args.threads) as web,
            digest_workers(digest_count, Path(digest_log.name)) as workers,
        ):
            for path in (BARE_PATH, INGEST_PATH):  # warm up both: imports, connections, key cache
                run_wrk(base + path, bodies, headers, connections, 2)
            drain(workers)
            refresh_statistics()
            # Alternate the two, several rounds, and take medians: the machine's other load then weighs on
            # both alike instead of on whichever ran while it peaked. Each ingest run is drained before the
            # next bare one, so the bare view never shares the machine with digest's work.
            bare, ingest, digested = [], [], []
            bare_url, ingest_url = base + BARE_PATH, base + INGEST_PATH
            for _ in range(args.rounds):
                bare.append(
                    run_wrk(
                        bare_url, bodies, headers, connections, args.seconds, web, digest_pids=workers.pids
                    )
                )
                result, digest = accept_run(
                    ingest_url, bodies, headers, connections, args.seconds, web, workers, key.project_id
                )
                ingest.append(result)
                digested.append(digest)
            latency = []
            for _ in range(args.rounds):
                latency.append(
                    run_wrk(ingest_url, bodies, headers, WORKERS, args.seconds, web, one_per_worker=True)
                )
                drain(workers)
            for name, results in (("bare", bare), ("ingest", ingest), (f"ingest c={WORKERS}", latency)):
                for result in results:
                    print(f"{name}: {result}", file=sys.stderr)
            for digest in digested:
                print(f"digest: {digest}", file=sys.stderr)
            full, capacity = digest_capacity(
                ingest_url, bodies, headers, connections, args.seconds, web, workers, key.project_id
            )
            print(f"ingest, digest with work waiting: {full}\ndigest: {capacity}", file=sys.stderr)

            accept_rps = median(r.rps for r in ingest)
            lag = paced_lag(
                port, key.public_key, bodies, key.project_id, accept_rps / 2, args.seconds, workers
            )
            drain(workers)
            print(
                f"paced at {lag.rate:.0f}/s (half of {accept_rps:.0f}/s): {lag.accepted} accepted, "
                f"{lag.errors} errors, {lag.unseen} not found digested; lag p50 / p99 "
                f"{percentile(lag.lag_ms, 50) or 0:.0f} / {percentile(lag.lag_ms, 99) or 0:.0f} ms",
                file=sys.stderr,
            )

            started = time.monotonic()
            burst_body = json.dumps(sample_event(burst_type)).encode()
            accepted = post_events(port, key.public_key, [burst_body] * args.burst, args.burst_clients)
            elapsed = time.monotonic() - started
            burst_drain_s = drain(workers) - started
            rate = accepted / elapsed
            print(
                f"burst: {accepted}/{args.burst} accepted in {elapsed:.1f} s, {rate:.0f}/s; all digested "
                f"{burst_drain_s:.1f} s after the first was sent",
                file=sys.stderr,
            )

            # Each error's events in random order among the others' (seeded: the same order every run), as
            # independent clients send them: concurrent digest batches then meet the same new groups.
            mixed_bodies = [
                json.dumps(sample_event(f"{mixed_prefix}{n}")).encode() for n in range(args.mixed_errors)
            ] * args.mixed_events
            random.Random(0).shuffle(mixed_bodies)
            started = time.monotonic()
            mixed_accepted = post_events(port, key.public_key, mixed_bodies, args.burst_clients)
            mixed_drain_s = drain(workers) - started
            worker_exits = workers.exits
        counts = burst_counts(key.project_id, burst_type)
        mixed = mixed_counts(key.project_id, mixed_prefix, args.mixed_events)
    finally:
        clean_up(account)
    mixed_exact = (
        mixed_accepted == args.mixed_errors * args.mixed_events
        and mixed["groups"] == args.mixed_errors
        and not mixed["miscounted"]
        and not mixed["misstored"]
        and mixed["runs"] == args.mixed_errors
    )
    print(
        f"mixed: {mixed_accepted} events of {args.mixed_errors} errors accepted, all digested in "
        f"{mixed_drain_s:.1f} s: {mixed}",
        file=sys.stderr,
    )
    bare_rps = median(r.rps for r in bare)
    errors = sum(r.errors for r in [*bare, *ingest, *latency, full])
    print(f"non-2xx or socket errors during the load runs: {errors}", file=sys.stderr)
    bare_cpu, accept_cpu = median_cpu(bare), median_cpu(ingest)

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    print(
        json.dumps(
            {
                "bare_rps": round(bare_rps),
                "accept_rps": round(accept_rps),
                "ratio": round(accept_rps / bare_rps, 3),
                "web_cpus": len(cpus),
                "digest_workers": digest_count,
                # CPU per request under the throughput load, in ms: gunicorn's processes, PostgreSQL's
                # (null when it is not on this machine), the digest workers' and wrk's. Both views saturate
                # the same cores, so the ratio above follows bare_cpu_ms / accept_cpu_ms.
                "bare_cpu_ms": bare_cpu,
                "accept_cpu_ms": accept_cpu,
                # Digest with work waiting: the events it stored per second beside accept at full load
                # (the backlog grows unless that is at least the same run's accept rate, given next) for
                # as long as work waited in that run, the change in the backlog over it, then alone, and
                # its own CPU per event beside accept.
                "processed_rps": round(capacity.processed_rps),
                "accept_rps_same_run": round(capacity.accept_rps),
                "processed_busy_s": capacity.busy_s,
                "backlog_change": capacity.backlog_after - capacity.backlog_before,
                "drain_rps": round(capacity.drain_rps),
                "digest_cpu_ms": capacity.cpu_ms,
                # In the alternating rounds, where digest had to keep up from nothing waiting: the events it
                # stored per second and the most it had fallen behind by when a round ended.
                "round_processed_rps": round(median(d.processed_rps for d in digested)),
                "backlog_peak": max(d.backlog for d in digested),
                "p50_ms": round(median(r.p50_ms for r in latency), 2),
                "p99_ms": round(median(r.p99_ms for r in latency), 2),
                # At half accept_rps: the 202's latency, and from the 202 to the event stored in its group.
                "paced_rps": round(lag.rate),
                "paced_p50_ms": ms(percentile(lag.request_ms, 50)),
                "paced_p99_ms": ms(percentile(lag.request_ms, 99)),
                "lag_p50_ms": ms(percentile(lag.lag_ms, 50)),
                "lag_p99_ms": ms(percentile(lag.lag_ms, 99)),
                "lag_unseen": lag.unseen,
                "burst_events": args.burst,
                "burst_groups": counts["groups"],
                "burst_times_seen": counts["times_seen"],
                "burst_runs": counts["runs"],
                "lost": args.burst - min(accepted, counts["events"]),
                "burst_drain_s": round(burst_drain_s, 2),
                "mixed_errors": args.mixed_errors,
                "mixed_events": mixed_accepted,
                "mixed_groups": mixed["groups"],
                "mixed_runs": mixed["runs"],
                "mixed_exact": mixed_exact,
                "digest_worker_exits": worker_exits,
            }
        )
    )


if __name__ == "__main__":
    main()
