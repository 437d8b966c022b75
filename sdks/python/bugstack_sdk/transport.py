"""HTTP delivery of one event: short timeouts, retries with backoff on 429/5xx/network errors, and
``Retry-After`` honoured so a busy server is not hammered."""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from enum import Enum

from bugstack_sdk.dsn import Dsn
from bugstack_sdk.version import VERSION

logger = logging.getLogger("bugstack_sdk")

BASE_BACKOFF = 0.5
MAX_BACKOFF = 30.0
MAX_RETRY_AFTER = 300.0  # a pause longer than this is more likely a misconfigured proxy than a plan


class Outcome(Enum):
    SENT = "sent"
    REJECTED = "rejected"  # the server said no for good (400, 401, 413, 415): retrying cannot help
    FAILED = "failed"  # retries used up, or the SDK is shutting down


@dataclass(frozen=True)
class Reply:
    status: int  # 0 when no HTTP answer came back (refused, timed out, reset)
    retry_after: float | None = None
    detail: str = ""


class HttpTransport:
    def __init__(self, dsn: Dsn, *, timeout: float, max_retries: int) -> None:
        self.dsn = dsn
        self.timeout = timeout
        self.max_retries = max_retries
        self._not_before = 0.0  # monotonic time before which the server asked not to hear from us

    def deliver(self, body: bytes, stopping: threading.Event) -> Outcome:
        """Send with retries; ``stopping`` (set at shutdown) ends any wait at once rather than delay exit."""
        for attempt in range(self.max_retries + 1):
            if not _wait(self._not_before - time.monotonic(), stopping):
                return Outcome.FAILED
            reply = self.post(body)
            if 200 <= reply.status < 300:
                return Outcome.SENT
            if reply.status and reply.status != 429 and reply.status < 500:
                logger.warning("bugstack refused an event (HTTP %s): %s", reply.status, reply.detail)
                return Outcome.REJECTED
            delay = reply.retry_after if reply.retry_after is not None else backoff(attempt)
            self._not_before = time.monotonic() + delay
            logger.info("bugstack did not take an event (%s); retrying in %.1f s", reply.detail, delay)
        return Outcome.FAILED

    def post(self, body: bytes) -> Reply:
        request = urllib.request.Request(  # noqa: S310 - the DSN parser admits http(s) only
            self.dsn.events_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.dsn.key}",
                "User-Agent": f"bugstack-sdk-python/{VERSION}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - http(s) only
                return Reply(response.status)
        except urllib.error.HTTPError as error:
            with error:
                return Reply(error.code, parse_retry_after(error.headers.get("Retry-After")), _detail(error))
        except (OSError, ValueError) as error:  # refused, reset, timed out, bad URL at send time
            return Reply(0, detail=str(error) or type(error).__name__)


def _wait(seconds: float, stopping: threading.Event) -> bool:
    """Sleep unless shutting down; False means stop now."""
    if seconds <= 0:
        return not stopping.is_set()
    return not stopping.wait(seconds)


def backoff(attempt: int) -> float:
    """Exponential with jitter, so many processes that failed together do not retry together."""
    return min(MAX_BACKOFF, BASE_BACKOFF * 2**attempt) * random.uniform(0.5, 1.0)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds, or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _detail(error: urllib.error.HTTPError) -> str:
    try:
        body = error.read(2048).decode("utf-8", errors="replace")
    except OSError:
        return error.reason
    try:
        return str(json.loads(body).get("detail") or body)
    except (ValueError, AttributeError):
        return body or str(error.reason)
