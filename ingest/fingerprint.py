"""Grouping: which events are the same error. Pure and versioned (DESIGN.md, "Grouping and dedup").

The hash covers, for every exception in the chain (causes first), its type and then either its stack —
normalised path, normalised function and whitespace-collapsed ``context_line`` of each in-app frame, or of
every frame when none is in-app — or, without a stack, its message with the variable parts replaced. Line
and column numbers never count: a line added above the error must not split its group. The version is
stored on each group, so a later change of the algorithm can be introduced without splitting old groups.

Version 2 replaces a number together with the unit or letters glued to it (``30.5s``, ``512MB``, ``3x``,
``1st``) or a ``v`` before it (``v2``), which version 1 kept or replaced in part, and reads a message to
its first ``MAX_TEXT`` characters rather than 8,192. A message with neither hashes as it did, so its group
goes on; one with a glued number, or longer than ``MAX_TEXT``, starts a new group once. Words that merely
end in digits (``utf8``, ``sha256``, ``ipv4``, ``S3``) are kept: they tell errors apart.

Every pattern runs in time linear in its text, and no text longer than ``MAX_TEXT`` is read: a message
is hostile input, and grouping it must cost little more than a benign one.
"""

from __future__ import annotations

import functools
import hashlib
import re
from typing import Any

FINGERPRINT_VERSION = 2
# The most of any one text grouping reads: what a message says first is what error it is (the details that
# vary come after), and the normaliser cuts every other field to this length already.
MAX_TEXT = 1024

DEFAULT_PLACEHOLDER = re.compile(r"^\{\{\s*default\s*\}\}$")

# Where deployed code lives on servers and in bundles; what follows is the path inside the repository.
_PATH_PREFIXES = [
    re.compile(pattern)
    for pattern in (
        r"^file://(?=/)",
        r"^(?:webpack|app|webpack-internal)://+(?:\./)?",
        r"^[A-Za-z]:/",  # Windows drive
        r"^.*/(?:site-packages|dist-packages)/",
        r"^.*/node_modules/",
        r"^.*/gems/(?P<gem>[A-Za-z0-9_.-]+?)-\d[\w.]*/",
        r"^.*/pkg/mod/",
        r"^.*/releases/\d+/",  # Capistrano-style release directories
        r"^/(?:app|code|workspace|usr/src/app|srv/[^/]+|opt/[^/]+|var/www(?:/[^/]+)?|home/[^/]+/[^/]+)/",
        r"^\./",
    )
]
_GO_MODULE_VERSION = re.compile(r"@v[\w.+-]+")
_BUNDLE_HASH = re.compile(r"[.-][0-9a-f]{8,}(?=\.(?:js|mjs|cjs|css)$)")

_FUNCTION_NOISE = [
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"0x[0-9a-fA-F]+", "<addr>"),
        (r"^(?:async|Object)\.?\s*", ""),  # "async getUser", "Object.<anonymous>"
        (r"<anonymous>|\{closure\}|anonymous function|<lambda>", "<anon>"),
        (r"(\.func)\d+(?:\.\d+)*", r"\1"),  # Go closures: main.handler.func1.2
        (r"^block \(\d+ levels\) in ", "block in "),  # Ruby nested blocks
        (r"__\d+_\d+$", ""),  # Rails compiled templates: _app_views_x_html_erb__123_456
        (r"\$\d+$", ""),  # Java/Kotlin-style synthetic suffixes
    )
]

