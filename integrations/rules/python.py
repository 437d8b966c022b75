"""Python rules: each reads the failing statement with ``ast`` and declines when the shape is not plain."""

from __future__ import annotations

import ast
import re
import sys

from integrations.providers import Edit
from integrations.rules.base import Failure, Fix, indentation, insert_lines, newline_of, replace_lines

SIMPLE = (ast.Name, ast.Attribute)  # expressions safe to evaluate twice: no calls, no side effects
NUMERIC_CALLS = {"sum", "round", "int", "float", "abs", "min", "max"}


def source(failure: Failure, node: ast.AST) -> str:
    """The node as written (quotes and spacing kept), falling back to ``ast.unparse``."""
    return ast.get_source_segment(failure.text, node) or ast.unparse(node)


def parse(failure: Failure) -> ast.Module | None:
    try:
        return ast.parse(failure.text)
    except (SyntaxError, ValueError):
        return None


def is_simple(node: ast.AST) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def failing_statement(failure: Failure) -> tuple[ast.Module, ast.stmt] | tuple[None, None]:
    """The parsed file and the statement on the failing line, or (None, None) if it does not parse."""
    tree = parse(failure)
    statement = statement_at(tree, failure.lineno) if tree else None
    return (tree, statement) if statement else (None, None)


def statement_at(tree: ast.Module, lineno: int) -> ast.stmt | None:
    """The innermost statement whose lines include ``lineno``."""
    covering = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt) and node.lineno <= lineno <= (node.end_lineno or node.lineno)
    ]
    return max(covering, key=lambda node: node.lineno, default=None)


def enclosing_function(
    tree: ast.Module, statement: ast.stmt
) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    functions = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node is not statement
        and node.lineno < statement.lineno <= (node.end_lineno or node.lineno)
    ]
    return max(functions, key=lambda node: node.lineno, default=None)


def inside_loop(function: ast.AST, statement: ast.stmt) -> bool:
    return any(
        isinstance(node, ast.For | ast.While | ast.AsyncFor)
        and node.lineno < statement.lineno <= (node.end_lineno or node.lineno)
        for node in ast.walk(function)
    )


def is_generator(function: ast.AST) -> bool:
    return any(isinstance(node, ast.Yield | ast.YieldFrom) for node in ast.walk(function))


def nodes_on_line(statement: ast.stmt, lineno: int, kind: type) -> list:
    return [
        node
        for node in ast.walk(statement)
        if isinstance(node, kind) and node.lineno <= lineno <= node.end_lineno
    ]


def parents(statement: ast.stmt) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(statement) for child in ast.iter_child_nodes(node)}


def early_return(failure: Failure, statement: ast.stmt, condition: str, value: str) -> list[str]:
    """``if <condition>: return <value>`` at the statement's indentation."""
    first = failure.lines[statement.lineno - 1]
    pad, newline = indentation(first), newline_of(first)
    body_pad = pad + ("\t" if pad.startswith("\t") else "    ")
    return [f"{pad}if {condition}:{newline}", f"{body_pad}return {value}{newline}"]


def replace_segment(failure: Failure, node: ast.AST, replacement: str) -> list[str] | None:
    """The node's line with the node's source replaced (single-line nodes only; offsets are UTF-8 bytes)."""
    if node.lineno != node.end_lineno:
        return None
    raw = failure.lines[node.lineno - 1].encode("utf-8")
    return [
        (raw[: node.col_offset] + replacement.encode("utf-8") + raw[node.end_col_offset :]).decode("utf-8")
    ]


# --- NameError: a missing import --------------------------------------------------------------------

NAME_ERROR = re.compile(r"name '(\w+)' is not defined")


def missing_import(failure: Failure) -> Fix | None:
    match = NAME_ERROR.search(failure.request.message)
    tree = parse(failure)
    if not match or tree is None:
        return None
    name = match.group(1)
    statement = import_statement(name, failure)
    if statement is None:
        return None
    at, after_docstring = import_position(tree)
    newline = newline_of(failure.line)
    new_lines = [newline, statement + newline] if after_docstring else [statement + newline]
    return Fix(
        edits=(insert_lines(failure, at, new_lines),),
        root_cause=f"{failure.path} uses {name} without importing it.",
        explanation=f"Add `{statement}` to {failure.path}.",
        confidence=0.9,
        certain=True,
    )


