"""Sentry's event protocol read into the native one, so that every official Sentry SDK can report as it is.

The native protocol (``ingest.schema``) is a subset of Sentry's event payload with the same field names, so
most fields are copied as they are. What differs is where Sentry may keep a thing: the legacy
``sentry.interfaces.*`` keys; an ``exception`` sent as a bare list; the stack of an exception, or of a message
event, that an SDK attaches to the crashed or current thread instead (``threads``); and events that carry a
message but no exception at all (``capture_message``, logging integrations), which become one exception
whose type is the logger's name (or ``Message``) so that they group, and are shown, by their message.
Anything else Sentry sends (breadcrumbs, spans…) is kept, bounded, in the event's ``extra`` by normalisation.
"""

from __future__ import annotations

from typing import Any

# Legacy interface names (Sentry's protocol before 2018; still read by Sentry itself) → the current key.
LEGACY_INTERFACES = {
    "sentry.interfaces.Exception": "exception",
    "sentry.interfaces.Message": "logentry",
    "sentry.interfaces.Http": "request",
    "sentry.interfaces.User": "user",
    "sentry.interfaces.Stacktrace": "stacktrace",
    "sentry.interfaces.Threads": "threads",
}
# The native fields a Sentry event shares, name for name.
SHARED_FIELDS = (
    "event_id", "timestamp", "platform", "level", "environment", "release", "server_name", "request",
    "contexts", "sdk", "user", "fingerprint", "tags", "extra", "modules",
)  # fmt: skip
# Read, turned into native fields, and not kept again.
CONSUMED_FIELDS = frozenset({"exception", "logentry", "message", "threads", "stacktrace"})
MESSAGE_TYPE = "Message"
EXCEPTION_FIELDS = frozenset({"type", "value", "stacktrace", "module", "mechanism"})


def native_event(event: dict[str, Any]) -> dict[str, Any]:
    """The Sentry event as a native payload, ready for ``ingest.schema.validate_payload``."""
    event = {LEGACY_INTERFACES.get(key, key): value for key, value in event.items()}
    native = {field: event[field] for field in SHARED_FIELDS if event.get(field) is not None}
    message = message_text(event)
    if message is not None:
        native["message"] = message
    values = exception_values(event)
    if not values:
        values = [{"type": str(event.get("logger") or MESSAGE_TYPE)[:200], "value": message or ""}]
    last = values[-1]
    if isinstance(last, dict) and not has_frames(last):
        stack = fallback_stacktrace(event)
        if stack is not None:
            values[-1] = {**last, "stacktrace": stack}
    native["exception"] = {"values": values}
    # Everything else is the SDK's own (breadcrumbs, logger, transaction…): kept, bounded, as extra fields.
    for key, value in event.items():
        if key not in native and key not in CONSUMED_FIELDS and key not in SHARED_FIELDS:
            native[key] = value
    return native


def exception_values(event: dict[str, Any]) -> list[Any]:
    """The exception chain as a list: ``{"values": [...]}`` as the protocol says, a bare list, or one
    exception object."""
    exception = event.get("exception")
    if isinstance(exception, dict) and "values" not in exception and exception.keys() & EXCEPTION_FIELDS:
        return [exception]  # one exception as an object (raven-go), as Sentry reads it
    if isinstance(exception, dict):
        values = exception.get("values")
        return list(values) if isinstance(values, list) else []
    if isinstance(exception, list):
        return list(exception)
    return []


def has_frames(value: dict[str, Any]) -> bool:
    stacktrace = value.get("stacktrace")
    return isinstance(stacktrace, dict) and bool(stacktrace.get("frames"))


def fallback_stacktrace(event: dict[str, Any]) -> dict[str, Any] | None:
    """A stack for an exception (or message) sent without one: the event's own ``stacktrace``, else the one
    of the thread that crashed, else of the current thread (what ``attach_stacktrace`` sends)."""
    stacktrace = event.get("stacktrace")
    if isinstance(stacktrace, dict) and stacktrace.get("frames"):
        return stacktrace
    threads = event.get("threads")
    values = threads.get("values") if isinstance(threads, dict) else threads
    if not isinstance(values, list):
        return None
    with_stacks = [
        thread
        for thread in values
        if isinstance(thread, dict)
        and isinstance(thread.get("stacktrace"), dict)
        and thread["stacktrace"].get("frames")
    ]
    for flag in ("crashed", "current"):
        for thread in with_stacks:
            if thread.get(flag) is True:
                return thread["stacktrace"]
    return with_stacks[0]["stacktrace"] if len(with_stacks) == 1 else None


def message_text(event: dict[str, Any]) -> str | None:
    """The event's message as a person reads it: ``logentry`` (formatted, else its template), else
    ``message`` (a string, or an object in the same shape as ``logentry``)."""
    for key in ("logentry", "message"):
        value = event.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict):
            for field in ("formatted", "message"):
                text = value.get(field)
                if isinstance(text, str) and text:
                    return text
    return None
