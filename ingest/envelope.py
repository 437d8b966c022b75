"""Reading Sentry envelopes, and the DSN and ``X-Sentry-Auth`` values that come with them.

An envelope (https://develop.sentry.dev/sdk/data-model/envelopes/) is a JSON header line, then items: each a
JSON header line and a payload of ``length`` bytes, or up to the next newline when the header gives no length.
Only ``\\n`` ends a line. The format counts a ``\\r`` before it as part of the line: a payload keeps it, and a
header line may not end in it, nor in other whitespace (Relay, Sentry's own reader, refuses both). Blank lines
where an item header is due are passed over, even at the end, and a header on the last line with nothing
after it is an item with an empty payload, as Relay reads it.

The caller caps the body's size. Every line end is found with ``bytes.find`` and the cursor only moves
forward, so the work is linear in the body; a payload stays bytes until ``Item.json`` is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from rest_framework import exceptions

from ingest.parsers import clean, containers, loads, max_containers

# Past this many characters an ``X-Sentry-Auth`` header is not read (real ones are under 200), nor a DSN.
MAX_AUTH_HEADER_CHARS = 2000
MAX_DSN_CHARS = 2000

_BLANK = b" \t\r\n"
_BLANK_CHUNK = 4096


class EnvelopeError(ValueError):
    """The body is not an envelope; the message says where and why."""


class EnvelopeTooLarge(EnvelopeError):
    """The envelope holds more items, or a bigger item, than the caller allows."""


@dataclass(frozen=True)
class Item:
    type: str
    headers: dict[str, Any]
    payload: bytes

    def json(self) -> Any:
        """The payload read as JSON, with the same bounds as an event body."""
        try:
            return loads(self.payload, needs_cleaning=b"\\u" in self.payload)
        except exceptions.ParseError as exc:
            reason = str(exc.detail).replace("The body", "its payload", 1)
            raise EnvelopeError(f"The {_shown(self.type)} item: {reason}") from None


@dataclass(frozen=True)
class Envelope:
    headers: dict[str, Any]
    items: list[Item]


def parse_envelope(body: bytes, *, max_items: int, max_item_bytes: int) -> Envelope:
    """The envelope in ``body`` (already decompressed and size-capped by the caller).

    Raises ``EnvelopeTooLarge`` past ``max_items`` items or for a payload over ``max_item_bytes``, and
    ``EnvelopeError`` for anything else that is not an envelope.
    """
    if not body:
        raise EnvelopeError("The envelope is empty: it must start with a header line (which may be {}).")
    lines = _Lines(body)
    headers = _json_object(lines.next_line(), "The envelope header (line 1)")
    items: list[Item] = []
    while lines.skip_blank_lines():
        if len(items) == max_items:
            raise EnvelopeTooLarge(f"The envelope holds more than {max_items} items, the most accepted.")
        items.append(_read_item(lines, len(items) + 1, max_item_bytes))
    return Envelope(headers=headers, items=items)


class _Lines:
    """A cursor over the body that moves forward only: past a line, or past a payload of known length."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.pos = 0
        self.line = 1  # the number of the line ``pos`` is on

    def left(self) -> int:
        return len(self.body) - self.pos

    def next_line(self) -> bytes:
        """The bytes up to the next ``\\n`` (not included) or the end; the cursor moves past the newline."""
        end = self._line_end()
        text = self.body[self.pos : end]
        self.pos = min(end + 1, len(self.body))
        self.line += 1
        return text

    def skip_blank_lines(self) -> bool:
        """Move past empty or whitespace-only lines; whether anything is left after them.

        Whitespace is stripped a chunk at a time in C: a megabyte of newlines costs no Python loop per line.
        """
        while self.pos < len(self.body):
            chunk = self.body[self.pos : self.pos + _BLANK_CHUNK]
            rest = chunk.lstrip(_BLANK)
            if rest:  # stop at the start of the line that holds something
                blank = chunk[: len(chunk) - len(rest)]
                blank = blank[: blank.rfind(b"\n") + 1]
                self.pos += len(blank)
                self.line += blank.count(b"\n")
                return True
            self.pos += len(chunk)
            self.line += chunk.count(b"\n")
        return False

    def take(self, length: int, where: str) -> bytes:
        """The next ``length`` bytes, which must end the body or be followed by ``\\n``."""
        end = self.pos + length
        payload = self.body[self.pos : end]
        if end < len(self.body) and self.body[end] != 0x0A:
            after = self.body[end : end + 1]
            raise EnvelopeError(
                f'{where}: its payload of {length} bytes (the header\'s "length") is followed by {after!r}, '
                "where a newline must be; the length is wrong, or lines end in \\r\\n (only \\n ends a line)."
            )
        self.line += payload.count(b"\n") + (end < len(self.body))
        self.pos = min(end + 1, len(self.body))
        return payload

    def _line_end(self) -> int:
        end = self.body.find(b"\n", self.pos)
        return len(self.body) if end == -1 else end


