"""Sentry envelopes into bugstack and into Bugsink, its self-hosted Sentry-compatible peer, on one machine.

    make bench-deps && DATABASE_URL=postgres://…/bugstack_peer DEBUG=1 .venv/bin/python bench/peer_ingest.py

(bugstack's database must exist; the bench migrates it, as bench/ingest.py does, and serves bugstack with
DEBUG off and a throwaway ``SECRET_KEY``: ``DEBUG=1`` matters only to ``manage.py`` commands run by hand.)

Runs the two systems one after the other on the database this process is configured with (PostgreSQL from
``DATABASE_URL``, or SQLite when it is ``sqlite://…`` or unset) and sends each the same stream from the same
load generator: wrk with one thread and ``--connections`` connections for ``--seconds``, rotating through
``--errors`` distinct ~3 KB Python errors, each sent as a Sentry envelope (``X-Sentry-Auth`` with the
project's key) with a fresh event id in its header and its event on every send, as an SDK sends them.

- **bugstack** runs as ``bench/ingest.py`` runs it: gunicorn (2 workers × 4 threads, a listening socket each)
  with ``BUGSTACK_DIGEST=loop`` and DEBUG off, and beside it ``manage.py digest`` workers (two on PostgreSQL,
  one on SQLite), on a project of its own that is deleted at the end.
- **Bugsink** (``bugsink>=2,<3`` from PyPI) is installed into a virtualenv of its own,
  ``var/bench-bugsink-venv``, never into the project's. It gets a settings file written for the run (its
  production defaults, with DEBUG off, phoning home off and its event quotas lifted so that none of the load
  is refused for them), a database of its own (PostgreSQL: ``bugsink_bench`` on the same server, created and
  dropped by the bench; SQLite: a file under ``var/bench-bugsink/``), a team and project made through its
  ORM, the same gunicorn settings on its WSGI app, and one Snappea foreman (``bugsink-runsnappea``, four
  worker threads) to digest, as its single-server production setup runs it. Everything under
  ``var/bench-bugsink/`` and its database are deleted at the end.

Each system is warmed up first (a 2 s run, then drained), and then measured: accepted events/s are the 2xx
answers per second of wrk's run; processed events/s are the events stored in their groups (read from each
system's own database: the sum of bugstack's group counts, Bugsink's project's digested count) from the
first send of the run until everything that run had accepted was stored. Beside them: how many were stored
while the load ran, every status answered, socket errors, and the CPU per stored event of each system's web
processes, digest processes, PostgreSQL's processes (when they run here) and wrk, from /proc. Prints its
progress on stderr and one JSON line last, with ``processed_ratio`` (bugstack's processed ÷ Bugsink's) and
the machine's load averages at the start and at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import (  # noqa: E402
    POLL_SECONDS,
    THREADS,
    WORKERS,
    CpuSample,
    clean_up,
    cpu_per_request,
    cpu_sample,
    create_bench_project,
    digest_workers,
    free_port,
    gunicorn,
    refresh_statistics,
    sample_event,
    setup_django,
    stored,
    waiting_any,
)

ROOT = Path(__file__).resolve().parent.parent
BUGSINK_VENV = ROOT / "var" / "bench-bugsink-venv"
BUGSINK_HOME = ROOT / "var" / "bench-bugsink"  # settings, SQLite files, task queue, ingested files: one run's
BUGSINK_REQUIREMENTS = ["bugsink>=2,<3", "psycopg[binary]>=3,<4"]  # psycopg: Bugsink on PostgreSQL
BUGSINK_DATABASE = "bugsink_bench"
# Worker threads of Bugsink's Snappea foreman, as its single-server production settings have them.
SNAPPEA_WORKERS = 4
# Far above anything the bench sends: Bugsink's defaults (1,000 events per 5 minutes, 5,000 an hour) would
# answer most of the load 429, and bugstack's bench project has no limit either.
BUGSINK_QUOTA = 1_000_000_000
WARM_UP_SECONDS = 2
# A request still unanswered after this long is counted by wrk as a timeout (its default is 2 s).
WRK_TIMEOUT = "30s"
# Longest wait for what a run accepted to be stored, and how long nothing may move while nothing waits.
DRAIN_TIMEOUT = 900
STALL_SECONDS = 10
# Stands for the event id in an envelope's text: 32 characters, like the ids that replace it.
ID_MARK = "X" * 32


# --- the envelopes ------------------------------------------------------------------------------------------


def envelope_parts(event: dict[str, Any], sent_at: str) -> tuple[str, str, str]:
    """One event's envelope as the text before, between and after its two event ids (the envelope header's
    and the event's own), so that each send can carry a fresh id in both, as an SDK's do."""
    payload = json.dumps({"event_id": ID_MARK, "timestamp": sent_at, **event}, separators=(",", ":"))
    header = json.dumps({"event_id": ID_MARK, "sent_at": sent_at, "sdk": event["sdk"]}, separators=(",", ":"))
    item = json.dumps(
        {"type": "event", "length": len(payload.encode()), "content_type": "application/json"},
        separators=(",", ":"),
    )
    before, between, after = f"{header}\n{item}\n{payload}\n".split(ID_MARK)
    return before, between, after


def sentry_events(errors: int) -> list[tuple[str, str, str]]:
    """``errors`` distinct Python errors (bench/ingest.py's ~3 KB event), as sentry-python's envelopes."""
    sent_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    events = []
    for n in range(errors):
        event = sample_event(f"CartError{n}")
        event["sdk"] = {"name": "sentry.python", "version": "2.19.0"}
        events.append(envelope_parts(event, sent_at))
    return events


def sentry_headers(public_key: str) -> dict[str, str]:
    auth = f"Sentry sentry_key={public_key}, sentry_version=7, sentry_client=sentry.python/2.19.0"
    return {"Content-Type": "application/x-sentry-envelope", "X-Sentry-Auth": auth}


# --- the load: wrk ------------------------------------------------------------------------------------------


def lua_string(text: str) -> str:
    """``text`` as a Lua long string; the newline after the opening bracket is one Lua drops."""
    level = 1
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[\n{text}]{'=' * level}]"


def wrk_script(envelopes: list[tuple[str, str, str]], headers: dict[str, str], run_id: str) -> str:
    """A wrk script that sends the envelopes in turn, each with an event id of its own (the run's 16 hex
    digits, the thread's 2, a count's 14), and prints how many answers of each status every thread read."""
    header_table = "{" + ", ".join(f"[ {lua_string(k)} ] = {lua_string(v)}" for k, v in headers.items()) + "}"
    parts = ",\n".join("{" + ", ".join(lua_string(part) for part in envelope) + "}" for envelope in envelopes)
    return "\n".join(
        [
            f"local envelopes = {{{parts}}}",
            f"local headers = {header_table}",
            f'local run_id = "{run_id}"',
            "local threads = {}",
            "function setup(thread)",
            "  table.insert(threads, thread)",
            "  thread:set('index', #threads)",
            "end",
            "local sent, i = 0, 0",
            "codes = {}",
            "function request()",
            "  sent = sent + 1",
            "  i = i % #envelopes + 1",
            "  local id = string.format('%s%02x%014x', run_id, index, sent)",
            "  local e = envelopes[i]",
            "  return wrk.format('POST', nil, headers, e[1] .. id .. e[2] .. id .. e[3])",
            "end",
            "function response(status, headers, body)",
            "  codes[status] = (codes[status] or 0) + 1",
            "end",
            "function done(summary, latency, requests)",
            "  for _, thread in ipairs(threads) do",
            "    for status, n in pairs(thread:get('codes')) do",
            "      io.write(string.format('status %d %d\\n', status, n))",
            "    end",
            "  end",
            "end",
        ]
    )


@dataclass(frozen=True)
class LoadRun:
    """One wrk run: how long it ran by its own clock, each status it was answered and how often."""

    seconds: float
    answers: dict[int, int]
    socket_errors: int

    @property
    def accepted(self) -> int:
        return sum(n for status, n in self.answers.items() if 200 <= status < 300)

    @property
    def refused(self) -> int:
        return sum(self.answers.values()) - self.accepted


_WRK_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def run_load(
    url: str, envelopes: list[tuple[str, str, str]], headers: dict[str, str], connections: int, seconds: int
) -> LoadRun:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(wrk_script(envelopes, headers, secrets.token_hex(8)))
    try:
        command = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "-T",
            WRK_TIMEOUT,
            "-s",
            script.name,
            url,
        ]
        finished = subprocess.run(command, capture_output=True, text=True, check=False)
    finally:
        os.unlink(script.name)
    if finished.returncode:
        raise SystemExit(f"wrk exited with {finished.returncode}: {finished.stderr.strip()}")
    return parse_wrk(finished.stdout)


def parse_wrk(output: str) -> LoadRun:
    ran = re.search(r"\d+ requests in ([\d.]+)(us|ms|s|m|h)\b", output)
    if ran is None:
        raise SystemExit(f"wrk printed no summary:\n{output}")
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return LoadRun(
        seconds=float(ran.group(1)) * _WRK_UNITS[ran.group(2)],
        answers={int(s): int(n) for s, n in re.findall(r"^status (\d+) (\d+)$", output, re.M)},
        socket_errors=sum(int(n) for n in socket_errors.groups()) if socket_errors else 0,
    )


# --- one system under the load ------------------------------------------------------------------------------


@dataclass
class Target:
    """A running system as the measurement sees it."""

    name: str
    url: str
    headers: dict[str, str]
    stored: Callable[[], int]  # events stored in their groups so far, read from its own database
    waiting: Callable[[], bool]  # whether accepted events wait to be digested
    groups: Callable[[], int]  # its groups (bugstack) or issues (Bugsink) in the project so far
    web_session: int  # gunicorn's session: its processes' CPU
    digest_pids: Callable[[], frozenset[int]]  # the digest processes running now: theirs
    web_log: Path
    digest_log: Path
    check: Callable[[], None] = field(default=lambda: None)  # a digest worker that ended is started again
    # After the warm-up: on PostgreSQL, vacuum and analyze, as autovacuum would (it is off on some machines).
    after_warm_up: Callable[[], None] = field(default=lambda: None)
    database_is_local: bool = True  # whether PostgreSQL's processes here are its database


@dataclass(frozen=True)
class Drained:
    at: float  # time.monotonic() when the last of the expected events was seen stored (or the last progress)
    stored: int
    outcome: str  # "all" stored, "stalled" (nothing waited nor moved for STALL_SECONDS) or "timeout"


def wait_until_stored(target: Target, expected: int) -> Drained:
    """Poll until ``expected`` events are stored, nothing more can come, or DRAIN_TIMEOUT passes."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    count, moved = target.stored(), time.monotonic()
    while True:
        now = time.monotonic()
        if count >= expected:
            return Drained(now, count, "all")
        if now - moved > STALL_SECONDS and not target.waiting():
            return Drained(moved, count, "stalled")
        if now > deadline:
            return Drained(now, count, "timeout")
        target.check()
        time.sleep(POLL_SECONDS)
        latest = target.stored()
        if latest != count:
            count, moved = latest, time.monotonic()


def settle(target: Target) -> int:
    """Wait until nothing waits and the count has not moved for a second (the requests wrk left in flight
    when it stopped are stored by then); the count."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    count = target.stored()
    while time.monotonic() < deadline:
        time.sleep(1)
        latest = target.stored()
        if latest == count and not target.waiting():
            break
        count = latest
    return count


def measure(
    target: Target,
    envelopes: list[tuple[str, str, str]],
    connections: int,
    seconds: int,
) -> dict[str, Any]:
    """Warm the system up, then one measured run: what it accepted, and how fast all of that was stored."""
    warm_up = run_load(target.url, envelopes, target.headers, connections, WARM_UP_SECONDS)
    drained = wait_until_stored(target, warm_up.accepted)
    print(
        f"{target.name}: warm-up accepted {warm_up.accepted} ({warm_up.answers}), {drained.stored} stored "
        f"({drained.outcome})",
        file=sys.stderr,
    )
    baseline = settle(target)
    target.after_warm_up()
    cpu_before = cpu_sample(target.web_session, target.digest_pids())
    started = time.monotonic()
    load = run_load(target.url, envelopes, target.headers, connections, seconds)
    during_load = target.stored() - baseline
    print(
        f"{target.name}: {load.accepted} accepted in {load.seconds:.2f} s, {during_load} stored meanwhile; "
        f"answers {load.answers}, socket errors {load.socket_errors}; waiting for the rest…",
        file=sys.stderr,
    )
    drained = wait_until_stored(target, baseline + load.accepted)
    cpu_after = cpu_sample(target.web_session, target.digest_pids())
    processed = drained.stored - baseline
    elapsed = drained.at - started
    print(
        f"{target.name}: {processed} stored {elapsed:.2f} s after the first send ({drained.outcome})",
        file=sys.stderr,
    )
    if load.refused or load.socket_errors:
        report_logs(target)
    return {
        "accepted_rps": round(load.accepted / load.seconds, 1),
        "processed_rps": round(processed / elapsed, 1) if elapsed > 0 else 0.0,
        "accepted": load.accepted,
        "processed": processed,
        "processed_during_load": during_load,
        "load_s": round(load.seconds, 2),
        "all_stored_s": round(elapsed, 2),
        "drain": drained.outcome,
        "answers": {str(status): n for status, n in sorted(load.answers.items())},
        "socket_errors": load.socket_errors,
        "groups": target.groups(),
        "cpu_ms_per_event": cpu_per_event(cpu_before, cpu_after, processed, target.database_is_local),
    }


def cpu_per_event(
    before: CpuSample | None, after: CpuSample | None, events: int, database_is_local: bool
) -> dict[str, float | None] | None:
    """CPU per stored event, from the first send until all were stored: web, digest, PostgreSQL (null on
    SQLite, whose work is inside the other processes), wrk; the machine's idle and stolen shares."""
    if before is None or after is None or not events:
        return None
    cpu = asdict(cpu_per_request(before, after, events, digest_counted=True))
    if not database_is_local:
        cpu["database_ms"] = None
    cpu["total_ms"] = round(sum(cpu[k] or 0 for k in ("web_ms", "database_ms", "digest_ms", "load_ms")), 3)
    return cpu


def report_logs(target: Target) -> None:
    """Show what the servers logged last, for answers that were not 2xx and connections that failed."""
    for log in (target.web_log, target.digest_log):
        print(f"--- {target.name}: end of {log.name}\n{tail(log)}", file=sys.stderr)


def tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-4000:]
    except OSError as exc:
        return f"(not read: {exc})"


