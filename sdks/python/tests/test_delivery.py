"""Delivery: retries, Retry-After, refusals, a full queue, a hung server, fork and process exit."""

import logging
import os
import socket
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import bugstack_sdk
import pytest
from bugstack_sdk.transport import parse_retry_after

from tests.sink import Sink


def error(n: int = 0) -> ValueError:
    return ValueError(f"failure {n}")


def test_a_429_is_retried_after_the_server_says(sdk: bugstack_sdk.Client, sink: Sink) -> None:
    sink.replies.append((429, {"Retry-After": "0"}))
    event_id = bugstack_sdk.capture_exception(error())
    assert bugstack_sdk.flush(5)
    first, second = sink.wait_for(2)
    assert first.body["event_id"] == second.body["event_id"] == event_id, "a retry resends the same event id"
    assert sdk.stats.sent == 1


def test_a_long_retry_after_is_waited_for_not_ignored(sink: Sink) -> None:
    client = bugstack_sdk.init(dsn=sink.dsn, shutdown_timeout=0.2)
    sink.replies.append((429, {"Retry-After": "120"}))
    bugstack_sdk.capture_exception(error())
    sink.wait_for(1)
    assert client.flush(0.2) is False
    client.close(0)
    assert client.flush(2) is True, "closing ends the wait instead of holding up the process"
    assert len(sink.received) == 1, "nothing was re-sent before the server's Retry-After"
    assert client.stats.failed == 1


def test_server_errors_are_retried_with_backoff(sink: Sink) -> None:
    client = bugstack_sdk.init(dsn=sink.dsn, max_retries=2)
    sink.replies.extend([(503, {}), (500, {})])
    try:
        bugstack_sdk.capture_exception(error())
        assert client.flush(10)
    finally:
        client.close(0)
    assert len(sink.wait_for(3)) == 3
    assert client.stats.sent == 1


@pytest.mark.parametrize("status", [400, 401, 413, 415])
def test_a_refusal_is_not_retried_and_is_logged(
    sdk: bugstack_sdk.Client, sink: Sink, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    sink.replies.append((status, {}))
    with caplog.at_level(logging.WARNING, logger="bugstack_sdk"):
        bugstack_sdk.capture_exception(error())
        assert bugstack_sdk.flush(5)
    assert len(sink.received) == 1
    assert sdk.stats.rejected == 1
    assert f"bugstack refused an event (HTTP {status}): refused" in caplog.text


def test_an_unreachable_server_costs_the_app_nothing_but_the_event() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = bugstack_sdk.init(dsn=f"http://k@127.0.0.1:{port}/1", max_retries=1)
    try:
        assert bugstack_sdk.capture_exception(error()) is not None
        assert client.flush(10)
    finally:
        client.close(0)
    assert client.stats.failed == 1


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 55 <= parse_retry_after(in_a_minute) <= 60
    assert parse_retry_after("soon") is None


def test_a_full_queue_drops_and_counts_instead_of_waiting(
    sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    sink.hang.set()
    client = bugstack_sdk.init(dsn=sink.dsn, max_queue_size=2, timeout=30)
    try:
        bugstack_sdk.capture_exception(error(0))
        sink.wait_for(1)  # the worker is now stuck sending the first event
        with caplog.at_level(logging.WARNING, logger="bugstack_sdk"):
            ids = [bugstack_sdk.capture_exception(error(n)) for n in range(1, 5)]
        assert [i is not None for i in ids] == [True, True, False, False]
        assert (client.stats.queued, client.stats.dropped) == (2, 2)
        assert "queue is full; 1 events dropped so far" in caplog.text
        assert client.flush(0.1) is False, "flush is bounded by its timeout even when the server hangs"
    finally:
        sink.release.set()
        client.close(0)


def test_a_forked_child_sends_its_own_events(sdk: bugstack_sdk.Client, sink: Sink) -> None:
    bugstack_sdk.capture_exception(error(1))  # the parent's worker thread exists before the fork
    sink.wait_for(1)
    pid = os.fork()
    if pid == 0:  # the child: report, flush, and tell the parent whether it worked through the exit code
        ok = bugstack_sdk.capture_exception(ValueError("from the child")) is not None and bugstack_sdk.flush(
            5
        )
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    messages = [r.body["exception"]["values"][0]["value"] for r in sink.wait_for(2)]
    assert "from the child" in messages


def test_a_child_forked_while_the_parents_queue_was_full_starts_empty(sink: Sink) -> None:
    sink.hang.set()
    client = bugstack_sdk.init(dsn=sink.dsn, max_queue_size=1, timeout=30)
    try:
        bugstack_sdk.capture_exception(error(0))
        sink.wait_for(1)
        bugstack_sdk.capture_exception(error(1))  # fills the queue while the worker is stuck
        pid = os.fork()
        if pid == 0:
            os._exit(0 if bugstack_sdk.capture_exception(ValueError("from the child")) is not None else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        sink.release.set()
        client.close(0)


def run_app_script(sink: Sink, body: str) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(f"""
        import bugstack_sdk
        bugstack_sdk.init(dsn={sink.dsn!r}, shutdown_timeout=1)
        {body}
        print("app finished")
    """)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )


def test_queued_events_are_sent_when_the_process_exits(sink: Sink) -> None:
    result = run_app_script(sink, "bugstack_sdk.capture_exception(KeyError('at exit'))")
    assert result.returncode == 0, result.stderr
    [received] = sink.wait_for(1)
    assert received.body["exception"]["values"][0]["value"] == "'at exit'"


def test_a_hung_server_does_not_keep_a_finished_process_alive(sink: Sink) -> None:
    sink.hang.set()
    result = run_app_script(sink, "bugstack_sdk.capture_exception(KeyError('at exit'))")
    assert (result.returncode, result.stdout.strip()) == (0, "app finished")
    assert len(sink.received) == 1
