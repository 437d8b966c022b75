"""The patch policy: what a proposed fix may change, whatever the provider says (DESIGN.md, "Fix safety").

The error message, request data and stack that went into the prompt are untrusted and may carry
instructions, so the decision is made here, on the result, never by the model: only context files change
(new files only as tests under the repository's test directories), never a protected path, within a size
limit, the result parses, and no broad catch-all that swallows the error instead of fixing it.
"""

from __future__ import annotations

import ast
import posixpath
import re
import shutil
import subprocess
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bugstack.models import DEFAULT_PROTECTED_PATHS, lines
from pipeline.patch import changed_line_count, changed_paths, unified_diff

# Changing these changes what gets installed, not the code that failed: dependency errors are out of scope
# (triage), so a code fix never needs to, and they stay protected whatever the project's own globs say.
DEPENDENCY_MANIFESTS = (
    "requirements*.txt",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "Pipfile",
    "package.json",
    "Gemfile",
    "*.gemspec",
    "go.mod",
)
DEFAULT_GLOBS = (*lines(DEFAULT_PROTECTED_PATHS), *DEPENDENCY_MANIFESTS)
TEST_DIRECTORY_NAMES = frozenset({"tests", "test", "spec", "__tests__"})
TEST_FILE_PATTERNS = (
    re.compile(r"(^|/)test_[^/]+\.py$"),
    re.compile(r"(^|/)[^/]+_test\.py$"),
    re.compile(r"(^|/)[^/]+\.(test|spec)\.[cm]?[jt]sx?$"),
    re.compile(r"(^|/)[^/]+_(spec|test)\.rb$"),
    re.compile(r"(^|/)[^/]+_test\.go$"),
)
SYNTAX_CHECK_TIMEOUT = 20  # seconds; a checker that hangs is treated as unavailable


@dataclass(frozen=True)
class PatchPolicy:
    protected_globs: tuple[str, ...] = DEFAULT_GLOBS
    max_changed_lines: int = 60
    max_files: int = 5

    @classmethod
    def for_project(cls, project) -> PatchPolicy:
        return cls(
            protected_globs=(*project.protected_path_globs, *DEPENDENCY_MANIFESTS),
            max_changed_lines=project.max_changed_lines,
        )


@dataclass(frozen=True)
class PolicyReport:
    """What the policy found: ``findings`` refuse the patch; ``notes`` only inform."""

    findings: tuple[str, ...]
    notes: tuple[str, ...] = ()
    changed_files: tuple[str, ...] = ()
    changed_lines: int = 0
    tests_added: tuple[str, ...] = ()
    syntax_checked: bool = False  # every changed file was checked by a real parser
    diff: str = ""

    @property
    def allowed(self) -> bool:
        return not self.findings


def check_patch(
    before: Mapping[str, str],
    after: Mapping[str, str],
    *,
    allowed_paths: Collection[str],
    policy: PatchPolicy = PatchPolicy(),  # noqa: B008 - frozen, so sharing the default is safe
    test_paths: Collection[str] = (),
) -> list[str]:
    """The reasons the patch from ``before`` to ``after`` is refused; empty means it is allowed."""
    report = review_patch(before, after, allowed_paths=allowed_paths, policy=policy, test_paths=test_paths)
    return list(report.findings)


def review_patch(
    before: Mapping[str, str],
    after: Mapping[str, str],
    *,
    allowed_paths: Collection[str],
    policy: PatchPolicy = PatchPolicy(),  # noqa: B008 - frozen, so sharing the default is safe
    test_paths: Collection[str] = (),
) -> PolicyReport:
    """Every check of the policy on one patch, with the signals the confidence score uses."""
    paths = changed_paths(before, after)
    diff = unified_diff(before, after)
    findings: list[str] = []
    if not paths:
        findings.append("the proposal changes no file")
    tests_added = [path for path in paths if path not in before and path in after]
    for path in paths:
        findings.extend(path_findings(path, before, after, allowed_paths, policy, test_paths))
    size = changed_line_count(diff)
    if size > policy.max_changed_lines:
        findings.append(f"the patch changes {size} lines; the limit is {policy.max_changed_lines}")
    if len(paths) > policy.max_files:
        findings.append(f"the patch changes {len(paths)} files; the limit is {policy.max_files}")
    notes: list[str] = []
    checked = [path for path in paths if path in after]
    syntax_ok = True
    for path in checked:
        problem, note = syntax_problem(path, before.get(path), after[path])
        findings.extend([problem] if problem else [])
        notes.extend([note] if note else [])
        syntax_ok = syntax_ok and not note
    for path in checked:
        findings.extend(band_aid_findings(path, before.get(path) or "", after[path]))
    return PolicyReport(
        findings=tuple(findings),
        notes=tuple(notes),
        changed_files=tuple(paths),
        changed_lines=size,
        tests_added=tuple(tests_added),
        syntax_checked=bool(checked) and syntax_ok,
        diff=diff,
    )


