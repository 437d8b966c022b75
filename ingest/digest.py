"""Digest: turn accepted events into groups and stored events, a batch at a time, each exactly once.

Accept (``ingest.views``) only appends each event, normalised and redacted, to ``IncomingEvent``. Digest
claims a batch of those rows and, in one transaction: fingerprints the events, drops event ids already
stored, creates the groups it has not seen (an insert that ignores conflicts, so concurrent workers create
each group once), locks the batch's groups in id order, counts each group's events in Python and writes
every group once, inserts the events, tells the pipeline what happened to each group (``groups_digested``,
inside the same transaction), and deletes the claimed rows. A crash anywhere rolls all of it back, and the
rows are claimed again; two workers never claim the same row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
database's single writer on SQLite).

What a group's events do to its status is decided here, once per group per batch (``observe``): a fixed
group seen from code that contains the fix regressed, a resolved group seen again is open again. Whether
that starts a fix run is the pipeline's decision, not ingest's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from ingest.models import ErrorGroup, Event, IncomingEvent
from ingest.normalize import PreparedEvent, derive
from ingest.signals import groups_digested

MAX_RELEASES = 50

Status = ErrorGroup.Status


class Activity:
    """What a batch's events did to a group, for the pipeline to act on."""

    NEW = "new"  # the batch created the group
    REGRESSED = "regressed"  # a fixed group recurred from code that contains the fix
    AFTER_FIX = "after_fix"  # a fixed group seen only from code that predates the fix
    IGNORED = "ignored"  # a person ignored the group: counted, nothing else
    SEEN = "seen"  # an open group seen again


@dataclass(frozen=True)
class GroupActivity:
    group_id: int
    project_id: int
    activity: str  # one of ``Activity``
    events: int  # how many of the batch's events the group counted
    first_event_id: int  # primary key of the group's first event in the batch
    at: datetime  # when the batch was digested


@dataclass
class Observation:
    """The group's status fields after a batch of its events, and what the batch did to it."""

    status: str
    releases: list[str]
    seen_after_fix: int
    activity: str


def observe(group: ErrorGroup, events: list[PreparedEvent], created: bool, now: datetime) -> Observation:
    """Walk the group's events in arrival order, as if each came alone (DESIGN.md, "When an event starts
    a run", for the group's side of it)."""
    status, releases, after_fix = group.status, list(group.releases or ()), 0
    regressed = False
    for event in events:
        if status == Status.FIXED:
            if from_code_before_fix(group, releases, event.release, now):
                after_fix += 1
            else:
                regressed, status = True, Status.UNRESOLVED
        elif status == Status.RESOLVED:
            # A group resolved by hand that occurs again is open again, as in Sentry.
            status = Status.UNRESOLVED
        if event.release and event.release not in releases:
            releases.append(event.release)
    if created:
        activity = Activity.NEW
    elif group.status == Status.IGNORED:
        activity = Activity.IGNORED
    elif regressed:
        activity = Activity.REGRESSED
    elif group.status == Status.FIXED:
        activity = Activity.AFTER_FIX
    else:
        activity = Activity.SEEN
    return Observation(status, releases[-MAX_RELEASES:], group.seen_after_fix + after_fix, activity)


def from_code_before_fix(group: ErrorGroup, releases: list[str], release: str, now: datetime) -> bool:
    """Whether an event of a fixed group probably comes from code deployed before the fix.

    The group's releases hold exactly the releases seen before the fix until it regresses: a release not
    among them is a deploy after the fix. Without a release, the grace period after the merge decides.
    """
    if release:
        return release in releases
    if group.fix_merged_at is None:
        return False
    return now < group.fix_merged_at + timedelta(seconds=settings.BUGSTACK_REGRESSION_GRACE_SECONDS)


# --- claiming ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    project_id: int
    received_at: datetime
    event: PreparedEvent


