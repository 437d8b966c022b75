"""Reading an event body: size limit after decompression, gzip/deflate/br/zstd, strict UTF-8 JSON."""

from __future__ import annotations

import json
import math
import re
import zlib
from typing import Any

import brotli
import orjson
import zstandard
from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import BaseParser

# Lone surrogates and NUL survive json.loads but no database can store them; both only come from \u escapes.
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


class EventJSONParser(BaseParser):
    """JSON events, compressed or not (``decompress``), cut off at ``BUGSTACK_INGEST_MAX_BYTES``."""

    media_type = "application/json"
    limit_setting = "BUGSTACK_INGEST_MAX_BYTES"

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        body = read_body(stream, parser_context, getattr(settings, self.limit_setting))
        return loads(body, needs_cleaning=b"\\u" in body)


class BatchJSONParser(EventJSONParser):
    """A JSON array of events, cut off at ``BUGSTACK_BATCH_MAX_BYTES``."""

    limit_setting = "BUGSTACK_BATCH_MAX_BYTES"


def read_body(stream, parser_context: dict | None, limit: int) -> bytes:
    """The request body, read up to ``limit`` bytes and decoded by its ``Content-Encoding`` (413 past it)."""
    request = (parser_context or {}).get("request")
    encoding = (request.META.get("HTTP_CONTENT_ENCODING", "") if request else "").strip().lower()
    return decompress(read_limited(stream, limit), encoding, limit)