# --- bugstack -----------------------------------------------------------------------------------------------


@contextmanager
def bugstack(digest_count: int, logs: Path) -> Iterator[Target]:
    """bugstack as bench/ingest.py runs it, with a project of its own (deleted on the way out)."""
    from django.db import connection

    from ingest.models import ErrorGroup

    account, key = create_bench_project()
    port = free_port()
    web_log, digest_log = logs / "bugstack-gunicorn.log", logs / "bugstack-digest.log"
    try:
        with gunicorn(port, web_log) as web, digest_workers(digest_count, digest_log) as workers:
            yield Target(
                name="bugstack",
                url=f"http://127.0.0.1:{port}/api/{key.project_id}/envelope/",
                headers=sentry_headers(key.public_key),
                stored=lambda: stored(key.project_id),
                waiting=waiting_any,
                groups=lambda: ErrorGroup.objects.filter(project_id=key.project_id).count(),
                web_session=web,
                digest_pids=lambda: workers.pids,
                web_log=web_log,
                digest_log=digest_log,
                check=workers.check,
                after_warm_up=refresh_statistics,
                database_is_local=connection.vendor == "postgresql",
            )
    finally:
        clean_up(account)


# --- Bugsink ------------------------------------------------------------------------------------------------


def bugsink_bin(name: str) -> str:
    return str(BUGSINK_VENV / "bin" / name)


