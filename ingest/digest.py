"""Digest: turn accepted events into groups and stored events, a batch at a time, each exactly once.

Accept (``ingest.accept``) only appends each event, normalised, redacted and fingerprinted, to its web
process's file in the spool (``ingest.spool``). Digest reads a batch of lines from the spool's files, each
from where it stopped, and in one transaction: drops event ids already stored, locks the batch's existing
groups in id order and creates the missing ones (an insert that ignores conflicts, so concurrent workers
create each group once), stores the events (COPY on PostgreSQL), counts them in Python and writes every group
once, tells the pipeline what happened to each group (``groups_digested``, inside the same transaction), and
moves each file's offset (``SpoolFile``) past what it read. A crash anywhere rolls all of it back, and the
lines are read again; two workers never read from the same file at once (its row is locked ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL; SQLite's single writer takes transactions one at a time).

What a group's events do to its status is decided here, once per group per batch (``observe``): a fixed
group seen from code that contains the fix regressed, a resolved group seen again is open again. Whether
that starts a fix run is the pipeline's decision, not ingest's.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from ingest import spool
from ingest.models import ErrorGroup, Event, SpoolFile
from ingest.signals import groups_digested
from ingest.spool import Spooled

logger = logging.getLogger(__name__)

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


def observe(group: ErrorGroup, events: list[Spooled], created: bool, now: datetime) -> Observation:
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


def claim(sizes: dict[str, int], limit: int) -> tuple[list[tuple[SpoolFile, int]], list[Spooled]]:
    """Lock spool files with lines past their offsets, those read longest ago first, until the caller's
    transaction ends, and read up to ``limit`` lines from them: each file's row with the offset after what
    was read of it, and the events.

    On PostgreSQL a file another worker holds is skipped. SQLite has one writer and every transaction takes
    it first (immediate mode), so a second worker waits for the first to commit and reads on from there.
    """
    candidates = (
        SpoolFile.objects.filter(name__in=list(sizes))
        .order_by(F("digested_at").asc(nulls_first=True), "pk")
        .values_list("pk", "name", "offset")
    )
    claimed, events = [], []
    for pk, name, offset in candidates:
        if len(events) >= limit:
            break
        if offset >= sizes[name]:
            continue
        row = SpoolFile.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
        if row is None:
            continue
        read, end = spool.read(name, row.offset, limit - len(events))
        if end > row.offset:
            claimed.append((row, end))
            events.extend(read)
    return claimed, events


def offsets(sizes: dict[str, int]) -> dict[str, int]:
    """How far digest has read each of these spool files that it has a row for."""
    return dict(SpoolFile.objects.filter(name__in=list(sizes)).values_list("name", "offset"))


def register(sizes: dict[str, int]) -> None:
    """Give each spool file digest has no row for yet its row (offset 0)."""
    if new := set(sizes) - set(offsets(sizes)):
        SpoolFile.objects.bulk_create([SpoolFile(name=name) for name in sorted(new)], ignore_conflicts=True)


def retire(sizes: dict[str, int]) -> None:
    """Delete the spool files read to their end that no writer holds any more, then their rows; and the
    rows of files gone."""
    for row in SpoolFile.objects.all():
        if row.name not in sizes:
            if not spool.path(row.name).exists():
                SpoolFile.objects.filter(pk=row.pk).delete()
            continue
        if spool.written_to(row.name):
            continue
        # No writer is left, so the file has its final size now; what digest committed is read after that.
        size = spool.size(row.name)
        offset = SpoolFile.objects.filter(pk=row.pk).values_list("offset", flat=True).first()
        if offset is None:
            continue  # another worker retired it
        if offset < size:
            if spool.whole_line_after(row.name, offset):
                continue  # appended before its writer let go: digest reads it first
            # A write that failed halfway (a full disk) or a machine that stopped mid-write left a partial
            # line at the end: it was never answered.
            logger.error("spool file %s ends in %d bytes of a partial line; deleted", row.name, size - offset)
        spool.delete(row.name)
        SpoolFile.objects.filter(pk=row.pk, offset=offset).delete()


# --- digesting -----------------------------------------------------------------------------------------


# A batch the database aborted for another worker's concurrent write is rolled back and claimed again
# this often.
RETRIES = 3
# PostgreSQL's deadlock_detected and serialization_failure: another transaction won; trying again works.
# unique_violation: another worker stored one of the batch's event ids meanwhile; the retry drops it.
CONFLICT_STATES = frozenset({"40P01", "40001", "23505"})


def digest_batch(limit: int | None = None) -> int:
    """Digest up to ``limit`` spooled events in one transaction; the number read.

    Two workers may read copies of one event id (an SDK's retry, accepted by two web processes) at once.
    Each drops the ids already stored, but neither sees the other's before it commits: the second one's
    insert then waits for the first's commit and fails on the id, and its batch is rolled back and read
    again, without it. Events are inserted in event id order, so workers wait on each other rather than
    deadlock; should the database still pick one to abort, that batch is rolled back and tried again.
    """
    limit = limit or settings.BUGSTACK_DIGEST_BATCH
    sizes = spool.files()
    if not sizes:
        return 0
    register(sizes)
    retries = RETRIES
    while True:
        try:
            with transaction.atomic():
                claimed, events = claim(sizes, limit)
                now = timezone.now()
                store(new_events(events), now)
                for row, end in claimed:
                    row.offset, row.digested_at = end, now
                    row.save(update_fields=["offset", "digested_at"])
            break
        except (OperationalError, IntegrityError) as exc:
            # Any other failure happens again on every try, and is raised after the last.
            if not retries or not concurrent_write(exc):
                raise
            retries -= 1
    retire(sizes)
    return len(events)


def concurrent_write(exc: Exception) -> bool:
    """A deadlock, a serialization failure or an event id stored meanwhile: another worker's write won."""
    return getattr(exc.__cause__, "sqlstate", None) in CONFLICT_STATES


def new_events(events: list[Spooled]) -> list[Spooled]:
    """The events whose event id is neither stored already nor earlier in the batch."""
    stored = set(stored_of(events).values_list("project_id", "event_id"))
    fresh = []
    for event in events:
        key = (event.project_id, event.event_id)
        if key not in stored:
            stored.add(key)
            fresh.append(event)
    return fresh


def store(events: list[Spooled], now: datetime) -> None:
    by_group: dict[tuple[int, str], list[Spooled]] = {}
    for event in events:
        by_group.setdefault((event.project_id, event.fingerprint), []).append(event)
    if not by_group:
        return
    groups = locked_groups(by_group)
    missing = {key: batch for key, batch in by_group.items() if key not in groups}
    if missing:
        create_groups(missing)
        groups |= locked_groups(missing)
    insert_events(events, groups)
    observations = {}
    for key, group in groups.items():
        batch = by_group[key]
        created = group.times_seen == 0
        observations[key] = observe(group, batch, created, now)
        count(group, batch, observations[key])
    update_groups(groups.values())
    first_event = first_events([batch[0] for batch in by_group.values()])
    groups_digested.send(
        sender=SpoolFile,
        activities=[
            GroupActivity(
                group_id=group.pk,
                project_id=group.project_id,
                activity=observations[key].activity,
                events=len(by_group[key]),
                first_event_id=first_event[(by_group[key][0].project_id, by_group[key][0].event_id)],
                at=now,
            )
            for key, group in groups.items()
        ],
    )


# The columns an event is inserted with: its own (as spooled), its project and its group.
EVENT_FIELDS = [field for field in Event._meta.concrete_fields if not field.primary_key]


def insert_events(events: list[Spooled], groups: dict[tuple[int, str], ErrorGroup]) -> None:
    """Insert the events into their (locked) groups, in event id order, as every worker inserts them.

    On PostgreSQL one COPY, whose rows psycopg adapts itself and whose payload goes in as the JSON text it was
    spooled as; elsewhere one INSERT per event, sent together.
    """
    qn = connection.ops.quote_name
    columns = ", ".join(qn(field.column) for field in EVENT_FIELDS)
    table = qn(Event._meta.db_table)
    rows = []
    for event in sorted(events, key=lambda event: (event.project_id, event.event_id)):
        group = groups[(event.project_id, event.fingerprint)]
        rows.append(
            [group.pk if field.name == "group" else getattr(event, field.attname) for field in EVENT_FIELDS]
        )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        prepared = [
            [
                value if field.name == "data" else field.get_db_prep_save(value, connection)
                for field, value in zip(EVENT_FIELDS, row, strict=True)
            ]
            for row in rows
        ]
        placeholders = ", ".join(["%s"] * len(EVENT_FIELDS))
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", prepared)  # noqa: S608


def first_events(events: list[Spooled]) -> dict[tuple[int, uuid.UUID], int]:
    """The primary keys of these (just stored) events, by project and event id."""
    stored = stored_of(events).values_list("project_id", "event_id", "pk")
    return {(project_id, event_id): pk for project_id, event_id, pk in stored}


def stored_of(events: list[Spooled]) -> QuerySet[Event]:
    """Stored events with these events' projects and event ids (matched apart: callers look up the pairs)."""
    return Event.objects.filter(
        project_id__in={event.project_id for event in events},
        event_id__in={event.event_id for event in events},
    )


def create_groups(by_group: dict[tuple[int, str], list[Spooled]]) -> None:
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


def locked_groups(by_group: dict[tuple[int, str], list[Spooled]]) -> dict[tuple[int, str], ErrorGroup]:
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


def count(group: ErrorGroup, batch: list[Spooled], observation: Observation) -> None:
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


def backlog_bytes() -> int:
    """How many bytes of events wait in the spool for digest: what its files hold past their offsets."""
    sizes = spool.files()
    if not sizes:
        return 0
    read = offsets(sizes)
    return sum(max(size - read.get(name, 0), 0) for name, size in sizes.items())


def waiting() -> int:
    """How many events wait in the spool for digest, counted line by line (reads what waits)."""
    sizes = spool.files()
    read = offsets(sizes)
    return sum(1 for name in sizes for _ in spool.lines_after(name, read.get(name, 0)))
