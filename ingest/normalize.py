"""One internal shape for every accepted payload: what is stored, grouped and shown.

Validated payload in, ``PreparedEvent`` out: timestamps in UTC, platform names from a fixed set, frames
oldest first (the protocol's order) and capped near the raise site, every string capped with a visible
marker, unknown fields kept in a bounded ``extra``, everything redacted (``ingest.redact``) as it is
copied, and the grouping hash (``ingest.fingerprint``) over the redacted result, so neither the database
nor the hash sees a secret.

Bounded per field and per event: each string, list and mapping has its cap, and the event as a whole at
most ``MAX_EVENT_TEXT`` characters of text and ``MAX_EVENT_VALUES`` values of free-form data, whatever its
size, so that no event costs more to redact, group and store than a few benign ones. What grouping reads
is copied first (a custom fingerprint, then each exception's type, message and frames' places, the
handler's exception and the newest frames first), then what describes it (context lines, variables,
mechanism), then the rest, so a large event loses its least useful text. Every cut is marked in the text
(``…[truncated]``) and recorded in the event's ``_meta``, in Sentry's shape: ``{"<field path>": {"":
{"len": <length sent>}}}`` for up to ``MAX_META`` fields.

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
MAX_ITEMS = 100  # per list or mapping in free-form data
MAX_KEY = 200
MAX_DEPTH = 6
MAX_EXTRA_BYTES = 16 * 1024
# The whole event, past the caps of each field: about eight times a large benign event's text.
MAX_EVENT_TEXT = 128 * 1024
MAX_EVENT_VALUES = 10_000
MAX_META = 32
MAX_MODULES = 1000
MAX_MODULE_TEXT = 100  # per package name and per version

PLATFORMS = {
    "python": "python",
    "py": "python",
    "cpython": "python",
    "node": "node",
    "nodejs": "node",
    "node.js": "node",
    "javascript": "javascript",
    "js": "javascript",
    "typescript": "javascript",
    "ts": "javascript",
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
    return derive(normalise(payload, received_at, terms))


def derive(data: dict[str, Any]) -> PreparedEvent:
    """The columns and fingerprint of a normalised event (what digest needs besides the data itself)."""
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
    """The payload in the internal shape, redacted under ``terms``, bounded, its cuts in ``_meta``."""
    scrub = Scrubber(terms)
    cut_lists = payload.cut_lists
    for path, sent in cut_lists.items():
        scrub.cut(sent, path)
    # Grouping's inputs first (see the module's docstring); the event keeps the protocol's order of keys.
    parts = enumerate(payload.fingerprint or ())
    fingerprint_parts = [scrub.text(str(part), MAX_STRING, "fingerprint", index) for index, part in parts]
    exceptions = exception_chain(payload.exception.values, scrub, cut_lists)
    data: dict[str, Any] = {
        # The id and time are ours (parsed, then written back in one format): nothing in them to redact,
        # and a masked one could no longer be parsed. Platform and level come from fixed sets.
        "event_id": parse_event_id(payload.event_id),
        "timestamp": parse_timestamp(payload.timestamp, received_at).isoformat(),
        "platform": PLATFORMS.get(
            (payload.platform or "").strip().lower(), "other" if payload.platform else ""
        ),
        "level": LEVELS.get((payload.level or "error").strip().lower(), "error"),
        "exception": {"values": exceptions},
    }
    for field in ("environment", "release", "server_name"):
        value = getattr(payload, field)
        if value:
            data[field] = scrub.text(value.strip(), COLUMN_LIMITS[field], field)
    if payload.message is not None:
        data["message"] = scrub.value(payload.message, limit=MAX_MESSAGE, path="message")
    if fingerprint_parts:
        data["fingerprint"] = fingerprint_parts
    if payload.request is not None:
        data["request"] = scrub.value(request_fields(payload.request), path="request")
    for field in ("contexts", "sdk", "user", "tags"):
        value = getattr(payload, field)
        if value:
            data[field] = scrub.value(value, path=field)
    if payload.modules:
        data["modules"] = bounded_modules(payload.modules, scrub)
    extra = {**(payload.extra or {}), **(payload.model_extra or {})}
    if extra:
        data["extra"] = bounded_extra(extra, scrub)
    if scrub.meta:
        data["_meta"] = scrub.record()
    return data


def request_fields(request: Any) -> dict[str, Any]:
    # The validated values as they are: model_dump would first copy every one of a large body's items.
    fields = {**request.__dict__, **(request.model_extra or {})}
    return {name: value for name, value in fields.items() if value is not None}


def exception_chain(values: list[Any], scrub: Scrubber, cut_lists: dict[str, int]) -> list[dict[str, Any]]:
    """The exceptions, causes first; the handler's exception, then its causes, served first."""
    paths = [f"exception.values.{index}" for index in range(len(values))]
    newest_first = range(len(values) - 1, -1, -1)
    chain: list[dict[str, Any]] = [{} for _ in values]
    for index in newest_first:
        chain[index] = exception(values[index], scrub, paths[index], cut_lists)
    for index in newest_first:
        describe_exception(chain[index], values[index], scrub, paths[index])
    return chain