def install_bugsink() -> str:
    """Bugsink in its own virtualenv (created on first use, a no-op for pip later); its version."""
    if not (BUGSINK_VENV / "bin" / "pip").exists():
        subprocess.run(["python3", "-m", "venv", str(BUGSINK_VENV)], check=True)
    print(f"pip install {' '.join(BUGSINK_REQUIREMENTS)} into {BUGSINK_VENV}", file=sys.stderr)
    subprocess.run([bugsink_bin("pip"), "install", "--quiet", *BUGSINK_REQUIREMENTS], check=True)
    shown = subprocess.run(
        [bugsink_bin("python"), "-c", "import importlib.metadata as m; print(m.version('bugsink'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return shown.stdout.strip()


def bugsink_database(vendor: str) -> dict[str, Any]:
    """Bugsink's DATABASES['default']: on PostgreSQL a database of its own on bugstack's server."""
    if vendor != "postgresql":
        return {"NAME": str(BUGSINK_HOME / "db.sqlite3")}
    from django.db import connection

    own = connection.settings_dict
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": BUGSINK_DATABASE,
        **{name: own[name] for name in ("USER", "PASSWORD", "HOST", "PORT")},
    }


def bugsink_settings(database: dict[str, Any], port: int) -> str:
    """Bugsink's settings module for the run: its defaults, as its production templates override them."""
    quotas = {
        f"MAX_EVENTS{scope}_PER_{period}": BUGSINK_QUOTA
        for scope in ("", "_PER_PROJECT")
        for period in ("5_MINUTES", "HOUR", "MONTH")
    }
    bugsink = {
        "BASE_URL": f"http://127.0.0.1:{port}",
        "INGEST_STORE_BASE_DIR": str(BUGSINK_HOME / "ingestion"),
        "PHONEHOME": False,
        **quotas,
    }
    snappea = {
        "TASK_ALWAYS_EAGER": False,
        "NUM_WORKERS": SNAPPEA_WORKERS,
        "PID_FILE": None,
        "WAKEUP_CALLS_DIR": str(BUGSINK_HOME / "snappea-wakeup"),
    }
    database_line = (
        f'DATABASES["default"] = {database!r}'
        if "ENGINE" in database  # PostgreSQL; on SQLite, Bugsink's own backend and options with our file
        else f'DATABASES["default"]["NAME"] = {database["NAME"]!r}'
    )
    return "\n".join(
        [
            "# Written by bench/peer_ingest.py for one run, and deleted with it.",
            "from bugsink.settings.default import *  # noqa",
            f"SECRET_KEY = {secrets.token_urlsafe(50)!r}",
            "DEBUG = False",
            'ALLOWED_HOSTS = ["127.0.0.1", "localhost"]',
            'TIME_ZONE = "UTC"',
            database_line,
            f'DATABASES["snappea"]["NAME"] = {str(BUGSINK_HOME / "snappea.sqlite3")!r}',
            f"SNAPPEA = {snappea!r}",
            'EMAIL_BACKEND = "bugsink.email_backends.QuietConsoleEmailBackend"',
            f"BUGSINK = {bugsink!r}",
            "",
        ]
    )


def bugsink_environment() -> dict[str, str]:
    """This process's environment without bugstack's settings, pointed at Bugsink's."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "DEBUG", "SECRET_KEY")
        and not name.startswith(("BUGSTACK_", "DJANGO_"))
    }
    return {**environment, "DJANGO_SETTINGS_MODULE": "bugsink_conf", "PYTHONUNBUFFERED": "1"}


def bugsink_manage(*arguments: str) -> str:
    finished = subprocess.run(
        [bugsink_bin("bugsink-manage"), *arguments],
        cwd=BUGSINK_HOME,
        env=bugsink_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode:
        raise SystemExit(f"bugsink-manage {arguments[0]} failed:\n{finished.stdout}\n{finished.stderr}")
    return finished.stdout


CREATE_PROJECT = """
import json
from projects.models import Project
from teams.models import Team
team = Team.objects.create(name="bench {tag}")
project = Project.objects.create(team=team, name="bench {tag}", slug="bench-{tag}")
print(json.dumps({{"id": project.id, "key": project.sentry_key.hex}}))
"""


def create_bugsink_project() -> tuple[int, str]:
    """A team and a project made through Bugsink's ORM: the project's id and its DSN's key."""
    output = bugsink_manage("shell", "-c", CREATE_PROJECT.format(tag=secrets.token_hex(4)))
    created = json.loads(output.strip().splitlines()[-1])
    return created["id"], created["key"]


class BugsinkDatabase:
    """Bugsink's database as the bench reads it: its project's digested count, and its task queue."""

    def __init__(self, database: dict[str, Any]) -> None:
        self.database = database
        self.is_postgres = database.get("ENGINE") == "django.db.backends.postgresql"
        self.postgres = None
        self.queue: sqlite3.Connection | None = None
        self.sqlite: sqlite3.Connection | None = None

    def create(self) -> None:
        if self.is_postgres:  # dropped first: a run that was killed may have left it
            self._on_server("DROP DATABASE IF EXISTS {} WITH (FORCE)", "CREATE DATABASE {}")

    def connect(self) -> None:
        if self.is_postgres:
            import psycopg

            self.postgres = psycopg.connect(**self._parameters(self.database["NAME"]), autocommit=True)
        else:
            self.sqlite = sqlite3.connect(self.database["NAME"], isolation_level=None)
        self.queue = sqlite3.connect(BUGSINK_HOME / "snappea.sqlite3", isolation_level=None)

    def digested(self, project_id: int) -> int:
        return self.project_count("digested_event_count", project_id)

    def project_count(self, column: str, project_id: int) -> int:
        """One of the counts Bugsink keeps on its project's row, updated in each digest's transaction."""
        if column not in ("digested_event_count", "issue_count"):
            raise ValueError(f"not a count the bench reads: {column}")
        query = f"SELECT {column} FROM projects_project WHERE id = "  # noqa: S608 - a column named above
        if self.postgres is not None:
            row = self.postgres.execute(query + "%s", (project_id,)).fetchone()
        else:
            row = self.sqlite.execute(query + "?", (project_id,)).fetchone()
        return row[0] if row else 0

    def waiting(self) -> bool:
        return self.queue.execute("SELECT EXISTS (SELECT 1 FROM snappea_task)").fetchone()[0] == 1

    def vacuum(self) -> None:
        """As bench/ingest.py does for bugstack's tables after its warm-up: autovacuum's work."""
        if self.postgres is not None:
            self.postgres.execute("VACUUM ANALYZE")

    def close(self) -> None:
        for connection in (self.postgres, self.sqlite, self.queue):
            if connection is not None:
                connection.close()
        self.postgres = self.sqlite = self.queue = None

    def drop(self) -> None:
        self.close()
        if self.is_postgres:
            self._on_server("DROP DATABASE IF EXISTS {} WITH (FORCE)")

    def _parameters(self, name: str) -> dict[str, Any]:
        settings = self.database
        parameters = {"dbname": name, "user": settings["USER"], "password": settings["PASSWORD"]}
        parameters.update(host=settings["HOST"] or None, port=settings["PORT"] or None)
        return {key: value for key, value in parameters.items() if value}

    def _on_server(self, *statements: str) -> None:
        """Run statements about Bugsink's database from bugstack's (a database cannot drop itself)."""
        import psycopg
        from django.db import connection
        from psycopg import sql

        with psycopg.connect(**self._parameters(connection.settings_dict["NAME"]), autocommit=True) as server:
            for statement in statements:
                server.execute(sql.SQL(statement).format(sql.Identifier(self.database["NAME"])))


@contextmanager
def server_process(command: list[str], cwd: Path, environment: dict[str, str], log: Path):
    """A process in a session of its own, its output to ``log``; SIGTERM to the session on the way out."""
    with open(log, "ab") as output:
        process = subprocess.Popen(
            command, cwd=cwd, env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def wait_for_http(port: int, path: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args[0]} exited with {process.returncode}:\n{tail(log)}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
        finally:
            connection.close()
    raise SystemExit(f"nothing answered {path} on port {port} in {timeout:.0f} s")


@contextmanager
def bugsink(vendor: str, logs: Path) -> Iterator[Target]:
    """Bugsink with a fresh database, a project, gunicorn and Snappea; all of it gone on the way out."""
    port = free_port()
    shutil.rmtree(BUGSINK_HOME, ignore_errors=True)
    BUGSINK_HOME.mkdir(parents=True)
    database = BugsinkDatabase(bugsink_database(vendor))
    try:
        database.create()
        (BUGSINK_HOME / "bugsink_conf.py").write_text(bugsink_settings(database.database, port))
        bugsink_manage("migrate", "--no-input")
        bugsink_manage("migrate", "snappea", "--database=snappea", "--no-input")
        project_id, key = create_bugsink_project()
        database.connect()
        environment = bugsink_environment()
        web_log, digest_log = logs / "bugsink-gunicorn.log", logs / "bugsink-snappea.log"
        web_command = [
            bugsink_bin("gunicorn"),
            "bugsink.wsgi",
            "--workers", str(WORKERS),
            "--worker-class", "gthread",
            "--threads", str(THREADS),
            "--bind", f"127.0.0.1:{port}",
            "--chdir", str(BUGSINK_HOME),
            "--backlog", "2048",
            "--reuse-port",
            "--no-control-socket",  # as its Docker image's gunicorn settings have it
        ]  # fmt: skip
        with (
            server_process(web_command, BUGSINK_HOME, environment, web_log) as web,
            server_process(
                [bugsink_bin("bugsink-runsnappea")], BUGSINK_HOME, environment, digest_log
            ) as snappea,
        ):
            wait_for_http(port, "/health/ready", web, web_log)
            yield Target(
                name="bugsink",
                url=f"http://127.0.0.1:{port}/api/{project_id}/envelope/",
                headers=sentry_headers(key),
                stored=lambda: database.digested(project_id),
                waiting=database.waiting,
                groups=lambda: database.project_count("issue_count", project_id),
                web_session=web.pid,
                digest_pids=lambda: frozenset({snappea.pid}),
                web_log=web_log,
                digest_log=digest_log,
                check=lambda: check_alive(snappea, digest_log),
                after_warm_up=database.vacuum,
                database_is_local=vendor == "postgresql",
            )
    finally:
        database.drop()
        shutil.rmtree(BUGSINK_HOME, ignore_errors=True)


def check_alive(process: subprocess.Popen, log: Path) -> None:
    if process.poll() is not None:
        raise SystemExit(f"Snappea exited with {process.returncode}:\n{tail(log)}")


# --- the run ------------------------------------------------------------------------------------------------


def git_commit() -> str | None:
    shown = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return shown.stdout.strip() or None


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each system's measured run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--errors", type=int, default=100, help="distinct errors the load rotates through")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: run `make bench-deps` (apt-get install wrk)")
    load_at_start = load_average()

    # Requests only accept; digest workers beside gunicorn do the rest, as bench/ingest.py runs bugstack.
    os.environ["BUGSTACK_DIGEST"] = "loop"
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    vendor = connection.vendor
    bugsink_version = install_bugsink()
    digest_count = 2 if vendor == "postgresql" else 1
    envelopes = sentry_events(args.errors)
    print(
        f"database: {vendor}; gunicorn {WORKERS}×{THREADS} for each; bugstack with {digest_count} digest "
        f"worker(s), Bugsink {bugsink_version} with one Snappea foreman of {SNAPPEA_WORKERS} threads; wrk "
        f"{args.connections} connections, {args.seconds} s; load average {load_at_start}",
        file=sys.stderr,
    )
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="peer-ingest-") as logs:
        with bugstack(digest_count, Path(logs)) as target:
            results["bugstack"] = measure(target, envelopes, args.connections, args.seconds)
        with bugsink(vendor, Path(logs)) as target:
            results["bugsink"] = measure(target, envelopes, args.connections, args.seconds)
    ours, theirs = results["bugstack"], results["bugsink"]
    ratio = round(ours["processed_rps"] / theirs["processed_rps"], 2) if theirs["processed_rps"] else None
    print(
        json.dumps(
            {
                "database": vendor,
                "seconds": args.seconds,
                "connections": args.connections,
                "errors": args.errors,
                "web_workers": WORKERS,
                "web_threads": THREADS,
                "bugstack_commit": git_commit(),
                "bugstack_digest_workers": digest_count,
                "bugsink_version": bugsink_version,
                "bugsink_snappea_threads": SNAPPEA_WORKERS,
                "load_avg_start": load_at_start,
                "load_avg_end": load_average(),
                "bugstack": ours,
                "bugsink": theirs,
                "processed_ratio": ratio,
                "accepted_ratio": (
                    round(ours["accepted_rps"] / theirs["accepted_rps"], 2)
                    if theirs["accepted_rps"]
                    else None
                ),
                "budget_processed_ratio": 10,
                "budget_met": ratio is not None and ratio >= 10,
            }
        )
    )


if __name__ == "__main__":
    main()
