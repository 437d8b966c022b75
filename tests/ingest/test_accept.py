"""Accept spools: a request's events are a whole line each in its process's spool file before its 202, no
database is reached on the way, and what the spool's disk refuses is a 503 that loses nothing answered."""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.test import Client

from ingest import spool
from ingest.digest import digest_backlog, waiting
from ingest.models import ErrorGroup, Event, SpoolFile
from tests.ingest.conftest import EVENTS_URL, python_event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def digest_left_to_workers(settings):
    settings.BUGSTACK_DIGEST = "loop"
    settings.BUGSTACK_INGEST_BACKLOG_CHECK_SECONDS = (
        3600  # the backlog is looked at once, at the first request
    )


def send(key, event_id: str) -> int:
    try:
        response = Client().post(
            EVENTS_URL,
            python_event(event_id=event_id),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key.public_key}",
        )
        return response.status_code
    finally:
        connections.close_all()


def spooled_event_ids() -> list[str]:
    return [event.event_id.hex for name in sorted(spool.files()) for event in spool.read(name, 0, 10_000)[0]]


def test_an_accepted_event_is_a_line_of_the_spool_and_accept_reaches_no_database(
    key, django_assert_num_queries
):
    assert send(key, uuid.uuid4().hex) == 202  # the key and the backlog are looked up, then cached
    event_id = uuid.uuid4().hex

    with django_assert_num_queries(0):
        assert send(key, event_id) == 202

    assert spooled_event_ids()[-1] == event_id
    (name,) = spool.files()
    (event,) = spool.read(name, 0, 2)[0][1:]
    assert (event.event_id.hex, event.exception_type, event.project_id) == (
        event_id,
        "ZeroDivisionError",
        key.project_id,
    )
    assert f'"event_id":"{event_id}"' in event.data and not Event.objects.exists()


def test_requests_from_many_threads_each_append_whole_lines(key):
    event_ids = [uuid.uuid4().hex for _ in range(200)]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda event_id: send(key, event_id), event_ids))

    assert answers == [202] * len(event_ids)
    assert sorted(spooled_event_ids()) == sorted(event_ids)  # every line parses back, none torn or lost
    assert waiting() == len(event_ids)


def test_when_the_spool_cannot_be_written_the_request_gets_503_and_nothing_is_half_kept(
    key, settings, tmp_path
):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    settings.BUGSTACK_SPOOL_DIR = blocked / "spool"

    response = Client().post(
        EVENTS_URL,
        python_event(),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key.public_key}",
    )

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "retry later" in response.json()["detail"]


def test_a_full_file_is_closed_for_a_new_one_and_deleted_once_digested(key, settings):
    settings.BUGSTACK_SPOOL_FILE_BYTES = 1  # every request after the first starts a file
    event_ids = [uuid.uuid4().hex for _ in range(3)]
    for event_id in event_ids:
        assert send(key, event_id) == 202
    assert len(spool.files()) == 3

    assert digest_backlog() == 3

    # The two closed files went with their rows; the one this process still writes to stays, read to its end.
    (name,) = spool.files()
    assert list(SpoolFile.objects.values_list("name", "offset")) == [
        (name, os.path.getsize(spool.path(name)))
    ]
    assert ErrorGroup.objects.get().times_seen == 3
    assert sorted(Event.objects.values_list("event_id", flat=True)) == sorted(uuid.UUID(e) for e in event_ids)

    spool.close_writer()  # the process ends, or moves on
    assert digest_backlog() == 0
    assert spool.files() == {} and not SpoolFile.objects.exists()


def test_with_fsync_a_request_is_answered_once_its_line_is_on_the_disk(key, settings, monkeypatch):
    settings.BUGSTACK_SPOOL_FSYNC = True
    synced = []
    real_fdatasync = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: synced.append(real_fdatasync(fd)))

    assert send(key, uuid.uuid4().hex) == 202

    assert len(synced) == 1


def test_after_a_failed_write_the_next_request_starts_a_new_file_and_the_partial_line_is_dropped(
    key, monkeypatch
):
    assert send(key, uuid.uuid4().hex) == 202
    write = os.write

    def disk_full_halfway(fd, data):
        write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", disk_full_halfway)
    assert send(key, uuid.uuid4().hex) == 503
    monkeypatch.undo()
    kept = uuid.uuid4().hex
    assert send(key, kept) == 202

    assert len(spool.files()) == 2
    assert digest_backlog() == 2  # the first event and the last; the half line ends a file no writer holds
    assert kept in {event_id.hex for event_id in Event.objects.values_list("event_id", flat=True)}
    assert len(spool.files()) == 1  # the failed file is gone
