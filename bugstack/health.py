"""``/healthz``: whether this process can do its work, and the figures that say which process to add.

A load balancer reads the status (200, or 503 when the database or the task broker is out of reach); a person
sizing an installation reads the rest (docs/scaling.md): events waiting for digest, and tasks waiting for a
worker.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import JsonResponse
from django_q.brokers import get_broker

from ingest.digest import backlog_bytes

logger = logging.getLogger(__name__)


def healthz(request) -> JsonResponse:
    database = database_health()
    broker = broker_health()
    ok = database["ok"] and broker["ok"]
    body = {"status": "ok" if ok else "unavailable", "database": database, "broker": broker}
    if database["ok"]:
        body["ingest"] = database.pop("ingest")
    return JsonResponse(body, status=200 if ok else 503)


def database_health() -> dict[str, Any]:
    """The database answers, and how many bytes of accepted events wait in the spool for digest, against
    the bound where accept says 429."""
    try:
        waiting = backlog_bytes()
    except DatabaseError:
        return {"ok": False, "detail": "the database cannot be reached"}
    limit = settings.BUGSTACK_INGEST_BACKLOG_BYTES
    return {"ok": True, "ingest": {"backlog_bytes": waiting, "backlog_limit_bytes": limit}}


def broker_health() -> dict[str, Any]:
    """The task broker answers, and how many tasks wait for a worker and how many a worker holds."""
    kind = "orm" if settings.BUGSTACK_BROKER == "orm" else "redis"
    try:
        broker = get_broker()
        broker.ping()
        return {"kind": kind, "ok": True, "queued": broker.queue_size(), "in_progress": broker.lock_size()}
    except Exception:  # noqa: BLE001 - any failure to reach the broker is the same answer: not available
        logger.warning("the task broker cannot be reached", exc_info=True)
        return {"kind": kind, "ok": False, "detail": "the task broker cannot be reached"}
