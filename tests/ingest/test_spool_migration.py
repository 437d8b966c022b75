"""Upgrading to the spool loses nothing: events still waiting in the incoming table are spooled by the
migration that drops it, and digest stores them."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from ingest.digest import digest_backlog, waiting
from ingest.models import ErrorGroup, Event
from ingest.normalize import prepare_event
from ingest.schema import validate_payload
from tests.ingest.conftest import python_event

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("ingest", "0010_dropped_items")]


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)


def test_events_waiting_in_the_incoming_table_are_spooled_by_the_migration_and_then_digested(key):
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    executor = migrate(BEFORE)
    IncomingEvent = executor.loader.project_state(BEFORE).apps.get_model("ingest", "IncomingEvent")
    received_at = timezone.now()
    event_ids = [uuid.uuid4().hex for _ in range(3)]
    for event_id in event_ids:
        event = prepare_event(validate_payload(python_event(event_id=event_id)), received_at)
        IncomingEvent.objects.create(
            project_id=key.project_id,
            received_at=received_at,
            data=event.data,
            **{
                name: getattr(event, name)
                for name in (
                    "event_id",
                    "timestamp",
                    "fingerprint",
                    "fingerprint_version",
                    "title",
                    "culprit",
                )
            },
        )

    migrate(latest)

    assert waiting() == 3
    assert digest_backlog() == 3
    assert sorted(Event.objects.values_list("event_id", flat=True)) == sorted(uuid.UUID(e) for e in event_ids)
    assert ErrorGroup.objects.get().times_seen == 3
