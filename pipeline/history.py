"""What a group's project saw before the group: the history triage weighs a new error against.

Packages are compared between the group's first event and the project's last event before it in the same
environment, both as their SDKs reported them (``modules``). Finding that last event reads the latest few
events of the project's most recently seen groups through the (group, timestamp) index: bounded work, done
once per fix run, and no index on the events table that every ingested event would have to write.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ingest.models import ErrorGroup, Event
from pipeline.triage import NO_HISTORY, History, version_changes

# How many of the project's other groups, and of each one's latest events, are looked at.
RECENT_GROUPS = 20
EVENTS_PER_GROUP = 5


def history_for(group: ErrorGroup) -> History:
    first = first_event(group)
    if first is None or not first["modules"]:
        return NO_HISTORY
    before = last_modules_before(group, first["timestamp"], first["environment"])
    if before is None:
        return NO_HISTORY
    return History(version_changes=version_changes(before, first["modules"]))


def first_event(group: ErrorGroup) -> dict | None:
    row = group.events.order_by("timestamp").values("timestamp", "environment", "data__modules").first()
    return row and {**row, "modules": as_modules(row["data__modules"])}


def last_modules_before(group: ErrorGroup, moment: datetime, environment: str) -> Mapping[str, str] | None:
    """``modules`` of the project's latest event before ``moment`` in ``environment`` that carries them."""
    others = (
        ErrorGroup.objects.filter(project_id=group.project_id)
        .exclude(pk=group.pk)
        .order_by("-last_seen")
        .values_list("pk", flat=True)[:RECENT_GROUPS]
    )
    latest: tuple[datetime, Mapping[str, str]] | None = None
    for group_id in others:
        events = (
            Event.objects.filter(group_id=group_id, timestamp__lt=moment)
            .order_by("-timestamp")
            .values_list("timestamp", "environment", "data__modules")[:EVENTS_PER_GROUP]
        )
        for timestamp, event_environment, modules in events:
            modules = as_modules(modules)
            if event_environment == environment and modules:
                if latest is None or timestamp > latest[0]:
                    latest = (timestamp, modules)
                break
    return latest[1] if latest else None


def as_modules(value: Any) -> Mapping[str, str]:
    """The stored ``modules`` map, or an empty one for anything else (older events, other SDKs)."""
    return value if isinstance(value, Mapping) else {}
