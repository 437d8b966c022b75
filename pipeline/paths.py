"""Repository paths from a proposal, normalised once: the spelling that is checked, written and committed.

A provider names files in whatever spelling it likes (``./tests/x.py``, ``tests//x.py``, ``tests/../x.py``),
and a hostile one in spellings meant to slip past string comparisons. Every path is brought to one form —
POSIX, relative, NFC, without ``.``, ``..`` or empty segments — or refused with the reason, so that
``./tests/test_x.py`` and ``tests/test_x.py`` are one file everywhere after this point.
"""

from __future__ import annotations

import re
import unicodedata

# Git accepts longer paths, but no source file has one; the cap comes before any other work on the text.
MAX_PATH_CHARACTERS = 1024
WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")
# Control characters, invisible format characters (zero-width joiners, bidirectional overrides: names that
# read as one path and are another), line separators and lone surrogates.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


class UnsafePath(ValueError):
    """A path that cannot name a file inside the repository; the message names the path and the problem."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"the path {shown(path)} {problem}")
        self.path = path
        self.problem = problem


def normalise_path(path: str) -> str:
    """The one spelling of ``path`` inside the repository; raises ``UnsafePath`` when there is none."""
    refuse_spelling(path)
    kept: list[str] = []
    for segment in unicodedata.normalize("NFC", path).split("/"):
        if segment in ("", "."):
            continue
        if segment != "..":
            kept.append(segment)
        elif kept:
            kept.pop()
        else:
            raise UnsafePath(path, "leaves the repository through `..`")
    if not kept:
        raise UnsafePath(path, "names the repository itself, not a file in it")
    if any(segment.casefold() == ".git" for segment in kept):
        raise UnsafePath(path, "is inside git's own .git directory")
    return "/".join(kept)


def refuse_spelling(path: str) -> None:
    """Refuse what no normalisation can make safe: the checks run in this order, cheapest first."""
    if not isinstance(path, str) or not path:
        raise UnsafePath(str(path), "is empty")
    if len(path) > MAX_PATH_CHARACTERS:
        raise UnsafePath(path, f"is longer than {MAX_PATH_CHARACTERS} characters")
    if "\0" in path:
        raise UnsafePath(path, "contains a NUL byte")
    hidden = next((char for char in path if unicodedata.category(char) in HIDDEN_CATEGORIES), None)
    if hidden is not None:
        raise UnsafePath(path, f"contains the invisible or control character U+{ord(hidden):04X}")
    if "\\" in path:
        raise UnsafePath(path, "contains a backslash (a separator on Windows, part of a name elsewhere)")
    if WINDOWS_DRIVE.match(path):
        raise UnsafePath(path, "starts with a Windows drive, so it leaves the repository")
    if path.startswith("~"):
        raise UnsafePath(path, "starts with `~` (a home directory), so it leaves the repository")
    if path.startswith("/"):
        raise UnsafePath(path, "is absolute, so it leaves the repository")


def normalised_or_same(path: str) -> str:
    """``path`` normalised, or as it is when it cannot be (a repository's own odd name is still its name)."""
    try:
        return normalise_path(path)
    except UnsafePath:
        return path


def folded(path: str) -> str:
    """The key two spellings share when a case-insensitive checkout (macOS, Windows) makes them one file."""
    return unicodedata.normalize("NFC", path.casefold())


def shown(path: str) -> str:
    # repr makes control characters visible; the cut keeps a 1 MB "path" out of the findings.
    return repr(path if len(path) <= 120 else path[:120] + "…")
