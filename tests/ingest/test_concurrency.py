"""Concurrent duplicates on PostgreSQL: one group, an exact count and one run, however digests interleave."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.test import Client

from ingest.models import ErrorGroup, Event
from pipeline.models import FixRun
from tests.ingest.conftest import EVENTS_URL, python_event

THREADS = 8
EVENTS_PER_THREAD = 25

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor == "sqlite",
        reason="SQLite runs one write transaction at a time, so requests cannot race; "
        "run with DATABASE_URL=postgres://… (CI does) to exercise concurrent digests.",
    ),
]


def post_many(key: str, barrier: threading.Barrier, statuses: list[int]) -> None:
    client = Client()
    body = python_event()
    barrier.wait()
    try:
        for _ in range(EVENTS_PER_THREAD):
            response = client.post(EVENTS_URL, body, content_type="application/json", HTTP_X_BUGSTACK_KEY=key)
            statuses.append(response.status_code)
    finally:
        connections.close_all()


def test_threads_posting_the_same_error_make_one_group_one_run_and_an_exact_count(key):
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    threads = [
        threading.Thread(target=post_many, args=(key.public_key, barrier, statuses)) for _ in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    total = THREADS * EVENTS_PER_THREAD
    assert statuses == [202] * total
    group = ErrorGroup.objects.get()
    assert group.times_seen == total
    assert Event.objects.filter(group=group).count() == total
    assert FixRun.objects.filter(group=group).count() == 1
