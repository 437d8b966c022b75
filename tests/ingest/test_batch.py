"""The batch endpoint as an SDK sees it: one result per event, in order; a refused batch stores nothing."""

from __future__ import annotations

import gzip
import json
import os
import uuid
from typing import Any

import pytest

from ingest.digest import waiting
from ingest.models import ErrorGroup, Event
from pipeline.models import FixRun
from tests.ingest.conftest import python_event

pytestmark = pytest.mark.django_db

BATCH_URL = "/api/v1/events/batch/"


@pytest.fixture
def post_batch(client, key):
    """POST a batch as JSON with the project key; ``body`` may be raw bytes."""

    def post(events: Any = None, *, body: bytes | None = None, gzipped: bool = False, **headers: str):
        if body is None:
            body = json.dumps(events).encode()
        if gzipped:
            body = gzip.compress(body)
            headers.setdefault("HTTP_CONTENT_ENCODING", "gzip")
        headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {key.public_key}")
        return client.generic("POST", BATCH_URL, body, content_type="application/json", **headers)

    return post


def test_every_event_of_a_batch_is_stored_and_answered_with_its_id_in_order(post_batch):
    ids = [uuid.uuid4().hex for _ in range(3)]

    response = post_batch([python_event(event_id=event_id) for event_id in ids], gzipped=True)

    assert response.status_code == 200
    assert response.json() == {"results": [{"id": event_id, "status": 202} for event_id in ids]}
    assert sorted(Event.objects.values_list("event_id", flat=True)) == sorted(uuid.UUID(i) for i in ids)
    assert ErrorGroup.objects.get().times_seen == 3
    assert FixRun.objects.count() == 1  # one group, one run, as if the events had come one by one


def test_an_invalid_event_is_refused_alone_with_the_problem_named(post_batch):
    good = uuid.uuid4().hex

    response = post_batch([python_event(exception="not a list"), python_event(event_id=good)])

    first, second = response.json()["results"]
    assert response.status_code == 200
    assert (first["status"], first["field"]) == (400, "exception")
    assert first["detail"].startswith("Invalid event:")
    assert second == {"id": good, "status": 202}
    assert Event.objects.get().event_id.hex == good


def test_events_past_the_rate_limit_are_refused_with_when_to_resend(post_batch, project, one_rate_window):
    project.rate_limit_per_minute = 2
    project.save()

    response = post_batch([python_event(event_id=uuid.uuid4().hex) for _ in range(3)])

    results = response.json()["results"]
    assert [result["status"] for result in results] == [202, 202, 429]
    assert 1 <= results[2]["retry_after"] <= 60
    assert response["Retry-After"] == str(results[2]["retry_after"])
    assert "2 events a minute" in results[2]["detail"]
    assert ErrorGroup.objects.get().times_seen == 2


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{}", "Send a JSON array of 1 to 100 events."),
        (b"[]", "Send a JSON array of 1 to 100 events."),
        (json.dumps([python_event()] * 101).encode(), "Send a JSON array of 1 to 100 events."),
        (b"[{", "not valid JSON"),
    ],
)
def test_a_body_that_is_not_an_array_of_events_is_refused_whole(post_batch, body, problem):
    response = post_batch(body=body)

    assert response.status_code == 400
    assert problem in response.json()["detail"]
    assert not Event.objects.exists()


def test_a_batch_over_its_size_limit_is_refused_whole(post_batch, settings):
    settings.BUGSTACK_BATCH_MAX_BYTES = 1000

    response = post_batch([python_event(), python_event()])

    assert response.status_code == 413
    assert "1000 bytes" in response.json()["detail"]
    assert not Event.objects.exists()


def test_a_batch_needs_a_known_key(post_batch):
    response = post_batch([python_event()], HTTP_AUTHORIZATION="Bearer nope")

    assert response.status_code == 401
    assert not Event.objects.exists()


def test_a_batch_is_spooled_with_one_write_and_no_database_write(
    post_batch, django_assert_max_num_queries, settings, monkeypatch
):
    settings.BUGSTACK_DIGEST = "loop"  # digest is not part of what is counted
    post_batch([python_event()])  # caches the key
    events = [python_event(event_id=uuid.uuid4().hex) for _ in range(5)]
    writes = []
    write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: writes.append(len(data)) or write(fd, data))

    with django_assert_max_num_queries(3) as queries:  # the test's savepoint pair, the backlog's offsets
        assert post_batch(events).status_code == 200

    monkeypatch.undo()
    assert not [query for query in queries.captured_queries if query["sql"].startswith(("INSERT", "UPDATE"))]
    assert len(writes) == 1
    assert waiting() == 6
