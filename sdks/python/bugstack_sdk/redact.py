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

# Each pattern matches the whole secret; the replacement keeps only what names the kind of secret. They
# run on every string of an event, so each costs time linear in its text and little per character: it
# begins with what it looks for (the word boundary before it checked just after, by a look-behind: a
# leading "\b" would make the engine try every position), never retries inside a run another start
# already scanned, and gives back no characters where that could not lead to a match (*+, ++).
SECRET_PATTERNS: tuple[tuple[str, str], ...] = (
    # "Authorization: Bearer …" pasted into a message or a header value; the keyword in any case.
    (
        r"([BbTt](?<!\w.)(?i:(?<=b)(?:earer|asic)|(?<=t)oken))\s++[A-Za-z0-9\-._~+/]{8,}=*",
        r"\1 " + FILTERED,
    ),
    # JSON Web Tokens: three base64url parts, the first starting with '{"' encoded.
    # The first part ends at a "-eyJ" (another token's start: "-eyJ-eyJ…" would be scanned again from each).
    (
        r"eyJ(?<=\beyJ)(?=[A-Za-z0-9_-]{5})[A-Za-z0-9_]*+(?:-(?!eyJ)[A-Za-z0-9_]*+)*+"
        r"\.[A-Za-z0-9_-]{5,}+\.[A-Za-z0-9_-]*",
        FILTERED,
    ),
    # GitHub personal, OAuth, app, refresh tokens and fine-grained PATs.
    (r"gh[pousr]_(?<=\bgh[pousr]_)[A-Za-z0-9]{30,}+\b", FILTERED),
    (r"github_pat_(?<=\bgithub_pat_)[A-Za-z0-9_]{30,}+\b", FILTERED),
    # Anthropic and other "sk-" style API keys.
    (r"sk-ant-(?<=\bsk-ant-)[A-Za-z0-9_-]{20,}", FILTERED),
    (r"sk-(?<=\bsk-)[A-Za-z0-9_-]{32,}", FILTERED),
    # AWS access key ids, and secret access keys where they are named.
    (r"A(?:KIA|SIA|ROA|IDA)(?<=\bA[A-Z]{3})[0-9A-Z]{16}\b", FILTERED),
    (r"([Aa](?i:ws_secret_access_key)\s*+[=:]\s*+)[A-Za-z0-9/+]{40}", r"\1" + FILTERED),
    # Stripe secret, restricted and publishable keys, and webhook secrets.
    (r"[srp]k_(?:live|test)_(?<=\b[srp]k_(?:live|test)_)[A-Za-z0-9]{10,}+\b", FILTERED),
    (r"whsec_(?<=\bwhsec_)[A-Za-z0-9]{20,}+\b", FILTERED),
    # Slack tokens.
    (r"xox[abprs]-(?<=\bxox[abprs]-)[A-Za-z0-9-]{10,}\b", FILTERED),
    # Credentials in URLs: scheme://user:password@host, found from the "://" (any scheme, or none).
    (r"(://[^\s:/@]++:)[^\s@/]++@", r"\1" + FILTERED + "@"),
)

# 13 to 19 digits, optionally grouped by single spaces or dashes; each candidate is then checked with Luhn.
CARD_CANDIDATE = r"[0-9](?<=\b[0-9])(?:[ -]?[0-9]){12,18}\b"

_SECRETS = [(re.compile(pattern), replacement) for pattern, replacement in SECRET_PATTERNS]
_CARD = re.compile(CARD_CANDIDATE)
# Cheap pre-checks, on the lower-cased text: most strings in an event (paths, function names, source lines)
# contain none of these, and one search costs far less than every pattern.
_MAYBE_SECRET = re.compile(
    r"b(?:earer|asic)|token|eyj|g(?:h[pousr]_|ithub_pat_)|sk-|a(?:kia|sia|roa|ida|ws_)|_(?:live|test)_"
    r"|whsec_|xox|@"
)
_MAYBE_CARD = re.compile(r"[0-9]{4}")


def denylist(extra_keys: Iterable[str] = ()) -> tuple[str, ...]:
    """The built-in terms plus the app's own, normalised the way keys are compared."""
    return DENYLIST + tuple(normalise_key(key) for key in extra_keys if key.strip())


def normalise_key(key: str) -> str:
    return key.strip().lower().replace("-", "_")


@functools.lru_cache(maxsize=4096)  # events repeat the same few dozen keys; the worker checks each one
def is_sensitive_key(key: str, terms: tuple[str, ...] = DENYLIST) -> bool:
    normalised = normalise_key(key)
    return any(term in normalised for term in terms)


# Each digit as it counts in the Luhn sum when doubled (the digits of twice it, added); separators deleted.
_DOUBLED = bytes.maketrans(b"0123456789", b"0246813579")
_SEPARATORS = str.maketrans("", "", " -")


def luhn_valid(digits: str) -> bool:
    # Every second digit from the right is doubled. The sums run in C, over bytes (each digit counts 48
    # too much): hostile text can hold a candidate every twenty characters.
    ascii_digits = digits.encode()
    kept, doubled = ascii_digits[-1::-2], ascii_digits[-2::-2].translate(_DOUBLED)
    return (sum(kept) + sum(doubled) - 48 * len(ascii_digits)) % 10 == 0


_DIGIT_GROUP = re.compile(r"[0-9]+")
# Groups of digits a candidate may have taken beside a card, at either end ("4111 1111 1111 1111 2 items"):
# (leading, trailing) groups to leave out, the fewest first; a bounded number of tries, whatever the text.
_MAX_STRAY_GROUPS = 2
_STRAY_GROUPS = sorted(
    ((lead, trail) for lead in range(_MAX_STRAY_GROUPS + 1) for trail in range(_MAX_STRAY_GROUPS + 1)),
    key=sum,
)[1:]
# A card is written in at most five groups: a candidate of more groups than that and the strays is not
# looked into, which also keeps runs of spaced single digits cheap.
_MAX_GROUPS_LOOKED_INTO = 5 + 2 * _MAX_STRAY_GROUPS


def _mask_card(match: re.Match[str]) -> str:
    candidate = match[0]
    if luhn_valid(candidate.translate(_SEPARATORS)):
        return FILTERED
    if candidate.count(" ") + candidate.count("-") >= _MAX_GROUPS_LOOKED_INTO:
        return candidate
    groups = [group.span() for group in _DIGIT_GROUP.finditer(candidate)]
    for lead, trail in _STRAY_GROUPS:
        if lead + trail >= len(groups):
            continue
        start, end = groups[lead][0], groups[len(groups) - 1 - trail][1]
        digits = candidate[start:end].translate(_SEPARATORS)
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return candidate[:start] + FILTERED + candidate[end:]
    return candidate


def mask_text(text: str) -> str:
    """``text`` with every credential-looking value and Luhn-valid card number replaced."""
    if _MAYBE_SECRET.search(text.lower()):
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
