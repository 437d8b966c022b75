"""Reading an event body: size limit after decompression, gzip/deflate, strict UTF-8 JSON."""

from __future__ import annotations

import json
import math
import re
import zlib
from typing import Any

import orjson
from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import BaseParser

# Lone surrogates and NUL survive json.loads but no database can store them; both only come from \u escapes.
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


class EventJSONParser(BaseParser):
    """JSON events, optionally gzip- or deflate-encoded, cut off at ``BUGSTACK_INGEST_MAX_BYTES``."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        limit = settings.BUGSTACK_INGEST_MAX_BYTES
        request = (parser_context or {}).get("request")
        encoding = (request.META.get("HTTP_CONTENT_ENCODING", "") if request else "").strip().lower()
        raw = read_limited(stream, limit)
        body = decompress(raw, encoding, limit)
        return loads(body, needs_cleaning=b"\\u" in body)


def read_limited(stream, limit: int) -> bytes:
    raw = stream.read(limit + 1) if stream is not None else b""
    if len(raw) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    return raw


def decompress(raw: bytes, encoding: str, limit: int) -> bytes:
    """The decoded body; inflates at most ``limit + 1`` bytes, so a compression bomb costs nothing."""
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise exceptions.UnsupportedMediaType(
            encoding, detail=f"Content-Encoding {encoding!r} is not supported: use gzip, deflate or none."
        )
    # gzip wrapper (16 + MAX_WBITS); deflate is zlib-wrapped per the RFC, but some clients send it raw.
    attempts = [16 + zlib.MAX_WBITS] if encoding != "deflate" else [zlib.MAX_WBITS, -zlib.MAX_WBITS]
    for wbits in attempts:
        inflater = zlib.decompressobj(wbits)
        try:
            body = inflater.decompress(raw, limit + 1)
        except zlib.error:
            continue
        if len(body) > limit or inflater.unconsumed_tail:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes once decompressed.")
        if not inflater.eof:
            break
        return body
    raise exceptions.ParseError(f"The body is not valid {encoding} data.")


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
