"""What every rule needs: where the error was raised, and a way to turn new lines into a unique edit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from integrations.providers import Edit, FixRequest, FrameSummary

NEARBY_LINES = 20  # how far from the reported line to look for the frame's context line (code moved)


@dataclass(frozen=True)
class Failure:
    """The raising frame, resolved to a context file and a line index in it."""

    request: FixRequest
    frame: FrameSummary
    path: str
    text: str
    index: int  # 0-based index of the failing line in ``lines``

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines(keepends=True)

    @property
    def line(self) -> str:
        return self.lines[self.index]

    @property
    def lineno(self) -> int:
        return self.index + 1


@dataclass(frozen=True)
class Fix:
    """A rule's answer before it becomes a ``Proposal``."""

    edits: tuple[Edit, ...]
    root_cause: str
    explanation: str
    confidence: float
    certain: bool = False


Rule = Callable[[Failure], Fix | None]


def locate(request: FixRequest) -> Failure | None:
    """The newest frame that points into a context file, with its line found in that file."""
    for frame in reversed(request.frames):
        text = request.files.get(frame.path)
        if text is None or not frame.lineno:
            continue
        index = find_line(text.splitlines(), frame.lineno - 1, frame.context_line)
        if index is not None:
            return Failure(request, frame, frame.path, text, index)
        return None  # the newest frame in our files does not match them: the code changed, do not guess
    return None


def find_line(lines: list[str], reported: int, context_line: str) -> int | None:
    wanted = context_line.strip()
    if not wanted:
        return reported if 0 <= reported < len(lines) else None
    candidates = [
        index
        for index in range(max(reported - NEARBY_LINES, 0), min(reported + NEARBY_LINES + 1, len(lines)))
        if lines[index].strip() == wanted
    ]
    return min(candidates, key=lambda index: abs(index - reported), default=None)


def replace_lines(failure: Failure, first: int, last: int, new_lines: list[str]) -> Edit:
    """An edit replacing lines ``first..last`` (0-based, inclusive), widened until its search is unique."""
    lines = failure.lines
    before, after = first, last
    while True:
        search = "".join(lines[before : after + 1])
        if failure.text.count(search) == 1 or (before == 0 and after == len(lines) - 1):
            break
        if before > 0:
            before -= 1
        else:
            after += 1
    replace = "".join(lines[before:first]) + "".join(new_lines) + "".join(lines[last + 1 : after + 1])
    return Edit(path=failure.path, search=search, replace=replace)


def insert_lines(failure: Failure, at: int, new_lines: list[str]) -> Edit:
    """An edit inserting ``new_lines`` before line ``at`` (0-based; ``len(lines)`` appends)."""
    lines = failure.lines
    if at < len(lines):
        return replace_lines(failure, at, at, [*new_lines, lines[at]])
    ending = "" if lines[-1].endswith("\n") else "\n"
    return replace_lines(failure, at - 1, at - 1, [lines[-1] + ending, *new_lines])


def indentation(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def newline_of(line: str) -> str:
    return "\r\n" if line.endswith("\r\n") else "\n"
