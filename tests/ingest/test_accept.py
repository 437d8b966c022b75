"""Accept's appender: rows handed in while a statement runs go in together, and a 202 still means stored.

Requests outside a transaction (as under a real server) hand their row to the process's appender thread,
which appends everything handed in meanwhile with one statement. These tests hold the incoming table's
write lock from a connection of their own, so that requests pile up behind the first statement, as under
load, and then look at what each request was answered and what the database holds.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection, connections
from django.test import Client

from ingest.accept import appender, stop_appender
from ingest.models import IncomingEvent
from tests.ingest.conftest import EVENTS_URL, python_event

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 30
# Long enough for a request to reach the appender and its statement to start waiting for the lock.
HANDED_OVER = 0.5


@pytest.fixture(autouse=True)
def own_appender(settings):
    """An appender started for the test and stopped after it, so its settings are the test's."""
    settings.BUGSTACK_DIGEST = "loop"
    stop_appender()
    yield
    stop_appender()


@contextmanager
def incoming_table_locked() -> Iterator[None]:
    """Hold the incoming table's write lock from another connection until the block ends."""
    settings_dict = connection.settings_dict
    if connection.vendor == "postgresql":
        other = psycopg.connect(
            dbname=settings_dict["NAME"],
            user=settings_dict["USER"],
            host=settings_dict["HOST"] or None,
            port=settings_dict["PORT"] or None,
        )
        other.execute(f"LOCK TABLE {IncomingEvent._meta.db_table} IN EXCLUSIVE MODE")
        release = other.commit
    else:
        other = sqlite3.connect(settings_dict["NAME"], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        release = lambda: other.execute("COMMIT")  # noqa: E731
    try:
        yield
    finally:
        release()
        other.close()


def send(key, event_id: str) -> tuple[int, bool]:
    """POST one event from this thread; its status and whether its row was there when the answer came."""
    try:
        response = Client().post(
            EVENTS_URL,
            python_event(event_id=event_id),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key.public_key}",
        )
        stored = IncomingEvent.objects.filter(event_id=uuid.UUID(event_id)).exists()
        return response.status_code, stored
    finally:
        connections.close_all()


def wait_until_waiting(count: int) -> None:
    """Until at least ``count`` rows wait in the appender's queue (behind the statement the lock holds)."""
    deadline = time.monotonic() + WAIT
    while appender().queue.qsize() < count:
        assert time.monotonic() < deadline, f"{appender().queue.qsize()} rows queued, not {count}"
        time.sleep(0.01)


def statements_of(event_ids: list[str]) -> int:
    """How many statements wrote these rows (PostgreSQL: the transactions that created them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(DISTINCT xmin::text) FROM {IncomingEvent._meta.db_table} WHERE event_id = ANY(%s)",  # noqa: S608
            [[uuid.UUID(event_id) for event_id in event_ids]],
        )
        return cursor.fetchone()[0]


def test_requests_that_arrive_during_a_statement_are_appended_together_and_each_answered_once_stored(key):
    event_ids = [uuid.uuid4().hex for _ in range(12)]
    with ThreadPoolExecutor(len(event_ids)) as pool, incoming_table_locked():
        first = pool.submit(send, key, event_ids[0])
        time.sleep(HANDED_OVER)  # its statement now waits for the lock
        rest = [pool.submit(send, key, event_id) for event_id in event_ids[1:]]
        wait_until_waiting(len(rest))
        assert not any(future.done() for future in [first, *rest]), "answered before its row was stored"
    answers = [future.result(WAIT) for future in [first, *rest]]

    assert answers == [(202, True)] * len(event_ids)
    assert IncomingEvent.objects.count() == len(event_ids)
    if connection.vendor == "postgresql":
        assert statements_of(event_ids) <= 2  # the first (alone), then all that waited behind it


def test_a_request_whose_row_is_not_stored_in_time_gets_503_and_its_retry_is_counted_once(key, settings):
    settings.BUGSTACK_ACCEPT_WAIT_SECONDS = 0.3
    event_id = uuid.uuid4().hex
    with incoming_table_locked():
        status, stored = send(key, event_id)
        assert (status, stored) == (503, False)
    # The row was still written once the lock went; the sender's retry brings a second copy.
    deadline = time.monotonic() + WAIT
    while not IncomingEvent.objects.filter(event_id=uuid.UUID(event_id)).exists():
        assert time.monotonic() < deadline, "the row handed in was never written"
        time.sleep(0.01)
    assert send(key, event_id) == (202, True)

    from ingest.digest import digest_backlog
    from ingest.models import ErrorGroup, Event

    digest_backlog()
    assert Event.objects.filter(event_id=uuid.UUID(event_id)).count() == 1
    assert ErrorGroup.objects.get().times_seen == 1


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="An SQLite database cannot go away under an open connection; run with DATABASE_URL=postgres://… "
    "(CI does) to cut the appender's connection.",
)
def test_when_the_database_drops_the_appenders_connection_waiting_requests_get_503_and_the_next_is_stored(
    key,
):
    assert send(key, uuid.uuid4().hex) == (202, True)  # the appender's connection is open
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    response = Client().post(
        EVENTS_URL,
        python_event(),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key.public_key}",
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "retry later" in response.json()["detail"]

    assert send(key, uuid.uuid4().hex) == (202, True)
    assert IncomingEvent.objects.count() == 2


def test_stopping_the_appender_writes_what_it_was_handed_first(key):
    results: list[tuple[int, bool]] = []
    with incoming_table_locked():
        sender = threading.Thread(target=lambda: results.append(send(key, uuid.uuid4().hex)))
        sender.start()
        time.sleep(HANDED_OVER)
        stopper = threading.Thread(target=stop_appender)
        stopper.start()
    stopper.join(WAIT)
    sender.join(WAIT)
    assert results == [(202, True)]
    assert IncomingEvent.objects.count() == 1
