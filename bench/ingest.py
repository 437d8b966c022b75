"""Ingest throughput, latency and a duplicate burst, against gunicorn on the configured database.

    make bench-deps && DATABASE_URL=postgres://… python bench/ingest.py

Starts the app under gunicorn (2 workers, ``--threads`` each, a listening socket each) on 127.0.0.1.
With wrk on loopback it then measures, alternating for ``--rounds`` rounds, (a) a bare Django JSON view
that only parses the body (mounted by this script's own URL conf, nowhere in production) and (b)
``POST /api/v1/events/``, both with the same bodies (a rotation of distinct ~3 KB Python errors) and
connections, and in each run the CPU each request took in gunicorn, PostgreSQL (when it runs on this
machine) and wrk, how wrk's connections spread over the workers, and how much of the machine's CPU sat
idle or was stolen by the hypervisor; then ingest latency with one connection per worker; then a burst
of identical events from concurrent clients, counted in the database afterwards. Prints its runs on
stderr and one JSON line last. Everything the bench creates (its account, project, events, runs and their
queued tasks) is deleted at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
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
WORKERS = 2
# Ingest waits on the database's commit (an fsync) far longer than it computes: threads let one worker
# keep several requests in flight, and PostgreSQL flushes their commits together (group commit).
THREADS = 4


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


@dataclass(frozen=True)
class CpuPerRequest:
    web_ms: float
    database_ms: float | None
    load_ms: float
    idle_pct: float = 0.0  # of the machine's CPU time during the run: nothing to run
    steal_pct: float = 0.0  # taken by the hypervisor for other guests

    @property
    def total_ms(self) -> float:
        return self.web_ms + (self.database_ms or 0) + self.load_ms


def cpu_sample(web_session: int) -> CpuSample | None:
    """CPU time so far of the web server's processes, PostgreSQL's and the load generator's, from /proc.

    Each process counts its own time and that of the children it reaped, so a worker or backend that
    exits between two samples (an autovacuum worker, say) moves its time to its parent's count instead of
    taking it away. PostgreSQL's processes are counted only if they are visible here (a server on this
    machine): then it is the share the database takes of the same cores. None without /proc (not Linux).
    """
    if not os.path.isdir("/proc"):
        return None
    web = database = 0.0
    database_seen = False
    for _, name, fields in processes():
        used = sum(int(ticks) for ticks in fields[11:15]) / CLOCK_TICKS  # utime, stime, cutime, cstime
        if int(fields[3]) == web_session:  # session id
            web += used
        elif name.startswith("postgres"):
            database += used
            database_seen = True
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = children.ru_utime + children.ru_stime
    return CpuSample(web, database if database_seen else None, load, machine_ticks())


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


def machine_ticks() -> tuple[int, int, int]:
    """The whole machine's idle (I/O wait included), stolen and total CPU ticks so far, from /proc/stat."""
    with open("/proc/stat") as stat:
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    return idle + iowait, steal, user + nice + system + idle + iowait + irq + softirq + steal


def cpu_per_request(before: CpuSample, after: CpuSample, requests: int) -> CpuPerRequest:
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
) -> LoadResult:
    """One wrk run; with ``web_session``, also the CPU each request took, by process kind.

    ``one_per_worker``: the kernel places connections by a hash, so a run whose connections did not land
    one on each worker is stopped and started again (ten tries at most; the last one is kept whatever its
    spread, which is reported).
    """
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(wrk_script(bodies, headers))
    tries = 10 if one_per_worker else 1
    try:
        for attempt in range(tries):
            before = cpu_sample(web_session) if web_session else None
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
        after = cpu_sample(web_session) if web_session else None
    finally:
        os.unlink(script.name)
    if wrk.returncode:
        raise SystemExit(f"wrk exited with {wrk.returncode}")
    result = replace(parse_wrk(output), spread=spread)
    if before and after:
        result = replace(result, cpu=cpu_per_request(before, after, result.requests))
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


