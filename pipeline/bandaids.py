"""Band-aids: changes that hide the error being fixed instead of fixing it (DESIGN.md, "Fix safety").

Refused: a handler the change adds that catches the very error (by its type, a parent, an alias, a tuple,
``suppress(...)``, a bare catch-all, an untyped JavaScript ``catch``, a Go ``recover()``) and does not raise
it again; a ``finally``/``ensure`` that returns, which swallows anything; and a comment or marker that
switches a linter, a type checker or a test off. Each language is read with a real parser (``ast`` and
``tokenize``, tree-sitter for the others), and what the old text already had is subtracted, so code that
only moved passes.
"""

from __future__ import annotations

import ast
import builtins
import io
import tokenize
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import TypeVar

import re2
import tree_sitter

from pipeline.syntax import (
    GO,
    JAVASCRIPT,
    PYTHON,
    RUBY,
    TSX,
    TYPESCRIPT,
    language_of,
    line_of,
    node_text,
    parse,
)

ANY = "*"  # what an untyped catch, a Go recover() or an expression we cannot resolve stands for
SHAPE_LIMIT = 4000  # characters of a handler kept to recognise it after a move; bounds the work per handler
LABEL_LIMIT = 60  # characters of source quoted in a finding
RESOLVE_BUDGET = 2000  # alias lookups per handler: aliases of aliases could otherwise fan out exponentially
MAX_FINDINGS = 10  # per file: past this the proposal is refused anyway, and the reason stays readable
ERROR_TYPE_LIMIT = 200  # the error type comes from the event, so it is capped before it is read


class Outcome(StrEnum):
    RERAISES = "reraises"  # raises again, or turns the error into another one: allowed
    CONSTANT = "constant"  # answers with a literal as if nothing had failed
    SWALLOWS = "swallows"  # carries on as if nothing had failed
    ESCAPES = "escapes"  # a finally/ensure that returns or jumps, which swallows whatever was raised


class Silence(StrEnum):
    CHECKER = "checker"  # a lint, type or coverage suppression
    SKIP = "skip"  # a test that no longer runs, or no longer fails
    FOCUS = "focus"  # a test that runs alone, so every other one is skipped


@dataclass(frozen=True)
class Handler:
    """Where an exception stops: ``except``, ``suppress``, ``rescue``, ``catch``, ``recover()``, ``finally``.

    Its shape (its text with spacing normalised) recognises it after the code around it moved.
    """

    line: int
    label: str
    caught: tuple[str, ...]  # the exception names it stops, ANY for every one
    outcome: Outcome
    shape: str

    @property
    def key(self) -> tuple:
        return (self.label, self.caught, self.outcome, self.shape)


@dataclass(frozen=True)
class Marker:
    """A comment or call that switches a checker or a test off."""

    line: int
    label: str
    kind: Silence
    shape: str

    @property
    def key(self) -> tuple:
        return (self.label, self.kind, self.shape)


@dataclass(frozen=True)
class Reading:
    handlers: tuple[Handler, ...] = ()
    markers: tuple[Marker, ...] = ()


# Findings start with "{path} line {line}: ".
HANDLER_FINDINGS = {
    Outcome.CONSTANT: "`{label}` returns a constant instead of fixing the {error}; fix the cause",
    Outcome.SWALLOWS: "`{label}` swallows the {error} instead of fixing it; fix the cause",
    Outcome.ESCAPES: "`{label}` returns or jumps out, which swallows any exception raised before it; "
    "fix the cause",
}
MARKER_FINDINGS = {
    Silence.CHECKER: "the change adds `{label}`, which silences a checker instead of fixing what it reports; "
    "fix the code",
    Silence.SKIP: "the change adds `{label}`, which keeps a test from running or failing; "
    "fix the code, not the test",
    Silence.FOCUS: "the change adds `{label}`, which runs this test alone and skips every other; remove it",
}


def band_aid_findings(path: str, old: str | None, new: str, error_type: str = "") -> list[str]:
    """Handlers the change adds that swallow the error being fixed, and suppressions it adds."""
    language = language_of(path)
    reader = READERS.get(language)
    if reader is None:
        return []
    error = error_class(error_type)
    try:
        after = refusable(reader(language, new), language, error)
        # Most changes add neither a handler nor a suppression, and then the old text need not be read.
        before = (
            refusable(reader(language, old), language, error) if old and after != Reading() else Reading()
        )
    except RecursionError:
        return [f"{path}: nested too deeply to check for handlers that hide the error; simplify the change"]
    novel = novel_lines(old or "", new)
    noun = "panic" if language == GO else error or "error"
    findings = [
        *(
            f"{path} line {item.line}: " + HANDLER_FINDINGS[item.outcome].format(label=item.label, error=noun)
            for item in fresh(before.handlers, after.handlers, novel)
        ),
        *(
            f"{path} line {item.line}: " + MARKER_FINDINGS[item.kind].format(label=item.label)
            for item in fresh(before.markers, after.markers, novel)
        ),
    ]
    if len(findings) > MAX_FINDINGS:
        hidden = len(findings) - MAX_FINDINGS
        findings = [
            *findings[:MAX_FINDINGS],
            f"{path}: {hidden} more handlers or suppressions that hide errors",
        ]
    return findings


def refusable(reading: Reading, language: str, error: str) -> Reading:
    """The reading without the handlers that let the error through or raise it again."""
    return Reading(tuple(item for item in reading.handlers if hides(item, language, error)), reading.markers)


def novel_lines(old: str, new: str) -> set[int]:
    """Lines of ``new`` (1-based) whose text ``old`` has nowhere: where to look first for what was added."""
    # Not a diff: difflib is quadratic on the repetitive files a repository can hold, and this only picks
    # which of several identical handlers a finding names.
    known = {line.strip() for line in old.splitlines()}
    return {number for number, line in enumerate(new.splitlines(), 1) if line.strip() not in known}


K = TypeVar("K", Handler, Marker)


def fresh(old: Iterable[K], new: Iterable[K], novel: set[int]) -> list[K]:
    """The items of ``new`` that ``old`` did not have; of repeated ones, those on novel lines are new."""
    remaining = Counter(item.key for item in old)
    found = []
    for item in sorted(new, key=lambda item: (item.line in novel, item.line)):
        if remaining[item.key] > 0:
            remaining[item.key] -= 1
        else:
            found.append(item)
    return sorted(found, key=lambda item: item.line)


# --- which errors a handler stops ----------------------------------------------------------------------