class LengthRequired(exceptions.APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_code = "length_required"


def require_length(meta: dict) -> None:
    """Refuse a chunked body the server passed on without its length: Django reads such a body as empty, so
    the event would be lost behind a misleading "empty" error. ``manage.py serve`` reads the body first and
    gives its length; a server that does not (runserver, gunicorn) gets a 411 that says what to do."""
    if (
        meta.get("CONTENT_LENGTH") in (None, "", "0")
        and "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
    ):
        raise LengthRequired(
            "The body came chunked and the server passed it on without its length: run bugstack with "
            "`manage.py serve`, or put a proxy in front that sets Content-Length."
        )


def read_limited(stream, limit: int) -> bytes:
    raw = stream.read(limit + 1) if stream is not None else b""
    if len(raw) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    return raw


def decompress(raw: bytes, encoding: str, limit: int) -> bytes:
    """The decoded body; inflates at most about ``limit + 1`` bytes, so a compression bomb costs nothing."""
    if encoding in ("", "identity"):
        return raw
    if encoding in ("gzip", "x-gzip", "deflate"):
        return inflate(raw, encoding, limit)
    if encoding == "br":
        return unbrotli(raw, limit)
    if encoding == "zstd":
        return unzstd(raw, limit)
    raise exceptions.UnsupportedMediaType(
        encoding,
        detail=f"Content-Encoding {encoding!r} is not supported: use gzip, deflate, br, zstd or none.",
    )


def inflate(raw: bytes, encoding: str, limit: int) -> bytes:
    """A gzip or deflate body, through zlib with an output cap."""
    # gzip wrapper (16 + MAX_WBITS); deflate is zlib-wrapped per the RFC, but some clients send it raw.
    attempts = [16 + zlib.MAX_WBITS] if encoding != "deflate" else [zlib.MAX_WBITS, -zlib.MAX_WBITS]
    for wbits in attempts:
        inflater = zlib.decompressobj(wbits)
        try:
            body = inflater.decompress(raw, limit + 1)
        except zlib.error:
            continue
        if len(body) > limit or inflater.unconsumed_tail:
            raise too_large_decompressed(limit)
        if not inflater.eof:
            break
        return body
    raise not_valid_encoding(encoding)


# Most output asked of brotli per call. brotli keeps ``output_buffer_limit`` only to a block of its output
# buffer (google/brotli#1396), the first of 32,752 bytes: asked for less, it hands over one block a call, so a
# body over the limit is refused having produced less than one block more than ``limit + 1`` bytes.
BROTLI_STEP = 16 * 1024


def unbrotli(raw: bytes, limit: int) -> bytes:
    """A brotli body, decoded a step at a time until it ends or passes ``limit``."""
    decompressor = brotli.Decompressor()
    parts: list[bytes] = []
    size = 0
    pending = raw  # brotli keeps the input it has not used yet: later calls pass none
    try:
        while size <= limit and not decompressor.is_finished():
            part = decompressor.process(pending, output_buffer_limit=min(limit + 1 - size, BROTLI_STEP))
            pending = b""
            if not part:  # it needs more input than the body holds
                break
            parts.append(part)
            size += len(part)
    except brotli.error:
        raise not_valid_encoding("br") from None
    if size > limit:
        raise too_large_decompressed(limit)
    if not decompressor.is_finished():  # empty or cut short
        raise not_valid_encoding("br")
    return b"".join(parts)


# RFC 9659: HTTP decoders need not accept zstd windows over 8 MiB; a larger one would cost that much memory.
ZSTD_MAX_WINDOW = 8 * 1024 * 1024
# The first piece of a frame that ``whole_zstd_frames`` feeds to the decoder; each next piece is twice as big.
ZSTD_FIRST_PIECE = 256


def unzstd(raw: bytes, limit: int) -> bytes:
    """A zstd body (one or more frames), read up to ``limit + 1`` bytes of output."""
    decompressor = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
    try:
        with decompressor.stream_reader(raw, read_across_frames=True) as reader:
            body = read_at_most(reader, limit + 1)
        if len(body) > limit:
            raise too_large_decompressed(limit)
        if not whole_zstd_frames(decompressor, raw):
            raise not_valid_encoding("zstd")
    except zstandard.ZstdError:
        raise not_valid_encoding("zstd") from None
    return body


def read_at_most(reader, size: int) -> bytes:
    parts: list[bytes] = []
    left = size
    while left > 0:
        part = reader.read(left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def whole_zstd_frames(decompressor: zstandard.ZstdDecompressor, raw: bytes) -> bool:
    """Whether ``raw`` holds one or more zstd frames, the last one whole.

    The stream reader ends quietly where the input does, even inside a frame, so the frames are decoded once
    more, each until it ends; ``unzstd`` calls this only once the whole output is known to fit the limit.
    Each frame is fed pieces that double in size: what it leaves over (and the decoder copies) is at most the
    last piece, so the work stays linear in the body however many frames it holds.
    """
    view = memoryview(raw)
    offset = 0
    while offset < len(raw):
        frame = decompressor.decompressobj()
        piece_size = ZSTD_FIRST_PIECE
        while not frame.eof:
            if offset == len(raw):
                return False
            piece = view[offset : offset + piece_size]
            frame.decompress(piece)
            offset += len(piece)
            piece_size *= 2
        offset -= len(frame.unused_data)
    return offset > 0


def too_large_decompressed(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The body is larger than {limit} bytes once decompressed.")


def not_valid_encoding(encoding: str) -> exceptions.ParseError:
    return exceptions.ParseError(f"The body is not valid {encoding} data.")


# Digits to "0" and every other byte to " ": a run of 19 zeros then marks a number orjson might not hold.
_DIGITS_AS_ZEROS = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_LONG_DIGIT_RUN = b"0" * 19


# Objects and arrays cost far more than the bytes they take ("[]," is three bytes, a Python list, and the
# garbage collector's time): a body may hold this many, and one more per CONTAINER_BYTES of its size, or it
# is refused before it is parsed. Real events hold one per few hundred bytes.
MIN_CONTAINERS = 4096
CONTAINER_BYTES = 64
# Every byte but a quote or an opening bracket.
_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in b'"[{')


def max_containers(size: int) -> int:
    return MIN_CONTAINERS + size // CONTAINER_BYTES


def loads(body: bytes, needs_cleaning: bool) -> Any:
    limit = max_containers(len(body))
    if containers(body, limit) > limit:
        raise exceptions.ParseError(
            f"The body is not valid JSON for an event: over {limit} objects and arrays for its size."
        )
    data = read_json(body)
    if not needs_cleaning:
        return data
    try:
        return clean(data)
    except RecursionError as exc:  # nested deeper than Python recurses
        raise not_valid_json(exc) from None


def containers(body: bytes, enough: int) -> int:
    """The objects and arrays in ``body``: its opening brackets, less those in strings past ``enough``.

    Up to ``enough`` every "{" and "[" counts (an upper bound). Past it, those inside strings are left out,
    in C rather than by parsing: escaped backslashes and quotes removed, then every byte but quotes and
    brackets, then the strings that held no bracket (now ``""``); the brackets left outside quotes count.
    """
    count = body.count(b"{") + body.count(b"[")
    if count <= enough:
        return count
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    reduced = unescaped.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    outside = b"".join(reduced.split(b'"')[::2])
    return outside.count(b"{") + outside.count(b"[")


def read_json(body: bytes) -> Any:
    """The body's JSON value, or a ``ParseError`` that says what is wrong with it.

    orjson reads what it can, about three times as fast as ``json``: valid UTF-8, strict JSON, finite
    numbers. It reads integers past 64 bits as floats, so a body with 19 digits in a row (rare: ids are
    strings) goes to ``json``, which keeps them exact, as does anything orjson refuses: ``json`` then
    either reads it (lone surrogates, which ``clean`` replaces) or names the problem.
    """
    if _LONG_DIGIT_RUN not in body.translate(_DIGITS_AS_ZEROS):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # json reads it, or says what is wrong with it
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise exceptions.ParseError(f"The body is not UTF-8 (byte {exc.start}).") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        raise not_valid_json(exc) from None


def not_valid_json(exc: Exception) -> exceptions.ParseError:
    return exceptions.ParseError(f"The body is not valid JSON: {str(exc)[:200]}")


def clean(value: Any) -> Any:
    """``value`` with NUL characters and lone surrogates replaced, in keys and strings alike."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {clean(key): clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean(item) for item in value]
    return value


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"{text[:20]} is out of range")
    return number


def _refuse_constant(name: str) -> float:
    # NaN and Infinity are not JSON, and PostgreSQL's jsonb refuses them.
    raise ValueError(f"{name} is not a JSON value")
