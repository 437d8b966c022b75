"""Accept spools, digest groups: each accepted event counted once, in a batch, starting at most one run."""

from __future__ import annotations

import copy
import threading
import time
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from ingest import spool, tasks
from ingest.digest import (
    backlog_bytes,
    claim,
    digest_backlog,
    digest_batch,
    new_events,
    register,
    store,
    waiting,
)
from ingest.models import ErrorGroup, Event
from ingest.signals import groups_digested
from pipeline.models import FixRun
from tests.ingest.conftest import last_exception, python_event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def queued(settings):
    """Digest as production runs it: after accept, not inside it."""
    settings.BUGSTACK_DIGEST = "queue"
    settings.BUGSTACK_INGEST_BACKLOG_CHECK_SECONDS = 0
    settings.BUGSTACK_DIGEST_KICK_SECONDS = 0


def distinct_event(n: int) -> dict:
    event = python_event(event_id=uuid.uuid4().hex)
    last_exception(event)["type"] = f"Error{n}"
    return event


def queued_tasks() -> list[str]:
    return [SignedPackage.loads(row.payload)["func"] for row in OrmQ.objects.all()]


def test_an_accepted_event_waits_for_digest_then_is_grouped_with_its_run(post_event):
    response = post_event()

    assert response.status_code == 202
    assert waiting() == 1
    assert not ErrorGroup.objects.exists() and not Event.objects.exists()

    assert digest_backlog() == 1

    group = ErrorGroup.objects.get()
    event = Event.objects.get()
    assert event.event_id.hex == response.json()["id"] and event.group == group
    assert group.times_seen == 1 and event.received_at == group.first_seen
    assert FixRun.objects.get().event == event
    assert waiting() == 0


def test_a_burst_of_one_error_is_one_group_one_run_and_an_exact_count(post_event, settings):
    settings.BUGSTACK_DIGEST_BATCH = 64
    for _ in range(150):
        assert post_event(python_event(event_id=uuid.uuid4().hex)).status_code == 202

    assert digest_batch() == 64  # one batch, one transaction
    assert ErrorGroup.objects.get().times_seen == 64
    assert digest_backlog() == 86

    group = ErrorGroup.objects.get()
    assert group.times_seen == 150 == Event.objects.count()
    assert FixRun.objects.count() == 1


def test_distinct_errors_in_one_batch_are_counted_apart(post_event):
    for n in range(20):
        for _ in range(n % 3 + 1):
            post_event(distinct_event(n))

    digest_backlog()

    counts = {group.exception_type: group.times_seen for group in ErrorGroup.objects.all()}
    assert counts == {f"Error{n}": n % 3 + 1 for n in range(20)}
    assert FixRun.objects.count() == 20


def test_an_event_id_sent_twice_is_counted_once_in_one_batch_or_across_batches(post_event):
    event = python_event(event_id=uuid.uuid4().hex)
    post_event(event)
    post_event(event)
    digest_backlog()
    post_event(event)
    digest_backlog()

    assert ErrorGroup.objects.get().times_seen == 1
    assert Event.objects.count() == 1
    assert waiting() == 0


def second_worker_meets_a_first() -> dict:
    """Digest the backlog in a second worker while a first one holds a batch of one event (of the spool's
    first file) it stored and has not committed; the first commits half a second later, when the second
    waits on its group or event.
    What the second worker's ``digest_batch`` returned (or raised)."""
    stored, commit = threading.Event(), threading.Event()
    outcome: dict = {}

    def first_worker():
        try:
            with transaction.atomic():
                register(spool.files())
                claimed, events = claim(spool.files(), 1)
                store(new_events(events), timezone.now())
                for row, end in claimed:
                    row.offset = end
                    row.save(update_fields=["offset"])
                stored.set()
                commit.wait(10)
        finally:
            connection.close()

    def second_worker():
        try:
            outcome["claimed"] = digest_batch()
        except Exception as exc:  # noqa: BLE001 - reported by the caller's assertions
            outcome["error"] = exc
        finally:
            connection.close()

    first = threading.Thread(target=first_worker)
    first.start()
    assert stored.wait(10)
    second = threading.Thread(target=second_worker)
    second.start()
    time.sleep(0.5)
    commit.set()
    first.join(10)
    second.join(10)
    return outcome


@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="SQLite has one writer: a second worker waits to claim at all."
)
@pytest.mark.django_db(transaction=True)
def test_a_worker_skips_an_event_id_another_worker_stored_meanwhile_and_counts_the_rest(post_event):
    resent = python_event(event_id=uuid.uuid4().hex)
    post_event(resent)
    spool.close_writer()  # what follows goes to another file, as from another web process
    post_event(resent)  # an SDK's retry, read by the second worker while the first stores the original
    post_event(python_event(event_id=uuid.uuid4().hex))  # the same error again: the same group
    # The second worker's insert met the resent id once the first committed: its batch was rolled back and
    # read again, without the id.
    assert second_worker_meets_a_first() == {"claimed": 2}
    group = ErrorGroup.objects.get()
    assert group.times_seen == 2 == Event.objects.count()
    assert Event.objects.filter(event_id=resent["event_id"]).count() == 1
    assert waiting() == 0


