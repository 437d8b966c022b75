"""Dedup: one group per (project, fingerprint), an exact count, and whether an event starts a run.

Every event runs one transaction: an atomic upsert of its group (``INSERT … ON CONFLICT … DO UPDATE …
RETURNING``, the same statement on PostgreSQL and SQLite), which also locks the group's row until commit,
so concurrent events of one group take their decisions one after the other and see each other's runs; then
the event row; then, if ``decide`` says so, ``pipeline.runs.start_run`` in the same transaction. A repeated
``event_id`` fails the event row's unique constraint and rolls the whole transaction back, count included.

Most events change nothing but a count: their group exists, is open or ignored, already lists their
release, and its last run is not an outside failure due for a retry. On PostgreSQL such an event is
stored by one statement in autocommit (``count_quiet_event``: the UPDATE's conditions are checked again on
the locked row, so it never takes an event ``decide`` would have acted on); any other event, or SQLite,
takes the transaction above. The conditions only ever send more events down the full path, never fewer.

Regressions need "the releases this group was seen in before its fix was merged". They are kept on the group
in ``ErrorGroup.releases``: the distinct releases seen, oldest first, at most ``MAX_RELEASES`` (the oldest
drop out). While the group is ``fixed`` a release missing from that list is by definition a deploy after
the fix — it reopens the group and is added — so the list holds exactly the pre-fix releases until then.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, models, transaction
from django.db.models import F, Field, Model
from django.utils.dateparse import parse_datetime

from ingest.models import ErrorGroup, Event
from ingest.normalize import PreparedEvent
from pipeline.models import FixRun
from pipeline.runs import start_run
from pipeline.states import FINAL_STATES, RunState

MAX_RELEASES = 50

# Runs that ended on a verdict about the error: only a person starts another one.
VERDICT_STATES = frozenset({RunState.OUT_OF_SCOPE, RunState.FIX_FAILED})


@dataclass(frozen=True)
class GroupState:
    """The group as the upsert left it."""

    id: int
    project_id: int
    created: bool
    status: str
    fix_merged_at: datetime | None
    releases: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class LatestRun:
    state: str
    created_at: datetime


@dataclass(frozen=True)
class Decision:
    trigger: str | None = None  # a ``FixRun.Trigger`` value when the event starts a run
    seen_after_fix: bool = False  # an event from code deployed before the fix
    reopen: bool = False  # the fix did not hold, or a group a person resolved recurred: unresolved again


def decide(
    group: GroupState,
    latest: LatestRun | None,
    release: str,
    now: datetime,
    window_seconds: int,
    grace_seconds: int,
) -> Decision:
    """What this event does to its group (DESIGN.md, "When an event starts a run")."""
    if group.created:
        return Decision(trigger=FixRun.Trigger.NEW_GROUP)
    if group.status == ErrorGroup.Status.IGNORED:
        return Decision()
    if group.status == ErrorGroup.Status.FIXED:
        if from_code_before_fix(group, release, now, grace_seconds):
            return Decision(seen_after_fix=True)
        return Decision(trigger=FixRun.Trigger.REGRESSION if may_start(latest) else None, reopen=True)
    # A group resolved by hand that occurs again is open again, as in Sentry; it starts nothing by itself.
    reopen = group.status == ErrorGroup.Status.RESOLVED
    if (
        latest is not None
        and latest.state == RunState.FAILED
        and latest.created_at <= now - timedelta(seconds=window_seconds)
    ):
        return Decision(trigger=FixRun.Trigger.RETRY, reopen=reopen)
    return Decision(reopen=reopen)


def from_code_before_fix(group: GroupState, release: str, now: datetime, grace_seconds: int) -> bool:
    """Whether an event of a fixed group probably comes from code deployed before the fix."""
    if release:
        return release in group.releases
    if group.fix_merged_at is None:
        return False
    return now < group.fix_merged_at + timedelta(seconds=grace_seconds)


def may_start(latest: LatestRun | None) -> bool:
    """No run in flight (nor a PR open), and the last one did not end on a verdict."""
    return latest is None or (latest.state in FINAL_STATES and latest.state not in VERDICT_STATES)


def record_event(project_id: int, event: PreparedEvent, window_seconds: int, now: datetime) -> bool:
    """Store the event in its group, starting a run if it should; False if its event_id was already stored."""
    try:
        if connection.vendor == "postgresql" and count_quiet_event(project_id, event, window_seconds, now):
            return True
        with transaction.atomic():
            group, latest, event_pk = store(project_id, event, now)
            decision = decide(
                group, latest, event.release, now, window_seconds, settings.BUGSTACK_REGRESSION_GRACE_SECONDS
            )
            update_group(group, decision, event.release)
            if decision.trigger:
                start_run(
                    ErrorGroup(id=group.id, project_id=project_id),
                    decision.trigger,
                    Event(pk=event_pk, project_id=project_id, group_id=group.id),
                )
    except IntegrityError:
        # Only a repeated event_id is expected here; anything else is a real error and must surface.
        if Event.objects.filter(project_id=project_id, event_id=event.event_id).exists():
            return False
        raise
    return True


# The hot path is SQL because the ORM cannot express the upsert, and its query building would cost more
# than the statements. On PostgreSQL the group upsert and the event insert are one statement (a data-
# modifying CTE), so a request is BEGIN, one statement, COMMIT; SQLite, in-process, runs them one by one.


def store(project_id: int, event: PreparedEvent, now: datetime) -> tuple[GroupState, LatestRun | None, int]:
    """Upsert the group (counting the event, locking the row until commit) and insert the event.

    Returns the group as the upsert left it, its latest run, and the new event's primary key.
    """
    group_columns, group_params = group_row(project_id, event, now)
    event_columns, event_params = event_row(project_id, event, now)
    with hot_cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(store_sql(group_columns, event_columns), group_params + event_params)
            *returned, event_pk = cursor.fetchone()
        else:
            cursor.execute(upsert_sql(group_columns), group_params)
            returned = cursor.fetchone()
            cursor.execute(insert_event_sql(event_columns), [returned[0], *event_params])
            event_pk = cursor.fetchone()[0]
    group_id, times_seen, status, fix_merged_at, releases, run_state, run_created_at = returned
    group = GroupState(
        id=group_id,
        project_id=project_id,
        # Only the INSERT branch leaves a count of one; every UPDATE makes it at least two.
        created=times_seen == 1,
        status=status,
        fix_merged_at=as_datetime(fix_merged_at),
        releases=tuple(json.loads(releases) if isinstance(releases, str | bytes) else releases or ()),
    )
    latest = LatestRun(run_state, as_datetime(run_created_at)) if run_state else None
    return group, latest, event_pk


# A psycopg ``prepare_threshold`` no query reaches: nothing is prepared automatically, only on request.
ONLY_WHEN_ASKED = 2**31


# The hot cursor of this thread's connection (Django's connections are per thread).
_hot = threading.local()


@contextlib.contextmanager
def hot_cursor():
    """A cursor for the hot statements: on PostgreSQL, bound and prepared on the server, and kept.

    Django's default cursor inlines parameters client-side (escaping each ~4 KB event) and never prepares,
    so every event would pay for parsing and planning the same statements again. This one sends parameters
    apart and has psycopg prepare each statement once per connection. It goes through Django's cursor
    wrapper all the same: errors are Django's, and queries are logged and counted as any other.

    Django opens connections with ``prepare_threshold=None``, and psycopg then ignores ``prepare=True``
    too; a threshold no query reaches lets the hot statements be prepared while nothing else is. A
    threshold set in the database's ``OPTIONS`` is left as it is, and
    ``BUGSTACK_PREPARED_STATEMENTS=0`` (a pooler that cannot keep them) prepares nothing.

    The psycopg cursor is kept for the connection's life rather than opened for each event: a new one
    starts with no dumpers chosen for its parameter types, and choosing them again cost about 0.09 ms of
    an event's CPU.
    """
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            yield cursor
        return
    db.ensure_connection()
    cursor = getattr(_hot, "cursor", None)
    if cursor is None or cursor.closed or cursor.connection is not db.connection:
        if settings.BUGSTACK_PREPARED_STATEMENTS and db.connection.prepare_threshold is None:
            db.connection.prepare_threshold = ONLY_WHEN_ASKED
        cursor = _hot.cursor = PreparingCursor(db.connection)
    yield db._prepare_cursor(cursor)


def count_quiet_event(project_id: int, event: PreparedEvent, window_seconds: int, now: datetime) -> bool:
    """PostgreSQL: count and store an event that needs no decision, in one statement; False if it does."""
    event_columns, event_params = event_row(project_id, event, now)
    params = [
        now,
        project_id,
        event.fingerprint,
        ErrorGroup.Status.FIXED,
        ErrorGroup.Status.RESOLVED,
        event.release,
        event.release,
        RunState.FAILED,
        now - timedelta(seconds=window_seconds),
        *event_params,
    ]
    # Alone, one statement is its own transaction; inside the caller's transaction (ATOMIC_REQUESTS, tests)
    # a savepoint keeps a refused duplicate from aborting it.
    scope = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    with scope, hot_cursor() as cursor:
        cursor.execute(quiet_event_sql(event_columns), params)
        return cursor.fetchone() is not None


@functools.cache
def quiet_event_sql(event_columns: tuple[str, ...]) -> str:
    """The group's count and the event insert, only where ``decide`` could have nothing to do.

    Mirrors ``decide``: not a new group (the UPDATE finds it), neither ``fixed`` nor ``resolved``, release
    empty or already listed, and the latest run not ``failed`` at or before the dedup window's start
    (one look at the latest run for both).
    """
    qn = connection.ops.quote_name
    table = qn(ErrorGroup._meta.db_table)
    failed_before = f"{run_column('state')} = %s AND {run_column('created_at')} <= %s"
    return (
        f"WITH g AS (UPDATE {table} SET {qn('times_seen')} = {qn('times_seen')} + 1, "  # noqa: S608
        f"{qn('last_seen')} = GREATEST({qn('last_seen')}, %s) "
        f"WHERE {qn('project_id')} = %s AND {qn('fingerprint')} = %s AND {qn('status')} NOT IN (%s, %s) "
        f"AND (%s = '' OR {qn('releases')} @> jsonb_build_array(%s::text)) "
        f"AND NOT COALESCE({latest_run_sql(failed_before)}, FALSE) "
        f"RETURNING {qn('id')}), "
        f"{event_from_group_sql(event_columns)} "
        f"SELECT {qn('id')} FROM e"
    )


def group_row(project_id: int, event: PreparedEvent, now: datetime) -> tuple[tuple[str, ...], list[Any]]:
    return prepared_row(
        ErrorGroup,
        {
            "project_id": project_id,
            "fingerprint": event.fingerprint,
            "fingerprint_version": event.fingerprint_version,
            "title": event.title,
            "culprit": event.culprit,
            "exception_type": event.exception_type,
            "platform": event.platform,
            "times_seen": 1,
            "first_seen": now,
            "last_seen": now,
            "releases": [event.release] if event.release else [],
        },
    )


def event_row(project_id: int, event: PreparedEvent, now: datetime) -> tuple[tuple[str, ...], list[Any]]:
    """The event's columns and values, except ``group_id``, which the statement takes from the upsert."""
    return prepared_row(
        Event,
        {
            "project_id": project_id,
            "event_id": event.event_id,
            "timestamp": event.timestamp,
            "received_at": now,
            "platform": event.platform,
            "level": event.level,
            "environment": event.environment,
            "release": event.release,
            "server_name": event.server_name,
            "exception_type": event.exception_type,
            "message": event.message,
            "data": event.data,
        },
        skip=("group_id",),
    )