def import_statement(name: str, failure: Failure) -> str | None:
    if name in sys.stdlib_module_names and not name.startswith("_"):
        return f"import {name}"
    root = import_root(failure)
    modules = [
        module_name(path.removeprefix(root))
        for path, text in sorted(failure.request.files.items())
        if path.endswith(".py") and path != failure.path and defines(text, name)
    ]
    if len(modules) != 1:  # nowhere, or in several places: which one is meant is a guess
        return None
    return f"from {modules[0]} import {name}"


def defines(text: str, name: str) -> bool:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == name:
            return True
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if isinstance(node, ast.Assign | ast.AnnAssign) and any(
            isinstance(target, ast.Name) and target.id == name for target in targets
        ):
            return True
    return False


def import_root(failure: Failure) -> str:
    """The folder the file's own imports are relative to, e.g. ``backend/`` when it imports ``app.models``
    and ``backend/app/models.py`` is a context file; empty when nothing tells."""
    tree = parse(failure)
    imported = (
        [
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and not node.level
        ]
        if tree
        else []
    )
    for module in imported:
        tail = module.replace(".", "/")
        for path in failure.request.files:
            for suffix in (f"{tail}.py", f"{tail}/__init__.py"):
                if path.endswith(suffix) and (path == suffix or path.endswith("/" + suffix)):
                    return path.removesuffix(suffix)
    return ""


def module_name(path: str) -> str:
    parts = path.removesuffix(".py").split("/")
    if parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_position(tree: ast.Module) -> tuple[int, bool]:
    """The 0-based line after the module's leading docstring and imports; and whether only a docstring."""
    position, only_docstring = 0, False
    for index, node in enumerate(tree.body):
        docstring = index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if not (docstring or isinstance(node, ast.Import | ast.ImportFrom)):
            break
        position, only_docstring = node.end_lineno or node.lineno, docstring
    return position, only_docstring


# --- AttributeError on None -------------------------------------------------------------------------

NONE_ATTRIBUTE = re.compile(r"'NoneType' object has no attribute '(\w+)'")


def none_attribute(failure: Failure) -> Fix | None:
    match = NONE_ATTRIBUTE.search(failure.request.message)
    tree, statement = failing_statement(failure)
    if not match or statement is None:
        return None
    function = enclosing_function(tree, statement)
    if function is None or is_generator(function) or inside_loop(function, statement):
        return None  # no place to return early from, or returning would end a loop: decline
    bases = {
        ast.unparse(node.value)
        for node in nodes_on_line(statement, failure.lineno, ast.Attribute)
        if node.attr == match.group(1) and isinstance(node.ctx, ast.Load) and is_simple(node.value)
    }
    if len(bases) != 1:
        return None
    base = bases.pop()
    guard = early_return(failure, statement, f"{base} is None", "None")
    return Fix(
        edits=(insert_lines(failure, statement.lineno - 1, guard),),
        root_cause=f"{base} can be None in {function.name}(), and reading .{match.group(1)} from it fails.",
        explanation=f"Return None from {function.name}() when {base} is None.",
        confidence=0.45,
    )


# --- KeyError on a dict read ------------------------------------------------------------------------


def missing_key(failure: Failure) -> Fix | None:
    tree, statement = failing_statement(failure)
    if statement is None:
        return None
    reads = [
        node
        for node in nodes_on_line(statement, failure.lineno, ast.Subscript)
        if isinstance(node.ctx, ast.Load) and not isinstance(node.slice, ast.Slice)
    ]
    key = literal(failure.request.message)
    matching = [node for node in reads if isinstance(node.slice, ast.Constant) and node.slice.value == key]
    if len(matching) != 1 or not is_simple(matching[0].value):
        return None
    read = matching[0]
    default = obvious_default(read, parents(statement))
    call = (
        f"{source(failure, read.value)}.get({source(failure, read.slice)}{', ' + default if default else ''})"
    )
    new_line = replace_segment(failure, read, call)
    if new_line is None:
        return None
    return Fix(
        edits=(replace_lines(failure, failure.index, failure.index, new_line),),
        root_cause=f"{source(failure, read)} fails when the key {key!r} is absent.",
        explanation=f"Read the key with `.get`, defaulting to {default or 'None'}.",
        confidence=0.5,
    )


