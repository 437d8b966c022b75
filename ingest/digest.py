"""Digest: turn accepted events into groups and stored events, a batch at a time, each exactly once.

Accept (``ingest.accept``) only appends each event, normalised, redacted and fingerprinted, to
``IncomingEvent``. Digest claims a batch of those rows and, in one transaction: drops event ids already
stored, locks the batch's existing groups in id order and creates the missing ones (an insert that ignores
conflicts, so concurrent workers create each group once), copies the events into ``Event`` inside the
database (the payloads never come back to Python; an id another worker stored meanwhile is skipped, and a
group made only for such ids is removed), counts the events it stored in Python and writes every group
once, tells the pipeline what happened to each group (``groups_digested``, inside the same transaction),
and deletes the claimed rows. A crash anywhere rolls all of it back, and the rows are claimed again; two
workers never claim the same row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the database's single writer
on SQLite).

What a group's events do to its status is decided here, once per group per batch (``observe``): a fixed
group seen from code that contains the fix regressed, a resolved group seen again is open again. Whether
that starts a fix run is the pipeline's decision, not ingest's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from ingest.models import ErrorGroup, Event, IncomingEvent
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


def observe(group: ErrorGroup, events: list[Claimed], created: bool, now: datetime) -> Observation:
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
    """What digest reads of a waiting event: enough to count it and make its group, not its payload."""

    id: int
    project_id: int
    received_at: datetime
    event_id: uuid.UUID
    release: str
    fingerprint: str
    fingerprint_version: int
    title: str
    culprit: str
    exception_type: str
    platform: str


CLAIMED_FIELDS = [field.name for field in fields(Claimed)]


def claim(limit: int) -> list[Claimed]:
    """Lock up to ``limit`` of the oldest incoming rows until the caller's transaction ends; read them.

    On PostgreSQL rows another worker holds are skipped. SQLite has one writer and every transaction
    takes it first (immediate mode), so a second worker waits for the first to commit and finds them gone.
    """
    waiting = IncomingEvent.objects.select_for_update(skip_locked=True).order_by("id")
    return [Claimed(*row) for row in waiting.values_list(*CLAIMED_FIELDS)[:limit]]


# --- digesting -----------------------------------------------------------------------------------------


# A batch the database aborted for another worker's concurrent write is rolled back and claimed again
# this often.
RETRIES = 3
# PostgreSQL's deadlock_detected and serialization_failure: another transaction won; trying again works.
CONFLICT_STATES = frozenset({"40P01", "40001"})


def digest_batch(limit: int | None = None) -> int:
    """Digest up to ``limit`` accepted events in one transaction; the number of rows claimed.

    Two workers may hold copies of one event id (an SDK's retry) in their batches at once. Each drops the
    ids already stored, but neither sees the other's before it commits: the copy into ``Event`` skips an
    id another worker stored meanwhile (it waits for that worker's commit), and only the events it did
    store are counted. Rows are written in key order, so workers wait on each other rather than deadlock;
    should the database still pick one to abort, that batch is rolled back and tried again.
    """
    limit = limit or settings.BUGSTACK_DIGEST_BATCH
    retries = RETRIES
    while True:
        try:
            with transaction.atomic():
                claimed = claim(limit)
                if claimed:
                    store(new_events(claimed), timezone.now())
                    IncomingEvent.objects.filter(id__in=[item.id for item in claimed]).delete()
            return len(claimed)
        except OperationalError as exc:
            # Any other failure happens again on every try, and is raised after the last.
            if not retries or not concurrent_write(exc):
                raise
            retries -= 1


def concurrent_write(exc: Exception) -> bool:
    """A deadlock or a serialization failure: another worker's write won."""
    return getattr(exc.__cause__, "sqlstate", None) in CONFLICT_STATES


def new_events(claimed: list[Claimed]) -> list[Claimed]:
    """The claimed events whose event id is neither stored already nor earlier in the batch."""
    stored = set(
        Event.objects.filter(
            project_id__in={item.project_id for item in claimed},
            event_id__in={item.event_id for item in claimed},
        ).values_list("project_id", "event_id")
    )
    fresh = []
    for item in claimed:
        key = (item.project_id, item.event_id)
        if key not in stored:
            stored.add(key)
            fresh.append(item)
    return fresh


def store(items: list[Claimed], now: datetime) -> None:
    by_group: dict[tuple[int, str], list[Claimed]] = {}
    for item in items:
        by_group.setdefault((item.project_id, item.fingerprint), []).append(item)
    if not by_group:
        return
    groups = locked_groups(by_group)
    missing = {key: batch for key, batch in by_group.items() if key not in groups}
    if missing:
        create_groups(missing)
        groups |= locked_groups(missing)
    stored = copy_events([item.id for batch in by_group.values() for item in batch])
    # The events this batch stored, by group: not those another worker stored while this one waited.
    fresh = {key: copies_stored(batch, stored) for key, batch in by_group.items()}
    # A group made for events that all turned out stored by another worker (a resend that now groups
    # elsewhere) holds none: it goes, unless another worker made and counted it meanwhile.
    empty = [groups[key].pk for key in missing if not fresh[key]]
    if empty:
        ErrorGroup.objects.filter(pk__in=empty, times_seen=0).delete()
    by_group = {key: batch for key, batch in fresh.items() if batch}
    if not by_group:
        return
    groups = {key: groups[key] for key in by_group}
    observations = {}
    for key, group in groups.items():
        batch = by_group[key]
        created = group.times_seen == 0
        observations[key] = observe(group, batch, created, now)
        count(group, batch, observations[key])
    update_groups(groups.values())
    first_event = {
        groups[key].pk: stored[(batch[0].project_id, batch[0].event_id)] for key, batch in by_group.items()
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


def copies_stored(batch: list[Claimed], stored: dict[tuple[int, uuid.UUID], int]) -> list[Claimed]:
    """The batch's events that ``copy_events`` stored: one each (the other worker's are not)."""
    return [item for item in batch if (item.project_id, item.event_id) in stored]


def copy_events(incoming_ids: list[int]) -> dict[tuple[int, uuid.UUID], int]:
    """Insert these incoming rows as events of their (existing) groups; each stored one's new primary key.

    One INSERT … SELECT: the payload goes from one table to the other inside the database. An event id
    already stored is skipped, including one another worker stored while this insert waited for its
    commit. The events are written in event id order, as every worker writes them, so two inserting the
    same ids never deadlock.
    """
    qn = connection.ops.quote_name
    event_columns = {field.column for field in Event._meta.concrete_fields}
    copied = [
        qn(field.column)
        for field in IncomingEvent._meta.concrete_fields
        if field.column in event_columns and not field.primary_key
    ]
    # The key, project, fingerprint and event id columns are named alike in the three tables.
    key, project, fingerprint, event_id = (
        qn(IncomingEvent._meta.get_field(name).column)
        for name in ("id", "project", "fingerprint", "event_id")
    )
    group = qn(Event._meta.get_field("group").column)
    sql = (
        f"INSERT INTO {qn(Event._meta.db_table)} ({', '.join(copied)}, {group}) "  # noqa: S608 - model names
        f"SELECT {', '.join(f'i.{name}' for name in copied)}, g.{key} "
        f"FROM {qn(IncomingEvent._meta.db_table)} i JOIN {qn(ErrorGroup._meta.db_table)} g "
        f"ON g.{project} = i.{project} AND g.{fingerprint} = i.{fingerprint} "
        f"WHERE i.{key} IN ({', '.join(['%s'] * len(incoming_ids))}) ORDER BY i.{project}, i.{event_id} "
        f"ON CONFLICT ({project}, {event_id}) DO NOTHING RETURNING {key}, {project}, {event_id}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, incoming_ids)
        # PostgreSQL returns the event id as a UUID, SQLite as its hex: either reads back as a UUID.
        return {(project_id, uuid.UUID(str(event_id))): pk for pk, project_id, event_id in cursor.fetchall()}


def create_groups(by_group: dict[tuple[int, str], list[Claimed]]) -> None:
    """Insert these groups, uncounted, in key order; one another worker created meanwhile is left alone."""
    ErrorGroup.objects.bulk_create(
        (
            ErrorGroup(
                project_id=project_id,
                fingerprint=fingerprint,
                fingerprint_version=batch[0].fingerprint_version,
                title=batch[0].title,
                culprit=batch[0].culprit,
                exception_type=batch[0].exception_type,
                platform=batch[0].platform,
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


COUNTED_FIELDS = ("times_seen", "last_seen", "status", "releases", "seen_after_fix")


def update_groups(groups: Iterable[ErrorGroup]) -> None:
    """Write each group's counted fields: one UPDATE statement, sent once with every group's values.

    ``bulk_update`` would build a CASE of every group for every field, and that cost most of a batch.
    """
    qn = connection.ops.quote_name
    counted = [ErrorGroup._meta.get_field(name) for name in COUNTED_FIELDS]
    table, key = qn(ErrorGroup._meta.db_table), qn(ErrorGroup._meta.pk.column)
    assignments = ", ".join(f"{qn(field.column)} = %s" for field in counted)
    sql = f"UPDATE {table} SET {assignments} WHERE {key} = %s"  # noqa: S608 - model names
    rows = [
        [field.get_db_prep_save(getattr(group, field.attname), connection) for field in counted] + [group.pk]
        for group in groups
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


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