@functools.cache
def upsert_sql(columns: tuple[str, ...]) -> str:
    """``INSERT … ON CONFLICT DO UPDATE … RETURNING``, identical on PostgreSQL and SQLite (3.35+).

    It also returns the state and start of the group's latest run. Built only from the models' table and
    column names, never from request data.
    """
    qn = connection.ops.quote_name
    table = qn(ErrorGroup._meta.db_table)
    return (
        f"INSERT INTO {table} ({', '.join(qn(c) for c in columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({qn('project_id')}, {qn('fingerprint')}) DO UPDATE SET "
        f"{qn('times_seen')} = {table}.{qn('times_seen')} + 1, "
        f"{qn('last_seen')} = CASE WHEN EXCLUDED.{qn('last_seen')} > {table}.{qn('last_seen')} "
        f"THEN EXCLUDED.{qn('last_seen')} ELSE {table}.{qn('last_seen')} END "
        f"RETURNING {qn('id')}, {qn('times_seen')}, {qn('status')}, {qn('fix_merged_at')}, {qn('releases')}, "
        f"{latest_run_sql(run_column('state'))} AS run_state, "
        f"{latest_run_sql(run_column('created_at'))} AS run_created_at"
    )


def latest_run_sql(expression: str) -> str:
    """``expression`` over the group's latest run, as a subquery on the group table of the enclosing
    statement (one probe of the run table's (group, -created_at) index).

    ``expression`` is SQL over the run table's columns (``run_column``), with parameters at most; only the
    models' table and column names go into it.
    """
    qn = connection.ops.quote_name
    return (
        f"(SELECT {expression} FROM {qn(FixRun._meta.db_table)} "  # noqa: S608
        f"WHERE {run_column('group')} = {qn(ErrorGroup._meta.db_table)}.{qn('id')} "
        f"ORDER BY {run_column('created_at')} DESC LIMIT 1)"
    )