def exception(value: Any, scrub: Scrubber, path: str, cut_lists: dict[str, int]) -> dict[str, Any]:
    """What groups an exception: its type, message, module and frames' places."""
    result: dict[str, Any] = {
        "type": scrub.text(value.type or "Error", COLUMN_LIMITS["exception_type"], path, "type")
    }
    if value.value is not None:
        result["value"] = scrub.text(value.value, MAX_MESSAGE, path, "value")
    if value.module:
        result["module"] = scrub.text(value.module, MAX_STRING, path, "module")
    if value.stacktrace is not None and value.stacktrace.frames:
        frames, frames_path = value.stacktrace.frames, f"{path}.stacktrace.frames"
        # Frames are oldest first; the ones nearest the raise site say the most: they come first.
        stored = [{} for _ in frames]
        for index in range(len(frames) - 1, -1, -1):
            stored[index] = frame_place(frames[index], scrub, frames_path, index)
        result["stacktrace"] = {"frames": stored}
        if frames_path in cut_lists:
            result["stacktrace"]["frames_omitted"] = cut_lists[frames_path] - len(frames)
    return result


def describe_exception(result: dict[str, Any], value: Any, scrub: Scrubber, path: str) -> None:
    """Add what describes an exception beyond its place: mechanism, context lines, variables."""
    if value.mechanism:
        result["mechanism"] = scrub.value(value.mechanism, path=f"{path}.mechanism")
    if "stacktrace" in result:
        frames, stored = value.stacktrace.frames, result["stacktrace"]["frames"]
        frames_path = f"{path}.stacktrace.frames"
        for index in range(len(frames) - 1, -1, -1):
            describe_frame(stored[index], frames[index].__dict__, scrub, frames_path, index)


FRAME_TEXTS = ("filename", "abs_path", "module", "function", "context_line")
FRAME_NUMBERS = ("lineno", "colno", "in_app")


def frame_place(frame: Any, scrub: Scrubber, frames: str, index: int) -> dict[str, Any]:
    # Read from the validated model's field values directly: a frame is mostly short strings, and an
    # attribute lookup each cost more than the capping. Scrubber.bounded() is written out, as in its own
    # loops: the call cost more than the check; a path is joined only for a cut.
    fields = frame.__dict__
    result: dict[str, Any] = {}
    for name in FRAME_TEXTS:
        value = fields[name]
        if value is not None:
            length = len(value)
            if length <= MAX_STRING and length <= scrub.text_left:
                scrub.text_left -= length
            else:
                value = scrub.cut_text(value, MAX_STRING, (frames, index, name))
            result[name] = mask_text(value)
    for name in FRAME_NUMBERS:
        value = fields[name]
        if value is not None:
            result[name] = value
    return result


def describe_frame(
    result: dict[str, Any], fields: dict[str, Any], scrub: Scrubber, frames: str, index: int
) -> None:
    for name in ("pre_context", "post_context", "vars"):
        value = fields[name]
        if not value:
            continue
        if scrub.full():  # what is left is recorded, not marked line by line
            scrub.cut(len(value), frames, index, name)
        elif name == "vars":
            result[name] = scrub.value(value, depth=2, path=f"{frames}.{index}.vars")
        else:
            # The lines nearest the frame's own: the last ones before it, the first ones after it.
            kept = value[-MAX_CONTEXT_LINES:] if name == "pre_context" else value[:MAX_CONTEXT_LINES]
            kept = ["" if line is None else line for line in kept]
            if len(kept) < len(value):
                scrub.cut(len(value), frames, index, name)
            result[name] = scrub.items(kept, MAX_DEPTH, f"{frames}.{index}.{name}")