# Variable parts of messages, most specific first (a URL contains numbers, an email looks like a word).
# Written as the redaction patterns are (ingest.redact): linear in the text, and where possible beginning
# with a class the engine can skip ahead to, the "\b" before it checked after it by a look-behind. URLs and
# emails are entered only where a run of their characters begins, and start at the first place in it "\b"
# would (what comes before is kept by the replacement): "a.a.a…" is scanned once, not again from every dot.
_MESSAGE_NOISE = [
    (re.compile(pattern, flags), replacement)
    for pattern, flags, replacement in (
        (r"(?<![a-z0-9+.-])(?>([a-z0-9+.-]*?)(?<!\w)(?=[a-z]))[a-z0-9+.-]*+://\S++", re.I, r"\1<url>"),
        (r"(?<![\w.+-])([.+-]*+)\b[\w.+-]++@[\w-]+(?:\.[\w-]+)+\b", 0, r"\1<email>"),
        (
            r"[0-9a-f](?<=\b[0-9a-f])[0-9a-f]{7}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b",
            re.I,
            "<uuid>",
        ),
        (r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?", 0, "<date>"),
        (r"\d(?<=\b\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?::\d+)?\b", 0, "<ip>"),
        (r"[0-9a-f](?<=\b[0-9a-f])[0-9a-f]{0,3}:(?:[0-9a-f]{1,4}:){1,6}[0-9a-f]{1,4}\b", re.I, "<ip>"),
        (r"0(?<=\b0)x[0-9a-f]++\b", re.I, "<addr>"),
        (r"'[^']*+'|\"[^\"]*+\"|`[^`]*+`", 0, "<quoted>"),
        # A word of hex digits holding at least one digit and one letter: a digit first with a letter
        # after it, or a letter first with a digit after it (each look-ahead only once the word begins).
        (r"(?:\d(?<=\b\d)(?=\d*+[a-f])|[a-f](?<=\b[a-f])(?=[a-f]*+\d))[0-9a-f]*+\b", re.I, "<hex>"),
        # A number, with the unit or letters glued after it (30.5s, 512MB, 1st) or a "v" before it (v2),
        # and a minus sign. A word that merely ends in digits (utf8, sha256, S3) has no boundary before
        # them: it is kept.
        (r"(?:-[vV]?\d|[vV](?<=\b[vV])\d|\d(?<=\b\d))\d*(?:\.\d+)?\w*", 0, "<num>"),
    )
]
_WHITESPACE = re.compile(r"\s+")


def fingerprint(event: dict[str, Any]) -> str:
    """The grouping hash of a normalised event: 64 hex characters."""
    default = default_fingerprint(event)
    custom = event.get("fingerprint")
    if not custom:
        return default
    parts = [default if DEFAULT_PLACEHOLDER.match(text(part)) else text(part) for part in custom]
    return _sha256(["custom", *parts])


def default_fingerprint(event: dict[str, Any]) -> str:
    parts: list[str] = []
    for exception in (event.get("exception") or {}).get("values") or []:
        parts.extend(exception_components(exception))
    return _sha256(parts)


def exception_components(exception: dict[str, Any]) -> list[str]:
    components = [text(exception.get("type") or "Error")]
    frames = grouping_frames(exception)
    if not frames:
        return [*components, parametrise_message(text(exception.get("value")))]
    for frame in frames:
        components.extend(
            (
                normalise_path(text(frame.get("filename") or frame.get("abs_path") or frame.get("module"))),
                normalise_function(text(frame.get("function"))),
                collapse_whitespace(text(frame.get("context_line"))),
            )
        )
    return components


def text(value: Any) -> str:
    """A field as grouping reads it: a string of at most ``MAX_TEXT`` characters."""
    return ("" if value is None else str(value))[:MAX_TEXT]


def grouping_frames(exception: dict[str, Any]) -> list[dict[str, Any]]:
    """The in-app frames, or all frames when the SDK marked none as in-app."""
    frames = ((exception.get("stacktrace") or {}).get("frames")) or []
    in_app = [frame for frame in frames if frame.get("in_app") is True]
    return in_app or frames


# Paths and function names recur in every event of an error: each is normalised once per process.
@functools.lru_cache(maxsize=4096)
def normalise_path(path: str) -> str:
    path = path.replace("\\", "/")
    for pattern in _PATH_PREFIXES:
        match = pattern.match(path)
        if match:
            gem = match.groupdict().get("gem")
            path = (f"{gem}/" if gem else "") + path[match.end() :]
    path = _GO_MODULE_VERSION.sub("", path)
    path = _BUNDLE_HASH.sub("", path)
    if path.endswith(".pyc"):
        path = path[:-1]
    return path


@functools.lru_cache(maxsize=4096)
def normalise_function(name: str) -> str:
    name = name.strip()
    for pattern, replacement in _FUNCTION_NOISE:
        name = pattern.sub(replacement, name)
    return name


def parametrise_message(message: str) -> str:
    for pattern, replacement in _MESSAGE_NOISE:
        message = pattern.sub(replacement, message)
    return collapse_whitespace(message)


def collapse_whitespace(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _sha256(parts: list[str]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        # A separator that cannot occur in the parts keeps ["ab", "c"] and ["a", "bc"] apart.
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()