# --- which files ------------------------------------------------------------------------------------


def path_findings(
    path: str,
    before: Mapping[str, str],
    after: Mapping[str, str],
    allowed_paths: Collection[str],
    policy: PatchPolicy,
    test_paths: Collection[str],
) -> list[str]:
    found = []
    glob = protecting_glob(path, policy.protected_globs)
    if glob:
        found.append(f"{path} is a protected path (matches {glob!r}); a fix may never change it")
    if path not in after:
        found.append(f"{path} would be deleted; a fix may not delete files")
    elif path not in before:
        if not is_test_location(path, test_paths, before):
            found.append(
                f"{path} is a new file outside the repository's test directories; only new tests may be added"
            )
    elif path not in allowed_paths:
        found.append(f"{path} was not among the context files, so the fix may not change it")
    return found


def protecting_glob(path: str, globs: Collection[str]) -> str | None:
    for glob in globs:
        if glob_regex(glob).match(path):
            return glob
    return None


@lru_cache(maxsize=256)
def glob_regex(glob: str) -> re.Pattern[str]:
    """Gitignore-like: ``**`` spans folders, ``*`` does not; a pattern without ``/`` matches any basename."""
    pattern = glob.strip().lstrip("/")
    anchored = "/" in pattern.rstrip("/")
    regex = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            regex, index = regex + "(?:.*/)?", index + 3
        elif pattern.startswith("**", index):
            regex, index = regex + ".*", index + 2
        elif pattern[index] == "*":
            regex, index = regex + "[^/]*", index + 1
        elif pattern[index] == "?":
            regex, index = regex + "[^/]", index + 1
        else:
            regex, index = regex + re.escape(pattern[index]), index + 1
    prefix = "" if anchored else "(?:.*/)?"
    return re.compile(f"^{prefix}{regex}(?:/.*)?$", re.IGNORECASE)


def is_test_file(path: str) -> bool:
    return any(pattern.search(path) for pattern in TEST_FILE_PATTERNS)


def is_test_location(path: str, test_paths: Collection[str], before: Mapping[str, str]) -> bool:
    """A test file's name, in a directory that holds the repository's tests.

    Test directories are those of the existing tests, any ``tests``/``test``/``spec``/``__tests__``
    directory, and, for Go (whose tests sit beside the code), the directory of a context file.
    """
    if not is_test_file(path):
        return False
    folder = posixpath.dirname(path)
    if folder in {posixpath.dirname(test) for test in test_paths}:
        return True
    if TEST_DIRECTORY_NAMES & set(folder.split("/")):
        return True
    return path.endswith("_test.go") and folder in {posixpath.dirname(known) for known in before}


# --- does it parse ----------------------------------------------------------------------------------

# Extension → (checker on PATH, its arguments before the file).
CHECKERS = {
    ".js": ("node", ["--check"]),
    ".cjs": ("node", ["--check"]),
    ".mjs": ("node", ["--check"]),
    ".rb": ("ruby", ["-c"]),
    ".go": ("gofmt", ["-e", "-l"]),
}


class CheckerUnavailable(RuntimeError):
    """The checker could not run (missing, hung): the file goes unchecked, with a note, never refused."""