def claim(limit: int) -> list[Claimed]:
    """Delete up to ``limit`` of the oldest incoming rows and return them, inside the caller's transaction.

    The rows come back if the transaction rolls back. On PostgreSQL rows another worker holds are skipped;
    SQLite has one writer, so a second worker waits for the first to commit and then finds them gone.
    """
    qn = connection.ops.quote_name
    table = qn(IncomingEvent._meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    sql = (
        f"DELETE FROM {table} WHERE {qn('id')} IN "  # noqa: S608 - names from the model only
        f"(SELECT {qn('id')} FROM {table} ORDER BY {qn('id')} LIMIT %s{lock}) "
        f"RETURNING {qn('id')}, {qn('project_id')}, {qn('received_at')}, {qn('data')}"
    )
    data_field = IncomingEvent._meta.get_field("data")
    received_field = IncomingEvent._meta.get_field("received_at")
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit])
        rows = sorted(cursor.fetchall())
    claimed = []
    for _, project_id, received_at, data in rows:
        received_at = from_db(received_field, received_at)
        claimed.append(Claimed(project_id, received_at, derive(from_db(data_field, data))))
    return claimed


def from_db(model_field, value: Any) -> Any:
    """A raw column value as the model field reads it (SQLite returns text for JSON and datetimes)."""
    column = model_field.get_col(model_field.model._meta.db_table)
    converters = connection.ops.get_db_converters(column) + model_field.get_db_converters(connection)
    for converter in converters:
        value = converter(value, column, connection)
    return value


# --- digesting -----------------------------------------------------------------------------------------


# A batch that met another worker's concurrent write is rolled back and claimed again this often.
RETRIES = 3
# PostgreSQL's deadlock_detected and serialization_failure: another transaction won; trying again works.
CONFLICT_STATES = frozenset({"40P01", "40001"})


def digest_batch(limit: int | None = None) -> int:
    """Digest up to ``limit`` accepted events in one transaction; the number of rows claimed.

    Two workers may hold copies of one event id (an SDK's retry) in their batches at once. Each checks the
    ids already stored, but neither sees the other's before it commits: the second insert breaks the
    unique (project, event_id) constraint, its whole batch rolls back, and claimed again it finds the id.
    Rows are written in key order, so workers wait on each other rather than deadlock; should the database
    still pick one to abort, that batch too is rolled back and tried again.
    """
    limit = limit or settings.BUGSTACK_DIGEST_BATCH
    retries = RETRIES
    while True:
        try:
            with transaction.atomic():
                claimed = claim(limit)
                if claimed:
                    store(new_events(claimed), timezone.now())
            return len(claimed)
        except (IntegrityError, OperationalError) as exc:
            # Any other failure happens again on every try, and is raised after the last.
            if not retries or not concurrent_write(exc):
                raise
            retries -= 1


def concurrent_write(exc: Exception) -> bool:
    """A broken unique constraint, a deadlock or a serialization failure: another worker's write won."""
    return isinstance(exc, IntegrityError) or getattr(exc.__cause__, "sqlstate", None) in CONFLICT_STATES


def new_events(claimed: list[Claimed]) -> list[Claimed]:
    """The claimed events whose event id is neither stored already nor earlier in the batch."""
    stored = set(
        Event.objects.filter(
            project_id__in={item.project_id for item in claimed},
            event_id__in={item.event.event_id for item in claimed},
        ).values_list("project_id", "event_id")
    )
    fresh = []
    for item in claimed:
        key = (item.project_id, item.event.event_id)
        if key not in stored:
            stored.add(key)
            fresh.append(item)
    return fresh


