"""Context (pipeline stage 4): exactly the code a fix needs, read from the repository at one commit.

``build_context`` lists the repository once, maps each application frame of the stack trace to a
repository path by the longest path-suffix match, reads those files (nearest the crash first), then adds
their immediate in-repository dependencies: Python imports, relative JS/TS imports, Ruby
``require_relative`` and Rails autoload constants, and for Go the package's other files and the module's
imported packages. Nothing else, and never more than the budget allows. Every file says why it is there;
everything left out says why it was.

No database here: the budget comes in as arguments, the repository through the ``CodeHost`` interface.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from integrations.codehost import BinaryFile, CodeHost, FileNotFound
from pipeline.paths import folded
from pipeline.policy import is_test_file
from pipeline.triage import is_app_frame, sdk_chose, token

DEFAULT_MAX_FILES = 12
DEFAULT_MAX_BYTES = 200_000
# Enough test files to show the fix where the repository's tests live and how they are named, without
# filling the prompt with a large suite's listing.
MAX_TEST_PATHS = 40


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True)
class Context:
    sha: str
    files: Mapping[str, str]  # repository path → text; frame files first, nearest the crash first
    reasons: Mapping[str, str]  # repository path → why it was included
    skipped: tuple[Skipped, ...]  # what was wanted but left out, and why
    frame_paths: Mapping[int, str]  # index of a frame of the primary exception → repository path
    test_paths: tuple[str, ...] = ()  # the repository's test files, those next to the context first
    # For the patch policy. A new file passes only under a test's name, so the existing files it could
    # overwrite are the test-named ones (compared case-folded): keeping every one of those, rather than the
    # whole listing (megabytes for a large repository, on every run), is all the check needs.
    repository_tests: tuple[str, ...] = ()
    symlinks: Mapping[str, str] = field(default_factory=dict)  # each symlink → its target as git stores it

    def __post_init__(self) -> None:
        # Frozen all the way down: the stages after this one read the context, none may change it.
        for name in ("files", "reasons", "frame_paths", "symlinks"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    @property
    def total_bytes(self) -> int:
        return sum(len(text.encode()) for text in self.files.values())

    def as_json(self) -> dict[str, Any]:
        """The context as stored on the run (``FixRun.context``)."""
        return {
            "sha": self.sha,
            "files": dict(self.files),
            "included": [
                {"path": path, "reason": self.reasons[path], "bytes": len(text.encode())}
                for path, text in self.files.items()
            ],
            "skipped": [{"path": item.path, "reason": item.reason} for item in self.skipped],
            "frame_paths": {str(index): path for index, path in self.frame_paths.items()},
            "test_paths": list(self.test_paths),
            "repository_tests": list(self.repository_tests),
            "symlinks": dict(self.symlinks),
        }


# --- mapping frames to repository paths ---------------------------------------------------------------

SCHEME = re.compile(r"^(?:webpack://[^/]*|file://|app://)")


def frame_components(path: str) -> tuple[str, ...]:
    """A frame's path as components, without scheme, query, ``.`` and ``..`` noise."""
    path = SCHEME.sub("", path.replace("\\", "/")).split("?", 1)[0].split("#", 1)[0]
    path = path.removesuffix("c") if path.endswith(".pyc") else path
    return tuple(part for part in path.split("/") if part not in ("", ".", ".."))