# An event id or a timestamp longer than this is none: it is refused before it is parsed.
MAX_ID_OR_TIME = 64


def parse_event_id(raw: str | None) -> str:
    if raw is None:
        return uuid.uuid4().hex
    try:
        if len(raw) > MAX_ID_OR_TIME:
            raise ValueError(raw[:MAX_ID_OR_TIME])
        return uuid.UUID(raw.strip()).hex
    except ValueError:
        raise SchemaError("event_id", "must be 32 hexadecimal characters (a UUID)") from None


def parse_timestamp(raw: str | int | float | None, received_at: datetime) -> datetime:
    """RFC 3339 or epoch seconds; naive times are UTC; no timestamp means when it arrived."""
    if raw is None:
        return received_at
    try:
        if isinstance(raw, str) and len(raw) > MAX_ID_OR_TIME:
            raise ValueError(raw[:MAX_ID_OR_TIME])
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

    Bounded: strings, collections and nesting capped, the event's text and values held to
    ``MAX_EVENT_TEXT`` and ``MAX_EVENT_VALUES``, and what is cut says so, in the text and in ``meta``
    (by dotted path). Redacted (``ingest.redact``): a value whose key holds a term becomes ``FILTERED``,
    query strings and URLs have their sensitive parameters filtered, and every string is masked. Strings
    are cut before they are masked, so no pattern reads more than a field's cap and a mask is never cut
    in half.
    """

    __slots__ = ("terms", "sensitive", "text_left", "values_left", "meta", "uncounted")

    def __init__(self, terms: tuple[str, ...] = DENYLIST) -> None:
        self.terms = terms
        self.sensitive: KeyVerdicts = key_verdicts(terms)
        self.text_left = MAX_EVENT_TEXT
        self.values_left = MAX_EVENT_VALUES
        self.meta: dict[str, Any] = {}
        self.uncounted = 0

    def cut(self, sent: int, *path: str | int) -> None:
        """Record that the field at ``path`` (given in parts) was cut from ``sent`` characters or items."""
        if len(self.meta) < MAX_META:
            self.meta[dotted(path)] = {"": {"len": sent}}
        else:
            self.uncounted += 1

    def record(self) -> dict[str, Any]:
        """``_meta``: the fields cut, by path; past ``MAX_META`` of them, how many more."""
        if not self.uncounted:
            return self.meta
        return {**self.meta, TRUNCATED: {"": {"count": self.uncounted}}}

    def full(self) -> bool:
        """Whether the event holds all the text or values it may: collections end here."""
        return self.text_left <= 0 or self.values_left <= 0

    def bounded(self, text: str, limit: int, *path: str | int) -> str:
        """``text`` within ``limit`` and what is left of the event's text, the cut marked and recorded."""
        length = len(text)
        if length <= limit and length <= self.text_left:
            self.text_left -= length
            return text
        return self.cut_text(text, limit, path)

    def cut_text(self, text: str, limit: int, path: tuple[str | int, ...]) -> str:
        room = limit if limit <= self.text_left else max(self.text_left, len(TRUNCATED))
        if len(text) > room:
            self.cut(len(text), *path)
            text = cap(text, room)
        self.text_left -= len(text)
        return text

    def text(self, text: str, limit: int, *path: str | int) -> str:
        return mask_text(self.bounded(text, limit, *path))

    def value(self, value: Any, depth: int = 0, limit: int = MAX_STRING, path: str = "") -> Any:
        if isinstance(value, str):
            return self.text(value, limit, path)
        if isinstance(value, dict):
            return self.mapping(value, depth, path) if depth < MAX_DEPTH else self.too_deep(value, path)
        if isinstance(value, list):
            return self.items(value, depth, path) if depth < MAX_DEPTH else self.too_deep(value, path)
        return value

    def too_deep(self, value: dict[Any, Any] | list[Any], path: str) -> str:
        self.cut(len(value), path)
        return TRUNCATED

    def mapping(self, mapping: dict[Any, Any], depth: int, path: str) -> dict[str, Any]:
        result = {}
        for count, (key, item) in enumerate(mapping.items()):
            if count == MAX_ITEMS or self.text_left <= 0 or self.values_left <= 0:
                self.cut(len(mapping), path)
                result[TRUNCATED] = f"{len(mapping) - count} more keys"
                break
            key = str(key)
            if len(key) > MAX_KEY:
                key = cap(key, MAX_KEY)
            self.values_left -= 1
            self.text_left -= len(key)
            result[key] = self.entry(key, item, depth, path)
        return result

    def entry(self, key: str, item: Any, depth: int, path: str) -> Any:
        """The value under ``key`` (already capped) in a mapping at ``depth`` and ``path``."""
        if item is None:
            return item
        if self.sensitive[key]:
            return FILTERED
        if isinstance(item, str):
            # self.bounded() written out: nearly every string in an event passes here.
            length = len(item)
            if length <= MAX_STRING and length <= self.text_left:
                self.text_left -= length
            else:
                item = self.cut_text(item, MAX_STRING, (path, key))
            # Query strings and URLs carry key/value pairs inside one string.
            if key == "query_string":
                return filter_query(item, self.terms)
            if key == "url":
                return filter_url(item, self.terms)
            return mask_text(item)
        if isinstance(item, dict | list):
            return self.value(item, depth + 1, path=join(path, key))
        return item

    # Lists in free-form data are mostly strings and numbers: the loop below handles those in place rather
    # than with a call each.

    def items(self, items: list[Any], depth: int, path: str) -> list[Any]:
        result = []
        for index, item in enumerate(items):
            if index == MAX_ITEMS or self.text_left <= 0 or self.values_left <= 0:
                self.cut(len(items), path)
                result.append(f"{TRUNCATED} {len(items) - index} more items")
                break
            self.values_left -= 1
            if isinstance(item, str):
                length = len(item)  # self.bounded() written out, as in entry()
                if length <= MAX_STRING and length <= self.text_left:
                    self.text_left -= length
                else:
                    item = self.cut_text(item, MAX_STRING, (path, index))
                item = mask_text(item)
            elif is_pair(item) and depth + 1 < MAX_DEPTH:
                item = self.pair(item, depth + 1, join(path, index))
            elif isinstance(item, dict | list):
                item = self.value(item, depth + 1, path=join(path, index))
            result.append(item)
        return result

    def pair(self, pair: list[Any], depth: int, path: str) -> list[Any]:
        """A ``[name, value]`` pair (Sentry's form for headers, cookies, query strings and tags): the value
        judged by its name, as under a key."""
        name = pair[0] if len(pair[0]) <= MAX_KEY else cap(pair[0], MAX_KEY)
        self.values_left -= 1
        self.text_left -= len(name)
        return [name, self.entry(name, pair[1], depth, path)]


