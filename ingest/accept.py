"""Accept: what an event costs the request that brings it — its line appended to the spool, then digest is
started.

Everything before this (authentication, size, parsing, validation, normalising, redacting and
fingerprinting) is done by the view; nothing here reads or writes the database. Digest (``ingest.digest``)
does the rest.
"""

from __future__ import annotations

import time
from datetime import datetime

from django.conf import settings
from django_q.tasks import async_task

from ingest import spool
from ingest.digest import backlog_bytes, digest_backlog
from ingest.normalize import PreparedEvent

_backlog_seen: tuple[float, int] = (float("-inf"), 0)
_last_kick = float("-inf")


def accept(project_id: int, received_at: datetime, events: list[PreparedEvent]) -> None:
    """Spool the (normalised, redacted) events, in one write, and see that digest runs.

    Raises ``OSError`` when the spool cannot take them (a full disk): nothing of them was answered.
    """
    spool.append(b"".join(spool.line(project_id, received_at, event) for event in events))
    if settings.BUGSTACK_DIGEST == "inline":
        digest_backlog()
    elif settings.BUGSTACK_DIGEST == "queue":
        kick()
    # "loop": `manage.py digest` workers look for it on their own.


def backlog_full() -> bool:
    """Whether the events waiting for digest reached the bound, by this process's look of the last second."""
    global _backlog_seen
    checked_at, waiting = _backlog_seen
    now = time.monotonic()
    if now - checked_at >= settings.BUGSTACK_INGEST_BACKLOG_CHECK_SECONDS:
        waiting = backlog_bytes()
        _backlog_seen = (now, waiting)
    return waiting >= settings.BUGSTACK_INGEST_BACKLOG_BYTES


def kick() -> None:
    """Queue a digest task, at most once per ``BUGSTACK_DIGEST_KICK_SECONDS`` per process. An event whose
    kick is skipped is not stranded: the task kicked before it keeps looking until the backlog has stayed
    empty for longer than that (``ingest.tasks.digest``)."""
    global _last_kick
    now = time.monotonic()
    if now - _last_kick >= settings.BUGSTACK_DIGEST_KICK_SECONDS:
        _last_kick = now
        async_task("ingest.tasks.digest", task_name="ingest-digest", group="ingest-digest")