def store(items: list[Claimed], now: datetime) -> None:
    by_group: dict[tuple[int, str], list[Claimed]] = {}
    for item in items:
        by_group.setdefault((item.project_id, item.event.fingerprint), []).append(item)
    if not by_group:
        return
    create_missing_groups(by_group)
    groups = locked_groups(by_group)
    observations = {}
    for key, group in groups.items():
        batch = by_group[key]
        created = group.times_seen == 0
        observations[key] = observe(group, [item.event for item in batch], created, now)
        count(group, batch, observations[key])
    ErrorGroup.objects.bulk_update(
        groups.values(), ["times_seen", "last_seen", "status", "releases", "seen_after_fix"]
    )
    arrivals = [(key, item) for key, batch in by_group.items() for item in batch]
    events = Event.objects.bulk_create(
        Event(
            project_id=item.project_id,
            group_id=groups[key].pk,
            event_id=item.event.event_id,
            timestamp=item.event.timestamp,
            received_at=item.received_at,
            platform=item.event.platform,
            level=item.event.level,
            environment=item.event.environment,
            release=item.event.release,
            server_name=item.event.server_name,
            exception_type=item.event.exception_type,
            message=item.event.message,
            data=item.event.data,
        )
        # In event id order, as every worker writes them: two inserting the same ids never deadlock.
        for key, item in sorted(
            arrivals, key=lambda arrival: (arrival[1].project_id, arrival[1].event.event_id)
        )
    )
    stored = {(event.project_id, event.event_id): event.pk for event in events}
    first_event = {
        groups[key].pk: stored[(batch[0].project_id, batch[0].event.event_id)]
        for key, batch in by_group.items()
    }
    groups_digested.send(
        sender=IncomingEvent,
        activities=[
            GroupActivity(
                group_id=group.pk,
                project_id=group.project_id,
                activity=observations[key].activity,
                events=len(by_group[key]),
                first_event_id=first_event[group.pk],
                at=now,
            )
            for key, group in groups.items()
        ],
    )


def create_missing_groups(by_group: dict[tuple[int, str], list[Claimed]]) -> None:
    """Insert the groups of this batch that do not exist, uncounted; an existing one is left alone."""
    ErrorGroup.objects.bulk_create(
        (
            ErrorGroup(
                project_id=project_id,
                fingerprint=fingerprint,
                fingerprint_version=batch[0].event.fingerprint_version,
                title=batch[0].event.title,
                culprit=batch[0].event.culprit,
                exception_type=batch[0].event.exception_type,
                platform=batch[0].event.platform,
                times_seen=0,
                first_seen=batch[0].received_at,
                last_seen=batch[0].received_at,
            )
            for (project_id, fingerprint), batch in sorted(by_group.items())
        ),
        ignore_conflicts=True,
    )


def locked_groups(by_group: dict[tuple[int, str], list[Claimed]]) -> dict[tuple[int, str], ErrorGroup]:
    """The batch's groups, each row locked until commit, locked in id order (no deadlock between workers)."""
    candidates = ErrorGroup.objects.select_for_update().filter(
        project_id__in={project_id for project_id, _ in by_group},
        fingerprint__in={fingerprint for _, fingerprint in by_group},
    )
    return {
        (group.project_id, group.fingerprint): group
        for group in candidates.order_by("pk")
        if (group.project_id, group.fingerprint) in by_group
    }


def count(group: ErrorGroup, batch: list[Claimed], observation: Observation) -> None:
    """Apply the batch to the (locked) group in memory: its count, last seen and status fields."""
    group.times_seen += len(batch)
    group.last_seen = max(group.last_seen, *(item.received_at for item in batch))
    group.status = observation.status
    group.releases = observation.releases
    group.seen_after_fix = observation.seen_after_fix


# --- running -------------------------------------------------------------------------------------------


def digest_backlog(limit: int | None = None) -> int:
    """Digest batches until none is left; the number of rows claimed."""
    total = 0
    while claimed := digest_batch(limit):
        total += claimed
    return total


def backlog(bound: int) -> int:
    """About how many accepted events wait for digest, at most ``bound`` + 1.

    The span of waiting ids, read from the primary key's two ends: digest takes the oldest first, so the
    rows between are nearly all still waiting. Counting them would read every row, and on PostgreSQL every
    row digest deleted that vacuum has not reclaimed yet.
    """
    span = IncomingEvent.objects.aggregate(first=Min("id"), last=Max("id"))
    if span["first"] is None:
        return 0
    return min(span["last"] - span["first"] + 1, bound + 1)
