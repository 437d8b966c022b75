"""Frames from a stack trace sent as one string, as the bugstack.ai SDKs send ``error.stackTrace``.

Reads what four runtimes print, into the native protocol's frame shape (``ingest.schema.Frame``), oldest
first with the raise site last:

- Python tracebacks (``traceback.format_exc()``). A chained traceback ("During handling of the above
  exception…", "The above exception was the direct cause…") gives the LAST exception's type, message and
  frames: the one that reached the handler. Source lines become ``context_line``; the caret lines of Python
  3.11 and later (``~~~^^^``) are skipped. Every line after the exception's is its message's: Python prints
  a message's further lines (and 3.11's notes) as they are.
- V8 stacks (``err.stack`` in Node.js): the first line or lines are ``Type: message``, then ``at`` lines,
  newest first. A function's ``async`` marker is dropped, a ``file://`` URL becomes its path, and an eval
  frame is placed in the evaluated code (``<anonymous>:1:24``). The stack ends at the first line after the
  frames that is no frame: what follows (a cause, a log line) is not this error's.
- Ruby backtraces, newest first: ``e.backtrace.join("\\n")`` (no message), or ``e.full_message`` whose
  first line also holds the message and class (``x.rb:3:in 'm': undefined method… (NoMethodError)``).
  Both quoting styles are read: ``\\`m'`` (Ruby before 3.4) and ``'Class#m'`` (3.4 on). A second line with a
  message starts the cause, which ``full_message`` prints after the exception: reading stops there.
- Go panics and ``debug.Stack()``: the first goroutine's frames, newest first, each a function line and a
  tab-indented file line; ``created by`` is read as the oldest frame. The type is ``panic`` or ``fatal
  error``, the message that of the last panic printed (a panic raised while recovering from another ends
  the chain). Frames newer than the newest ``panic(…)`` call — the deferred function that recovered and
  ``runtime/debug.Stack`` — are dropped with the call itself, and so are ``runtime/debug`` frames on top of
  a stack taken without a panic: like Go's own crash traceback, the trace ends where the panic began.
  ``main.(*Server).handle`` is split into module ``main`` and function ``(*Server).handle``.

Paths are kept as printed in ``filename``, and in ``abs_path`` too when absolute. ``in_app`` is left out:
the text does not say, and which paths are libraries' is decided where triage reads the frames.

Hostile input: at most ``MAX_TEXT`` characters are read (the first ones for the formats that print the raise
site first, the last ones for Python's, which prints it last), each line is cut to ``MAX_LINE`` characters
and a cut line is read as no frame (but for Ruby's first line, whose long message may follow the frame),
and at most ``MAX_FRAMES`` frames are kept, those nearest the raise site. Every pattern is RE2 (linear
time), anchored, and tried only on lines that pass a cheap test first.
Nothing raises: text that is no trace gives ``None``.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import re2

from ingest.normalize import PLATFORMS

MAX_TEXT = 64 * 1024  # characters
MAX_LINE = 1000
MAX_FRAMES = 200
CUT = "…"  # ends a line cut to MAX_LINE (``is_cut``)
MAX_NUMBER_DIGITS = 9  # a line or column number longer than this is none

Frame = dict[str, Any]


@dataclass(frozen=True)
class ParsedTrace:
    platform: str  # "python", "node", "ruby" or "go"
    exception_type: str | None
    message: str | None
    frames: list[Frame]  # oldest first; at least one


def parse_stack_trace(text: str, platform_hint: str | None = None) -> ParsedTrace | None:
    """The trace in ``text``: the hinted platform's reading if it finds frames, else the one finding most."""
    if not isinstance(text, str):
        return None
    name = PLATFORMS.get(platform_hint.strip().lower()) if isinstance(platform_hint, str) else None
    hinted = PARSERS.get(name or "")
    if hinted is not None:
        found = hinted(text)
        if found is not None:
            return found
    others = [parse for parse in dict.fromkeys(PARSERS.values()) if parse is not hinted]
    traces = [found for parse in others if (found := parse(text)) is not None]
    return max(traces, key=lambda found: len(found.frames), default=None)


# --- bounding the text ------------------------------------------------------------------------------------


def first_lines(text: str) -> list[str]:
    """The lines of the text's first ``MAX_TEXT`` characters, less a line cut there."""
    if len(text) > MAX_TEXT:
        head = text[:MAX_TEXT]
        text = head[: head.rfind("\n")] if "\n" in head else head
    return bounded_lines(text)