class RepositoryIndex:
    """The repository tree at one commit, indexed for suffix matching and directory listing."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = frozenset(paths)
        self.by_name: dict[str, list[str]] = defaultdict(list)
        self.by_directory: dict[str, list[str]] = defaultdict(list)
        for path in sorted(self.paths):
            self.by_name[posixpath.basename(path)].append(path)
            self.by_directory[posixpath.dirname(path)].append(path)

    def __contains__(self, path: str) -> bool:
        return path in self.paths

    def match(self, frame_path: str) -> str | None:
        """The repository path sharing the longest suffix with ``frame_path`` (deploy prefixes ignored).

        A file name alone is not enough when both paths go on to differ (``/app/billing/views.py`` is
        not ``catalog/views.py``). Ties go to the path with the fewest unmatched leading directories, then
        alphabetically, so the answer never depends on the listing's order.
        """
        parts = frame_components(frame_path)
        if not parts:
            return None
        best: tuple[int, int, str] | None = None
        for candidate in self.by_name.get(parts[-1], ()):
            candidate_parts = candidate.split("/")
            shared = common_suffix(parts, candidate_parts)
            if shared < 2 and shared < min(len(parts), len(candidate_parts)):
                continue
            key = (-shared, len(candidate_parts) - shared, candidate)
            if best is None or key < best:
                best = key
        return best[2] if best else None


def common_suffix(left: tuple[str, ...], right: list[str]) -> int:
    shared = 0
    for a, b in zip(reversed(left), reversed(right), strict=False):
        if a != b:
            break
        shared += 1
    return shared


# --- reading the event --------------------------------------------------------------------------------


def primary_frames(event: Mapping[str, Any]) -> list[Mapping]:
    """Frames of the exception that reached the handler (the last of ``exception.values``), oldest first."""
    exception = event.get("exception") if isinstance(event, Mapping) else None
    values = exception.get("values") if isinstance(exception, Mapping) else None
    if not isinstance(values, list) or not values or not isinstance(values[-1], Mapping):
        return []
    stacktrace = values[-1].get("stacktrace")
    frames = stacktrace.get("frames") if isinstance(stacktrace, Mapping) else None
    return frames if isinstance(frames, list) else []


def frame_label(raw: Mapping) -> str:
    return str(raw.get("abs_path") or raw.get("filename") or "")


def frame_reason(raw: Mapping, innermost: bool) -> str:
    # The function name comes from the event: quoted only when it is a plain identifier-like token.
    where = token(str(raw.get("function") or "").strip()) or "a function"
    line = f" line {raw['lineno']}" if isinstance(raw.get("lineno"), int) else ""
    return f"stack frame: {where}{line}" + (" (where the error was raised)" if innermost else "")


# --- dependencies of a file ---------------------------------------------------------------------------


def python_dependencies(path: str, text: str, index: RepositoryIndex) -> Iterator[str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return
    package = posixpath.dirname(path).split("/") if posixpath.dirname(path) else []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from python_module(alias.name.split("."), path, index)
        elif isinstance(node, ast.ImportFrom):
            base = python_base(node, package)
            if base is None:
                continue
            for alias in node.names:
                submodule = list(python_module([*base, alias.name], path, index, relative=node.level > 0))
                yield from submodule or python_module(base, path, index, relative=node.level > 0)


def python_base(node: ast.ImportFrom, package: list[str]) -> list[str] | None:
    module = node.module.split(".") if node.module else []
    if not node.level:
        return module
    if node.level - 1 > len(package):
        return None
    return package[: len(package) - (node.level - 1)] + module


def python_module(
    parts: list[str], importer: str, index: RepositoryIndex, relative: bool = False
) -> Iterator[str]:
    """The repository file of a module, trying the repository root first, then each source root above
    the importing file (``src/`` layouts, a Django project in a subdirectory)."""
    if not parts or not all(parts):
        return
    directories = importer.split("/")[:-1]
    roots = [""] if relative else ["/".join(directories[:depth]) for depth in range(len(directories) + 1)]
    for root in roots:
        stem = posixpath.join(root, *parts)
        for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
            if candidate in index:
                yield candidate
                return


# A relative specifier right after the word that takes it: ``import … from``/``export … from``, a bare or
# dynamic ``import``, ``require(``. Read from that word only, so each is scanned once however long the file.
JS_SPECIFIER = re.compile(r"""(?:\bfrom|\bimport\s*+\(?|\brequire\s*+\()\s*+['"](\.{1,2}/[^'"\n]++)['"]""")
JS_EXTENSIONS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".json")


def js_dependencies(path: str, text: str, index: RepositoryIndex) -> Iterator[str]:
    for specifier in JS_SPECIFIER.findall(text):
        base = posixpath.normpath(posixpath.join(posixpath.dirname(path), specifier))
        candidates = [
            base,
            *(base + ext for ext in JS_EXTENSIONS),
            *(f"{base}/index{ext}" for ext in JS_EXTENSIONS),
        ]
        found = next((candidate for candidate in candidates if candidate in index), None)
        if found:
            yield found


RUBY_REQUIRE_RELATIVE = re.compile(r"""\brequire_relative\s*\(?\s*['"]([^'"]+)['"]""")
RUBY_REQUIRE = re.compile(r"""\brequire\s*\(?\s*['"]([^'"]+)['"]""")
RUBY_CONSTANT = re.compile(r"(?<![\w:])(?:::)?([A-Z]\w*(?:::[A-Z]\w*)*)")
RUBY_COMMENT = re.compile(r"(?m)^[ \t]*#.*$")  # within one line: a run of blank lines is read once


def underscore(constant: str) -> str:
    """Rails' ``underscore``: ``Api::V1::PriceFormatter`` → ``api/v1/price_formatter``."""
    words = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", constant.replace("::", "/"))
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", words).lower()


def autoload_paths(index: RepositoryIndex) -> dict[str, str]:
    """Rails autoload names → files: ``app/*/x.rb`` (and ``app/*/concerns/x.rb``) define ``X``."""
    names: dict[str, str] = {}
    for path in sorted(index.paths):
        match = re.match(r"^(?:.*/)?app/[^/]+/(?:concerns/)?(.+)\.rb$", path)
        if match:
            names.setdefault(match.group(1), path)
    return names


def ruby_dependencies(
    path: str, text: str, index: RepositoryIndex, autoload: dict[str, str]
) -> Iterator[str]:
    directory = posixpath.dirname(path)
    for target in RUBY_REQUIRE_RELATIVE.findall(text):
        candidate = posixpath.normpath(posixpath.join(directory, target))
        candidate = candidate if candidate.endswith(".rb") else f"{candidate}.rb"
        if candidate in index:
            yield candidate
    for target in RUBY_REQUIRE.findall(text):
        if f"lib/{target}.rb" in index:
            yield f"lib/{target}.rb"
    for constant in RUBY_CONSTANT.findall(RUBY_COMMENT.sub("", text)):
        # Rails looks a constant up in its full nesting first, then by its own name.
        for name in (underscore(constant), underscore(constant.rsplit("::", 1)[-1])):
            if name in autoload:
                yield autoload[name]
                break


GO_IMPORT_BLOCK = re.compile(r"(?m)^import\s*+\(")
GO_IMPORT_LINE = re.compile(r'(?m)^import\s+(?:[\w.]+\s+)?"([^"]+)"')
GO_QUOTED = re.compile(r'"([^"]+)"')
GO_MODULE = re.compile(r"(?m)^module\s+(\S+)")


def go_imports(text: str) -> list[str]:
    imports = []
    position = 0
    while block := GO_IMPORT_BLOCK.search(text, position):
        end = text.find(")", block.end())
        if end < 0:
            break  # no block closes after this one, nor after any later one
        imports += GO_QUOTED.findall(text, block.end(), end)
        position = end + 1
    return imports + GO_IMPORT_LINE.findall(text)


def go_package_files(directory: str, index: RepositoryIndex) -> list[str]:
    return [
        path
        for path in index.by_directory.get(directory, ())
        if path.endswith(".go") and not path.endswith("_test.go")
    ]


# --- building the context -----------------------------------------------------------------------------


@dataclass
class Budget:
    max_files: int
    max_bytes: int
    files: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    @property
    def used_bytes(self) -> int:
        return sum(len(text.encode()) for text in self.files.values())

    def skip(self, path: str, reason: str) -> None:
        if path not in self.seen:
            self.seen.add(path)
            self.skipped.append(Skipped(path, reason))

    def add(self, host: CodeHost, sha: str, path: str, reason: str) -> None:
        """Read ``path`` into the context if the budget allows; otherwise record why it is left out."""
        if path in self.seen:
            return
        if len(self.files) >= self.max_files:
            return self.skip(path, f"over budget: the limit of {self.max_files} files was reached")
        try:
            text = host.read(path, sha)
        except FileNotFound:
            return self.skip(path, "not found at this commit")
        except BinaryFile:
            return self.skip(path, "binary file")
        size = len(text.encode())
        if self.used_bytes + size > self.max_bytes:
            return self.skip(
                path, f"over budget: {size} bytes would pass the limit of {self.max_bytes} bytes"
            )
        self.seen.add(path)
        self.files[path] = text
        self.reasons[path] = reason


class ContextBuilder:
    def __init__(self, host: CodeHost, sha: str, max_files: int, max_bytes: int) -> None:
        self.host, self.sha = host, sha
        self.index = RepositoryIndex(host.tree(sha))
        self.budget = Budget(max_files=max_files, max_bytes=max_bytes)
        self.go_modules: dict[str, str] = {}  # go.mod path → module path
        self._autoload: dict[str, str] | None = None

    def build(self, event: Mapping[str, Any]) -> Context:
        frames = primary_frames(event)
        frame_paths = self.map_frames(frames)
        for path, reason in self.frame_files(frames, frame_paths):
            self.budget.add(self.host, self.sha, path, reason)
        frame_files = list(self.budget.files)
        for path in frame_files:
            for dependency in self.dependencies(path, self.budget.files[path]):
                if dependency != path:
                    self.budget.add(self.host, self.sha, dependency, f"imported by `{path}`")
        return Context(
            sha=self.sha,
            files=self.budget.files,
            reasons=self.budget.reasons,
            skipped=tuple(self.budget.skipped),
            frame_paths=frame_paths,
            test_paths=self.test_paths(),
            repository_tests=tuple(path for path in sorted(self.index.paths) if is_test_file(folded(path))),
            symlinks=self.host.symlinks(self.sha),
        )

    def map_frames(self, frames: list) -> dict[int, str]:
        mapped: dict[int, str] = {}
        chosen = sdk_chose([raw for raw in frames if isinstance(raw, Mapping)])
        for position, raw in enumerate(frames):
            if not isinstance(raw, Mapping) or not is_app_frame(raw, chosen):
                continue
            path = self.index.match(frame_label(raw))
            if path:
                mapped[position] = path
            elif frame_label(raw):
                self.budget.skip(frame_label(raw)[:300], "stack frame not found in the repository")
        return mapped

    def frame_files(self, frames: list, frame_paths: dict[int, str]) -> Iterator[tuple[str, str]]:
        """Frame files nearest the crash first, each once, with the reason of its innermost frame."""
        innermost = max(frame_paths, default=None)
        for position in sorted(frame_paths, reverse=True):
            yield frame_paths[position], frame_reason(frames[position], position == innermost)

    def dependencies(self, path: str, text: str) -> Iterator[str]:
        if path.endswith(".py"):
            yield from python_dependencies(path, text, self.index)
        elif path.endswith(JS_EXTENSIONS[:-1]) or path.endswith(".vue"):
            yield from js_dependencies(path, text, self.index)
        elif path.endswith((".rb", ".erb", ".rake")):
            yield from ruby_dependencies(path, text, self.index, self.autoload())
        elif path.endswith(".go"):
            yield from self.go_dependencies(path, text)

    def autoload(self) -> dict[str, str]:
        if self._autoload is None:
            self._autoload = autoload_paths(self.index)
        return self._autoload

    def go_dependencies(self, path: str, text: str) -> Iterator[str]:
        yield from go_package_files(posixpath.dirname(path), self.index)
        root, module = self.go_module(path)
        if not module:
            return
        for imported in go_imports(text):
            if imported.startswith(f"{module}/"):
                directory = posixpath.join(root, imported.removeprefix(f"{module}/"))
                yield from go_package_files(directory, self.index)

    def go_module(self, path: str) -> tuple[str, str]:
        """(directory, module path) of the ``go.mod`` that governs ``path``; ("", "") if there is none."""
        directory = posixpath.dirname(path)
        while True:
            candidate = posixpath.join(directory, "go.mod")
            if candidate in self.index:
                if candidate not in self.go_modules:
                    self.go_modules[candidate] = self.read_go_module(candidate)
                return directory, self.go_modules[candidate]
            if not directory:
                return "", ""
            directory = posixpath.dirname(directory)

    def read_go_module(self, path: str) -> str:
        try:
            match = GO_MODULE.search(self.host.read(path, self.sha))
        except (FileNotFound, BinaryFile):
            return ""
        return match.group(1) if match else ""

    def test_paths(self) -> tuple[str, ...]:
        """Test files of the repository: those named after a context file first (nearest the crash
        first), then those beside the context files, then the rest."""
        tests = [path for path in sorted(self.index.paths) if is_test_path(path)]
        stems = [stem(path) for path in self.budget.files]
        directories = {posixpath.dirname(path) for path in self.budget.files}

        def closeness(path: str) -> tuple[int, int, str]:
            name = posixpath.basename(path)
            named = [rank for rank, word in enumerate(stems) if word not in GENERIC_STEMS and word in name]
            if named:
                return 0, named[0], path
            if any(path.startswith(f"{directory}/") for directory in directories if directory):
                return 1, 0, path
            return 2, 0, path

        return tuple(sorted(tests, key=closeness)[:MAX_TEST_PATHS])


# File names that say nothing about what a test covers.
GENERIC_STEMS = frozenset({"", "__init__", "index", "main", "app", "mod", "lib", "utils", "base"})


TEST_FILE = re.compile(
    r"(?:^|/)(?:test_[^/]+\.py|[^/]+_test\.py|conftest\.py|[^/]+\.(?:test|spec)\.[cm]?[jt]sx?|[^/]+_spec\.rb|"
    r"[^/]+_test\.rb|[^/]+_test\.go)$|(?:^|/)(?:__tests__)/[^/]+\.[cm]?[jt]sx?$"
)


def is_test_path(path: str) -> bool:
    return bool(TEST_FILE.search(path))


def stem(path: str) -> str:
    return posixpath.splitext(posixpath.basename(path))[0]


def build_context(
    event: Mapping[str, Any],
    host: CodeHost,
    sha: str,
    *,
    max_files: int = DEFAULT_MAX_FILES,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Context:
    """The files a fix of ``event`` needs, read from ``host`` at ``sha`` within the budget."""
    return ContextBuilder(host, sha, max_files, max_bytes).build(event)