def burst(port: int, key: str, body: bytes, events: int, clients: int) -> int:
    """Send ``events`` identical events from ``clients`` threads; the number answered 202."""
    shares = [events // clients + (1 if n < events % clients else 0) for n in range(clients)]
    accepted = [0] * clients
    start = threading.Barrier(clients)

    def client(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Content-Type": "application/json", "X-Bugstack-Key": key}
        start.wait()
        for _ in range(shares[n]):
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


# --- the run ------------------------------------------------------------------------------------------------


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bugstack.settings")
    # The bench serves with DEBUG off, as production does; a throwaway key if none is configured.
    os.environ.setdefault("SECRET_KEY", "bench-" + uuid.uuid4().hex)
    os.environ["DEBUG"] = "0"
    import django

    django.setup()


def refresh_statistics() -> None:
    """Vacuum and analyze the tables ingest writes, as autovacuum keeps them on a live database.

    The planner picks the group's unique index and the latest-run index from the tables' statistics;
    where autovacuum is off (as on some CI machines) a table last analyzed while empty looks empty to
    it, and earlier runs' deleted rows stay in the tables. After the warm-up the tables hold the bench's
    groups and runs, as a live project's would.
    """
    from django.db import connection

    from ingest.models import ErrorGroup, Event
    from pipeline.models import FixRun

    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    tables = ", ".join(quote(model._meta.db_table) for model in (ErrorGroup, Event, FixRun))
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
    parser.add_argument("--errors", type=int, default=100, help="distinct errors the load rotates through")
    parser.add_argument("--burst", type=int, default=10_000, help="identical events in the burst")
    parser.add_argument("--burst-clients", type=int, default=32)
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

    setup_django()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    account, key = create_bench_project()
    headers = {"Content-Type": "application/json", "X-Bugstack-Key": key.public_key}
    # Distinct errors, as a project has: events of one group queue on its row lock (see the burst).
    bodies = [json.dumps(sample_event(f"CartError{n}")).encode() for n in range(args.errors)]
    burst_type = f"BurstError{uuid.uuid4().hex[:6]}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The kernel spreads connections over the workers by a hash, not evenly: with one connection per thread
    # a worker often held 2 of 8 and left threads idle. With two per thread, each worker nearly always
    # holds at least as many as it has threads.
    connections = args.connections or 2 * WORKERS * args.threads
    # Where the scheduler's affinity calls do not exist (not Linux), every CPU.
    cpus = (
        sorted(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else list(range(os.cpu_count() or 1))
    )
    print(
        f"database: {connection.vendor}; gunicorn {WORKERS}×{args.threads} on :{port}, CPUs {cpus} "
        f"of {os.cpu_count()}",
        file=sys.stderr,
    )
    try:
        with (
            tempfile.NamedTemporaryFile(suffix=".log") as log,
            gunicorn(port, Path(log.name), args.threads) as web,
        ):
            for path in (BARE_PATH, INGEST_PATH):  # warm up both: imports, connections, key cache
                run_wrk(base + path, bodies, headers, connections, 2)
            refresh_statistics()
            # Alternate the two, several rounds, and take medians: the machine's other load then weighs on
            # both alike instead of on whichever ran while it peaked.
            bare, ingest = [], []
            for _ in range(args.rounds):
                bare.append(run_wrk(base + BARE_PATH, bodies, headers, connections, args.seconds, web))
                ingest.append(run_wrk(base + INGEST_PATH, bodies, headers, connections, args.seconds, web))
            latency = [
                run_wrk(base + INGEST_PATH, bodies, headers, WORKERS, args.seconds, web, one_per_worker=True)
                for _ in range(args.rounds)
            ]
            for name, results in (("bare", bare), ("ingest", ingest), (f"ingest c={WORKERS}", latency)):
                for result in results:
                    print(f"{name}: {result}", file=sys.stderr)
            started = time.monotonic()
            accepted = burst(
                port,
                key.public_key,
                json.dumps(sample_event(burst_type)).encode(),
                args.burst,
                args.burst_clients,
            )
            elapsed = time.monotonic() - started
            rate = accepted / elapsed
            print(
                f"burst: {accepted}/{args.burst} accepted in {elapsed:.1f} s, {rate:.0f}/s", file=sys.stderr
            )
        counts = burst_counts(key.project_id, burst_type)
    finally:
        clean_up(account)
    bare_rps, ingest_rps = median(r.rps for r in bare), median(r.rps for r in ingest)
    errors = sum(r.errors for r in [*bare, *ingest, *latency])
    print(f"non-2xx or socket errors during the load runs: {errors}", file=sys.stderr)
    bare_cpu, ingest_cpu = median_cpu(bare), median_cpu(ingest)
    print(
        json.dumps(
            {
                "bare_rps": round(bare_rps),
                "ingest_rps": round(ingest_rps),
                "ratio": round(ingest_rps / bare_rps, 3),
                "web_cpus": len(cpus),
                # CPU per request under the throughput load, in ms: gunicorn's processes, PostgreSQL's
                # (null when it is not on this machine) and wrk's. Both views saturate the same cores,
                # so the ratio above follows bare_cpu_ms / ingest_cpu_ms.
                "bare_cpu_ms": bare_cpu,
                "ingest_cpu_ms": ingest_cpu,
                "p50_ms": round(median(r.p50_ms for r in latency), 2),
                "p99_ms": round(median(r.p99_ms for r in latency), 2),
                "burst_events": args.burst,
                "burst_groups": counts["groups"],
                "burst_times_seen": counts["times_seen"],
                "burst_runs": counts["runs"],
                "lost": args.burst - min(accepted, counts["events"]),
            }
        )
    )


if __name__ == "__main__":
    main()
