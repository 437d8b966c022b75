"""Server-side redaction: the second line of defence after the SDKs, applied before anything is stored.

Two rules, both plain data plus pure functions so the SDKs can mirror them exactly:

- a mapping key that contains a ``DENYLIST`` term (case-insensitive, ``-`` and ``_`` equivalent) has its
  value replaced by ``FILTERED``, wherever the mapping sits in free-form data (headers, cookies, query,
  body, tags, extra, frame vars); query strings and URLs have their parameters filtered the same way;
- a string that looks like a credential (``SECRET_PATTERNS``) or a card number (Luhn-valid) is masked
  wherever it appears, messages and stack frames included.

``ingest.normalize.Scrubber`` applies them to an event while it copies it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

FILTERED = "[Filtered]"

# Substring terms, compared against the lower-cased key with "-" read as "_": "X-Api-Key", "db_password",
# "sessionid" and "csrftoken" all match. Substrings over-filter a little ("author"), which is the safe side.
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
#
# They run on every string of every event, hostile ones included, so each is written to cost time linear
# in its text and little per character, under a backtracking engine like Python's (the SDKs mirror them):
# - each begins with what it looks for, a literal or a class, which lets the engine skip ahead to it;
#   the word boundary that should precede it is checked just after, by a look-behind ("sk-(?<=\bsk-)"
#   is "\bsk-"), as a leading "\b" would make the engine try every position;
# - no start is retried inside a run of characters another start already scanned, unless that start
#   consumed the run or gave up within a bounded number of characters;
# - a quantifier after which giving characters back could never lead to a match is possessive (*+, ++).
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
# A cheap pre-check: most strings in an event (paths, function names) hold none of these lower-case hints,
# and one search is far cheaper than running every pattern. It is written as a trie so that the regex
# engine can skip ahead on first characters; re.IGNORECASE would defeat that, hence the lower-casing.
_MAYBE_SECRET = re.compile(
    r"b(?:earer|asic)|token|eyj|g(?:h[pousr]_|ithub_pat_)|sk-|a(?:kia|sia|roa|ida|ws_)|_(?:live|test)_"
    r"|whsec_|xox|@"
)
_MAYBE_CARD = re.compile(r"[0-9]{4}")


def denylist(extra_keys: Iterable[str] = ()) -> tuple[str, ...]:
    """The built-in terms plus a project's own, normalised the way keys are compared."""
    return DENYLIST + tuple(normalise_key(key) for key in extra_keys if key.strip())


def normalise_key(key: str) -> str:
    return key.strip().lower().replace("-", "_")


class KeyVerdicts(dict[str, bool]):
    """Whether each key is sensitive under one list of terms, decided on first sight.

    Events repeat the same few keys (filename, function, lineno…), so each is decided once per process;
    the keys come from senders, so the memory is bounded (cleared when full).
    """

    MAX_KEYS = 4096

    def __init__(self, terms: tuple[str, ...]) -> None:
        super().__init__()
        self.pattern = re.compile("|".join(re.escape(term) for term in terms))

    def __missing__(self, key: str) -> bool:
        if len(self) >= self.MAX_KEYS:
            self.clear()
        verdict = self[key] = self.pattern.search(normalise_key(key)) is not None
        return verdict


@functools.lru_cache(maxsize=256)
def key_verdicts(terms: tuple[str, ...]) -> KeyVerdicts:
    return KeyVerdicts(terms)


def is_sensitive_key(key: str, terms: tuple[str, ...] = DENYLIST) -> bool:
    return key_verdicts(terms)[key]


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


# A card is written in at most five groups (4-4-4-4, 4-6-5, 4-4-4-4-3): a candidate of more groups than that
# and the strays is not looked into, which also keeps runs of spaced single digits as cheap as before.
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


# No pattern matches fewer characters than this (credentials in a URL: "://u:p@").
_SHORTEST_SECRET = 7


# Strings known to hold nothing to mask. The events of one error repeat the same paths, function names and
# source lines, so each is scanned once per process rather than once per event. Only strings that passed
# both pre-checks are remembered, so no secret is ever kept; short strings only, and cleared when full.
_CLEAN_TEXTS: set[str] = set()
_CLEAN_TEXT_MAX_LENGTH = 256
_CLEAN_TEXTS_MAX = 8192


def mask_text(text: str) -> str:
    """``text`` with every credential-looking value and Luhn-valid card number replaced."""
    if len(text) < _SHORTEST_SECRET or text in _CLEAN_TEXTS:
        return text
    maybe_secret = _MAYBE_SECRET.search(text.lower()) is not None
    if maybe_secret:
        for pattern, replacement in _SECRETS:
            text = pattern.sub(replacement, text)
    if _MAYBE_CARD.search(text):
        text = _CARD.sub(_mask_card, text)
    elif not maybe_secret and len(text) <= _CLEAN_TEXT_MAX_LENGTH:
        remember_clean(text)
    return text


def remember_clean(text: str) -> None:
    if len(_CLEAN_TEXTS) >= _CLEAN_TEXTS_MAX:
        _CLEAN_TEXTS.clear()
    _CLEAN_TEXTS.add(text)


def filter_query(query: str, terms: tuple[str, ...] = DENYLIST) -> str:
    """A query string with the values of sensitive parameters filtered."""
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(is_sensitive_key(key, terms) for key, _ in pairs):
        return mask_text(query)
    return mask_text(
        urlencode(
            [(key, FILTERED if is_sensitive_key(key, terms) else value) for key, value in pairs], safe="[]"
        )
    )


def filter_url(url: str, terms: tuple[str, ...] = DENYLIST) -> str:
    """A URL with sensitive query parameters filtered and credentials masked."""
    if "?" not in url:
        return mask_text(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask_text(url)
    return urlunsplit(parts._replace(query=filter_query(parts.query, terms)))


def without_client_ip(payload: Any) -> Any:
    """The raw payload without the client IP addresses SDKs send (``user.ip_address``, and the request's
    ``REMOTE_ADDR``), for projects that do not keep them; anything else as it is."""
    if not isinstance(payload, dict):
        return payload
    user, request = payload.get("user"), payload.get("request")
    changed = dict(payload)
    if isinstance(user, dict) and "ip_address" in user:
        changed["user"] = {key: value for key, value in user.items() if key != "ip_address"}
    if isinstance(request, dict) and isinstance(request.get("env"), dict) and "REMOTE_ADDR" in request["env"]:
        env = {key: value for key, value in request["env"].items() if key != "REMOTE_ADDR"}
        changed["request"] = {**request, "env": env}
    return changed