def run_column(field_name: str) -> str:
    """A column of the run table, quoted."""
    return connection.ops.quote_name(FixRun._meta.get_field(field_name).column)


@functools.cache
def insert_event_sql(columns: tuple[str, ...]) -> str:
    """The event insert, ``group_id`` first."""
    qn = connection.ops.quote_name
    return (
        f"{insert_event_into(columns)} VALUES ({', '.join(['%s'] * (len(columns) + 1))}) RETURNING {qn('id')}"
    )


def insert_event_into(columns: tuple[str, ...]) -> str:
    """``INSERT INTO`` the event table, ``group_id`` and then ``columns``: what both event inserts send."""
    qn = connection.ops.quote_name
    names = ", ".join(qn(c) for c in ("group_id", *columns))
    return f"INSERT INTO {qn(Event._meta.db_table)} ({names})"  # noqa: S608


@functools.cache
def store_sql(group_columns: tuple[str, ...], event_columns: tuple[str, ...]) -> str:
    """PostgreSQL: the upsert and the event insert as one statement, returning both."""
    qn = connection.ops.quote_name
    return (
        f"WITH g AS ({upsert_sql(group_columns)}), "  # noqa: S608
        f"{event_from_group_sql(event_columns)} "
        f"SELECT g.*, e.{qn('id')} FROM g CROSS JOIN e"
    )