def _read_item(lines: _Lines, number: int, max_item_bytes: int) -> Item:
    where = f"Item {number} (line {lines.line})"
    headers = _json_object(lines.next_line(), f"{where}: the item header")
    item_type = headers.get("type")
    if item_type is None:
        raise EnvelopeError(f'{where}: the item header has no "type".')
    if not isinstance(item_type, str):
        raise EnvelopeError(f'{where}: "type" must be a string, not {_json_type(item_type)}.')
    length = headers.get("length")
    if length is None:
        payload = lines.next_line()
    else:
        _check_length(length, lines.left(), max_item_bytes, where)
        payload = lines.take(length, where)
    if len(payload) > max_item_bytes:
        raise _too_large(where, len(payload), max_item_bytes)
    return Item(type=item_type, headers=headers, payload=payload)


def _check_length(length: Any, left: int, max_item_bytes: int, where: str) -> None:
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise EnvelopeError(
            f'{where}: "length" must be a whole number of bytes, 0 or more, not {_shown(length)}.'
        )
    if length > left:
        raise EnvelopeError(
            f'{where}: "length" is {length} bytes, but only {left} bytes are left in the envelope.'
        )
    if length > max_item_bytes:
        raise _too_large(where, length, max_item_bytes)


def _too_large(where: str, size: int, max_item_bytes: int) -> EnvelopeTooLarge:
    return EnvelopeTooLarge(
        f"{where}: its payload is {size} bytes, over the limit of {max_item_bytes} bytes."
    )


def _json_object(line: bytes, what: str) -> dict[str, Any]:
    """A header line's JSON object, read strictly and within the same bounds as an event body."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EnvelopeError(f"{what} is not UTF-8 (byte {exc.start + 1} of the line).") from None
    if line.endswith(b"\r"):
        raise EnvelopeError(f"{what} ends in \\r: lines end in \\n alone, not \\r\\n.")
    if line[-1:].isspace():
        raise EnvelopeError(f"{what} ends in whitespace, which a header line must not.")
    limit = max_containers(len(line))
    if containers(line, limit) > limit:
        raise EnvelopeError(f"{what} holds over {limit} objects and arrays for its size.")
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"{what} is not valid JSON: {exc}.") from None
    if not isinstance(value, dict):
        raise EnvelopeError(f"{what} must be a JSON object, not {_json_type(value)}.")
    if b"\\u" not in line:
        return value
    try:
        return clean(value)  # NUL and lone surrogates cannot be stored
    except RecursionError:
        raise EnvelopeError(f"{what} is nested too deeply.") from None


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    names = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number"}
    return names.get(type(value), "null")


def _shown(value: Any) -> str:
    """``value`` as it may appear in a message: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def dsn_public_key(dsn: str) -> str | None:
    """The public key of ``http(s)://<public key>[:<secret>]@<host>[:port]/<path…>/<project id>``."""
    parts = _dsn_parts(dsn)
    return parts[0] if parts else None


def dsn_project_id(dsn: str) -> str | None:
    """The project id (digits) at the end of a DSN's path."""
    parts = _dsn_parts(dsn)
    return parts[1] if parts else None


def _dsn_parts(dsn: str) -> tuple[str, str] | None:
    if not isinstance(dsn, str) or len(dsn) > MAX_DSN_CHARS:
        return None
    try:
        url = urlsplit(dsn.strip())
        url.port  # noqa: B018 -- raises ValueError for a port that is not a number in range
    except ValueError:
        return None
    project_id = url.path.rpartition("/")[2]
    if url.scheme not in ("http", "https") or not url.username or not url.hostname:
        return None
    if not (project_id.isascii() and project_id.isdigit()):
        return None
    return url.username, project_id


def parse_sentry_auth(header: str) -> dict[str, str]:
    """The fields of an ``X-Sentry-Auth`` value: ``Sentry sentry_key=…, sentry_version=7, …``.

    The ``Sentry`` prefix is optional and spaces around ``,`` and ``=`` are ignored. Only the first
    ``MAX_AUTH_HEADER_CHARS`` characters are read; a field cut off there is dropped rather than read short.
    """
    text = header[:MAX_AUTH_HEADER_CHARS]
    if len(header) > MAX_AUTH_HEADER_CHARS:
        text = text.rpartition(",")[0]
    text = text.strip()
    scheme, space, rest = text.partition(" ")
    if space and scheme.lower() == "sentry":
        text = rest
    fields: dict[str, str] = {}
    for field in text.split(","):
        name, equals, value = field.partition("=")
        name = name.strip()
        if equals and name:
            fields[name] = value.strip()
    return fields
