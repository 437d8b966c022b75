"""One internal shape for every accepted payload: what is stored, grouped and shown.

Validated payload in, ``PreparedEvent`` out: timestamps in UTC, platform names from a fixed set, frames
oldest first (the protocol's order) and capped near the raise site, every string capped with a visible
marker, unknown fields kept in a bounded ``extra``, everything redacted (``ingest.redact``) as it is
copied, and the grouping hash (``ingest.fingerprint``) over the redacted result, so neither the database
nor the hash sees a secret.

Redaction runs in the same pass as the copy rather than over it afterwards: an event is mostly short
strings in small mappings, and walking it twice cost about as much as everything else done to it. Every
string is masked; keys are filtered in free-form data (request, contexts, user, tags, extra, mechanism,
frame vars), not the protocol's own fields (``exception``, ``stacktrace``, ``frames``…): a project's
extra key that happens to name one of those filters nothing structural.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ingest.fingerprint import FINGERPRINT_VERSION, fingerprint
from ingest.redact import DENYLIST, FILTERED, KeyVerdicts, filter_query, filter_url, key_verdicts, mask_text
from ingest.schema import EventPayload, SchemaError

TRUNCATED = "…[truncated]"
MAX_STRING = 1024
MAX_MESSAGE = 8192
MAX_CONTEXT_LINES = 5
MAX_FRAMES = 100
MAX_EXCEPTIONS = 10
MAX_ITEMS = 100  # per list or mapping in free-form data
MAX_KEY = 200
MAX_DEPTH = 6
MAX_EXTRA_BYTES = 16 * 1024

PLATFORMS = {
    "python": "python",
    "py": "python",
    "cpython": "python",
    "node": "node",
    "nodejs": "node",
    "node.js": "node",
    "javascript": "javascript",
    "js": "javascript",
    "ruby": "ruby",
    "rb": "ruby",
    "go": "go",
    "golang": "go",
}
LEVELS = {"fatal": "fatal", "critical": "fatal", "error": "error", "warning": "warning", "warn": "warning"}
LEVELS |= {"info": "info", "debug": "debug"}

# Model columns the event's scalar fields go to, and their lengths.
COLUMN_LIMITS = {"environment": 100, "release": 200, "server_name": 200, "exception_type": 200}
KNOWN_FIELDS = frozenset(EventPayload.model_fields)


@dataclass(frozen=True)
class PreparedEvent:
    """An event ready to store: the redacted data and the columns derived from it."""

    event_id: uuid.UUID
    timestamp: datetime
    platform: str
    level: str
    environment: str
    release: str
    server_name: str
    exception_type: str
    message: str
    title: str
    culprit: str
    fingerprint: str
    fingerprint_version: int
    data: dict[str, Any]


def prepare_event(
    payload: EventPayload, received_at: datetime, terms: tuple[str, ...] = DENYLIST
) -> PreparedEvent:
    """Normalise, redact and fingerprint a validated payload."""
    data = normalise(payload, received_at, terms)
    last = data["exception"]["values"][-1]
    exception_type = cap(last.get("type") or "Error", COLUMN_LIMITS["exception_type"])
    message = last.get("value") or ""
    return PreparedEvent(
        event_id=uuid.UUID(data["event_id"]),
        timestamp=datetime.fromisoformat(data["timestamp"]),
        platform=data["platform"],
        level=data["level"],
        environment=data.get("environment", ""),
        release=data.get("release", ""),
        server_name=data.get("server_name", ""),
        exception_type=exception_type,
        message=message,
        title=cap(f"{exception_type}: {first_line(message)}" if message else exception_type, 500),
        culprit=cap(culprit(last), 500),
        fingerprint=fingerprint(data),
        fingerprint_version=FINGERPRINT_VERSION,
        data=data,
    )


def normalise(
    payload: EventPayload, received_at: datetime, terms: tuple[str, ...] = DENYLIST
) -> dict[str, Any]:
    """The payload in the internal shape, redacted under ``terms``."""
    scrub = Scrubber(terms)
    data: dict[str, Any] = {
        # The id and time are ours (parsed, then written back in one format): nothing in them to redact,
        # and a masked one could no longer be parsed. Platform and level come from fixed sets.
        "event_id": parse_event_id(payload.event_id),
        "timestamp": parse_timestamp(payload.timestamp, received_at).isoformat(),
        "platform": PLATFORMS.get(
            (payload.platform or "").strip().lower(), "other" if payload.platform else ""
        ),
        "level": LEVELS.get((payload.level or "error").strip().lower(), "error"),
        "exception": {
            "values": [exception(value, scrub) for value in payload.exception.values[-MAX_EXCEPTIONS:]]
        },
    }
    for field in ("environment", "release", "server_name"):
        value = getattr(payload, field)
        if value:
            data[field] = scrub.text(value.strip(), COLUMN_LIMITS[field])
    if payload.message is not None:
        data["message"] = scrub.value(payload.message, limit=MAX_MESSAGE)
    if payload.fingerprint:
        data["fingerprint"] = [scrub.text(str(part)) for part in payload.fingerprint]
    if payload.request is not None:
        data["request"] = scrub.value(payload.request.model_dump(exclude_none=True))
    for field in ("contexts", "sdk", "user", "tags"):
        value = getattr(payload, field)
        if value:
            data[field] = scrub.value(value)
    extra = {**(payload.extra or {}), **(payload.model_extra or {})}
    if extra:
        data["extra"] = bounded_extra(extra, scrub)
    return data


def exception(value: Any, scrub: Scrubber) -> dict[str, Any]:
    result: dict[str, Any] = {"type": scrub.text(value.type or "Error", COLUMN_LIMITS["exception_type"])}
    if value.value is not None:
        result["value"] = scrub.text(value.value, MAX_MESSAGE)
    if value.module:
        result["module"] = scrub.text(value.module)
    if value.mechanism:
        result["mechanism"] = scrub.value(value.mechanism)
    if value.stacktrace is not None and value.stacktrace.frames:
        frames = value.stacktrace.frames
        # Frames are oldest first; the ones nearest the raise site say the most, so those are kept.
        result["stacktrace"] = {"frames": [frame_dict(frame, scrub) for frame in frames[-MAX_FRAMES:]]}
        if len(frames) > MAX_FRAMES:
            result["stacktrace"]["frames_omitted"] = len(frames) - MAX_FRAMES
    return result


FRAME_TEXTS = ("filename", "abs_path", "module", "function", "context_line")
FRAME_NUMBERS = ("lineno", "colno", "in_app")


def frame_dict(frame: Any, scrub: Scrubber) -> dict[str, Any]:
    # Read from the validated model's field values directly: a frame is mostly short strings, and an
    # attribute lookup each cost more than the capping.
    fields = frame.__dict__
    result: dict[str, Any] = {}
    for name in FRAME_TEXTS:
        value = fields[name]
        if value is not None:
            result[name] = mask_text(value if len(value) <= MAX_STRING else cap(value, MAX_STRING))
    for name in FRAME_NUMBERS:
        value = fields[name]
        if value is not None:
            result[name] = value
    pre_context, post_context = fields["pre_context"], fields["post_context"]
    if pre_context:
        result["pre_context"] = [scrub.text(line) for line in pre_context[-MAX_CONTEXT_LINES:]]
    if post_context:
        result["post_context"] = [scrub.text(line) for line in post_context[:MAX_CONTEXT_LINES]]
    if fields["vars"]:
        result["vars"] = scrub.value(fields["vars"], depth=2)
    return result


def parse_event_id(raw: str | None) -> str:
    if raw is None:
        return uuid.uuid4().hex
    try:
        return uuid.UUID(raw.strip()).hex
    except ValueError:
        raise SchemaError("event_id", "must be 32 hexadecimal characters (a UUID)") from None


def parse_timestamp(raw: str | int | float | None, received_at: datetime) -> datetime:
    """RFC 3339 or epoch seconds; naive times are UTC; no timestamp means when it arrived."""
    if raw is None:
        return received_at
    try:
        if isinstance(raw, str) and not raw.replace(".", "", 1).isdigit():
            parsed = datetime.fromisoformat(raw.strip())
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        return datetime.fromtimestamp(float(raw), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise SchemaError("timestamp", "must be an RFC 3339 date-time or epoch seconds") from None


def culprit(exception: dict[str, Any]) -> str:
    frames = (exception.get("stacktrace") or {}).get("frames") or []
    in_app = [frame for frame in frames if frame.get("in_app") is True] or frames
    if not in_app:
        return ""
    frame = in_app[-1]
    where = frame.get("filename") or frame.get("abs_path") or frame.get("module") or "?"
    return f"{where} in {frame.get('function') or '?'}"


def cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATED)] + TRUNCATED


def first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0]


class Scrubber:
    """Free-form JSON copied bounded and redacted under one list of terms, in one pass.

    Bounded: strings, collections and nesting capped, and what is cut says so. Redacted
    (``ingest.redact``): a value whose key holds a term becomes ``FILTERED``, query strings and URLs have
    their sensitive parameters filtered, and every string is masked. Strings are capped before they are
    masked, so a mask is never cut in half.
    """

    __slots__ = ("terms", "sensitive")

    def __init__(self, terms: tuple[str, ...] = DENYLIST) -> None:
        self.terms = terms
        self.sensitive: KeyVerdicts = key_verdicts(terms)

    def text(self, text: str, limit: int = MAX_STRING) -> str:
        return mask_text(text if len(text) <= limit else cap(text, limit))

    def value(self, value: Any, depth: int = 0, limit: int = MAX_STRING) -> Any:
        if isinstance(value, str):
            return self.text(value, limit)
        if isinstance(value, dict):
            return self.mapping(value, depth) if depth < MAX_DEPTH else TRUNCATED
        if isinstance(value, list):
            return self.items(value, depth) if depth < MAX_DEPTH else TRUNCATED
        return value

    def mapping(self, mapping: dict[Any, Any], depth: int) -> dict[str, Any]:
        result = {}
        for count, (key, item) in enumerate(mapping.items()):
            if count == MAX_ITEMS:
                result[TRUNCATED] = f"{len(mapping) - MAX_ITEMS} more keys"
                break
            key = cap(str(key), MAX_KEY)
            result[key] = self.entry(key, item, depth)
        return result

    def entry(self, key: str, item: Any, depth: int) -> Any:
        """The value under ``key`` (already capped) in a mapping at ``depth``."""
        if item is None:
            return item
        if self.sensitive[key]:
            return FILTERED
        if isinstance(item, str):
            if len(item) > MAX_STRING:
                item = cap(item, MAX_STRING)
            # Query strings and URLs carry key/value pairs inside one string.
            if key == "query_string":
                return filter_query(item, self.terms)
            if key == "url":
                return filter_url(item, self.terms)
            return mask_text(item)
        if isinstance(item, dict | list):
            return self.value(item, depth + 1)
        return item

    # Lists in free-form data are mostly strings and numbers: the loop below handles those in place rather
    # than with a call each.

    def items(self, items: list[Any], depth: int) -> list[Any]:
        result = []
        for item in items[:MAX_ITEMS]:
            if isinstance(item, str):
                item = mask_text(item if len(item) <= MAX_STRING else cap(item, MAX_STRING))
            elif isinstance(item, dict | list):
                item = self.value(item, depth + 1)
            result.append(item)
        if len(items) > MAX_ITEMS:
            result.append(f"{TRUNCATED} {len(items) - MAX_ITEMS} more items")
        return result


def bounded_extra(extra: dict[str, Any], scrub: Scrubber) -> dict[str, Any]:
    """Unknown fields, redacted, kept while they fit in ``MAX_EXTRA_BYTES`` of JSON."""
    kept: dict[str, Any] = {}
    budget = MAX_EXTRA_BYTES
    dropped = 0
    for key, value in extra.items():
        name = cap(key, MAX_KEY)
        item = scrub.entry(name, value, depth=0)  # as a field of a mapping at the top
        size = len(json.dumps(item, ensure_ascii=False, default=str)) + len(key)
        if size > budget:
            dropped += 1
            continue
        kept[name] = item
        budget -= size
    if dropped:
        kept[TRUNCATED] = f"{dropped} fields over {MAX_EXTRA_BYTES} bytes dropped"
    return kept
