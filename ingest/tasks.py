"""django-q2 tasks of ingest: digest what accept appended."""

from __future__ import annotations

import time

from django.conf import settings

from ingest.digest import digest_batch

# A task digests for at most this long, then leaves the rest to the next kick or the schedule.
TASK_SECONDS = 60
# How often a task that found the backlog empty looks again before it ends.
IDLE_POLL_SECONDS = 0.1


def digest() -> int:
    """Digest until the backlog has been empty for longer than a web process skips kicks; the count.

    A web process kicks at most once per ``BUGSTACK_DIGEST_KICK_SECONDS``; an event accepted in that time
    is found by the task of the last kick, which is still looking. After a batch that was not full the
    task waits a moment, so the next one gathers events: a full batch costs far less per event.
    """
    size = settings.BUGSTACK_DIGEST_BATCH
    quiet_for = settings.BUGSTACK_DIGEST_KICK_SECONDS + IDLE_POLL_SECONDS
    deadline = time.monotonic() + TASK_SECONDS
    idle_until = time.monotonic() + quiet_for
    total = 0
    while time.monotonic() < deadline:
        digested = digest_batch(size)
        total += digested
        if digested == size:
            continue
        if digested:
            idle_until = time.monotonic() + quiet_for
        elif time.monotonic() >= idle_until:
            break
        time.sleep(IDLE_POLL_SECONDS)
    return total
