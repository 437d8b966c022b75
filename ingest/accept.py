"""Accept: what an event costs the request that brings it — one row appended, then digest is started.

Everything before this (authentication, size, parsing, validation, normalising, redacting and
fingerprinting) is done by the view; nothing here reads or writes groups or runs. Digest
(``ingest.digest``) does the rest.
"""

from __future__ import annotations

import functools
import json
import os
import queue
import threading
import time
from datetime import datetime
from typing import Any

import orjson
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django_q.tasks import async_task

from ingest.digest import backlog, digest_backlog
from ingest.models import IncomingEvent
from ingest.normalize import PreparedEvent

_backlog_seen: tuple[float, int] = (float("-inf"), 0)
_last_kick = float("-inf")


def accept(project_id: int, received_at: datetime, events: list[PreparedEvent]) -> None:
    """Append the (normalised, redacted) events for digest, and see that digest runs once they commit."""
    rows = [incoming_row(project_id, received_at, event) for event in events]
    if connection.in_atomic_block:
        insert_rows(rows)  # part of the caller's transaction: it commits, or not, with the rest
    else:
        appender().append(rows)
    if settings.BUGSTACK_DIGEST == "inline":
        digest_backlog()  # in the request's own transaction, if it has one
    elif settings.BUGSTACK_DIGEST == "queue":
        transaction.on_commit(kick)
    # "loop": `manage.py digest` workers look for it on their own.


def incoming_row(project_id: int, received_at: datetime, event: PreparedEvent) -> list[Any]:
    """The incoming row's values in ``incoming_fields()`` order, as the database stores them; the payload
    serialised by orjson."""
    given = {"project_id": project_id, "received_at": received_at}
    row = []
    for field in incoming_fields():
        if field.name == "data":
            row.append(json_text(event.data))
        else:
            value = given[field.attname] if field.attname in given else getattr(event, field.attname)
            row.append(field.get_db_prep_save(value, connection))
    return row


@functools.cache
def incoming_fields() -> list[Any]:
    """The incoming table's fields but its key."""
    return [field for field in IncomingEvent._meta.concrete_fields if not field.primary_key]


def insert_rows(rows: list[list[Any]]) -> None:
    """One INSERT of these incoming rows, in the calling thread's connection (and transaction, if any).

    Written as SQL because this statement is most of what accept does: the ORM's ``create`` compiled it
    anew for every event and cost more than the rest of the request's own work.
    """
    qn = connection.ops.quote_name
    columns = ", ".join(qn(field.column) for field in incoming_fields())
    values = ", ".join(["(" + ", ".join(["%s"] * len(incoming_fields())) + ")"] * len(rows))
    table = qn(IncomingEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES {values}",  # noqa: S608 - model names
            [value for row in rows for value in row],
        )


class Pending:
    """Rows handed to the appender together (one request's), and what became of them."""

    __slots__ = ("rows", "done", "error")

    def __init__(self, rows: list[list[Any]] | None) -> None:
        self.rows = rows
        self.done = threading.Event()
        self.error: BaseException | None = None


class Appender:
    """This process's one writer of incoming rows: each statement appends every row handed in meanwhile.

    A request thread hands its row over and waits until the statement that holds it has committed, so a
    202 still means stored. Under load, rows arrive while the previous statement runs, and the next one
    takes them all: the database parses, logs and commits once per statement rather than once per event
    (about half the database's CPU per event at four rows), and requests wait on the database once each
    between them. Alone, a row goes in by itself at once; nothing waits for company.
    """

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[Pending] = queue.SimpleQueue()
        self.writer = threading.Thread(target=self.write, name="bugstack-appender", daemon=True)
        self.writer.start()

    def append(self, rows: list[list[Any]]) -> None:
        """Return once ``rows`` are committed (in one statement); raise ``DatabaseError`` if it failed."""
        pending = Pending(rows)
        self.queue.put(pending)
        if not pending.done.wait(settings.BUGSTACK_ACCEPT_WAIT_SECONDS):
            # It may still be written: the sender's retry is then dropped by digest as a repeated event id.
            raise DatabaseError(f"the event was not stored within {settings.BUGSTACK_ACCEPT_WAIT_SECONDS} s")
        if pending.error is not None:
            raise DatabaseError(f"the event was not stored: {pending.error}") from pending.error

    def stop(self) -> None:
        """Let the rows handed in so far be written, then end the writer and close its connection."""
        stop = Pending(None)
        self.queue.put(stop)
        stop.done.wait()
        self.writer.join()

    def write(self) -> None:
        while True:
            batch = [self.queue.get()]
            if batch[0].rows is None:
                connection.close()
                batch[0].done.set()
                return
            # Rows, not requests, are counted: a statement stays well under the databases' bound on
            # parameters (SQLite's 32,766) when one request brings a batch of events.
            rows = list(batch[0].rows)
            while len(rows) < settings.BUGSTACK_ACCEPT_BATCH:
                try:
                    pending = self.queue.get_nowait()
                except queue.Empty:
                    break
                if pending.rows is None:
                    self.queue.put(pending)  # after this batch
                    break
                batch.append(pending)
                rows.extend(pending.rows)
            try:
                close_old_connections()  # one that failed or outlived CONN_MAX_AGE is opened again
                insert_rows(rows)
            except Exception as exc:  # noqa: BLE001 - every waiting request is told, none left hanging
                for pending in batch:
                    pending.error = exc
            finally:
                for pending in batch:
                    pending.done.set()


_appender: tuple[int, Appender] | None = None
_appender_lock = threading.Lock()


def appender() -> Appender:
    """This process's appender, started on first use (in each process a server forks, not before)."""
    global _appender
    with _appender_lock:
        if _appender is None or _appender[0] != os.getpid():
            _appender = (os.getpid(), Appender())
        return _appender[1]


def stop_appender() -> None:
    """Stop this process's appender, if it runs, once what it holds is written (before a database is
    dropped: its connection would hold the database open)."""
    global _appender
    with _appender_lock:
        if _appender is not None and _appender[0] == os.getpid():
            _appender[1].stop()
        _appender = None


def json_text(data: dict[str, Any]) -> str:
    """The payload as JSON text; integers past 64 bits (kept exact by the parser) go through ``json``."""
    try:
        return orjson.dumps(data).decode()
    except orjson.JSONEncodeError:
        return json.dumps(data, ensure_ascii=False)


def backlog_full() -> bool:
    """Whether the events waiting for digest reached the bound, by this process's count of the last second."""
    global _backlog_seen
    checked_at, waiting = _backlog_seen
    now = time.monotonic()
    if now - checked_at >= settings.BUGSTACK_INGEST_BACKLOG_CHECK_SECONDS:
        waiting = backlog(settings.BUGSTACK_INGEST_BACKLOG_LIMIT)
        _backlog_seen = (now, waiting)
    return waiting >= settings.BUGSTACK_INGEST_BACKLOG_LIMIT


def kick() -> None:
    """Queue a digest task, at most once per ``BUGSTACK_DIGEST_KICK_SECONDS`` per process. An event whose
    kick is skipped is not stranded: the task kicked before it keeps looking until the backlog has stayed
    empty for longer than that (``ingest.tasks.digest``)."""
    global _last_kick
    now = time.monotonic()
    if now - _last_kick >= settings.BUGSTACK_DIGEST_KICK_SECONDS:
        _last_kick = now
        async_task("ingest.tasks.digest", task_name="ingest-digest", group="ingest-digest")