def last_lines(text: str) -> list[str]:
    """The lines of the text's last ``MAX_TEXT`` characters, less a line cut there."""
    if len(text) > MAX_TEXT:
        tail = text[-MAX_TEXT:]
        text = tail[tail.find("\n") + 1 :] if "\n" in tail else tail
    return bounded_lines(text)


def bounded_lines(text: str) -> list[str]:
    # RE2 reads UTF-8: a lone surrogate (which JSON can carry) would make it raise.
    text = text.encode("utf-8", "replace").decode("utf-8")
    return [cut_line(line.rstrip("\r")) for line in text.split("\n")]


def cut_line(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[:MAX_LINE] + CUT


def is_cut(line: str) -> bool:
    return len(line) > MAX_LINE


# --- shared pieces ------------------------------------------------------------------------------------------

# An exception's name before ": message": no spaces or colons, and a Node.js error code after it
# ("TypeError [ERR_INVALID_ARG_TYPE]").
TYPE_AND_MESSAGE = re2.compile(r"^([^\s:]+(?: \[[^\s\]]+\])?)(?:: (.*))?$")
ABSOLUTE_PATH = re2.compile(r"^(?:/|[A-Za-z]:[\\/]|\\\\)")


def split_type(line: str) -> tuple[str | None, str | None]:
    """``(type, message)`` of a ``Type: message`` line; a line that names no type is all message."""
    line = line.strip()
    match = TYPE_AND_MESSAGE.match(line)
    if match is None:
        return None, line or None
    return match.group(1), match.group(2) or None


def number(digits: str | None) -> int | None:
    return int(digits) if digits and len(digits) <= MAX_NUMBER_DIGITS else None


def frame(
    path: str | None = None,
    function: str | None = None,
    lineno: int | None = None,
    colno: int | None = None,
    module: str | None = None,
    context_line: str | None = None,
) -> Frame:
    """A frame with only the fields that have a value, in the protocol's order."""
    fields = {
        "filename": path,
        "abs_path": path if path and ABSOLUTE_PATH.match(path) else None,
        "module": module,
        "function": function,
        "lineno": lineno,
        "colno": colno,
        "context_line": context_line,
    }
    return {name: value for name, value in fields.items() if value is not None and value != ""}


def trace(
    platform: str, exception_type: str | None, message: str | None, frames: list[Frame]
) -> ParsedTrace | None:
    """The trace of ``frames`` (oldest first), the ``MAX_FRAMES`` nearest the raise site; None without."""
    if not frames:
        return None
    return ParsedTrace(platform, exception_type, message, frames[-MAX_FRAMES:])


def joined(lines: list[str | None]) -> str | None:
    """Lines of a message as one text, without the blank lines around it."""
    return "\n".join(line for line in lines if line is not None).strip("\n") or None


# --- Python -------------------------------------------------------------------------------------------------

PYTHON_HEADER = "Traceback (most recent call last):"
PYTHON_FRAME = re2.compile(r'^  File "(.*)", line (\d+)(?:, in (.+))?$')
PYTHON_SOURCE_INDENT = "    "


def parse_python(text: str) -> ParsedTrace | None:
    """A Python traceback; of a chain, the last exception's (see the module's docstring)."""
    lines = last_lines(text)
    start = last_python_header(lines)
    frames: list[Frame] = []
    source_read = True
    for index in range(start, len(lines)):
        line = lines[index]
        match = PYTHON_FRAME.match(line) if line.startswith('  File "') and not is_cut(line) else None
        if match is not None:
            frames.append(frame(match.group(1), match.group(3), number(match.group(2))))
            source_read = False
        elif line.startswith(PYTHON_SOURCE_INDENT) and not is_caret_line(line):
            # The first source line is the frame's; Python 3.13 may print more for a multi-line expression.
            if frames and not source_read:
                frames[-1]["context_line"] = line.strip()
                source_read = True
        elif frames and line.strip() and not line.startswith(" "):
            exception_type, message = split_type(line)
            return trace("python", exception_type, joined([message, *lines[index + 1 :]]), frames)
    return trace("python", None, None, frames)


def last_python_header(lines: list[str]) -> int:
    """The index after the last ``Traceback`` line: a chain's last exception starts there. 0 without one."""
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].strip() == PYTHON_HEADER:
            return index + 1
    return 0