def event_from_group_sql(event_columns: tuple[str, ...]) -> str:
    """The CTE ``e``: the event insert, its ``group_id`` from the CTE ``g`` (no row if ``g`` has none)."""
    qn = connection.ops.quote_name
    return (
        f"e AS ({insert_event_into(event_columns)} "  # noqa: S608
        f"SELECT g.{qn('id')}, {', '.join(['%s'] * len(event_columns))} FROM g RETURNING {qn('id')})"
    )


def prepared_row(
    model: type[Model], values: dict[str, Any], skip: tuple[str, ...] = ()
) -> tuple[tuple[str, ...], list[Any]]:
    """Every column of a new row, from ``values`` or the field's default, prepared for this database."""
    db = connections[DEFAULT_DB_ALIAS]  # resolved once: each access through ``connection`` costs a lookup
    fields, columns, preparations = row_fields(model, skip, db.vendor)
    params = []
    for model_field, preparation in zip(fields, preparations, strict=True):
        value = values[model_field.attname] if model_field.attname in values else model_field.get_default()
        if preparation is Preparation.AS_IS:
            params.append(value)
        elif preparation is Preparation.JSONB:
            params.append(Jsonb(value, dumps=jsonb_text))
        else:
            params.append(model_field.get_db_prep_save(value, db))
    return columns, params


