"""The client: builds events on the caller's thread (cheap), hands them to the worker, and never raises."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading

from bugstack_sdk.event import build_event, encode_event
from bugstack_sdk.options import Event, Options
from bugstack_sdk.redact import Redactor, mask_text
from bugstack_sdk.request import RequestData, request_from_sources
from bugstack_sdk.transport import HttpTransport, Outcome
from bugstack_sdk.worker import Worker, WorkerStats

logger = logging.getLogger("bugstack_sdk")

CAPTURED_MARK = "__bugstack_captured__"


class Client:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.framework: dict[str, str] | None = None
        self._redactor = Redactor(options.redact_keys)
        self._worker: Worker | None = None
        if options.dsn is not None:
            self._transport = HttpTransport(
                options.dsn, timeout=options.timeout, max_retries=options.max_retries
            )
            self._worker = Worker(self._deliver, options.max_queue_size)

    @property
    def enabled(self) -> bool:
        return self._worker is not None

    def capture_exception(
        self,
        exc: BaseException | None = None,
        *,
        request: RequestData | None = None,
        mechanism: str = "generic",
    ) -> str | None:
        """Queue ``exc`` (or the exception being handled) and return its event id; None when not sent."""
        if self._worker is None:
            return None
        try:
            return self._capture(exc if exc is not None else sys.exc_info()[1], request, mechanism)
        except Exception:  # reporting an error must never become one
            logger.exception("bugstack could not capture an exception")
            return None

    def _capture(self, exc: BaseException | None, request: RequestData | None, mechanism: str) -> str | None:
        if exc is None or _already_captured(exc):
            return None
        if self._worker is not None and not self._worker.has_room():
            self._worker.drop()  # an error storm should not also pay for events that cannot be sent
            return None
        if request is None:
            request = request_from_sources(self.options)
        event: Event | None = build_event(
            exc, self.options, mechanism=mechanism, request=request, framework=self.framework
        )
        if self.options.before_send is not None:
            event = self._run_before_send(event)
        if event is None or self._worker is None or not self._worker.submit(event):
            return None
        return event.get("event_id")

    def _run_before_send(self, event: Event) -> Event | None:
        try:
            return self.options.before_send(event)  # type: ignore[misc]
        except Exception:
            # The hook is often where an app scrubs data of its own: sending what it failed on could leak it.
            logger.exception("bugstack's before_send raised; the event was dropped")
            return None

    def _deliver(self, event: Event, stopping: threading.Event) -> Outcome:
        return self._transport.deliver(encode_event(self._redacted(event)), stopping)

    def _redacted(self, event: Event) -> Event:
        modules = event.get("modules")
        if not isinstance(modules, dict):
            return self._redactor.redact(event)
        # Package names such as "google-auth" or "tokenizers" hold filtered words, yet a version is no secret:
        # the mapping is masked, not filtered by key.
        redacted = self._redactor.redact({**event, "modules": None})
        redacted["modules"] = {
            mask_text(str(name)): mask_text(str(version)) for name, version in modules.items()
        }
        return redacted

    def flush(self, timeout: float | None = None) -> bool:
        """Wait for queued events to be sent; False if ``timeout`` passed first."""
        if self._worker is None:
            return True
        return self._worker.flush(self.options.shutdown_timeout if timeout is None else timeout)

    def close(self, timeout: float | None = None) -> bool:
        if self._worker is None:
            return True
        return self._worker.close(self.options.shutdown_timeout if timeout is None else timeout)

    @property
    def stats(self) -> WorkerStats:
        if self._worker is None:
            return WorkerStats(queued=0, sent=0, dropped=0, rejected=0, failed=0)
        return self._worker.stats


def _already_captured(exc: BaseException) -> bool:
    """Django's middleware and its signal both see a view's exception: report it once."""
    if getattr(exc, CAPTURED_MARK, False):
        return True
    # Exceptions with __slots__ or read-only attributes cannot be marked; at worst they are sent twice.
    with contextlib.suppress(AttributeError, TypeError):
        setattr(exc, CAPTURED_MARK, True)
    return False