def is_pair(item: Any) -> bool:
    return isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)


def join(path: str, key: str | int) -> str:
    return f"{path}.{key}" if path else str(key)


def dotted(parts: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in parts if part != "")


def bounded_extra(extra: dict[str, Any], scrub: Scrubber) -> dict[str, Any]:
    """Unknown fields, redacted, kept while they fit in ``MAX_EXTRA_BYTES`` of JSON (and ``MAX_ITEMS``)."""
    kept: dict[str, Any] = {}
    budget = MAX_EXTRA_BYTES
    dropped = 0
    for count, (key, value) in enumerate(extra.items()):
        if count == MAX_ITEMS or budget <= 0:
            dropped += len(extra) - count
            break
        name = cap(key, MAX_KEY)
        item = scrub.entry(name, value, depth=0, path="extra")  # as a field of a mapping at the top
        size = len(json.dumps(item, ensure_ascii=False, default=str)) + len(name)
        if size > budget:
            dropped += 1
            continue
        kept[name] = item
        budget -= size
    if dropped:
        scrub.cut(len(extra), "extra")
        kept[TRUNCATED] = f"{dropped} fields over {MAX_EXTRA_BYTES} bytes dropped"
    return kept


def bounded_modules(modules: dict[str, str], scrub: Scrubber) -> dict[str, str]:
    """Installed packages and their versions: the first ``MAX_MODULES``, each capped and masked."""
    kept: dict[str, str] = {}
    for count, (name, version) in enumerate(modules.items()):
        if count == MAX_MODULES or scrub.full():
            scrub.cut(len(modules), "modules")
            break
        scrub.values_left -= 1
        # Masked but not filtered by key: "google-auth" or "tokenizers" name a package, and a version is
        # no secret.
        capped = scrub.text(name, MAX_MODULE_TEXT, "modules")
        kept[capped] = scrub.text(version, MAX_MODULE_TEXT, "modules", capped)
    return kept
