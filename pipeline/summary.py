"""Read the parts of a stored (normalised) event that the pipeline talks about."""

from __future__ import annotations

from collections.abc import Mapping


def exceptions(data: Mapping) -> list[dict]:
    return list((data.get("exception") or {}).get("values") or [])


def primary_exception(data: Mapping) -> dict:
    """The exception that reached the handler: the last of ``exception.values``."""
    values = exceptions(data)
    return values[-1] if values else {"type": "Error", "value": data.get("message") or ""}


def frames(data: Mapping) -> list[dict]:
    """Frames of the primary exception, oldest first."""
    return list((primary_exception(data).get("stacktrace") or {}).get("frames") or [])


def crash_frame(data: Mapping) -> dict | None:
    """The innermost application frame (the innermost frame of all when none is in-app)."""
    stack = frames(data)
    in_app = [frame for frame in stack if frame.get("in_app")]
    return (in_app or stack or [None])[-1]