# Parents of well-known exceptions that are not builtins (Python's builtins are read from the interpreter).
PYTHON_PARENTS = {
    "JSONDecodeError": "ValueError",
    "DivisionByZero": "ZeroDivisionError",  # decimal
    "InvalidOperation": "ArithmeticError",  # decimal
    "DoesNotExist": "ObjectDoesNotExist",  # Django's Model.DoesNotExist
    "ObjectDoesNotExist": "Exception",
    "MultipleObjectsReturned": "Exception",
    "RequestException": "OSError",  # requests
    "HTTPError": "RequestException",
}
RUBY_PARENTS: dict[str, str | None] = {
    "Exception": None,
    "StandardError": "Exception",
    "ScriptError": "Exception",
    "SignalException": "Exception",
    "SystemExit": "Exception",
    "NoMemoryError": "Exception",
    "SecurityError": "Exception",
    "SystemStackError": "Exception",
    "Interrupt": "SignalException",
    "LoadError": "ScriptError",
    "NotImplementedError": "ScriptError",
    "SyntaxError": "ScriptError",
    "NoMethodError": "NameError",
    "KeyError": "IndexError",
    "StopIteration": "IndexError",
    "ClosedQueueError": "StopIteration",
    "FrozenError": "RuntimeError",
    "FloatDomainError": "RangeError",
    "EOFError": "IOError",
    "NoMatchingPatternKeyError": "NoMatchingPatternError",
    "ParserError": "JSONError",  # JSON::ParserError
    "RecordNotFound": "ActiveRecordError",  # ActiveRecord
    "RecordInvalid": "ActiveRecordError",
    "ParameterMissing": "KeyError",  # ActionController
    # Anything else is taken to derive from StandardError, as Ruby's own guidance asks of custom errors.
}
# What a handler must stop to stop an error whose type nobody told us.
BROAD = {
    PYTHON: frozenset({"Exception", "BaseException"}),
    RUBY: frozenset({"StandardError", "Exception"}),
    JAVASCRIPT: frozenset({"Error"}),
    GO: frozenset(),
}


def error_class(error_type: str) -> str:
    """The class name handlers spell: ``shop.errors.PricingError`` and ``Shop::PricingError`` give
    ``PricingError``; a Go panic's message gives nothing."""
    name = error_type[:ERROR_TYPE_LIMIT].replace("::", ".").partition(":")[0].strip().rsplit(".", 1)[-1]
    return name if name.isidentifier() else ""


def hides(handler: Handler, language: str, error: str) -> bool:
    if handler.outcome is Outcome.RERAISES:
        return False
    if handler.outcome is Outcome.ESCAPES or ANY in handler.caught:
        return True
    return bool(lineage(language, error) & set(handler.caught))


def lineage(language: str, error: str) -> frozenset[str]:
    """The error's class and every class a handler could name to catch it."""
    family = FAMILY.get(language, language)
    if not error:
        return BROAD[family]
    if family == PYTHON:
        return python_lineage(error)
    if family == RUBY:
        return ancestry(error, lambda name: RUBY_PARENTS.get(name, "StandardError"))
    return frozenset({error, "Error"})  # every JavaScript error class extends Error directly


def ancestry(name: str | None, parent: Callable[[str], str | None]) -> frozenset[str]:
    names: set[str] = set()
    while name and name not in names:
        names.add(name)
        name = parent(name)
    return frozenset(names)


def python_lineage(name: str) -> frozenset[str]:
    names = ancestry(name, PYTHON_PARENTS.get)
    known = [found for found in map(builtin_exception, names) if found]
    if not known:
        return names | BROAD[PYTHON]  # a class of the application's own derives from Exception
    return names | {
        cls.__name__ for found in known for cls in found.__mro__ if issubclass(cls, BaseException)
    }


def builtin_exception(name: str) -> type[BaseException] | None:
    found = getattr(builtins, name, None)
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def python_class(name: str) -> str:
    """``IOError`` and ``EnvironmentError`` are ``OSError``: builtin aliases compare by the class itself."""
    found = builtin_exception(name)
    return found.__name__ if found else name


def is_class_name(name: str) -> bool:
    """Whether a name reads as an exception class; others (``errors``, ``RETRYABLE``) hold them."""
    if name.lower().endswith(("error", "exception", "warning")):
        return True
    return name[:1].isupper() and not name.isupper()


N = TypeVar("N")
Parts = Callable[[N], "str | Sequence[N] | None"]


def resolve(root: N, aliases: Mapping[str, Sequence[N]], parts: Parts) -> frozenset[str]:
    """The names an expression stands for through the file's assignments and import aliases.

    ``parts`` reads one node: a name, the sub-expressions it is made of, or None when it cannot be known
    (a call), which gives ANY.
    """
    names: set[str] = set()
    stack: list[tuple[N, frozenset[str]]] = [(root, frozenset())]
    for _ in range(RESOLVE_BUDGET):
        if not stack:
            break
        node, path = stack.pop()
        found = parts(node)
        if found is None:
            names.add(ANY)
        elif not isinstance(found, str):
            stack.extend((part, path) for part in found)
        elif found in aliases and found not in path:
            stack.extend((value, path | {found}) for value in aliases[found])
        else:
            names.add(found)
    return frozenset({ANY}) if stack else frozenset(names)


def exception_names(names: Iterable[str], spelled: Callable[[str], str] = str) -> tuple[str, ...]:
    """Names a handler catches; one that does not read as a class is a container we could not open."""
    return tuple(sorted({spelled(name) if is_class_name(name) else ANY for name in names}))


# --- shared by every reader ---------------------------------------------------------------------------


T = TypeVar("T")


def kinds(words: str) -> frozenset[str]:
    """A set of names written as one space-separated string."""
    return frozenset(words.split())


def always_raises(statements: Iterable[T], raises: Callable[[T], bool], leaves: Callable[[T], bool]) -> bool:
    """Whether every way through the statements ends in a raise: one raises before any leaves quietly."""
    for statement in statements:
        if raises(statement):
            return True
        if leaves(statement):
            return False
    return False


def label_of(text: str) -> str:
    """Source quoted in a finding: one line, no backticks, short (whoever wrote the patch wrote it)."""
    flat = " ".join(text.split()).replace("`", "'")
    return flat if len(flat) <= LABEL_LIMIT else flat[: LABEL_LIMIT - 1] + "…"


Search = Callable[[str], object]


def silencers(*table: tuple[str, str]) -> tuple[tuple[str, Search], ...]:
    """(how a reader names the suppression, a search for it in a comment), case-insensitive."""
    # RE2: comments are written by whoever wrote the patch, and RE2 runs in linear time whatever they hold.
    return tuple((label, re2.compile("(?i)" + pattern).search) for label, pattern in table)


def comment_markers(comments: Iterable[tuple[int, str]], table: Sequence[tuple[str, Search]]) -> list[Marker]:
    return [
        Marker(line, label, Silence.CHECKER, " ".join(text.split())[:SHAPE_LIMIT])
        for line, text in comments
        for label, search in table
        if search(text)
    ]


# --- Python ------------------------------------------------------------------------------------------

