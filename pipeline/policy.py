"""The patch policy: what a proposed fix may change, whatever the provider says (DESIGN.md, "Fix safety").

The error message, request data and stack that went into the prompt are untrusted and may carry
instructions, so the decision is made here, on the result, never by the model. Every path is normalised
first (``pipeline.paths``) and protected globs match it case-folded. Only context files change; a new file
only as a new test, at a test location, where no file exists yet; nothing is written to or through a
symlink; never a protected path; within budgets of files, lines and bytes (the bytes are checked before any
diff, parser or pattern sees the text); the result parses; and no broad catch-all that swallows the error
instead of fixing it.
"""

from __future__ import annotations

import ast
import posixpath
import re
import shutil
import subprocess
import tempfile
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import re2

from bugstack.limits import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_PATCH_BYTES, DEFAULT_PROTECTED_PATHS, lines
from pipeline.bandaids import band_aid_findings
from pipeline.capabilities import capability_findings
from pipeline.patch import added_bytes, changed_line_count, file_diff
from pipeline.paths import UnsafePath, folded, normalise_path, normalised_or_same
from pipeline.syntax import language_of, syntax_error

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
TEST_FILE_PATTERNS = tuple(
    re2.compile(pattern)
    for pattern in (
        r"(^|/)test_[^/]+\.py$",
        r"(^|/)[^/]+_test\.py$",
        r"(^|/)[^/]+\.(test|spec)\.[cm]?[jt]sx?$",
        r"(^|/)__tests__/([^/]+/)*[^/]+\.[cm]?[jt]sx?$",  # Jest runs every script under __tests__
        r"(^|/)[^/]+_(spec|test)\.rb$",
        r"(^|/)[^/]+_test\.go$",
    )
)
SYNTAX_CHECK_TIMEOUT = 20  # seconds; a checker that hangs is treated as unavailable
NO_SYMLINKS: Mapping[str, str] = MappingProxyType({})
MAX_LINK_HOPS = 40  # Linux's limit: a longer chain of links is a loop


