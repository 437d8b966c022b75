"""Property reads on a line of JavaScript or Ruby, found by scanning text (no parser for those here).

Shared by the optional-chaining (JavaScript) and safe-navigation (Ruby) rules: find every ``.name`` read
on the failing line, work out the expression it is read from, and decline unless all of them read from
the same expression (otherwise which one was undefined/nil is a guess).
"""

from __future__ import annotations

import re

CLOSERS = {")": "(", "]": "["}
IDENTIFIER = re.compile(r"[\w$@]")


def code_part(line: str, comment: str) -> str:
    """The line up to a comment marker that is outside string literals."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote and line[index - 1] != "\\" else quote
        elif char in "\"'`":
            quote = char
        elif line.startswith(comment, index):
            return line[:index]
    return line


def in_string(line: str, position: int) -> bool:
    quote = ""
    for index, char in enumerate(line[:position]):
        if quote:
            quote = "" if char == quote and line[index - 1] != "\\" else quote
        elif char in "\"'`":
            quote = char
    return bool(quote)


def base_before(line: str, end: int) -> str:
    """The expression that ends just before ``end``: identifiers, dots and balanced brackets."""
    index = end
    while index > 0:
        char = line[index - 1]
        if IDENTIFIER.match(char) or char in ".?&":
            index -= 1
        elif char in CLOSERS:
            index = matching_opener(line, index - 1)
            if index < 0:
                return ""
        else:
            break
    return line[index:end].lstrip(".?&")


def matching_opener(line: str, closer: int) -> int:
    depth = 0
    for index in range(closer, -1, -1):
        if line[index] in CLOSERS:
            depth += 1
        elif line[index] in CLOSERS.values():
            depth -= 1
            if depth == 0:
                return index
    return -1


def reads(line: str, pattern: re.Pattern[str]) -> list[tuple[int, str]]:
    """(start of the access operator, base expression) for each match of ``pattern`` outside strings."""
    found = []
    for match in pattern.finditer(line):
        if in_string(line, match.start()):
            continue
        base = base_before(line, match.start())
        if base:
            found.append((match.start(), base))
    return found


def single_base(found: list[tuple[int, str]]) -> str | None:
    bases = {base for _, base in found}
    return bases.pop() if len(bases) == 1 else None


def insert_operators(code: str, found: list[tuple[int, str]], operator) -> str:
    """``code`` with ``operator(position)`` inserted at each found access (right to left, so offsets hold)."""
    for position, _ in sorted(found, reverse=True):
        code = code[:position] + operator(position) + code[position:]
    return code
