"""Turning an exception into a native protocol v1 event (DESIGN.md, "Event schema")."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import logging
import platform
import re
import time
import uuid
from typing import Any

from bugstack_sdk.options import Event, Options
from bugstack_sdk.request import RequestData
from bugstack_sdk.stacktrace import frames_from_traceback
from bugstack_sdk.version import SDK_NAME, VERSION

logger = logging.getLogger("bugstack_sdk")

MAX_CHAIN = 10
MAX_MESSAGE_LENGTH = 8192


def build_event(
    exc: BaseException,
    options: Options,
    *,
    mechanism: str = "generic",
    request: RequestData | None = None,
    framework: dict[str, str] | None = None,
) -> Event:
    values = [
        exception_payload(e, options.project_root, options.in_app_include) for e in exception_chain(exc)
    ]
    values[-1]["mechanism"] = {"type": mechanism, "handled": mechanism == "generic"}
    event: Event = {
        "event_id": uuid.uuid4().hex,
        "timestamp": time.time(),
        "platform": "python",
        "level": "error",
        "environment": options.environment,
        "server_name": options.server_name,
        "exception": {"values": values},
        "contexts": runtime_contexts(framework),
        "sdk": {"name": SDK_NAME, "version": VERSION},
        "tags": {"client_fingerprint": client_fingerprint(values)},
    }
    if options.release:
        event["release"] = options.release
    if options.send_modules:
        event["modules"] = installed_modules()
    if request is not None:
        event["request"] = request.payload()
        if request.status_code is not None:
            event["contexts"]["response"] = {"status_code": request.status_code}
    return event


def exception_chain(exc: BaseException) -> list[BaseException]:
    """Causes first and ``exc`` last, following ``raise … from`` and implicit context as Python does."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(chain) < MAX_CHAIN:
        chain.append(current)
        seen.add(id(current))
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return chain[::-1]


def exception_payload(
    exc: BaseException, project_root: str, in_app_include: tuple[str, ...] = ()
) -> dict[str, Any]:
    exc_type = type(exc)
    payload: dict[str, Any] = {
        "type": exc_type.__qualname__,
        "value": safe_str(exc)[:MAX_MESSAGE_LENGTH],
        "stacktrace": {"frames": frames_from_traceback(exc.__traceback__, project_root, in_app_include)},
    }
    if exc_type.__module__ not in ("builtins", "__main__"):
        payload["module"] = exc_type.__module__
    return payload


def safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # a broken __str__ must not cost the report
        return f"<unprintable {type(exc).__name__}>"


def runtime_contexts(framework: dict[str, str] | None) -> dict[str, Any]:
    contexts: dict[str, Any] = {name: dict(values) for name, values in _STATIC_CONTEXTS.items()}
    if framework:
        contexts["framework"] = dict(framework)
    return contexts


_STATIC_CONTEXTS = {
    "runtime": {"name": platform.python_implementation(), "version": platform.python_version()},
    "os": {"name": platform.system(), "version": platform.release()},
}

_WHITESPACE = re.compile(r"\s+")
_NAME_SEPARATORS = re.compile(r"[-_.]+")


@functools.cache
def installed_modules() -> dict[str, str]:
    """Map each installed distribution's name, as pip spells it, to its version; read once per process."""
    modules: dict[str, str] = {}
    try:
        distributions = list(importlib.metadata.distributions())
    except Exception:  # an unreadable sys.path entry must not cost the report
        logger.debug("bugstack could not list installed distributions", exc_info=True)
        return modules
    for distribution in distributions:
        name_and_version = _name_and_version(distribution)
        # The first one found on sys.path is the one imported; later copies are shadowed.
        if name_and_version is not None and name_and_version[0] not in modules:
            modules[name_and_version[0]] = name_and_version[1]
    return modules


def _name_and_version(distribution: importlib.metadata.Distribution) -> tuple[str, str] | None:
    """The distribution's normalised name and version, or None when its metadata is broken."""
    try:
        name, version = distribution.metadata["Name"], distribution.version
    except Exception:
        return None
    if not isinstance(name, str) or not isinstance(version, str) or not name.strip():
        return None
    return _NAME_SEPARATORS.sub("-", name.strip()).lower(), version.strip()


def client_fingerprint(values: list[dict[str, Any]]) -> str:
    """The same ingredients as the server's grouping: types and in-app frames, never line numbers."""
    digest = hashlib.sha256()
    for value in values:
        digest.update(value["type"].encode())
        frames = value["stacktrace"]["frames"]
        for frame in [f for f in frames if f["in_app"]] or frames:
            line = _WHITESPACE.sub(" ", frame.get("context_line", "")).strip()
            digest.update(f"\0{frame['filename']}\0{frame['function']}\0{line}".encode())
        if not frames:
            digest.update(value["value"].encode(errors="replace"))
    return digest.hexdigest()


# Under the server's default 1 MiB limit: an event it would refuse with 413 is shrunk before sending.
MAX_EVENT_BYTES = 900 * 1024
INNER_FRAMES_KEPT = 20


def encode_event(event: Event, limit: int = MAX_EVENT_BYTES) -> bytes:
    """JSON for the wire; an oversized event loses library source, then all source, then outer frames."""
    body = _dumps(event)
    for shrink in (_drop_library_context, _drop_all_context, _keep_inner_frames):
        if len(body) <= limit:
            break
        shrink(event)
        body = _dumps(event)
    return body


def _dumps(event: Event) -> bytes:
    return json.dumps(event, default=repr, ensure_ascii=False).encode()


def _all_frames(event: Event) -> list[dict[str, Any]]:
    values = event.get("exception", {}).get("values", [])
    return [frame for value in values for frame in value.get("stacktrace", {}).get("frames", [])]


def _drop_library_context(event: Event) -> None:
    for frame in _all_frames(event):
        if not frame.get("in_app"):
            frame.pop("pre_context", None)
            frame.pop("post_context", None)


def _drop_all_context(event: Event) -> None:
    for frame in _all_frames(event):
        frame.pop("pre_context", None)
        frame.pop("post_context", None)


def _keep_inner_frames(event: Event) -> None:
    for value in event.get("exception", {}).get("values", []):
        stacktrace = value.get("stacktrace", {})
        stacktrace["frames"] = stacktrace.get("frames", [])[-INNER_FRAMES_KEPT:]