@dataclass(frozen=True)
class PatchPolicy:
    protected_globs: tuple[str, ...] = DEFAULT_GLOBS
    max_changed_lines: int = 60
    max_files: int = 5
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES  # bytes added or changed in one file
    max_patch_bytes: int = DEFAULT_MAX_PATCH_BYTES  # bytes added or changed in all files together

    @classmethod
    def for_project(cls, project) -> PatchPolicy:
        return cls(
            protected_globs=(*project.protected_path_globs, *DEPENDENCY_MANIFESTS),
            max_changed_lines=project.max_changed_lines,
            max_file_bytes=project.max_file_bytes,
            max_patch_bytes=project.max_patch_bytes,
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


@dataclass(frozen=True)
class Repository:
    """What the policy knows of the repository at the base commit, looked up by folded path."""

    files: Mapping[str, str]  # folded path → path, for every file known to exist
    links: Mapping[str, tuple[str, str]]  # folded path → (path, target as git stores it), for every symlink
    test_folders: frozenset[str]  # folders that hold an existing test

    @classmethod
    def known(
        cls,
        base: Mapping[str, str],
        test_paths: Collection[str],
        repository_paths: Collection[str] | None,
        symlinks: Mapping[str, str],
    ) -> Repository:
        tests = {normalised_or_same(path) for path in test_paths}
        paths = {*base, *tests, *(normalised_or_same(path) for path in repository_paths or ())}
        links = {normalised_or_same(path): target for path, target in symlinks.items()}
        return cls(
            files={folded(path): path for path in paths},
            links={folded(path): (path, target) for path, target in links.items()},
            test_folders=frozenset(
                posixpath.dirname(path) for path in paths if path in tests or is_test_file(path)
            ),
        )


def check_patch(
    before: Mapping[str, str],
    after: Mapping[str, str],
    *,
    allowed_paths: Collection[str],
    policy: PatchPolicy = PatchPolicy(),  # noqa: B008 - frozen, so sharing the default is safe
    test_paths: Collection[str] = (),
    repository_paths: Collection[str] | None = None,
    symlinks: Mapping[str, str] = NO_SYMLINKS,
    error_type: str = "",
) -> list[str]:
    """The reasons the patch from ``before`` to ``after`` is refused; empty means it is allowed."""
    report = review_patch(
        before,
        after,
        allowed_paths=allowed_paths,
        policy=policy,
        test_paths=test_paths,
        repository_paths=repository_paths,
        symlinks=symlinks,
        error_type=error_type,
    )
    return list(report.findings)


def review_patch(
    before: Mapping[str, str],
    after: Mapping[str, str],
    *,
    allowed_paths: Collection[str],
    policy: PatchPolicy = PatchPolicy(),  # noqa: B008 - frozen, so sharing the default is safe
    test_paths: Collection[str] = (),
    repository_paths: Collection[str] | None = None,
    symlinks: Mapping[str, str] = NO_SYMLINKS,
    error_type: str = "",
) -> PolicyReport:
    """Every check of the policy on one patch, with the signals the confidence score uses.

    ``repository_paths`` are the repository's paths at the base commit: all of them, or at least every one
    named like a test (the only kind a new file may take); None means unknown, and then only ``before`` and
    ``test_paths`` are known to exist. ``symlinks`` maps each symlink of the repository to its target as git
    stores it. ``error_type`` is the exception being fixed.
    """
    base = {normalised_or_same(path): text for path, text in before.items()}
    writes, findings = proposed_writes(before, after, base)
    paths = sorted(writes)
    if not paths and not findings:
        findings.append("the proposal changes no file")
    repository = Repository.known(base, test_paths, repository_paths, symlinks)
    allowed = {normalised_or_same(path) for path in allowed_paths}
    for path in paths:
        findings.extend(path_findings(path, writes[path], base, allowed, repository, policy))
    if len(paths) > policy.max_files:
        findings.append(f"the patch changes {len(paths)} files; the limit is {policy.max_files}")
    tests_added = tuple(path for path in paths if path not in base and writes[path] is not None)
    oversized = growth_findings(writes, base, policy)
    if oversized:
        # Too big to diff, parse or scan: what is known already refuses it, at no further cost.
        return PolicyReport(
            findings=(*findings, *oversized), changed_files=tuple(paths), tests_added=tests_added
        )
    diffs = {path: file_diff(path, base.get(path), writes[path]) for path in paths}
    diff = "".join(diffs.values())
    size = changed_line_count(diff)
    if size > policy.max_changed_lines:
        findings.append(f"the patch changes {size} lines; the limit is {policy.max_changed_lines}")
    findings.extend(byte_findings(diffs, policy))
    written = {path: text for path, text in writes.items() if text is not None}
    notes: list[str] = []
    syntax_ok = True
    for path, text in written.items():
        problem, note = syntax_problem(path, base.get(path), text)
        findings.extend([problem] if problem else [])
        notes.extend([note] if note else [])
        syntax_ok = syntax_ok and not note
    for path, text in written.items():
        findings.extend(band_aid_findings(path, base.get(path), text, error_type))
        findings.extend(capability_findings(path, base.get(path), text))
    return PolicyReport(
        findings=tuple(findings),
        notes=tuple(notes),
        changed_files=tuple(paths),
        changed_lines=size,
        tests_added=tests_added,
        syntax_checked=bool(written) and syntax_ok,
        diff=diff,
    )


def proposed_writes(
    before: Mapping[str, str], after: Mapping[str, str], base: Mapping[str, str]
) -> tuple[dict[str, str | None], list[str]]:
    """Each path the patch writes, normalised, with its new text (None: deleted); and the paths refused."""
    writes: dict[str, str | None] = {}
    findings: list[str] = []
    for raw, text in after.items():
        if before.get(raw) == text:
            continue
        try:
            path = normalise_path(raw)
        except UnsafePath as error:
            findings.append(str(error))
            continue
        if writes.get(path, text) != text:
            findings.append(f"{path} is written twice, under two spellings, with different text")
        elif base.get(path) != text:
            writes[path] = text
    for raw in before:
        if raw not in after:
            writes.setdefault(normalised_or_same(raw), None)
    return writes, findings


# --- which files ------------------------------------------------------------------------------------


def path_findings(
    path: str,
    text: str | None,
    base: Mapping[str, str],
    allowed: Collection[str],
    repository: Repository,
    policy: PatchPolicy,
) -> list[str]:
    found = []
    glob = protecting_glob(path, policy.protected_globs)
    if glob:
        found.append(f"{path} is a protected path (matches {glob!r}); a fix may never change it")
    found.extend(symlink_findings(path, repository.links, policy.protected_globs))
    old = base.get(path)
    if text is None:
        found.append(f"{path} would be deleted; a fix may not delete files")
    elif old is not None:
        if old.strip() and not text.strip():
            found.append(f"{path} would be emptied; a fix may not delete files or all their content")
        if path not in allowed:
            found.append(f"{path} was not among the context files, so the fix may not change it")
    else:
        found.extend(new_file_findings(path, base, repository))
    return found


def new_file_findings(path: str, base: Mapping[str, str], repository: Repository) -> list[str]:
    """A new file must be a new test, at a test location, where nothing exists yet."""
    existing = repository.files.get(folded(path))
    if existing is not None:
        spelled = "" if existing == path else f" (as {existing})"
        return [
            f"{path} already exists in the repository{spelled} and was not among the context files, "
            "so the fix may not overwrite it"
        ]
    for folder in folders_above(path):
        if folded(folder) in repository.files:
            return [f"{path} would turn the existing file {repository.files[folded(folder)]} into a folder"]
    if not is_test_file(path):
        return [f"{path} is a new file but not a test; a fix may add only new tests"]
    if not is_test_location(path, repository.test_folders, base):
        return [f"{path} is a new test outside the repository's test directories"]
    return []


def folders_above(path: str) -> Iterator[str]:
    """``a``, ``a/b`` for ``a/b/c``."""
    end = path.find("/")
    while end != -1:
        yield path[:end]
        end = path.find("/", end + 1)


def protecting_glob(path: str, globs: Collection[str]) -> str | None:
    key = folded(path)
    for glob in globs:
        if glob_regex(glob).match(key):
            return glob
    return None


@lru_cache(maxsize=256)
def glob_regex(glob: str) -> re2._Regexp:
    """Gitignore-like: ``**`` spans folders, ``*`` does not; a pattern without ``/`` matches any basename.

    Matched case-folded, as a case-insensitive checkout would see the path, and with RE2: a project's globs
    against a path the model chose must stay linear whatever the pattern.
    """
    pattern = folded(glob.strip().lstrip("/"))
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
            regex, index = regex + re2.escape(pattern[index]), index + 1
    prefix = "" if anchored else "(?:.*/)?"
    return re2.compile(f"(?s)^{prefix}{regex}(?:/.*)?$")


def symlink_findings(path: str, links: Mapping[str, tuple[str, str]], globs: Collection[str]) -> list[str]:
    """Writing to a symlink changes where it points, and writing through one replaces it with a folder:
    either way the commit changes the link, not the file it names, so both are refused."""
    link = next((links[key] for key in map(folded, [*folders_above(path), path]) if key in links), None)
    if link is None:
        return []
    name, target = link
    which = "is" if folded(name) == folded(path) else "goes through"
    where = resolved(path, links)
    if where is None:
        return [f"{path} {which} the symlink {name} → {target}, which leads out of the repository"]
    glob = protecting_glob(where, globs)
    if glob:
        return [
            f"{path} {which} the symlink {name} → {target}, which leads to the protected path {where} "
            f"(matches {glob!r})"
        ]
    return [
        f"{path} {which} the symlink {name} → {target}; a fix writes plain files only, "
        "since the commit would change the link, not the file it leads to"
    ]


def resolved(path: str, links: Mapping[str, tuple[str, str]]) -> str | None:
    """Where ``path`` lands once every symlink on the way is followed; None outside the repository (or in a
    loop of links)."""
    done: list[str] = []
    rest = path.split("/")
    hops = 0
    while rest:
        here = "/".join([*done, rest[0]])
        link = links.get(folded(here))
        if link is None:
            done.append(rest.pop(0))
            continue
        hops += 1
        target = link[1]
        if hops > MAX_LINK_HOPS or not target or target.startswith("/"):
            return None
        landed = posixpath.normpath(posixpath.join(*done, target) if done else target)
        if landed == ".." or landed.startswith("../"):
            return None
        rest = [*([] if landed == "." else landed.split("/")), *rest[1:]]
        done = []
    return "/".join(done)


def is_test_file(path: str) -> bool:
    return any(pattern.search(path) for pattern in TEST_FILE_PATTERNS)


def is_test_location(path: str, test_folders: Collection[str], base: Mapping[str, str]) -> bool:
    """A test file's name, in a directory that holds the repository's tests.

    Test directories are those of the existing tests, any ``tests``/``test``/``spec``/``__tests__``
    directory, and, for Go (whose tests sit beside the code), the directory of a context file.
    """
    if not is_test_file(path):
        return False
    folder = posixpath.dirname(path)
    if folder in test_folders:
        return True
    if TEST_DIRECTORY_NAMES & set(folder.split("/")):
        return True
    return path.endswith("_test.go") and folder in {posixpath.dirname(known) for known in base}


# --- how much ---------------------------------------------------------------------------------------


def growth_findings(
    writes: Mapping[str, str | None], base: Mapping[str, str], policy: PatchPolicy
) -> list[str]:
    """What each file grows by: a lower bound of the bytes it adds, known before anything reads the text."""
    found, total = [], 0
    for path, text in writes.items():
        growth = len((text or "").encode()) - len((base.get(path) or "").encode())
        total += max(growth, 0)
        if growth > policy.max_file_bytes:
            found.append(
                f"{path} adds at least {growth} bytes; the limit is {policy.max_file_bytes} bytes per file"
            )
    if total > policy.max_patch_bytes:
        found.append(f"the patch adds at least {total} bytes; the limit is {policy.max_patch_bytes} bytes")
    return found


def byte_findings(diffs: Mapping[str, str], policy: PatchPolicy) -> list[str]:
    """Bytes added or changed, per file and in all, read from each file's diff."""
    found, total = [], 0
    for path, diff in diffs.items():
        size = added_bytes(diff)
        total += size
        if size > policy.max_file_bytes:
            found.append(f"{path} adds {size} bytes; the limit is {policy.max_file_bytes} bytes per file")
    if total > policy.max_patch_bytes:
        found.append(f"the patch adds {total} bytes; the limit is {policy.max_patch_bytes} bytes")
    return found


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
    try:
        error = parse_error(path, new)
    except CheckerUnavailable as unavailable:
        return None, f"{path}: not syntax-checked ({unavailable})"
    if error is None:
        return None, None
    if old is not None and same_checker_fails(path, old):
        return None, f"{path}: did not parse before the change either ({error})"
    return f"{path} does not parse after the change: {error}", None


def parse_error(path: str, text: str) -> str | None:
    """Where ``text`` fails to parse, or None.

    Python with ``ast``; JavaScript, Ruby and Go with the language's own checker where it is installed (it
    knows the newest syntax), otherwise, and TypeScript always, with the tree-sitter grammar.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".py":
        return python_syntax_error(text)
    tool, arguments = CHECKERS.get(suffix, ("", []))
    if tool and shutil.which(tool):
        try:
            return external_syntax_error(tool, arguments, text, module_suffix(suffix, text))
        except CheckerUnavailable:
            pass  # a checker that hangs or crashes: the grammar still knows the language
    if language_of(path) is None:
        raise CheckerUnavailable(f"no checker for {suffix or 'this kind of file'}")
    return syntax_error(path, text)


def module_suffix(suffix: str, text: str) -> str:
    """Node reads a plain .js file as CommonJS; one written with import/export is checked as a module."""
    if suffix == ".js" and re.search(r"^[ \t]*(?:import|export)\b(?!\s*\()", text, re.MULTILINE):
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
    except (RecursionError, MemoryError):  # an expression tens of thousands of terms deep
        return "nested too deeply to parse"
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
