"""Digest in real processes on the test database: every accepted event is counted exactly once.

``manage.py digest`` is SIGKILLed mid-batch and started again, two workers share one backlog on PostgreSQL,
and on the queued path a real ``qcluster`` runs the digest task that accepting an event kicks. The backlog
always comes through the real accept path, a few fingerprints mixed with event ids sent more than once.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count, Sum
from django.test import Client
from django_q.models import OrmQ, Schedule, Success
from django_q.signing import SignedPackage

from ingest import spool
from ingest.digest import waiting as events_waiting
from ingest.models import ErrorGroup, Event, SpoolFile
from pipeline.models import FixRun
from tests.ingest.conftest import EVENTS_URL, last_exception, python_event
from tests.pipeline.harness import Cluster, post_json, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

BATCH = 200
FINGERPRINTS = 5
DISTINCT = 2500
# Event ids sent again: right after the first copy (the same batch), a little later (the next batch,
# which a second worker digests at the same time) and much later (after the first copy was digested).
AGAIN_SOON, AGAIN_NEXT_BATCH, AGAIN_LATER = 0, 150, 1000
# Kill moments: how many batches the worker must have committed before it is killed inside the next one
# (0: most often its first batch, which creates the groups).
KILLS = (0, 1, 3, 2)
WAIT = 45
# How long a worker runs between two looks at it.
FREEZE_EVERY = 0.002


class Digester(Cluster):
    """``manage.py digest`` in a process of its own, polling for accepted events as production workers do."""

    def __init__(self, name: str) -> None:
        super().__init__({"BUGSTACK_DIGEST": "loop"}, name)

    def start(self) -> Digester:
        command = [
            sys.executable,
            str(Path(settings.BASE_DIR) / "manage.py"),
            "digest",
            "--batch",
            str(BATCH),
        ]
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own manage.py
                command,
                env=self.env,
                cwd=settings.BASE_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def kill_mid_batch(self, waiting_at_most: int) -> None:
        """SIGKILL the worker inside a batch, once at most ``waiting_at_most`` events wait.

        The worker is frozen (SIGSTOP) while it is looked at, so what is seen is where it dies: killed only
        if it holds a batch's write transaction, let go on (SIGCONT) otherwise. The waiting events are
        counted only inside a batch: counting reads the spool, and a worker frozen that long at every look
        would take most of ``WAIT`` just to start Django.
        """
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            os.kill(self.process.pid, signal.SIGSTOP)
            _, status = os.waitpid(self.process.pid, os.WUNTRACED)
            if not os.WIFSTOPPED(status):
                raise AssertionError(f"the worker ended by itself\n{self.describe()}")
            if write_transaction_open() and events_waiting() <= waiting_at_most:
                self.kill()
                return
            os.kill(self.process.pid, signal.SIGCONT)
            time.sleep(FREEZE_EVERY)
        raise AssertionError(f"the worker was never seen inside a batch\n{self.describe()}")

    def wait_until_digesting(self) -> None:
        """Wait for the worker's loop: until then Django is starting, and SIGTERM ends it like any process."""
        wait_for(lambda: "digesting in batches" in self.log(), WAIT, self.describe)

    def stop_cleanly(self) -> None:
        """SIGTERM, which a worker obeys between batches, and check it ended by it and not by an error."""
        alive = self.process.poll() is None
        self.stop()
        assert alive and self.process.returncode == 0, f"digest ended {self.process.returncode}\n{self.log()}"
        assert "Traceback" not in self.log(), self.log()

    def describe(self) -> str:
        return f"{events_waiting()} event(s) waiting\ndigest log:\n{self.log()}"


def event_of(n: int) -> dict:
    event = python_event(event_id=uuid.uuid4().hex)
    last_exception(event)["type"] = f"Error{n % FINGERPRINTS}"
    return event


def accept_backlog(key) -> dict[str, str]:
    """POST the backlog to the events API with digest left to workers; each distinct event id → its type."""
    client = Client()
    sent: list[dict] = []

    def post(event: dict) -> None:
        response = client.post(
            EVENTS_URL, event, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key.public_key}"
        )
        assert response.status_code == 202, response.content

    for n in range(DISTINCT):
        sent.append(event_of(n))
        post(sent[n])
        for again, every in ((AGAIN_SOON, 10), (AGAIN_NEXT_BATCH, 7), (AGAIN_LATER, 9)):
            if n % every == 0 and n >= again:
                post(sent[n - again])
    return {event["event_id"]: last_exception(event)["type"] for event in sent}