PYTHON_SILENCERS = silencers(
    ("# noqa", r"\bnoqa\b"),
    ("# type: ignore", r"\btype:\s*ignore\b"),
    ("# pyright: ignore", r"\bpyright:\s*ignore\b"),
    ("# pylint: disable", r"\bpylint:\s*disable"),
    ("# nosec", r"\bnosec\b"),
    ("# pragma: no cover", r"\bpragma:\s*no\s*(?:cover|branch)\b"),
    ("# mypy: ignore-errors", r"\bmypy:\s*ignore-errors\b"),
    ("# pyre-ignore", r"\bpyre-(?:ignore|fixme)\b"),
    ("# pytype: disable", r"\bpytype:\s*disable\b"),
)
# The last two parts of a dotted name that skips a test, or marks its failure as expected.
PYTHON_SKIPS = kinds(
    "mark.skip mark.skipif mark.xfail pytest.skip pytest.xfail pytest.importorskip unittest.skip "
    "unittest.skipIf unittest.skipUnless unittest.expectedFailure"
)
PYTHON_SKIP_METHODS = frozenset({"skipTest"})
PYTHON_SKIP_DECORATORS = kinds("skip skipIf skipUnless expectedFailure xfail")
PYTHON_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
PYTHON_LOOPS = (ast.For, ast.AsyncFor, ast.While)
CONSTANT_CALLS = kinds("float int str bool list dict tuple set Decimal")


def read_python(language: str, text: str) -> Reading:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError):
        return Reading()  # the syntax check refuses what does not parse
    nodes = list(ast.walk(tree))
    aliases = python_aliases(nodes)
    handlers: list[Handler] = []
    for node in nodes:
        if isinstance(node, ast.Try | ast.TryStar):
            star = "*" if isinstance(node, ast.TryStar) else ""
            handlers.extend(python_except(handler, aliases, star) for handler in node.handlers)
            if python_leaves(node.finalbody):
                handlers.append(python_finally(node))
        elif isinstance(node, ast.Call) and "suppress" in resolve(node.func, aliases, python_parts):
            handlers.append(python_suppress(node, aliases))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            handlers.extend(python_hook(node))
    # The tokenizer is slow, and a text that spells no suppression anywhere has none in its comments.
    comments = python_comments(text) if any(search(text) for _, search in PYTHON_SILENCERS) else []
    markers = [*python_skips(nodes), *comment_markers(comments, PYTHON_SILENCERS)]
    return Reading(tuple(handlers), tuple(markers))


def python_aliases(nodes: Iterable[ast.AST]) -> dict[str, list[ast.expr]]:
    """What each name was assigned, anywhere in the file: ``E = Exception``, ``import X as E``."""
    aliases: dict[str, list[ast.expr]] = {}
    for node in nodes:
        if isinstance(node, ast.Assign):
            pairs = [(target, node.value) for target in node.targets]
        elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value is not None:
            pairs = [(node.target, node.value)]
        elif isinstance(node, ast.ImportFrom):
            pairs = [(ast.Name(alias.asname), ast.Name(alias.name)) for alias in node.names if alias.asname]
        else:
            continue
        for target, value in pairs:
            # Unpacking (``A, B = X, Y``) gives each name the whole value: more than it holds, never less.
            for name in target.elts if isinstance(target, ast.Tuple | ast.List) else [target]:
                key = name.id if isinstance(name, ast.Name) else getattr(name, "attr", None)
                if key:
                    aliases.setdefault(key, []).append(value)
    return aliases


def python_parts(node: ast.expr) -> str | list[ast.expr] | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return list(node.elts)
    if isinstance(node, ast.Starred | ast.Subscript):
        return [node.value]
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.IfExp):
        return [node.body, node.orelse]
    if isinstance(node, ast.BoolOp):
        return list(node.values)
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") in {"tuple", "list", "set", "frozenset"}:
        return list(node.args)
    return None


def python_caught(kind: ast.expr | None, aliases: Mapping[str, list[ast.expr]]) -> tuple[str, ...]:
    if kind is None:
        return ("BaseException",)
    return exception_names(resolve(kind, aliases, python_parts), python_class)


def python_except(handler: ast.ExceptHandler, aliases: Mapping[str, list[ast.expr]], star: str) -> Handler:
    label = f"except{star} {ast.unparse(handler.type)}" if handler.type else f"except{star}"
    return Handler(
        line=handler.lineno,
        label=label_of(label),
        caught=python_caught(handler.type, aliases),
        outcome=python_outcome(handler.body),
        shape=ast.dump(handler)[:SHAPE_LIMIT],
    )


def python_suppress(call: ast.Call, aliases: Mapping[str, list[ast.expr]]) -> Handler:
    caught = {name for argument in call.args for name in python_caught(argument, aliases)}
    return Handler(
        line=call.lineno,
        label=label_of(ast.unparse(call)),
        caught=tuple(sorted(caught)),
        outcome=Outcome.SWALLOWS,
        shape=ast.dump(call)[:SHAPE_LIMIT],
    )


def python_finally(node: ast.Try | ast.TryStar) -> Handler:
    first = node.finalbody[0]
    shape = "".join(ast.dump(statement) for statement in node.finalbody)
    return Handler(first.lineno, "finally", (ANY,), Outcome.ESCAPES, shape[:SHAPE_LIMIT])