def is_caret_line(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.strip("~^")


# --- V8 (Node.js) -------------------------------------------------------------------------------------------

V8_LOCATION = re2.compile(r"^(.*?)(?::(\d+))?(?::(\d+))?$")
V8_NO_LOCATION = re2.compile(r"^index \d+$")  # "at async Promise.all (index 0)"
V8_PLACES_WITHOUT_LINE = frozenset({"<anonymous>", "native"})
WINDOWS_DRIVE_IN_URL = re2.compile(r"^/[A-Za-z]:/")


def parse_v8(text: str) -> ParsedTrace | None:
    """A V8 ``err.stack``: its header and the block of ``at`` lines after it, reversed to oldest first."""
    lines = first_lines(text)
    newest_first: list[Frame] = []
    header: list[str] = []
    for line in lines:
        stripped = line.strip()
        # V8 indents its frames: a message's line that begins "at " is not one.
        is_frame_line = line[:1].isspace() and stripped.startswith("at ") and not is_cut(line)
        at = v8_frame(stripped) if is_frame_line else None
        if at is not None:
            if len(newest_first) < MAX_FRAMES:
                newest_first.append(at)
        elif newest_first:
            if stripped and not stripped.startswith("..."):  # "... 4 lines matching cause stack trace ..."
                break
        else:
            header.append(line)
    exception_type, message = v8_header(header)
    return trace("node", exception_type, message, newest_first[::-1])


def v8_frame(stripped: str) -> Frame | None:
    """The frame of ``at function (location)`` or ``at location``; None when the location is none."""
    body = stripped[3:]
    function, location = None, body
    if body.endswith(")") and " (" in body:
        function, _, location = body[:-1].partition(" (")
        function = function.removeprefix("async ")
    if location.startswith("eval at "):
        # "eval at main (/app/x.js:21:9), <anonymous>:1:24": the frame is in the evaluated code.
        location = location.rpartition(", ")[2]
    if V8_NO_LOCATION.match(location):
        return frame(function=function)
    match = V8_LOCATION.match(location)
    if match is None or (
        function is None and match.group(2) is None and location not in V8_PLACES_WITHOUT_LINE
    ):
        return None
    return frame(v8_path(match.group(1)), function, number(match.group(2)), number(match.group(3)))


def v8_path(location: str) -> str:
    if not location.startswith("file://"):
        return location
    path = urllib.parse.unquote(location.removeprefix("file://"))
    return path[1:] if WINDOWS_DRIVE_IN_URL.match(path) else path


def v8_header(header: list[str]) -> tuple[str | None, str | None]:
    """``(type, message)`` of the lines before the first frame: ``Type: message``, maybe on more lines."""
    first = next((index for index, line in enumerate(header) if line.strip()), None)
    if first is None:
        return None, None
    exception_type, message = split_type(header[first])
    return exception_type, joined([message, *header[first + 1 :]])


# --- Ruby ---------------------------------------------------------------------------------------------------

RUBY_FRAME = re2.compile(r"^(?:from )?(.+?):(\d+):in [`'](.*?)'(?:: (.*))?$")
RUBY_MESSAGE = re2.compile(r"^(.*) \(([A-Z][A-Za-z0-9_:]*)\)$")


def parse_ruby(text: str) -> ParsedTrace | None:
    """A Ruby backtrace or ``full_message``, reversed to oldest first; a cause's lines are not read."""
    newest_first: list[Frame] = []
    message_lines: list[str] = []
    exception_type = None
    for line in first_lines(text):
        stripped = line.strip()
        match = RUBY_FRAME.match(stripped) if ":in " in stripped else None
        if match is not None and is_cut(line) and match.group(4) is None:
            match = None  # cut before the frame's own text ended; a long message after it is read cut
        if match is None:
            if len(newest_first) == 1 and message_lines:
                message_lines.append(line)  # a message's further lines, before the first "from"
            continue
        said = match.group(4)
        if said is not None:
            if newest_first:
                break  # the cause's first line
            exception_type, first = ruby_message(said)
            message_lines.append(first)
        if len(newest_first) < MAX_FRAMES:
            newest_first.append(frame(match.group(1), match.group(3), number(match.group(2))))
    return trace("ruby", exception_type, joined(message_lines), newest_first[::-1])


def ruby_message(said: str) -> tuple[str | None, str]:
    """``(class, message)`` of ``message (Class)``: Ruby names the class after a message's first line."""
    match = RUBY_MESSAGE.match(said)
    if match is None:
        return None, said
    return match.group(2), match.group(1)


# --- Go -----------------------------------------------------------------------------------------------------

GO_GOROUTINE = re2.compile(r"^goroutine \d+ \[[^\]]*\]:$")
GO_CALL = re2.compile(r"^(\S+)\([^()]*\)$")  # "main.(*Server).handle(0xc000010000, {0x1, 0x2})"
GO_CREATED_BY = re2.compile(r"^created by (\S+?)(?: in goroutine \d+)?$")
GO_FILE = re2.compile(r"^\t(.+?):(\d+)(?:\s.*)?$")  # "\t/app/main.go:25 +0x1d"
GO_PROBLEM = re2.compile(r"^\t?(panic|fatal error): (.*?)(?: \[recovered[^\]]*\])?$")
GO_PANIC_CALLS = frozenset({"panic", "runtime.gopanic"})
GO_STACK_CAPTURE = "runtime/debug"


def parse_go(text: str) -> ParsedTrace | None:
    """A Go panic or ``debug.Stack()``: the first goroutine's frames, reversed to oldest first."""
    lines = first_lines(text)
    start = next((index for index, line in enumerate(lines) if is_goroutine_header(line)), None)
    exception_type, message = go_problem(lines[:start] if start is not None else lines)
    names_and_frames = go_frames(lines, 0 if start is None else start + 1)
    frames = [frame for _, frame in without_capture(names_and_frames)]
    return trace("go", exception_type, message, frames[::-1])


def go_problem(lines: list[str]) -> tuple[str | None, str | None]:
    """``(panic or fatal error, message)`` of the last one printed, with any further lines of its message."""
    problem: tuple[str | None, str | None] = (None, None)
    message_lines: list[str] = []
    for line in lines:
        match = GO_PROBLEM.match(line) if "panic: " in line or line.startswith("fatal error: ") else None
        if match is not None:
            problem, message_lines = (match.group(1), None), [match.group(2)]
        elif message_lines and (not line.strip() or line.startswith("[signal ")):
            problem, message_lines = (problem[0], joined(message_lines)), []
        elif message_lines:
            message_lines.append(line)
    if message_lines:
        problem = (problem[0], joined(message_lines))
    return problem


def go_frames(lines: list[str], start: int) -> list[tuple[str, Frame]]:
    """``(full function name, frame)`` of each function line and file line pair, newest first."""
    found: list[tuple[str, Frame]] = []
    index = start
    # Room for the frames that ``without_capture`` drops besides the MAX_FRAMES kept.
    while index + 1 < len(lines) and len(found) < 2 * MAX_FRAMES:
        line, next_line = lines[index], lines[index + 1]
        if found and (not line.strip() or is_goroutine_header(line)):
            break  # the next goroutine's
        readable = next_line.startswith("\t") and not is_cut(line) and not is_cut(next_line)
        location = GO_FILE.match(next_line) if readable else None
        call = (GO_CREATED_BY.match(line) or GO_CALL.match(line)) if location is not None else None
        if call is None:
            index += 1
            continue
        name = call.group(1)
        module, function = go_function(name)
        found.append((name, frame(location.group(1), function, number(location.group(2)), module=module)))
        index += 2
    return found


def is_goroutine_header(line: str) -> bool:
    return line.startswith("goroutine ") and GO_GOROUTINE.match(line) is not None


def go_function(name: str) -> tuple[str | None, str]:
    """``(package path, function)``: the package ends at the first dot after the last slash."""
    dot = name.find(".", name.rfind("/") + 1)
    if dot <= 0:
        return None, name  # "panic"
    # The compiler writes a dot in a package path's last element as "%2e" ("gopkg.in/yaml%2ev3").
    return name[:dot].replace("%2e", "."), name[dot + 1 :]


def without_capture(frames: list[tuple[str, Frame]]) -> list[tuple[str, Frame]]:
    """The frames below the newest ``panic`` call, or below ``runtime/debug`` on top (see the docstring)."""
    for index, (name, _) in enumerate(frames):
        if name in GO_PANIC_CALLS:
            return frames[index + 1 :]
    kept = 0
    while kept < len(frames) and frames[kept][1].get("module") == GO_STACK_CAPTURE:
        kept += 1
    return frames[kept:]


# --- choosing ----------------------------------------------------------------------------------------------

# By the platform names of ``ingest.normalize.PLATFORMS``; a browser's stack is V8's (or close to it) as well.
PARSERS: dict[str, Callable[[str], ParsedTrace | None]] = {
    "python": parse_python,
    "node": parse_v8,
    "javascript": parse_v8,
    "ruby": parse_ruby,
    "go": parse_go,
}