def syntax_problem(path: str, old: str | None, new: str) -> tuple[str | None, str | None]:
    """(a finding if the new text does not parse, a note if it could not be checked)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".py":
        error = python_syntax_error(new)
    elif suffix in CHECKERS:
        tool, arguments = CHECKERS[suffix]
        if not shutil.which(tool):
            return None, f"{path}: not syntax-checked ({tool} is not installed on this server)"
        try:
            error = external_syntax_error(tool, arguments, new, module_suffix(suffix, new))
        except CheckerUnavailable as unavailable:
            return None, f"{path}: not syntax-checked ({unavailable})"
    else:
        return None, f"{path}: not syntax-checked (no checker for {suffix or 'this kind of file'})"
    if error is None:
        return None, None
    if old is not None and same_checker_fails(path, old):
        return None, f"{path}: did not parse before the change either ({error})"
    return f"{path} does not parse after the change: {error}", None


def module_suffix(suffix: str, text: str) -> str:
    """Node reads a plain .js file as CommonJS; one written with import/export is checked as a module."""
    if suffix == ".js" and re.search(r"^\s*(?:import|export)\b(?!\s*\()", text, re.MULTILINE):
        return ".mjs"
    return suffix


def same_checker_fails(path: str, text: str) -> bool:
    problem, _ = syntax_problem(path, None, text)
    return problem is not None


def python_syntax_error(text: str) -> str | None:
    try:
        ast.parse(text)
    except SyntaxError as error:
        return f"line {error.lineno}: {error.msg}"
    except ValueError as error:  # e.g. null bytes in the source
        return str(error)
    return None


def external_syntax_error(tool: str, arguments: list[str], text: str, suffix: str) -> str | None:
    with tempfile.TemporaryDirectory(prefix="bugstack-syntax-") as folder:
        source = Path(folder) / f"checked{suffix}"
        source.write_text(text, encoding="utf-8")
        try:
            done = subprocess.run(
                [tool, *arguments, str(source)],
                capture_output=True,
                text=True,
                timeout=SYNTAX_CHECK_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise CheckerUnavailable(f"{tool} could not run ({error})") from error
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).replace(str(source), "<file>").strip().splitlines()
    if not lines:
        return f"{tool} exited with {done.returncode}"
    # Node prints the location, the source line and a caret, then the error: keep location and error.
    error = next((line for line in lines[1:] if re.match(r"\w*Error\b", line)), "")
    return " ".join(filter(None, [lines[0], error]))[:300]


# --- band-aids --------------------------------------------------------------------------------------

BAND_AID = (
    "{path}: the change adds a broad {what} that swallows the error; fix the cause instead of hiding it"
)


def band_aid_findings(path: str, old: str, new: str) -> list[str]:
    """A catch-all added by the change that swallows errors (counted before and after, so old ones pass)."""
    counter = SWALLOW_COUNTERS.get(Path(path).suffix.lower())
    if counter is None:
        return []
    what, count = counter
    if count(new) > count(old):
        return [BAND_AID.format(path=path, what=what)]
    return []


def python_swallowers(text: str) -> int:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return 0
    return sum(
        1
        for node in ast.walk(tree)
        if (isinstance(node, ast.ExceptHandler) and is_broad_python(node.type) and not reraises(node))
        or is_broad_suppress(node)
    )


def is_broad_suppress(node: ast.AST) -> bool:
    """``contextlib.suppress(Exception)``: an ``except Exception: pass`` by another name."""
    if not isinstance(node, ast.Call) or not node.args:
        return False
    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    return name == "suppress" and any(is_broad_python(argument) for argument in node.args)


def is_broad_python(kind: ast.expr | None) -> bool:
    if kind is None:
        return True
    if isinstance(kind, ast.Tuple):
        return any(is_broad_python(element) for element in kind.elts)
    name = kind.attr if isinstance(kind, ast.Attribute) else getattr(kind, "id", "")
    return name in {"Exception", "BaseException"}


def reraises(handler: ast.ExceptHandler) -> bool:
    return any(isinstance(node, ast.Raise) for statement in handler.body for node in ast.walk(statement))


JS_CATCH = re.compile(r"\bcatch\s*(?:\(\s*[\w$]*\s*\))?\s*\{")
JS_PROMISE_CATCH = re.compile(r"\.catch\(\s*(?:\(\s*[\w$]*\s*\)|[\w$]+)\s*=>\s*(?:\{|[^{])")


def javascript_swallowers(text: str) -> int:
    blocks = sum(1 for match in JS_CATCH.finditer(text) if "throw" not in braced_block(text, match.end() - 1))
    promises = sum(
        1 for match in JS_PROMISE_CATCH.finditer(text) if "throw" not in text[match.end() : match.end() + 200]
    )
    return blocks + promises


def braced_block(text: str, opening: int) -> str:
    depth = 0
    for index in range(opening, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[opening : index + 1]
    return text[opening:]


RUBY_RESCUE = re.compile(r"^\s*rescue(?:\s+(?:StandardError|Exception))?\s*(?:=>\s*\w+)?\s*$", re.MULTILINE)
RUBY_MODIFIER_RESCUE = re.compile(r"\S.*\srescue\s+\S")


def ruby_swallowers(text: str) -> int:
    clauses = 0
    for match in RUBY_RESCUE.finditer(text):
        body = re.split(
            r"^\s*(?:end|ensure|else|rescue)\b", text[match.end() :], maxsplit=1, flags=re.MULTILINE
        )[0]
        clauses += "raise" not in body
    modifiers = sum(1 for line in text.splitlines() if RUBY_MODIFIER_RESCUE.search(line.split("#")[0]))
    return clauses + modifiers


def go_swallowers(text: str) -> int:
    # Go has no exceptions: the catch-all is a deferred recover() that turns a panic into nothing.
    return len(re.findall(r"\brecover\(\)", text))


SWALLOW_COUNTERS = {
    ".py": ("`except Exception`, bare `except` or `suppress(Exception)`", python_swallowers),
    ".js": ("`catch`", javascript_swallowers),
    ".cjs": ("`catch`", javascript_swallowers),
    ".mjs": ("`catch`", javascript_swallowers),
    ".ts": ("`catch`", javascript_swallowers),
    ".rb": ("`rescue`", ruby_swallowers),
    ".go": ("`recover()`", go_swallowers),
}
