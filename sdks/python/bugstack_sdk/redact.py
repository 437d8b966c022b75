"""Redaction before anything leaves the process: values under sensitive keys become ``[Filtered]``, and
credential-looking strings are masked wherever they appear (messages and source lines included).

The terms and patterns mirror bugstack's server-side redaction (``ingest/redact.py``), which redacts again
on arrival; the SDK keeps its own copy because it must install without the server.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

FILTERED = "[Filtered]"

# Substring terms, compared with the lower-cased key with "-" read as "_": "X-Api-Key", "db_password",
# "sessionid", "csrftoken", "Proxy-Authorization" and "Set-Cookie" all match. Substrings over-filter a
# little ("author"), which is the safe side.
DENYLIST: tuple[str, ...] = (
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "auth",
    "credential",
    "cookie",
    "session",
    "csrf",
    "xsrf",
    "private_key",
    "privatekey",
)

# Each pattern matches the whole secret; the replacement keeps only what names the kind of secret.
SECRET_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9\-._~+/]{8,}=*", r"\1 " + FILTERED),
    (r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*", FILTERED),  # JWTs
    (r"\bgh[pousr]_[A-Za-z0-9]{30,}\b", FILTERED),  # GitHub tokens
    (r"\bgithub_pat_[A-Za-z0-9_]{30,}\b", FILTERED),
    (r"\bsk-ant-[A-Za-z0-9_-]{20,}", FILTERED),  # Anthropic and other "sk-" keys
    (r"\bsk-[A-Za-z0-9_-]{32,}", FILTERED),
    (r"\b(?:AKIA|ASIA|AROA|AIDA)[0-9A-Z]{16}\b", FILTERED),  # AWS key ids, and named secret keys
    (r"(?i)(aws_secret_access_key\s*[=:]\s*)[A-Za-z0-9/+]{40}", r"\1" + FILTERED),
    (r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}\b", FILTERED),  # Stripe
    (r"\bwhsec_[A-Za-z0-9]{20,}\b", FILTERED),
    (r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b", FILTERED),  # Slack
    (r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+@", r"\1" + FILTERED + "@"),  # scheme://user:password@
)
# 13 to 19 digits, optionally grouped by single spaces or dashes; each candidate is then checked with Luhn.
CARD_CANDIDATE = r"\b\d(?:[ -]?\d){12,18}\b"

_SECRETS = [(re.compile(pattern), replacement) for pattern, replacement in SECRET_PATTERNS]
_CARD = re.compile(CARD_CANDIDATE)
# Cheap pre-checks: most strings in an event (paths, function names, source lines) contain none of these.
_MAYBE_SECRET = re.compile(
    r"(?i)bearer|token|basic|eyJ|gh[pousr]_|github_pat_|sk-|AKIA|ASIA|AROA|AIDA|aws_|"
    r"_live_|_test_|whsec_|xox|://[^\s]*@"
)
_MAYBE_CARD = re.compile(r"\d{4}")


def denylist(extra_keys: Iterable[str] = ()) -> tuple[str, ...]:
    """The built-in terms plus the app's own, normalised the way keys are compared."""
    return DENYLIST + tuple(normalise_key(key) for key in extra_keys if key.strip())


def normalise_key(key: str) -> str:
    return key.strip().lower().replace("-", "_")


@functools.lru_cache(maxsize=4096)  # events repeat the same few dozen keys; the worker checks each one
def is_sensitive_key(key: str, terms: tuple[str, ...] = DENYLIST) -> bool:
    normalised = normalise_key(key)
    return any(term in normalised for term in terms)


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        n = ord(char) - 48
        if position % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return FILTERED if luhn_valid(digits) else match.group(0)


def mask_text(text: str) -> str:
    """``text`` with every credential-looking value and Luhn-valid card number replaced."""
    if _MAYBE_SECRET.search(text):
        for pattern, replacement in _SECRETS:
            text = pattern.sub(replacement, text)
    if _MAYBE_CARD.search(text):
        text = _CARD.sub(_mask_card, text)
    return text


def filter_query(query: str, terms: tuple[str, ...] = DENYLIST) -> str:
    """A query string with the values of sensitive parameters filtered."""
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(is_sensitive_key(key, terms) for key, _ in pairs):
        return mask_text(query)
    filtered = [(key, FILTERED if is_sensitive_key(key, terms) else value) for key, value in pairs]
    return mask_text(urlencode(filtered, safe="[]"))


def filter_url(url: str, terms: tuple[str, ...] = DENYLIST) -> str:
    """A URL with sensitive query parameters filtered and credentials masked."""
    if "?" not in url:
        return mask_text(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask_text(url)
    return urlunsplit(parts._replace(query=filter_query(parts.query, terms)))


class Redactor:
    """Return a redacted copy of an event; the caller's structure is left alone."""

    MAX_DEPTH = 32  # deeper (or cyclic) data is cut, not followed

    def __init__(self, extra_keys: Iterable[str] = ()) -> None:
        self.terms = denylist(extra_keys)

    def redact(self, value: Any, depth: int = 0) -> Any:
        if isinstance(value, str):
            return mask_text(value)
        if depth > self.MAX_DEPTH:
            return FILTERED
        if isinstance(value, dict):
            return {str(key): self._field(str(key), item, depth) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact(item, depth + 1) for item in value]
        return value

    def _field(self, key: str, value: Any, depth: int) -> Any:
        if value is not None and is_sensitive_key(key, self.terms):
            return FILTERED
        # Query strings and URLs carry key/value pairs inside one string.
        if isinstance(value, str) and key == "query_string":
            return filter_query(value, self.terms)
        if isinstance(value, str) and key == "url":
            return filter_url(value, self.terms)
        return self.redact(value, depth + 1)
