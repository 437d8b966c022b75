"""Redaction before anything leaves the process: sensitive keys become ``[Filtered]``, secret-looking values
are masked wherever they appear (messages and source lines included).

The denylist and patterns mirror the server's (bugstack's ingest redacts again: this is the first line).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

FILTERED = "[Filtered]"

# Whole keys, compared lower-cased with "-" read as "_".
DENYLIST_KEYS = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "auth",
        "authorization",
        "proxy_authorization",
        "credentials",
        "cookie",
        "set_cookie",
        "session",
        "sessionid",
        "private_key",
        "x_api_key",
    }
)
# Words that make any key containing them sensitive (``db_password``, ``access_token``, ``session_key``).
# "auth" is not among them: it would catch "author"; it matches as a whole ``_``-separated part instead.
DENYLIST_SUBSTRINGS = (
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "credentials",
    "cookie",
    "session",
    "private_key",
)
DENYLIST_PREFIXES = ("csrf", "x_csrf")

SECRET_VALUE = re.compile(
    r"""
    (?P<bearer>\bbearer\s+[A-Za-z0-9\-._~+/]+=*)
    | (?P<jwt>\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)
    | (?P<github>\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}))
    | (?P<anthropic>\bsk-ant-[A-Za-z0-9_-]{20,})
    | (?P<aws>\b(?:AKIA|ASIA)[A-Z0-9]{16}\b)
    | (?P<stripe>\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}|\bwhsec_[A-Za-z0-9]{10,})
    | (?P<card>\b\d(?:[ -]?\d){12,18}\b)
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Cheap pre-check: strings without any of these cannot match, and most strings (source lines) have none.
MAYBE_SECRET = re.compile(
    r"bearer|eyJ|gh[pousr]_|github_pat_|sk-ant-|AKIA|ASIA|_live_|_test_|whsec_|\d{4}", re.I
)


def is_sensitive_key(key: str, extra_keys: Iterable[str] = ()) -> bool:
    normal = key.strip().lower().replace("-", "_")
    if normal in DENYLIST_KEYS or normal.startswith(DENYLIST_PREFIXES):
        return True
    if any(word in normal for word in DENYLIST_SUBSTRINGS):
        return True
    if "auth" in normal.split("_"):
        return True
    return any(extra == normal or extra in normal for extra in extra_keys)


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _mask(match: re.Match[str]) -> str:
    if match.lastgroup == "card":
        digits = re.sub(r"\D", "", match.group())
        return FILTERED if luhn_valid(digits) else match.group()
    return FILTERED


def scrub_text(text: str) -> str:
    """Mask bearer tokens, JWTs, GitHub/Anthropic/AWS/Stripe keys and card numbers inside free text."""
    if not MAYBE_SECRET.search(text):
        return text
    return SECRET_VALUE.sub(_mask, text)


def scrub_query_string(query: str, extra_keys: Iterable[str] = ()) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(k, FILTERED if is_sensitive_key(k, extra_keys) else scrub_text(v)) for k, v in pairs]
    return urlencode(kept, safe="[]")


class Redactor:
    """Return a redacted copy of an event (the caller's structure is left alone)."""

    def __init__(self, extra_keys: Iterable[str] = ()) -> None:
        self.extra_keys = frozenset(k.lower().replace("-", "_") for k in extra_keys)

    def redact(self, value: Any, depth: int = 0) -> Any:
        if isinstance(value, str):
            return scrub_text(value)
        if depth > 20:  # cyclic or absurdly deep data is cut, not followed
            return FILTERED
        if isinstance(value, dict):
            return {str(k): self._redact_item(str(k), v, depth) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact(item, depth + 1) for item in value]
        return value

    def _redact_item(self, key: str, value: Any, depth: int) -> Any:
        if value is not None and is_sensitive_key(key, self.extra_keys):
            return FILTERED
        if key == "query_string" and isinstance(value, str):
            return scrub_query_string(value, self.extra_keys)
        return self.redact(value, depth + 1)