@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="SQLite has one writer: a second worker waits to claim at all."
)
@pytest.mark.django_db(transaction=True)
def test_a_group_made_only_for_an_event_id_another_worker_stored_is_not_left_behind(post_event):
    """A resend whose payload changed groups under another fingerprint: the second worker makes that group,
    then finds the event id stored by the first and stores nothing in it, so the group goes too."""
    original = distinct_event(1)
    changed = copy.deepcopy(original)  # the same event id
    last_exception(changed)["type"] = "Error2"
    post_event(original)
    spool.close_writer()
    post_event(changed)

    assert second_worker_meets_a_first() == {"claimed": 1}
    group = ErrorGroup.objects.get()
    assert (group.exception_type, group.times_seen) == ("Error1", 1)
    assert Event.objects.get().group_id == group.pk
    assert waiting() == 0


def test_a_batch_that_fails_is_rolled_back_whole_and_digested_once_later(post_event):
    for _ in range(3):
        post_event(python_event(event_id=uuid.uuid4().hex))

    def failing(**kwargs):
        raise RuntimeError("the receiver failed")

    groups_digested.connect(failing, dispatch_uid="test-failing")
    try:
        with pytest.raises(RuntimeError):
            digest_batch()
    finally:
        groups_digested.disconnect(dispatch_uid="test-failing")

    assert waiting() == 3
    assert not ErrorGroup.objects.exists() and not Event.objects.exists() and not FixRun.objects.exists()

    assert digest_backlog() == 3
    assert ErrorGroup.objects.get().times_seen == 3 and FixRun.objects.count() == 1


def test_the_pipeline_hears_what_each_batch_did_to_each_group(post_event):
    heard = []
    groups_digested.connect(
        lambda activities, **kwargs: heard.append(activities), weak=False, dispatch_uid="test-heard"
    )
    try:
        post_event(distinct_event(1))
        post_event(distinct_event(1))
        post_event(distinct_event(2))
        digest_backlog()
        post_event(distinct_event(1))
        digest_backlog()
    finally:
        groups_digested.disconnect(dispatch_uid="test-heard")

    first, second = heard
    assert sorted((item.activity, item.events) for item in first) == [("new", 1), ("new", 2)]
    assert [(item.activity, item.events) for item in second] == [("seen", 1)]


def test_past_the_backlog_bound_accept_answers_429_with_retry_after(post_event, settings):
    assert post_event(python_event(event_id=uuid.uuid4().hex)).status_code == 202
    settings.BUGSTACK_INGEST_BACKLOG_BYTES = backlog_bytes() * 2  # two events of the same size
    assert post_event(python_event(event_id=uuid.uuid4().hex)).status_code == 202

    refused = post_event(python_event(event_id=uuid.uuid4().hex))

    assert refused.status_code == 429
    assert refused["Retry-After"] == "10"
    assert "of events wait to be grouped" in refused.json()["detail"]
    assert waiting() == 2  # nothing of the refused event was kept

    digest_backlog()
    assert post_event(python_event(event_id=uuid.uuid4().hex)).status_code == 202


def test_an_accepted_event_queues_the_digest_task_once_it_commits(
    post_event, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_event()

    assert queued_tasks() == ["ingest.tasks.digest"]
    assert tasks.digest() == 1  # what the worker runs
    assert ErrorGroup.objects.get().times_seen == 1


def test_a_burst_kicks_the_digest_task_at_most_once_per_kick_interval(
    post_event, settings, django_capture_on_commit_callbacks
):
    settings.BUGSTACK_DIGEST_KICK_SECONDS = 3600
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            post_event(python_event(event_id=uuid.uuid4().hex))

    assert len(queued_tasks()) <= 1


def test_the_digest_command_digests_what_waits(post_event):
    post_event()
    out = StringIO()

    call_command("digest", "--once", stdout=out)

    assert "digested 1 event(s)" in out.getvalue()
    assert ErrorGroup.objects.get().times_seen == 1


def test_with_digest_workers_polling_accept_queues_nothing(
    post_event, settings, django_capture_on_commit_callbacks
):
    settings.BUGSTACK_DIGEST = "loop"
    with django_capture_on_commit_callbacks(execute=True):
        post_event()

    assert queued_tasks() == [] and waiting() == 1


def test_a_line_digest_cannot_read_is_skipped_with_an_error_and_the_rest_is_digested(post_event, caplog):
    post_event(python_event(event_id=uuid.uuid4().hex))
    (name,) = spool.files()
    with open(spool.path(name), "ab") as file:
        file.write(b'[0, "a line of another format"]\t{}\n')
        file.write(b"not a line of the spool\n")
    post_event(python_event(event_id=uuid.uuid4().hex))

    assert digest_backlog() == 2
    assert ErrorGroup.objects.get().times_seen == 2 == Event.objects.count()
    assert waiting() == 0
    assert caplog.text.count("is unreadable; skipped") == 2