def literal(text: str):
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return text.strip()


def obvious_default(node: ast.AST, parent_of: dict[ast.AST, ast.AST]) -> str:
    """0 where the value is used as a number, [] where iterated, "" where formatted; else None."""
    parent = parent_of.get(node)
    if isinstance(parent, ast.BinOp | ast.AugAssign | ast.UnaryOp):
        return "0"
    if isinstance(parent, ast.Call) and getattr(parent.func, "id", "") in NUMERIC_CALLS:
        return "0"
    if isinstance(parent, ast.Call) and getattr(parent.func, "id", "") == "len":
        return "[]"
    if isinstance(parent, ast.For | ast.comprehension) and parent.iter is node:
        return "[]"
    if isinstance(parent, ast.FormattedValue):
        return '""'
    return ""


# --- ZeroDivisionError and IndexError on [0]: guard the empty case ----------------------------------


def zero_division(failure: Failure) -> Fix | None:
    tree, statement = failing_statement(failure)
    if statement is None:
        return None
    divisions = [
        node
        for node in nodes_on_line(statement, failure.lineno, ast.BinOp)
        if isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod)
    ]
    subjects = {divisor_subject(node.right) for node in divisions}
    if len(subjects) != 1 or None in subjects:
        return None
    subject = subjects.pop()
    edit = guard(failure, tree, statement, divisions[0] if len(divisions) == 1 else None, subject, "0")
    if edit is None:
        return None
    return Fix(
        edits=(edit,),
        root_cause=f"The divisor is zero when {subject} is empty or zero.",
        explanation=f"Use 0 when {subject} is empty or zero instead of dividing.",
        confidence=0.55,
    )


def divisor_subject(divisor: ast.expr) -> str | None:
    """What is empty or zero when the division fails: the divisor itself, or what ``len()`` measures."""
    if isinstance(divisor, ast.Call) and getattr(divisor.func, "id", "") == "len" and len(divisor.args) == 1:
        divisor = divisor.args[0]
    return ast.unparse(divisor) if is_simple(divisor) else None


INDEX_ERROR = re.compile(r"(list|tuple|string) index out of range")


def empty_index(failure: Failure) -> Fix | None:
    tree, statement = failing_statement(failure)
    if not INDEX_ERROR.search(failure.request.message) or statement is None:
        return None
    reads = [
        node
        for node in nodes_on_line(statement, failure.lineno, ast.Subscript)
        if isinstance(node.ctx, ast.Load)
        and isinstance(node.slice, ast.Constant | ast.UnaryOp)
        and ast.unparse(node.slice) in {"0", "-1"}
        and is_simple(node.value)
    ]
    sequences = {ast.unparse(node.value) for node in reads}
    if len(sequences) != 1:
        return None
    sequence = sequences.pop()
    edit = guard(failure, tree, statement, reads[0] if len(reads) == 1 else None, sequence, "None")
    if edit is None:
        return None
    return Fix(
        edits=(edit,),
        root_cause=f"{sequence} can be empty, and reading its first or last element then fails.",
        explanation=f"Use None when {sequence} is empty.",
        confidence=0.45,
    )


def guard(
    failure: Failure, tree: ast.Module, statement: ast.stmt, node: ast.expr | None, subject: str, value: str
) -> Edit | None:
    """A return statement gets an early return before it; elsewhere the expression becomes conditional."""
    if isinstance(statement, ast.Return):
        function = enclosing_function(tree, statement)
        if function is None or is_generator(function):
            return None
        return insert_lines(
            failure, statement.lineno - 1, early_return(failure, statement, f"not {subject}", value)
        )
    if node is None:
        return None
    parent = parents(statement).get(node)
    whole_value = isinstance(parent, ast.Assign | ast.AnnAssign | ast.AugAssign) and parent.value is node
    conditional = f"{source(failure, node)} if {subject} else {value}"
    new_line = replace_segment(failure, node, conditional if whole_value else f"({conditional})")
    if new_line is None:
        return None
    return replace_lines(failure, node.lineno - 1, node.lineno - 1, new_line)


RULES = {
    "NameError": missing_import,
    "AttributeError": none_attribute,
    "KeyError": missing_key,
    "ZeroDivisionError": zero_division,
    "IndexError": empty_index,
}
