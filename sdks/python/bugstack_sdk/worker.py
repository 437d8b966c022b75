"""A bounded queue drained by one background thread: the request path only appends and returns.

When the queue is full the newest event is dropped and counted (never wait in a request). After ``fork``
the child gets a fresh queue and thread: the parent's thread does not exist there, and its locks may
have been held at the moment of the fork.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bugstack_sdk.transport import Outcome

logger = logging.getLogger("bugstack_sdk")


@dataclass(frozen=True)
class WorkerStats:
    queued: int
    sent: int
    dropped: int  # the queue was full
    rejected: int  # the server refused them
    failed: int  # retries used up, or shutdown came first


class Worker:
    def __init__(self, deliver: Callable[[Any, threading.Event], Outcome], max_size: int) -> None:
        self._deliver = deliver
        self._max_size = max_size
        self._counts = {"sent": 0, "dropped": 0, "rejected": 0, "failed": 0}
        self._reset(stopped=False)

    def _reset(self, stopped: bool) -> None:
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._pending: deque[Any] = deque()
        self._in_flight = False
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()  # set at shutdown: backoff waits end at once
        if stopped:
            self.stopping.set()

    def _after_fork(self) -> None:
        if self._pid != os.getpid():
            self._reset(stopped=self.stopping.is_set())

    def submit(self, item: Any) -> bool:
        self._after_fork()
        with self._cond:
            if self.stopping.is_set():
                return False
            if len(self._pending) >= self._max_size:
                self._count_drop()
                return False
            self._pending.append(item)
            self._ensure_thread()
            self._cond.notify()
        return True

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued was handled; False when the timeout came first."""
        self._after_fork()
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._thread is None or not self._thread.is_alive():
                    return False
                self._cond.wait(remaining)
        return True

    def close(self, timeout: float) -> bool:
        """Flush within ``timeout``, then stop: retries waiting for a backoff give up at once."""
        flushed = self.flush(timeout)
        self.stopping.set()
        with self._cond:
            self._cond.notify_all()
        return flushed

    @property
    def stats(self) -> WorkerStats:
        with self._cond:
            return WorkerStats(queued=len(self._pending), **self._counts)

    def has_room(self) -> bool:
        """A hint, read without the lock: lets a caller skip building an event that would be dropped."""
        self._after_fork()
        return len(self._pending) < self._max_size

    def drop(self) -> None:
        with self._cond:
            self._count_drop()

    def _count_drop(self) -> None:
        self._counts["dropped"] += 1
        dropped = self._counts["dropped"]
        if dropped & (dropped - 1) == 0:  # 1, 2, 4, 8…: visible without flooding the log
            logger.warning("bugstack's event queue is full; %d events dropped so far", dropped)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="bugstack-worker", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self.stopping.is_set():
                    self._cond.wait()
                if not self._pending:
                    return
                item = self._pending.popleft()
                self._in_flight = True
            outcome = self._deliver_safely(item)
            with self._cond:
                self._in_flight = False
                self._counts[outcome.value] += 1
                self._cond.notify_all()

    def _deliver_safely(self, item: Any) -> Outcome:
        try:
            return self._deliver(item, self.stopping)
        except Exception:  # the worker must outlive any one bad event
            logger.exception("bugstack could not send an event")
            return Outcome.FAILED
