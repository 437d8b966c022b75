"""Accept: what an event costs the request that brings it — one row appended, then digest is started.

Everything before this (authentication, size, parsing, validation, normalising and redacting) is done by
the view; nothing here reads or writes groups or runs. Digest (``ingest.digest``) does the rest.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django_q.tasks import async_task

from ingest.digest import backlog, digest_backlog
from ingest.models import IncomingEvent

_backlog_seen: tuple[float, int] = (float("-inf"), 0)
_last_kick = float("-inf")


def accept(project_id: int, received_at: datetime, data: dict[str, Any]) -> None:
    """Append the (normalised, redacted) event for digest, and see that digest runs once it commits."""
    IncomingEvent.objects.create(project_id=project_id, received_at=received_at, data=data)
    if settings.BUGSTACK_DIGEST == "inline":
        digest_backlog()  # in the request's own transaction, if it has one
    elif settings.BUGSTACK_DIGEST == "queue":
        transaction.on_commit(kick)
    # "loop": `manage.py digest` workers look for it on their own.


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
