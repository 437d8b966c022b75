"""Go rule: a nil pointer dereference gets a nil check that returns the zero values (and an error)."""

from __future__ import annotations

import re

from integrations.rules.base import Failure, Fix, indentation, insert_lines, newline_of

NIL_DEREFERENCE = "invalid memory address or nil pointer dereference"
FUNC = re.compile(
    r"^func\s*(?:\((?P<receiver>[^)]*)\))?\s*(?P<name>\w+)\s*(?:\[[^\]]*\])?\s*\(", re.MULTILINE
)
NUMERIC = re.compile(r"^(?:u?int(?:8|16|32|64)?|uintptr|float(?:32|64)|complex(?:64|128)|byte|rune)$")


def nil_check(failure: Failure) -> Fix | None:
    if NIL_DEREFERENCE not in failure.request.message:
        return None
    function = enclosing_function(failure)
    if function is None:
        return None
    name, pointers, results, body_start = function
    pointers.update(pointer_locals(failure, body_start))
    used = {var for var in pointers if re.search(rf"(?<![\w.]){var}\.\w", code_of(failure.line))}
    if len(used) != 1:
        return None
    var = used.pop()
    values = [zero_value(kind, var, name, failure) for kind in results]
    pad, newline = indentation(failure.line), newline_of(failure.line)
    guard = [
        f"{pad}if {var} == nil {{{newline}",
        f"{pad}\treturn{' ' + ', '.join(values) if values else ''}{newline}",
        f"{pad}}}{newline}",
    ]
    edits = [insert_lines(failure, failure.index, guard)]
    if "error" in results and not imports_errors(failure.text):
        edits.insert(0, errors_import(failure))
    return Fix(
        edits=tuple(edits),
        root_cause=f"{var} is nil in {name}, and dereferencing it panics.",
        explanation=f"Return from {name} early when {var} is nil"
        + (" with an error." if "error" in results else " with the zero value."),
        confidence=0.45,
    )


def code_of(line: str) -> str:
    return line.split("//")[0]


def enclosing_function(failure: Failure):
    """(name, {pointer parameter: type}, [result types], 0-based index of the body's first line)."""
    header = None
    for match in FUNC.finditer(failure.text):
        if failure.text.count("\n", 0, match.start()) <= failure.index:
            header = match
    if header is None:
        return None
    params_end = closing_paren(failure.text, header.end() - 1)
    brace = failure.text.find("{", params_end)
    if params_end < 0 or brace < 0:
        return None
    pointers = pointer_names(header.group("receiver") or "")
    pointers.update(pointer_names(failure.text[header.end() : params_end]))
    results = result_types(failure.text[params_end + 1 : brace])
    return header.group("name"), pointers, results, failure.text.count("\n", 0, brace) + 1


def closing_paren(text: str, opening: int) -> int:
    depth = 0
    for index in range(opening, len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return index
    return -1


def split_top(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [part for part in [*parts, current.strip()] if part]


def pointer_names(params: str) -> dict[str, str]:
    """Names declared with a pointer type; ``a, b *T`` gives both a and b."""
    names: dict[str, str] = {}
    waiting: list[str] = []
    for part in split_top(params):
        words = part.split(None, 1)
        if len(words) == 1:
            waiting.append(words[0])
            continue
        for name in [*waiting, words[0]]:
            if words[1].startswith("*"):
                names[name] = words[1]
        waiting = []
    return names


def result_types(text: str) -> list[str]:
    text = text.strip()
    if not text:
        return []
    if text.startswith("("):
        text = text[1:-1]
    kinds = []
    for part in split_top(text):
        words = part.split(None, 1)
        kinds.append(words[-1])  # "err error" and "error" both give "error"
    return kinds


# A function declared to return a pointer first. Its lists of receiver and parameters may span lines but not
# reach the next declaration, so an unclosed one is read once.
PARAMETERS = r"\((?:[^)\n]|\n(?!func\b))*\)"
POINTER_FUNCTION = re.compile(rf"^func\s*(?:{PARAMETERS}\s*)?(\w+)\s*{PARAMETERS}\s*\(?\s*\*", re.MULTILINE)


def pointer_locals(failure: Failure, body_start: int) -> dict[str, str]:
    """Pointer locals: ``var u *T``, or ``u := f(…)`` where f (in the context files) returns ``*T``."""
    returns_pointer = {
        match.group(1) for text in failure.request.files.values() for match in POINTER_FUNCTION.finditer(text)
    }
    found = {}
    for line in failure.lines[body_start : failure.index]:
        declared = re.match(r"\s*var\s+(\w+)\s+(\*\w[\w.]*)", line)
        if declared:
            found[declared.group(1)] = declared.group(2)
        assigned = re.match(r"\s*(\w+)(?:\s*,\s*\w+)?\s*:?=\s*(?:\w+\.)?(\w+)\(", line)
        if assigned and assigned.group(2) in returns_pointer:
            found[assigned.group(1)] = "*"
    return found


def zero_value(kind: str, var: str, function: str, failure: Failure) -> str:
    if kind == "error":
        return f'errors.New("{function}: {var} is nil")'
    if kind.startswith(("*", "[]", "map[", "chan ", "func", "interface")) or kind == "any":
        return "nil"
    if kind == "string":
        return '""'
    if kind == "bool":
        return "false"
    if NUMERIC.match(kind):
        return "0"
    if any(
        re.search(rf"^type\s+{re.escape(kind)}\s+struct\b", text, re.MULTILINE)
        for text in failure.request.files.values()
    ):
        return f"{kind}{{}}"
    return f"*new({kind})"


def imports_errors(text: str) -> bool:
    return bool(re.search(r'^[ \t]*(?:import[ \t]+)?"errors"[ \t]*$', text, re.MULTILINE))


def errors_import(failure: Failure):
    """Add "errors" to the import block, or as its own import after the package clause."""
    lines, newline = failure.lines, newline_of(failure.line)
    block = next((index for index, line in enumerate(lines) if line.strip() == "import ("), None)
    if block is not None:
        return insert_lines(failure, block + 1, [f'\t"errors"{newline}'])
    package = next((index for index, line in enumerate(lines) if line.startswith("package ")), 0)
    return insert_lines(failure, package + 1, [newline, f'import "errors"{newline}'])


RULES = {"nil pointer dereference": nil_check}
