"""bugstack's Python SDK: capture unhandled errors, redact them and send them without slowing the app.

    import bugstack_sdk
    bugstack_sdk.init()  # reads BUGSTACK_DSN; or init(dsn=…), or init(key=…, endpoint=…)

Django: add ``bugstack_sdk.django.BugstackMiddleware`` to MIDDLEWARE. Flask: ``Bugstack(app)`` from
``bugstack_sdk.flask``.
"""

from __future__ import annotations

import atexit
import logging
from typing import Any

from bugstack_sdk.client import Client
from bugstack_sdk.dsn import DsnError
from bugstack_sdk.options import Options, build_options
from bugstack_sdk.version import VERSION

__all__ = ["Client", "capture_exception", "close", "flush", "get_client", "init"]
__version__ = VERSION

logger = logging.getLogger("bugstack_sdk")

_client = Client(Options(dsn=None))


def init(dsn: str | None = None, **options: Any) -> Client:
    """Configure the SDK (arguments first, then ``BUGSTACK_*`` variables) and return the client.

    A malformed DSN is logged and leaves the SDK off: the app starts either way.
    """
    global _client
    try:
        client = Client(build_options(dsn, **options))
    except DsnError as exc:
        logger.error("bugstack is disabled: %s", exc)
        client = Client(Options(dsn=None))
    client.framework = _client.framework  # an integration set up before init keeps its name
    previous, _client = _client, client
    previous.close(timeout=previous.options.shutdown_timeout)
    return client


def get_client() -> Client:
    return _client


def capture_exception(exc: BaseException | None = None) -> str | None:
    """Report ``exc`` (default: the exception being handled); returns the event id, or None if not sent."""
    return _client.capture_exception(exc)


def flush(timeout: float = 2.0) -> bool:
    """Wait up to ``timeout`` seconds for queued events to be sent; True when the queue emptied."""
    return _client.flush(timeout)


def close(timeout: float | None = None) -> bool:
    """Flush, then stop sending; later captures are dropped."""
    return _client.close(timeout)


@atexit.register
def _flush_at_exit() -> None:
    # Bounded by shutdown_timeout: a hung server must not keep a stopping process alive.
    _client.close()