class Preparation(enum.Enum):
    """How a hot row's value becomes a statement parameter."""

    AS_IS = "as is"
    JSONB = "jsonb"
    BY_FIELD = "by field"


# The hot rows' values already have their columns' Python types (str, int, UUID, aware datetime), which
# psycopg sends as they are and which Django's preparation returns unchanged on PostgreSQL. JSON goes as
# jsonb, as Django would send it, but serialised by orjson (the event's payload is most of each row).
# SQLite gets every value prepared by its field.
NATIVE_ON_POSTGRESQL = (
    models.CharField,
    models.TextField,
    models.UUIDField,
    models.DateTimeField,
    models.IntegerField,
    models.BooleanField,
    models.ForeignKey,
)


@functools.cache
def row_fields(
    model: type[Model], skip: tuple[str, ...], vendor: str
) -> tuple[tuple[Field, ...], tuple[str, ...], tuple[Preparation, ...]]:
    """The fields a new row is written with (all but the primary key and ``skip``), their columns, and
    how each value is prepared on this database."""
    fields = tuple(
        model_field
        for model_field in model._meta.concrete_fields
        if not model_field.primary_key and model_field.attname not in skip
    )
    columns = tuple(model_field.column for model_field in fields)
    return fields, columns, tuple(preparation(model_field, vendor) for model_field in fields)


def preparation(model_field: Field, vendor: str) -> Preparation:
    if vendor != "postgresql":
        return Preparation.BY_FIELD
    if isinstance(model_field, NATIVE_ON_POSTGRESQL):
        return Preparation.AS_IS
    if isinstance(model_field, models.JSONField) and model_field.encoder is None:
        return Preparation.JSONB
    return Preparation.BY_FIELD


def jsonb_text(value: Any) -> bytes:
    """``value`` as JSON text for a jsonb parameter; what orjson refuses (integers past 64 bits) by json."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value).encode()


def as_datetime(value: datetime | str | None) -> datetime | None:
    # SQLite hands raw SQL its datetimes back as naive UTC text.
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def update_group(group: GroupState, decision: Decision, release: str) -> None:
    """Apply the decision's bookkeeping to the (still locked) group in one statement, if there is any."""
    changes: dict[str, Any] = {}
    if release and release not in group.releases:
        changes["releases"] = [*group.releases, release][-MAX_RELEASES:]
    if decision.seen_after_fix:
        changes["seen_after_fix"] = F("seen_after_fix") + 1
    if decision.reopen:
        changes["status"] = ErrorGroup.Status.UNRESOLVED
    if changes:
        ErrorGroup.objects.filter(pk=group.id).update(**changes)


try:
    from django.db.backends.postgresql.base import ServerBindingCursor
    from psycopg.types.json import Jsonb
except ImportError:  # psycopg is not installed: SQLite only, where hot_cursor never needs this.
    PreparingCursor = None
else:

    class PreparingCursor(ServerBindingCursor):
        """Server-side binding; every statement prepared where the connection allows (``hot_cursor``)."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)