def write_transaction_open() -> bool:
    """Whether another process is inside a write transaction: a digest worker in the middle of a batch."""
    if connection.vendor == "postgresql":
        # Claiming a batch locks spool files' rows (FOR UPDATE), and the batch ends by moving their offsets:
        # the table lock either takes is held until the batch commits.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks JOIN pg_class ON pg_class.oid = pg_locks.relation "
                "WHERE pg_class.relname = %s AND pg_locks.mode IN ('RowShareLock', 'RowExclusiveLock') "
                "AND pg_locks.granted AND pg_locks.pid <> pg_backend_pid()",
                [SpoolFile._meta.db_table],
            )
            return cursor.fetchone()[0] > 0
    # SQLite has one writer: our asking for the write lock fails at once while a batch holds it.
    probe = sqlite3.connect(connection.settings_dict["NAME"], timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return True
    else:
        probe.execute("ROLLBACK")
        return False
    finally:
        probe.close()


def stored_and_waiting() -> tuple[Counter[str], Counter[str]]:
    stored = Counter(event_id.hex for event_id in Event.objects.values_list("event_id", flat=True))
    offsets = dict(SpoolFile.objects.values_list("name", "offset"))
    waiting = Counter(
        event.event_id.hex
        for name in spool.files()
        for event in spool.read(name, offsets.get(name, 0), DISTINCT * 2)[0]
    )
    return stored, waiting


def assert_consistent(sent: dict[str, str]) -> None:
    """What digest committed so far: each sent event id stored once or still waiting; counts that match."""
    stored, waiting = stored_and_waiting()
    assert set(stored) | set(waiting) == set(sent), "an accepted event was lost"
    assert max(stored.values(), default=1) == 1, "an event was stored twice"
    groups = ErrorGroup.objects.annotate(
        stored=Count("events", distinct=True), started=Count("runs", distinct=True)
    )
    for group in groups:
        assert group.times_seen == group.stored, f"{group.exception_type} counted {group.times_seen}"
        assert group.started == 1, f"{group.exception_type} has {group.started} runs"
    assert FixRun.objects.count() == len(groups)


def assert_digested_exactly_once(sent: dict[str, str]) -> None:
    assert_consistent(sent)
    assert events_waiting() == 0
    counts = dict(ErrorGroup.objects.values_list("exception_type", "times_seen"))
    assert counts == Counter(sent.values())
    assert Event.objects.count() == len(sent)


def digest_tasks_ended() -> bool:
    """Whether a kicked digest task succeeded and none is queued or running (the broker holds those)."""
    queued = (SignedPackage.loads(row.payload)["func"] for row in OrmQ.objects.all())
    return Success.objects.filter(group="ingest-digest").exists() and "ingest.tasks.digest" not in queued


@pytest.fixture
def digesters(request):
    started: list[Digester] = []

    def make(name: str) -> Digester:
        started.append(Digester(f"{request.node.name}-{name}"))
        return started[-1]

    yield make
    for digester in started:
        digester.stop()


def test_a_worker_killed_mid_batch_and_restarted_again_and_again_counts_every_event_once(
    key, settings, digesters
):
    settings.BUGSTACK_DIGEST = "loop"
    sent = accept_backlog(key)
    digester = digesters("worker")

    for batches in KILLS:
        waiting = events_waiting()
        digester.start()
        digester.kill_mid_batch(waiting_at_most=waiting - batches * BATCH)

        left = events_waiting()
        assert (waiting - left) % BATCH == 0, "a batch was applied in part"
        assert left <= waiting - batches * BATCH
        assert left > 0, "the worker finished before it was killed"
        assert_consistent(sent)

    digester.start().wait_until_digesting()
    wait_for(lambda: events_waiting() == 0, WAIT, digester.describe)
    digester.stop_cleanly()

    assert_digested_exactly_once(sent)


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite has one writer, so two digest workers take turns and cannot race; "
    "run with DATABASE_URL=postgres://… (CI does) to digest one backlog with two workers at once.",
)
def test_two_workers_digesting_one_backlog_at_once_count_every_event_once(key, settings, digesters):
    settings.BUGSTACK_DIGEST = "loop"
    sent = accept_backlog(key)
    first, second = digesters("first").start(), digesters("second").start()
    first.wait_until_digesting()
    second.wait_until_digesting()

    wait_for(
        lambda: events_waiting() == 0,
        WAIT,
        lambda: f"{first.describe()}\nsecond digest log:\n{second.log()}",
    )
    assert_digested_exactly_once(sent)
    first.stop_cleanly()
    second.stop_cleanly()


def test_events_posted_over_http_are_grouped_by_the_digest_task_their_acceptance_kicked(
    live_server, key, settings, request
):
    settings.BUGSTACK_DIGEST = "queue"
    # Only a kicked task digests here: without the minute's schedule nothing else would group these events.
    Schedule.objects.filter(func="ingest.tasks.digest").delete()
    # An earlier test's kick in this process, less than a kick interval ago, would make this test's first
    # kick one that is skipped; nothing would be running to find its events.
    time.sleep(settings.BUGSTACK_DIGEST_KICK_SECONDS)
    cluster = Cluster(
        # No GitHub token, so a run the groups start fails without reaching out; the URL is closed anyway.
        {"BUGSTACK_DIGEST": "queue", "BUGSTACK_GITHUB_API_URL": "http://127.0.0.1:9/api/v3"},
        name=request.node.name,
    ).start()
    sent: dict[str, str] = {}

    def post_wave(size: int) -> None:
        for n in range(size):
            event = event_of(n)
            sent[event["event_id"]] = last_exception(event)["type"]
            for _ in range(1 + n % 2):  # every other event id twice
                status, body = post_json(
                    f"{live_server.url}{EVENTS_URL}", event, {"Authorization": f"Bearer {key.public_key}"}
                )
                assert status == 202, body

    def grouped() -> bool:
        seen = ErrorGroup.objects.aggregate(total=Sum("times_seen"))["total"] or 0
        return seen == len(sent) and events_waiting() == 0

    def describe() -> str:
        counts = list(ErrorGroup.objects.values_list("exception_type", "times_seen"))
        return f"sent {len(sent)}, groups {counts}\ncluster log:\n{cluster.log()}"

    try:
        post_wave(30)
        wait_for(grouped, WAIT, describe)
        # The kicked tasks end once the backlog stays empty; a later burst is digested by a task of its own.
        wait_for(digest_tasks_ended, WAIT, describe)
        post_wave(20)
        wait_for(grouped, WAIT, describe)
        wait_for(digest_tasks_ended, WAIT, describe)
    finally:
        cluster.stop()

    assert_digested_exactly_once(sent)
    kicked = Success.objects.filter(group="ingest-digest", func="ingest.tasks.digest")
    assert kicked.count() >= 2
    assert sum(task.result for task in kicked) == 30 + 15 + 20 + 10, "every accepted copy claimed once"
