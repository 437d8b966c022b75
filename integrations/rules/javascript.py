"""JavaScript rules: optional chaining for a property read on undefined, and a missing require/import."""

from __future__ import annotations

import posixpath
import re

from integrations.rules.base import Failure, Fix, insert_lines, newline_of, replace_lines
from integrations.rules.chains import code_part, insert_operators, reads, single_base

JS_SUFFIXES = (".js", ".cjs", ".mjs", ".jsx")

# V8 (Node, Chrome), older V8, Safari and Firefox wordings of the same error.
PROPERTY_OF_NOTHING = (
    re.compile(r"Cannot read propert(?:y|ies) of (?:undefined|null) \(reading '([^']+)'\)"),
    re.compile(r"Cannot read property '([^']+)' of (?:undefined|null)"),
    re.compile(r"undefined is not an object \(evaluating '[^']*?\.([\w$]+)'\)"),
    re.compile(r"can't access property \"([^\"]+)\", \S+ is (?:undefined|null)"),
)


def property_of_undefined(failure: Failure) -> Fix | None:
    name = next((m.group(1) for p in PROPERTY_OF_NOTHING if (m := p.search(failure.request.message))), None)
    if name is None:
        return None
    line = failure.line
    code = code_part(line, "//")
    if name.isdigit():
        pattern = re.compile(rf"(?<![?])\[\s*{name}\s*\]")
    else:
        escaped = re.escape(name)
        pattern = re.compile(rf"(?<![?])\.{escaped}(?![\w$])|(?<![?])\[\s*(['\"]){escaped}\1\s*\]")
    found = reads(code, pattern)
    base = single_base(found)
    if base is None or assigns_to(code, pattern):
        return None
    new_line = insert_operators(code, found, lambda at: "?" if code[at] == "." else "?.") + line[len(code) :]
    return Fix(
        edits=(replace_lines(failure, failure.index, failure.index, [new_line]),),
        root_cause=f"{base} is undefined (or null) here, and reading .{name} from it throws.",
        explanation=f"Read {name} with optional chaining so a missing {base} gives undefined.",
        confidence=0.5,
    )


def assigns_to(code: str, pattern: re.Pattern[str]) -> bool:
    """Optional chaining cannot be assigned to: ``a?.b = 1`` is a syntax error."""
    return any(
        re.match(r"\s*(?:[-+*/%&|^]|\*\*|\?\?|&&|\|\|)?=(?!=)", code[m.end() :])
        for m in pattern.finditer(code)
    )


REFERENCE_ERROR = re.compile(r"^([\w$]+) is not defined")


def missing_require(failure: Failure) -> Fix | None:
    match = REFERENCE_ERROR.search(failure.request.message.strip())
    if not match:
        return None
    name = match.group(1)
    modules = [
        (path, kind)
        for path, text in sorted(failure.request.files.items())
        if path.endswith(JS_SUFFIXES) and path != failure.path and (kind := export_kind(text, name))
    ]
    if len(modules) != 1:
        return None
    path, kind = modules[0]
    statement = import_line(failure, path, name, kind)
    newline = newline_of(failure.line)
    return Fix(
        edits=(insert_lines(failure, import_position(failure.lines), [statement + newline]),),
        root_cause=f"{failure.path} uses {name}, defined in {path}, without importing it.",
        explanation=f"Add `{statement}` to {failure.path}.",
        confidence=0.9,
        certain=True,
    )


# The names of ``export { … }`` and ``module.exports = { … }``: a list ends at the first brace after it opens,
# so that lists left open are read once each.
EXPORT_LIST = re.compile(r"(?:^[ \t]*export\s*|\bmodule\.exports\s*=\s*)\{([^{}]*)\}", re.MULTILINE)


def export_kind(text: str, name: str) -> str | None:
    """How ``text`` exports ``name``: "named", "default" (module.exports = name) or None."""
    n = re.escape(name)
    named = (
        rf"^[ \t]*export\s+(?:async\s+)?(?:function\*?|const|let|var|class)\s+{n}\b",
        rf"\b(?:module\.)?exports\.{n}\s*=",
    )
    if any(re.search(pattern, text, re.MULTILINE) for pattern in named):
        return "named"
    if any(re.search(rf"\b{n}\b", names) for names in EXPORT_LIST.findall(text)):
        return "named"
    if re.search(rf"\bmodule\.exports\s*=\s*{n}\s*;?\s*$", text, re.MULTILINE):
        return "default"
    return None


def is_esm(failure: Failure) -> bool:
    return failure.path.endswith(".mjs") or bool(
        re.search(r"^[ \t]*(?:import\s.+\sfrom\s|export\s)", failure.text, re.MULTILINE)
    )


def import_line(failure: Failure, target: str, name: str, kind: str) -> str:
    relative = posixpath.relpath(target, posixpath.dirname(failure.path) or ".")
    relative = relative if relative.startswith(".") else f"./{relative}"
    semicolon = ";" if uses_semicolons(failure.text) else ""
    if is_esm(failure):
        binding = name if kind == "default" else f"{{ {name} }}"
        return f"import {binding} from '{relative}'{semicolon}"
    module = re.sub(r"\.c?js$", "", relative)
    binding = name if kind == "default" else f"{{ {name} }}"
    return f"const {binding} = require('{module}'){semicolon}"


def uses_semicolons(text: str) -> bool:
    statements = [
        line.rstrip() for line in text.splitlines() if line.strip() and not line.strip().startswith("//")
    ]
    return sum(line.endswith(";") for line in statements) * 2 >= len(statements)


HEADER = re.compile(r"^\s*(?:$|//|/\*|\*|['\"]use strict['\"]|import\s|(?:const|let|var)\s.*\brequire\()")


def import_position(lines: list[str]) -> int:
    """The 0-based line after the file's leading comments, directives, imports and requires."""
    position = 0
    for index, line in enumerate(lines):
        if not HEADER.match(line):
            break
        if line.strip() and not line.strip().startswith(("//", "/*", "*")):
            position = index + 1
    return position


RULES = {
    "TypeError": property_of_undefined,
    "ReferenceError": missing_require,
}