def python_hook(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[Handler]:
    """``__exit__`` returning true swallows whatever its ``with`` block raised, like ``suppress``; a
    ``__getattr__`` answers every missing attribute instead of raising AttributeError."""
    if function.name in ("__exit__", "__aexit__"):
        values = [node.value for node in python_own_nodes(function.body) if isinstance(node, ast.Return)]
        if all(value is None or (isinstance(value, ast.Constant) and not value.value) for value in values):
            return []
        shape = ast.dump(function)[:SHAPE_LIMIT]
        return [Handler(function.lineno, f"def {function.name}", (ANY,), Outcome.SWALLOWS, shape)]
    if function.name == "__getattr__":
        outcome, shape = python_outcome(function.body), ast.dump(function)[:SHAPE_LIMIT]
        return [Handler(function.lineno, "def __getattr__", ("AttributeError",), outcome, shape)]
    return []


def python_outcome(body: list[ast.stmt]) -> Outcome:
    if python_always_raises(body):
        return Outcome.RERAISES
    returns = [node for node in python_own_nodes(body) if isinstance(node, ast.Return)]
    if any(python_constant(node.value) for node in returns):
        return Outcome.CONSTANT
    return Outcome.SWALLOWS


def python_always_raises(statements: list[ast.stmt]) -> bool:
    return always_raises(statements, python_raises, lambda statement: python_leaves([statement]))


def python_raises(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Raise):
        return True
    if isinstance(statement, ast.If):
        return python_always_raises(statement.body) and python_always_raises(statement.orelse)
    if isinstance(statement, ast.With | ast.AsyncWith):
        return python_always_raises(statement.body)
    if isinstance(statement, ast.Try | ast.TryStar):
        handled = all(python_always_raises(handler.body) for handler in statement.handlers)
        return python_always_raises(statement.finalbody) or (python_always_raises(statement.body) and handled)
    return False


def python_leaves(statements: list[ast.stmt]) -> bool:
    """Whether a ``return``, or a ``break``/``continue`` of a loop around them, is among the statements."""
    stack: list[tuple[ast.AST, bool]] = [(statement, False) for statement in statements]
    while stack:
        node, in_loop = stack.pop()
        if isinstance(node, ast.Return) or (isinstance(node, ast.Break | ast.Continue) and not in_loop):
            return True
        if isinstance(node, PYTHON_LOOPS):
            children = [(child, True) for child in node.body] + [(child, in_loop) for child in node.orelse]
        else:
            children = [(child, in_loop) for child in ast.iter_child_nodes(node)]
        stack.extend((child, inside) for child, inside in children if not isinstance(child, PYTHON_SCOPES))
    return False


def python_own_nodes(statements: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every node of the statements outside the functions and classes they define."""
    stack: list[ast.AST] = list(statements)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(child for child in ast.iter_child_nodes(node) if not isinstance(child, PYTHON_SCOPES))


def python_constant(value: ast.expr | None) -> bool:
    if value is None:
        return True
    if isinstance(value, ast.Call):
        name = getattr(value.func, "id", getattr(value.func, "attr", ""))
        return name in CONSTANT_CALLS and not value.keywords and all(map(python_constant, value.args))
    try:
        ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def python_skips(nodes: Iterable[ast.AST]) -> list[Marker]:
    markers = []
    for node in nodes:
        if isinstance(node, ast.Attribute):
            parts = dotted(node)
            if ".".join(parts[-2:]) in PYTHON_SKIPS or parts[-1] in PYTHON_SKIP_METHODS:
                label = ".".join(parts[-3:])
                markers.append(Marker(node.lineno, label, Silence.SKIP, label))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for decorator in node.decorator_list:
                called = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(called, ast.Name) and called.id in PYTHON_SKIP_DECORATORS:
                    markers.append(Marker(decorator.lineno, f"@{called.id}", Silence.SKIP, called.id))
    return markers


def dotted(node: ast.Attribute) -> list[str]:
    parts: list[str] = []
    current: ast.expr = node
    while isinstance(current, ast.Attribute) and len(parts) < 3:
        parts.append(current.attr)
        current = current.value
    parts.append(current.id if isinstance(current, ast.Name) else "…")
    return parts[::-1]


def python_comments(text: str) -> list[tuple[int, str]]:
    """Comments as the tokenizer sees them, so ``"# noqa"`` inside a string is not one."""
    comments = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                comments.append((token.start[0], token.string))
    except (tokenize.TokenError, SyntaxError):
        pass  # the comments read so far still count
    return comments


# --- tree-sitter, shared by JavaScript/TypeScript, Ruby and Go ----------------------------------------


@dataclass(frozen=True)
class Flow:
    """A language's node types for leaving a block: statements that leave, and scopes that stop them."""

    leave: frozenset[str]  # leaves whatever it is in (return)
    jumps: frozenset[str]  # leaves unless a loop inside the block catches it (break, continue, next)
    loops: frozenset[str]
    scopes: frozenset[str]  # nested functions: their returns are their own


@dataclass(frozen=True)
class Source:
    """A parsed file and its bytes, to quote nodes without copying them whole."""

    tree: tree_sitter.Tree
    data: bytes

    @classmethod
    def of(cls, language: str, text: str) -> Source:
        # The same encoding pipeline.syntax.parse uses, so byte offsets agree.
        return cls(parse(language, text), text.encode("utf-8", "surrogatepass"))

    def shape(self, node: tree_sitter.Node) -> str:
        end = min(node.end_byte, node.start_byte + SHAPE_LIMIT)
        return " ".join(self.data[node.start_byte : end].decode("utf-8", "replace").split())

    def text(self, node: tree_sitter.Node | None) -> str:
        return self.shape(node) if node is not None else ""


def walk(root: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """Every named node, in source order (iterative: hostile nesting must not exhaust the stack)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.named_children))


def statements_of(node: tree_sitter.Node | None) -> list[tree_sitter.Node]:
    """A block's statements, without comments (Go wraps them in a ``statement_list``)."""
    if node is None:
        return []
    children = [child for child in node.named_children if child.type != "comment"]
    if len(children) == 1 and children[0].type == "statement_list":
        return statements_of(children[0])
    return children


def leaves(statement: tree_sitter.Node, flow: Flow) -> bool:
    stack = [(statement, False)]
    while stack:
        node, in_loop = stack.pop()
        if node.type in flow.leave or (node.type in flow.jumps and not in_loop):
            return True
        inside = in_loop or node.type in flow.loops
        stack.extend((child, inside) for child in node.named_children if child.type not in flow.scopes)
    return False


def own_nodes(statements: Iterable[tree_sitter.Node], flow: Flow) -> Iterator[tree_sitter.Node]:
    stack = list(statements)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(child for child in node.named_children if child.type not in flow.scopes)


def is_constant(node: tree_sitter.Node, literals: frozenset[str]) -> bool:
    """A literal, or a container of literals: nothing in it is a name, a call or an interpolation."""
    return all(part.type in literals for part in walk(node))


C = TypeVar("C")


def walk_within(
    root: tree_sitter.Node, context: C, enter: Callable[[tree_sitter.Node, C], C]
) -> Iterator[tuple[tree_sitter.Node, C]]:
    """Every named node with what its ancestors say, folded in by ``enter`` on the way down.

    Climbing ``node.parent`` instead would be quadratic: tree-sitter finds a parent by descending from
    the root, and hostile nesting is deep.
    """
    stack = [(root, context)]
    while stack:
        node, around = stack.pop()
        yield node, around
        inner = enter(node, around)
        stack.extend((child, inner) for child in reversed(node.named_children))


def comments_of(nodes: Iterable[tree_sitter.Node], source: Source) -> list[tuple[int, str]]:
    return [
        (line_of(node), source.data[node.start_byte : node.end_byte].decode("utf-8", "replace"))
        for node in nodes
        if node.type == "comment"
    ]


# --- JavaScript and TypeScript -----------------------------------------------------------------------

JAVASCRIPT_SILENCERS = silencers(
    ("eslint-disable", r"\beslint-disable"),
    ("/* eslint … off */", r"^/\*\s*eslint\s[^*]*(?:\boff\b|:\s*0\b)"),
    ("@ts-ignore", r"@ts-ignore\b"),
    ("@ts-expect-error", r"@ts-expect-error\b"),
    ("@ts-nocheck", r"@ts-nocheck\b"),
    ("istanbul ignore", r"\b(?:istanbul|c8|v8)\s+ignore\b"),
    ("prettier-ignore", r"\bprettier-ignore\b"),
    ("tslint:disable", r"\btslint:disable\b"),
    ("biome-ignore", r"\bbiome-ignore\b"),
    ("deno-lint-ignore", r"\bdeno-lint-ignore\b"),
    ("oxlint-disable", r"\boxlint-disable\b"),
    ("jshint ignore", r"\bjshint\s+ignore\b"),
)
JAVASCRIPT_FLOW = Flow(
    leave=frozenset({"return_statement"}),
    jumps=frozenset({"break_statement", "continue_statement"}),
    loops=kinds("for_statement for_in_statement while_statement do_statement switch_statement"),
    scopes=kinds(
        "function_declaration function_expression function arrow_function method_definition "
        "generator_function generator_function_declaration class_declaration class"
    ),
)
JAVASCRIPT_FUNCTIONS = frozenset({"arrow_function", "function_expression", "function"})
JAVASCRIPT_LITERALS = kinds(
    "null undefined true false number string string_fragment escape_sequence template_string array "
    "object pair property_identifier unary_expression parenthesized_expression"
)
# Callbacks that hand the error on (Express's next, a promise's reject, Node-style callbacks).
PROPAGATORS = kinds("next reject done callback cb")
TEST_FUNCTIONS = kinds("it test describe context suite specify bench")
TEST_MODIFIERS = {
    **dict.fromkeys(("skip", "skipIf", "todo", "fixme"), Silence.SKIP),
    "only": Silence.FOCUS,
}
SKIPPED_TESTS = {
    **dict.fromkeys(("xit", "xdescribe", "xtest", "xcontext", "xspecify"), Silence.SKIP),
    **dict.fromkeys(("fit", "fdescribe", "fcontext"), Silence.FOCUS),
}


def read_javascript(language: str, text: str) -> Reading:
    source = Source.of(language, text)
    nodes = list(walk(source.tree.root_node))
    handlers: list[Handler] = []
    markers: list[Marker] = []
    for node in nodes:
        if node.type == "catch_clause":
            handlers.append(javascript_catch(node, source))
        elif node.type == "finally_clause" and any(
            leaves(statement, JAVASCRIPT_FLOW)
            for statement in statements_of(node.child_by_field_name("body"))
        ):
            handlers.append(Handler(line_of(node), "finally", (ANY,), Outcome.ESCAPES, source.shape(node)))
        elif node.type == "call_expression":
            handlers.extend(promise_catch(node, source))
            markers.extend(javascript_skip(node, source))
    markers.extend(comment_markers(comments_of(nodes, source), JAVASCRIPT_SILENCERS))
    return Reading(tuple(handlers), tuple(markers))


def javascript_catch(node: tree_sitter.Node, source: Source) -> Handler:
    parameter = node.child_by_field_name("parameter")
    name = source.text(parameter) if parameter is not None and parameter.type == "identifier" else ""
    caught, outcome = javascript_outcome(statements_of(node.child_by_field_name("body")), name, source)
    label = f"catch ({name})" if name else "catch"
    return Handler(line_of(node), label_of(label), caught, outcome, source.shape(node))


def promise_catch(call: tree_sitter.Node, source: Source) -> list[Handler]:
    """``.catch(handler)`` and ``.then(onFulfilled, onRejected)``: a promise's error handlers."""
    callee = call.child_by_field_name("function")
    arguments = call.child_by_field_name("arguments")
    if callee is None or callee.type != "member_expression" or arguments is None:
        return []
    method = callee.child_by_field_name("property")
    given = statements_of(arguments)
    position = {"catch": 0, "then": 1}.get(source.text(method))
    if position is None or len(given) <= position:
        return []
    caught, outcome = callback_outcome(given[position], source)
    label = f".{source.text(method)}(…)"
    return [Handler(line_of(method), label, caught, outcome, source.shape(arguments))]


def callback_outcome(handler: tree_sitter.Node, source: Source) -> tuple[tuple[str, ...], Outcome]:
    if handler.type not in JAVASCRIPT_FUNCTIONS:
        passes_on = handler.type == "identifier" and source.text(handler) in PROPAGATORS
        return (ANY,), Outcome.RERAISES if passes_on else Outcome.SWALLOWS
    name = first_parameter(handler, source)
    body = handler.child_by_field_name("body")
    if body is not None and body.type == "statement_block":
        return javascript_outcome(statements_of(body), name, source)
    if body is not None and hands_on(body, name, source):
        return (ANY,), Outcome.RERAISES
    constant = body is None or is_constant(body, JAVASCRIPT_LITERALS)
    return (ANY,), Outcome.CONSTANT if constant else Outcome.SWALLOWS


def first_parameter(function: tree_sitter.Node, source: Source) -> str:
    single = function.child_by_field_name("parameter")
    if single is not None:
        return source.text(single)
    parameters = statements_of(function.child_by_field_name("parameters"))
    if not parameters:
        return ""
    first = parameters[0]
    pattern = first.child_by_field_name("pattern") if first.type == "required_parameter" else first
    return source.text(pattern) if pattern is not None and pattern.type == "identifier" else ""


def javascript_outcome(
    statements: list[tree_sitter.Node], name: str, source: Source
) -> tuple[tuple[str, ...], Outcome]:
    """What a catch body catches (narrowed by a leading ``if (!(e instanceof T)) throw e``) and does."""
    caught, statements = narrowed(statements, name, source)
    raises = partial(javascript_raises, name=name, source=source)
    if always_raises(statements, raises, partial(leaves, flow=JAVASCRIPT_FLOW)):
        return caught, Outcome.RERAISES
    returns = [node for node in own_nodes(statements, JAVASCRIPT_FLOW) if node.type == "return_statement"]
    values = [statements_of(node) for node in returns]
    if any(not value or is_constant(value[0], JAVASCRIPT_LITERALS) for value in values):
        return caught, Outcome.CONSTANT
    return caught, Outcome.SWALLOWS


def narrowed(
    statements: list[tree_sitter.Node], name: str, source: Source
) -> tuple[tuple[str, ...], list[tree_sitter.Node]]:
    if not name or not statements or statements[0].type != "if_statement":
        return (ANY,), statements
    guard = statements[0]
    consequence = guard.child_by_field_name("consequence")
    if guard.child_by_field_name("alternative") is not None or consequence is None:
        return (ANY,), statements
    if not javascript_raises(consequence, name, source):
        return (ANY,), statements
    types = excluded_types(guard.child_by_field_name("condition"), name, source)
    return (exception_names(types), statements[1:]) if types else ((ANY,), statements)


def excluded_types(condition: tree_sitter.Node | None, name: str, source: Source) -> list[str]:
    """``T`` in ``!(e instanceof T || e instanceof U)``: the types the rest of the catch body sees."""
    negation = unwrap(condition)
    if negation is None or negation.type != "unary_expression":
        return []
    if source.text(negation.child_by_field_name("operator")) != "!":
        return []
    types: list[str] = []
    stack = [unwrap(negation.child_by_field_name("argument"))]
    while stack:
        node = stack.pop()
        operator = source.text(node.child_by_field_name("operator")) if node is not None else ""
        if operator == "||":
            stack.extend(unwrap(node.child_by_field_name(side)) for side in ("left", "right"))
        elif operator == "instanceof" and source.text(node.child_by_field_name("left")) == name:
            right = node.child_by_field_name("right")
            last = right.child_by_field_name("property") if right.type == "member_expression" else right
            types.append(source.text(last))
        else:
            return []
    return types


def unwrap(node: tree_sitter.Node | None) -> tree_sitter.Node | None:
    while node is not None and node.type == "parenthesized_expression" and node.named_child_count == 1:
        node = node.named_children[0]
    return node


def javascript_raises(node: tree_sitter.Node, name: str, source: Source) -> bool:
    if node.type == "throw_statement":
        return True
    if node.type in ("expression_statement", "return_statement"):
        value = statements_of(node)
        return bool(value) and hands_on(value[0], name, source)
    if node.type == "if_statement":
        branches = [node.child_by_field_name("consequence"), node.child_by_field_name("alternative")]
        return all(branch is not None and javascript_raises(branch, name, source) for branch in branches)
    if node.type in ("statement_block", "else_clause"):
        raises = partial(javascript_raises, name=name, source=source)
        return always_raises(statements_of(node), raises, partial(leaves, flow=JAVASCRIPT_FLOW))
    return False


def hands_on(expression: tree_sitter.Node, name: str, source: Source) -> bool:
    """``Promise.reject(…)``, or ``next(e)``: the error goes on to whoever handles it."""
    if expression.type == "await_expression":
        expression = statements_of(expression)[0] if expression.named_child_count else expression
    if expression.type != "call_expression":
        return False
    callee = source.text(expression.child_by_field_name("function"))
    if callee == "Promise.reject":
        return True
    given = statements_of(expression.child_by_field_name("arguments"))
    return bool(name) and callee in PROPAGATORS and bool(given) and source.text(given[0]) == name


def javascript_skip(call: tree_sitter.Node, source: Source) -> list[Marker]:
    parts = member_parts(call.child_by_field_name("function"), source)
    if not parts:
        return []
    label, kind = "", None
    if len(parts) == 1 and parts[0] in SKIPPED_TESTS and names_a_test(call):
        label, kind = parts[0], SKIPPED_TESTS[parts[0]]
    elif parts[0] in TEST_FUNCTIONS:
        modifier = next((part for part in parts[1:] if part in TEST_MODIFIERS), None)
        label, kind = f"{parts[0]}.{modifier}", TEST_MODIFIERS.get(modifier or "")
    return [Marker(line_of(call), label, kind, source.shape(call))] if kind else []


def member_parts(node: tree_sitter.Node | None, source: Source) -> list[str]:
    """``test.skip.each`` as ["test", "skip", "each"]; empty for anything but a chain of names."""
    parts: list[str] = []
    while node is not None and node.type == "member_expression" and len(parts) < 8:
        parts.append(source.text(node.child_by_field_name("property")))
        node = node.child_by_field_name("object")
    if node is None or node.type != "identifier":
        return []
    return [source.text(node), *reversed(parts)]


def names_a_test(call: tree_sitter.Node) -> bool:
    """``xit("name", fn)``: a name first, so an application's own ``fit(a, b)`` is not taken for one."""
    given = statements_of(call.child_by_field_name("arguments"))
    return bool(given) and given[0].type in ("string", "template_string")


# --- Ruby --------------------------------------------------------------------------------------------

RUBY_SILENCERS = silencers(
    ("# rubocop:disable", r"\brubocop\s*:\s*(?:disable|todo)\b"),
    ("# standard:disable", r"\bstandard\s*:\s*disable\b"),
    ("# :nocov:", r":nocov:"),
    ("# steep:ignore", r"\bsteep:ignore\b"),
    ("# typed: false", r"^#\s*typed:\s*(?:false|ignore)\b"),
)
RUBY_FLOW = Flow(
    leave=frozenset({"return"}),
    jumps=frozenset({"break", "next", "redo"}),
    loops=kinds("while until for block do_block"),
    scopes=kinds("method singleton_method lambda class module"),
)
RUBY_LITERALS = kinds(
    "nil true false integer float rational complex simple_symbol string string_content "
    "escape_sequence array hash unary return next argument_list"
)
RUBY_RAISERS = frozenset({"raise", "fail"})
RUBY_BLOCKS = frozenset({"then", "else", "parenthesized_statements", "body_statement"})
RUBY_TEST_BLOCKS = kinds("it specify example scenario test describe context feature before setup")
RUBY_SKIPS = {
    "skip": Silence.SKIP,
    "pending": Silence.SKIP,
    **dict.fromkeys(("xit", "xdescribe", "xcontext", "xspecify", "xexample", "xscenario"), Silence.SKIP),
    **dict.fromkeys(("fit", "fdescribe", "fcontext", "focus"), Silence.FOCUS),
}
RUBY_IN_TEST_ONLY = frozenset({"skip", "pending", "focus"})  # ordinary words outside a test


@dataclass(frozen=True)
class RubyPlace:
    """What a node's ancestors say about it."""

    in_test: bool = False  # inside an example, a group or a ``test_…`` method
    parent: str = ""  # the parent's node type
    test_call: bool = False  # the parent is a call of ``it``, ``describe``, …
    test_arguments: bool = False  # the parent is the argument list of such a call


def read_ruby(language: str, text: str) -> Reading:
    source = Source.of(language, text)
    places = list(walk_within(source.tree.root_node, RubyPlace(), partial(ruby_place, source=source)))
    nodes = [node for node, _ in places]
    aliases = ruby_aliases(nodes)
    handlers: list[Handler] = []
    markers: list[Marker] = []
    for node, place in places:
        if node.type == "rescue":
            handlers.append(ruby_rescue(node, aliases, source))
        elif node.type == "rescue_modifier":
            handlers.append(ruby_modifier(node, source))
        elif node.type == "ensure" and any(leaves(statement, RUBY_FLOW) for statement in statements_of(node)):
            handlers.append(Handler(line_of(node), "ensure", (ANY,), Outcome.ESCAPES, source.shape(node)))
        elif node.type == "method" and source.text(node.child_by_field_name("name")) == "method_missing":
            handlers.append(method_missing(node, source))
        else:
            markers.extend(ruby_skip(node, place, source))
    markers.extend(comment_markers(comments_of(nodes, source), RUBY_SILENCERS))
    return Reading(tuple(handlers), tuple(markers))


def ruby_aliases(nodes: Iterable[tree_sitter.Node]) -> dict[str, list[tree_sitter.Node]]:
    """``ERRORS = [A, B].freeze`` and ``E = StandardError``: what each name was assigned."""
    aliases: dict[str, list[tree_sitter.Node]] = {}
    for node in nodes:
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if node.type == "assignment" and left is not None and right is not None:
            name = left.child_by_field_name("name") if left.type == "scope_resolution" else left
            if name is not None and name.type in ("constant", "identifier"):
                aliases.setdefault(node_text(name), []).append(right)
    return aliases


def ruby_parts(node: tree_sitter.Node) -> str | list[tree_sitter.Node] | None:
    if node.type in ("constant", "identifier"):
        return node_text(node)
    if node.type == "scope_resolution":
        name = node.child_by_field_name("name")
        return [name] if name is not None else None
    if node.type in ("exceptions", "array", "splat_argument", "parenthesized_statements"):
        return statements_of(node)
    if node.type == "call" and node.child_by_field_name("receiver") is not None:
        method = node.child_by_field_name("method")
        if method is not None and method.text in (b"freeze", b"dup", b"to_a"):
            return [node.child_by_field_name("receiver")]
    return None


def ruby_rescue(node: tree_sitter.Node, aliases: Mapping[str, list], source: Source) -> Handler:
    exceptions = node.child_by_field_name("exceptions")
    variable = node.child_by_field_name("variable")
    caught = exception_names(resolve(exceptions, aliases, ruby_parts)) if exceptions else ("StandardError",)
    label = " ".join(filter(None, ("rescue", source.text(exceptions), source.text(variable))))
    statements = statements_of(node.child_by_field_name("body"))
    return Handler(line_of(node), label_of(label), caught, ruby_outcome(statements), source.shape(node))


def ruby_modifier(node: tree_sitter.Node, source: Source) -> Handler:
    """``value rescue fallback``: rescues StandardError from one expression."""
    fallback = node.child_by_field_name("handler")
    if fallback is None:
        outcome = Outcome.SWALLOWS
    elif ruby_raises(fallback):
        outcome = Outcome.RERAISES
    else:
        outcome = Outcome.CONSTANT if is_constant(fallback, RUBY_LITERALS) else Outcome.SWALLOWS
    label = label_of(f"rescue {source.text(fallback)}")
    return Handler(line_of(node), label, ("StandardError",), outcome, source.shape(node))


def method_missing(node: tree_sitter.Node, source: Source) -> Handler:
    """``method_missing`` answers calls that would raise NoMethodError, unless every path calls ``super``."""
    statements = statements_of(node.child_by_field_name("body"))
    outcome = ruby_outcome(statements, lambda statement: statement.type == "super" or ruby_raises(statement))
    return Handler(line_of(node), "def method_missing", ("NoMethodError",), outcome, source.shape(node))


def ruby_outcome(
    statements: list[tree_sitter.Node], raises: Callable[[tree_sitter.Node], bool] | None = None
) -> Outcome:
    if always_raises(statements, raises or ruby_raises, partial(leaves, flow=RUBY_FLOW)):
        return Outcome.RERAISES
    exits = [node for node in own_nodes(statements, RUBY_FLOW) if node.type in ("return", "next", "break")]
    # A rescue clause's value is its last expression: ``rescue NoMethodError; nil`` answers nil.
    if any(is_constant(node, RUBY_LITERALS) for node in [*statements[-1:], *exits]):
        return Outcome.CONSTANT
    return Outcome.SWALLOWS


def ruby_raises(node: tree_sitter.Node) -> bool:
    if node.type == "identifier" or (node.type == "call" and node.child_by_field_name("receiver") is None):
        method = node if node.type == "identifier" else node.child_by_field_name("method")
        return method is not None and node_text(method) in RUBY_RAISERS
    if node.type in ("if", "unless", "elsif"):
        branches = [node.child_by_field_name("consequence"), node.child_by_field_name("alternative")]
        return all(branch is not None and ruby_raises(branch) for branch in branches)
    if node.type in RUBY_BLOCKS:
        return always_raises(statements_of(node), ruby_raises, partial(leaves, flow=RUBY_FLOW))
    return False


def ruby_place(node: tree_sitter.Node, around: RubyPlace, source: Source) -> RubyPlace:
    """The place of the node's children."""
    name = ""
    if node.type in ("call", "method"):
        name = source.text(node.child_by_field_name("method" if node.type == "call" else "name"))
    test_call = node.type == "call" and name in RUBY_TEST_BLOCKS
    test_method = node.type == "method" and name.startswith(("test", "setup"))
    return RubyPlace(
        in_test=around.in_test or test_call or test_method,
        parent=node.type,
        test_call=test_call,
        test_arguments=node.type == "argument_list" and around.test_call,
    )


def ruby_skip(node: tree_sitter.Node, place: RubyPlace, source: Source) -> list[Marker]:
    """``skip``/``pending`` in a test, ``xit``/``fit``, and ``skip: true``/``:focus`` on a test's call."""
    name = ""
    if node.type == "call" and node.child_by_field_name("receiver") is None:
        name = source.text(node.child_by_field_name("method"))
        called = node.child_by_field_name("arguments") or node.child_by_field_name("block")
        name = name if called is not None or name in RUBY_IN_TEST_ONLY else ""
    elif node.type == "identifier" and place.parent != "call":
        name = source.text(node)
    elif node.type in ("pair", "simple_symbol") and place.test_arguments:
        name = source.text(node.child_by_field_name("key") if node.type == "pair" else node).strip(":")
    kind = RUBY_SKIPS.get(name)
    if kind is None or (name in RUBY_IN_TEST_ONLY and not place.in_test):
        return []
    return [Marker(line_of(node), name, kind, source.shape(node))]


# --- Go ----------------------------------------------------------------------------------------------

GO_SILENCERS = silencers(
    ("//nolint", r"^//\s*nolint\b"),
    ("//lint:ignore", r"\blint:(?:file-)?ignore\b"),
    ("#nosec", r"#nosec\b"),
    ("//go:build ignore", r"^//\s*(?:go:build|\+build)\s+ignore\b"),
)
GO_FLOW = Flow(
    leave=frozenset({"return_statement"}),
    jumps=frozenset({"break_statement", "continue_statement", "goto_statement"}),
    loops=frozenset(
        {"for_statement", "expression_switch_statement", "type_switch_statement", "select_statement"}
    ),
    scopes=frozenset({"func_literal"}),
)
GO_FUNCTION_DEPTH = 4  # a test's t, or a function's named results, are this close to a closure at most
GO_FUNCTIONS = frozenset({"function_declaration", "method_declaration", "func_literal"})
GO_LITERALS = kinds(
    "interpreted_string_literal interpreted_string_literal_content raw_string_literal "
    "raw_string_literal_content escape_sequence int_literal float_literal imaginary_literal "
    "rune_literal true false nil iota composite_literal literal_value literal_element keyed_element "
    "field_identifier type_identifier unary_expression"
)
GO_SKIPS = frozenset({"Skip", "SkipNow", "Skipf"})
GO_STOPPERS = ("Panic", "Fatal")  # log.Panicf, log.Fatal, t.Fatalf: the panic is not hidden


def read_go(language: str, text: str) -> Reading:
    source = Source.of(language, text)
    handlers: list[Handler] = []
    markers: list[Marker] = []
    comments: list[tree_sitter.Node] = []
    for node, place in walk_within(source.tree.root_node, GoPlace(), go_place):
        comments.extend([node] if node.type == "comment" else [])
        if node.type != "call_expression":
            continue
        callee = node.child_by_field_name("function")
        if callee is not None and callee.type == "identifier" and source.text(callee) == "recover":
            handlers.append(go_recover(node, place, source))
        markers.extend(go_skip(node, callee, place.functions, source))
    markers.extend(comment_markers(comments_of(comments, source), GO_SILENCERS))
    return Reading(tuple(handlers), tuple(markers))


@dataclass(frozen=True)
class GoPlace:
    """What a node's ancestors say about it, nearest first."""

    functions: tuple[tree_sitter.Node, ...] = ()  # a closure reaches the few nearest ones
    ancestors: tuple[tree_sitter.Node, ...] = ()  # enough to see the ``if`` that checks a recover()


def go_place(node: tree_sitter.Node, around: GoPlace) -> GoPlace:
    """The place of the node's children."""
    functions = around.functions
    if node.type in GO_FUNCTIONS:
        functions = (node, *functions[: GO_FUNCTION_DEPTH - 1])
    return GoPlace(functions, (node, *around.ancestors[:2]))


def go_recover(call: tree_sitter.Node, place: GoPlace, source: Source) -> Handler:
    """A ``recover()``: it hides the panic unless what runs after it panics again or returns an error."""
    guarded = recovered_block(call, place.ancestors, source)
    if guarded is None:
        outcome = Outcome.SWALLOWS
    else:
        outcome = go_outcome(statements_of(guarded), named_results(place.functions, source), source)
    shape = source.shape(place.functions[0] if place.functions else call)
    return Handler(line_of(call), "recover()", (ANY,), outcome, shape)


def recovered_block(
    call: tree_sitter.Node, ancestors: tuple[tree_sitter.Node, ...], source: Source
) -> tree_sitter.Node | None:
    """The block that runs when ``recover()`` returned a panic: ``if r := recover(); r != nil {…}``."""
    parent, holder, statement = (*ancestors, None, None, None)[:3]
    if parent is not None and parent.type == "binary_expression" and holder is not None:
        return checked_block(holder, source.text(call), source)  # if recover() != nil {…}
    if parent is None or parent.type != "expression_list" or holder is None or statement is None:
        return None
    if holder.type not in ("short_var_declaration", "assignment_statement"):
        return None
    variable = statements_of(holder.child_by_field_name("left"))[:1]
    name = source.text(variable[0]) if variable else ""
    if statement.type == "if_statement":
        return checked_block(statement, name, source)
    later = [node for node in statement.named_children if node.start_byte > holder.end_byte]
    return next((block for node in later if (block := checked_block(node, name, source))), None)


def checked_block(statement: tree_sitter.Node, name: str, source: Source) -> tree_sitter.Node | None:
    condition = statement.child_by_field_name("condition")
    if statement.type != "if_statement" or condition is None or condition.type != "binary_expression":
        return None
    sides = {
        source.text(condition.child_by_field_name("left")),
        source.text(condition.child_by_field_name("right")),
    }
    if source.text(condition.child_by_field_name("operator")) == "!=" and sides == {name, "nil"}:
        return statement.child_by_field_name("consequence")
    return None


def named_results(functions: Iterable[tree_sitter.Node], source: Source) -> dict[str, str]:
    """Named results of the functions around a node, by name: the deferred closure may set them."""
    results: dict[str, str] = {}
    for function in functions:
        for declaration in statements_of(function.child_by_field_name("result")):
            kind = source.text(declaration.child_by_field_name("type"))
            for name in declaration.children_by_field_name("name"):
                results.setdefault(source.text(name), kind)
    return results


def go_outcome(statements: list[tree_sitter.Node], results: dict[str, str], source: Source) -> Outcome:
    errors = {name for name, kind in results.items() if kind == "error"}
    raises = partial(go_raises, errors=errors, source=source)
    if always_raises(statements, raises, partial(leaves, flow=GO_FLOW)):
        return Outcome.RERAISES
    assigned = [
        value
        for node in own_nodes(statements, GO_FLOW)
        if node.type == "assignment_statement"
        for target, value in assignments(node, source)
        if target in results
    ]
    if any(is_constant(value, GO_LITERALS) for value in assigned):
        return Outcome.CONSTANT
    return Outcome.SWALLOWS


def assignments(node: tree_sitter.Node, source: Source) -> list[tuple[str, tree_sitter.Node]]:
    """(name, value) pairs of ``a, b = x, y``; none for ``a, err = f()``, whose values are not spelled out."""
    left = statements_of(node.child_by_field_name("left"))
    right = statements_of(node.child_by_field_name("right"))
    if len(left) != len(right):
        return []
    return [(source.text(target), value) for target, value in zip(left, right, strict=True)]


def go_raises(node: tree_sitter.Node, errors: set[str], source: Source) -> bool:
    """Panics again, stops the program, sends the panic on, or sets a named error result to non-nil."""
    if node.type == "expression_statement":
        call = statements_of(node)[0] if node.named_child_count else None
        callee = (
            call.child_by_field_name("function")
            if call is not None and call.type == "call_expression"
            else None
        )
        if callee is None:
            return False
        name = source.text(
            callee.child_by_field_name("field") if callee.type == "selector_expression" else callee
        )
        return name == "panic" or name.startswith(GO_STOPPERS)
    if node.type == "assignment_statement":
        return any(
            target in errors and source.text(value) != "nil" for target, value in assignments(node, source)
        )
    if node.type == "send_statement":
        return True
    if node.type == "if_statement":
        branches = [node.child_by_field_name("consequence"), node.child_by_field_name("alternative")]
        return all(branch is not None and go_raises(branch, errors, source) for branch in branches)
    if node.type == "block":
        raises = partial(go_raises, errors=errors, source=source)
        return always_raises(statements_of(node), raises, partial(leaves, flow=GO_FLOW))
    return False


def go_skip(
    call: tree_sitter.Node,
    callee: tree_sitter.Node | None,
    functions: tuple[tree_sitter.Node, ...],
    source: Source,
) -> list[Marker]:
    """``t.Skip(…)`` where ``t`` is a test's ``*testing.T`` (or B, F, TB) parameter."""
    if callee is None or callee.type != "selector_expression":
        return []
    field, operand = callee.child_by_field_name("field"), callee.child_by_field_name("operand")
    if source.text(field) not in GO_SKIPS or operand is None or operand.type != "identifier":
        return []
    receiver = source.text(operand)
    testing = any(
        "testing." in source.text(declaration.child_by_field_name("type"))
        and receiver in {source.text(name) for name in declaration.children_by_field_name("name")}
        for function in functions
        for declaration in statements_of(function.child_by_field_name("parameters"))
    )
    label = f"{receiver}.{source.text(field)}"
    return [Marker(line_of(call), label, Silence.SKIP, source.shape(call))] if testing else []


# --- by language -------------------------------------------------------------------------------------

FAMILY = {TYPESCRIPT: JAVASCRIPT, TSX: JAVASCRIPT}
READERS: dict[str | None, Callable[[str, str], Reading]] = {
    PYTHON: read_python,
    JAVASCRIPT: read_javascript,
    TYPESCRIPT: read_javascript,
    TSX: read_javascript,
    RUBY: read_ruby,
    GO: read_go,
}
