"""Counting what SDKs sent that is not stored, per project, kind and reason (``DroppedItems``).

Counted in each web process and written at most every ``BUGSTACK_DROPPED_FLUSH_SECONDS`` (one UPDATE per
project, kind and reason seen meanwhile), so that an SDK sending a transaction or a session with every
request costs the database nothing per request. The counts are statistics: those of a process that dies
before it writes them are lost, and nothing else is.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ingest.models import DroppedItems

MAX_NAME = 64
# Client reports list what the SDK discarded; entries past this many in one report are not read.
MAX_REPORT_ENTRIES = 100

_counts: Counter[tuple[int, str, str]] = Counter()
_lock = threading.Lock()
_written_at = time.monotonic()


def count_dropped(project_id: int, category: str, reason: str, quantity: int = 1) -> None:
    """Count ``quantity`` dropped items; write this process's counts when they have waited long enough."""
    global _written_at
    with _lock:
        _counts[(project_id, category[:MAX_NAME], reason[:MAX_NAME])] += quantity
        if time.monotonic() - _written_at < settings.BUGSTACK_DROPPED_FLUSH_SECONDS:
            return
        pending = dict(_counts)
        _counts.clear()
        _written_at = time.monotonic()
    write(pending)


def count_client_report(project_id: int, report: Any) -> None:
    """Count what an SDK's client report says it discarded (``discarded_events``), by category and reason."""
    entries = report.get("discarded_events") if isinstance(report, dict) else None
    if not isinstance(entries, list):
        return
    for entry in entries[:MAX_REPORT_ENTRIES]:
        if not isinstance(entry, dict):
            continue
        quantity = entry.get("quantity")
        if isinstance(quantity, int) and not isinstance(quantity, bool) and 0 < quantity < 2**31:
            category, reason = str(entry.get("category") or "unknown"), str(entry.get("reason") or "unknown")
            count_dropped(project_id, category, f"client: {reason}", quantity)


def flush_dropped() -> None:
    """Write whatever this process has counted (tests; a process that is about to stop)."""
    global _written_at
    with _lock:
        pending = dict(_counts)
        _counts.clear()
        _written_at = time.monotonic()
    write(pending)


def write(pending: dict[tuple[int, str, str], int]) -> None:
    now = timezone.now()
    for (project_id, category, reason), quantity in sorted(pending.items()):
        rows = DroppedItems.objects.filter(project_id=project_id, category=category, reason=reason)
        if rows.update(count=F("count") + quantity, last_seen=now):
            continue
        try:
            with transaction.atomic():
                DroppedItems.objects.create(
                    project_id=project_id, category=category, reason=reason, count=quantity, last_seen=now
                )
        except IntegrityError:  # another process created it meanwhile
            rows.update(count=F("count") + quantity, last_seen=now)
