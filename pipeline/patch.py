"""Applying a proposal's search/replace edits to the context files, and showing the result as a diff.

A search block must match exactly one place. An exact match is tried first; failing that, a match that
ignores each line's leading and trailing whitespace (models often get indentation slightly wrong), in which
case the replacement is re-indented by the same offset. Anything else is an error naming the block, so the
provider can be told precisely what went wrong.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping

from integrations.providers import Edit, NewFile
from pipeline.paths import UnsafePath, normalise_path


class PatchError(ValueError):
    """An edit that cannot be applied: the message names the edit and what is wrong with it."""


def apply_edits(files: Mapping[str, str], edits: Iterable[Edit]) -> dict[str, str]:
    """The context files with every edit applied in order; raises ``PatchError`` naming a bad block.

    Each edit's path is normalised first, so ``./shop/cart.py`` and ``shop/cart.py`` edit one file.
    """
    result = dict(files)
    for number, edit in enumerate(edits, 1):
        path = normalised(edit.path, f"edit {number}")
        if path not in result:
            raise PatchError(f"edit {number} ({path}): the file is not among the context files")
        if not edit.search.strip():
            raise PatchError(f"edit {number} ({path}): the search block is empty")
        result[path] = replace_once(result[path], edit, number)
    return result


def add_new_files(files: Mapping[str, str], new_files: Iterable[NewFile]) -> dict[str, str]:
    """``files`` plus each new file at its normalised path; a new file may not overwrite an existing one."""
    result = dict(files)
    for new in new_files:
        path = normalised(new.path, "new file")
        if path in result:
            raise PatchError(f"new file {path}: a file with that path already exists")
        result[path] = new.content if new.content.endswith("\n") else new.content + "\n"
    return result


def normalised(path: str, what: str) -> str:
    try:
        return normalise_path(path)
    except UnsafePath as error:
        raise PatchError(f"{what}: {error}") from error


def replace_once(text: str, edit: Edit, number: int) -> str:
    count = text.count(edit.search)
    if count == 1:
        at = text.index(edit.search)
        pad = text[text.rfind("\n", 0, at) + 1 : at]
        replace = edit.replace
        one_line = "\n" not in edit.search.rstrip("\n")
        if pad and not pad.strip() and one_line and not edit.search.startswith((" ", "\t")):
            # One line copied without its indentation: the replacement's further lines get it too.
            first, *rest = replace.split("\n")
            replace = "\n".join([first, *(pad + line if line.strip() else line for line in rest)])
        return text[:at] + replace + text[at + len(edit.search) :]
    if count > 1:
        raise PatchError(
            f"edit {number} ({edit.path}): the search block {first_line(edit.search)!r} matches {count} "
            "places; include more surrounding lines so it matches exactly one"
        )
    return replace_tolerantly(text, edit, number)


def replace_tolerantly(text: str, edit: Edit, number: int) -> str:
    lines = text.splitlines(keepends=True)
    wanted = [line.strip() for line in edit.search.strip("\n").splitlines()]
    starts = [
        start
        for start in range(len(lines) - len(wanted) + 1)
        if [line.strip() for line in lines[start : start + len(wanted)]] == wanted
    ]
    if len(starts) != 1:
        where = "matches nowhere" if not starts else f"matches {len(starts)} places"
        raise PatchError(
            f"edit {number} ({edit.path}): the search block {first_line(edit.search)!r} {where} "
            "in the file, even ignoring indentation"
        )
    start = starts[0]
    matched = lines[start : start + len(wanted)]
    replacement = reindent(edit.replace.strip("\n"), indent_of(edit.search), indent_of("".join(matched)))
    newline = "\n" if matched[-1].endswith("\n") else ""
    replaced = [line + "\n" for line in replacement.splitlines()] if replacement else []
    if replaced and not newline:
        replaced[-1] = replaced[-1].rstrip("\n")
    return "".join(lines[:start] + replaced + lines[start + len(wanted) :])


def indent_of(block: str) -> str:
    """The indentation of the block's first non-blank line."""
    for line in block.splitlines():
        if line.strip():
            return line[: len(line) - len(line.lstrip())]
    return ""


def reindent(block: str, old: str, new: str) -> str:
    """Move every line of ``block`` from indentation ``old`` to ``new``, keeping relative indentation."""
    moved = []
    for line in block.splitlines():
        if line.startswith(old):
            moved.append(new + line[len(old) :] if line.strip() else "")
        else:
            moved.append(new + line.lstrip() if line.strip() else "")
    return "\n".join(moved)


def first_line(block: str) -> str:
    for line in block.splitlines():
        if line.strip():
            return line.strip()[:80]
    return ""


def changed_paths(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """Paths added, removed or changed between ``before`` and ``after``, sorted."""
    return sorted(path for path in set(before) | set(after) if before.get(path) != after.get(path))


def unified_diff(before: Mapping[str, str], after: Mapping[str, str]) -> str:
    """A git-style unified diff of every changed file (``/dev/null`` for created or deleted ones)."""
    return "".join(
        file_diff(path, before.get(path), after.get(path)) for path in changed_paths(before, after)
    )


def file_diff(path: str, old: str | None, new: str | None) -> str:
    """The unified diff of one file; ``None`` on either side means the file is absent there."""
    chunks = difflib.unified_diff(
        (old or "").splitlines(keepends=True),
        (new or "").splitlines(keepends=True),
        fromfile=f"a/{path}" if old is not None else "/dev/null",
        tofile=f"b/{path}" if new is not None else "/dev/null",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in chunks
    )


HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")


def changed_lines(diff: str) -> Iterator[str]:
    """Every added (``+``) or removed (``-``) line of a unified diff, read by hunk so that content like
    ``--x`` is never mistaken for a header."""
    old_left, new_left = 0, 0
    for line in diff.splitlines():
        if old_left or new_left:
            if line.startswith("-"):
                old_left -= 1
                yield line
            elif line.startswith("+"):
                new_left -= 1
                yield line
            elif line.startswith(" "):
                old_left, new_left = old_left - 1, new_left - 1
            continue
        header = HUNK.match(line)
        if header:
            old_left = int(header.group(1) or 1)
            new_left = int(header.group(2) or 1)


def changed_line_count(diff: str) -> int:
    """Lines added plus lines removed in a unified diff."""
    return sum(1 for _ in changed_lines(diff))


def added_bytes(diff: str) -> int:
    """Bytes of the lines a unified diff adds, a changed line whole, each with its line break."""
    # The ``+`` stands in for the line break that splitting took off: one byte each way.
    return sum(len(line.encode()) for line in changed_lines(diff) if line.startswith("+"))
