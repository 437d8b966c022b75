"""What a change's added code may do: the capability check of the patch policy (DESIGN.md, "Fix safety").

A proposal's new test or changed file runs in the user's CI with the repository's secrets, so code that
reaches the network, spawns processes, reads the environment or secrets files, writes outside the repository
or evaluates strings is refused unless the file already did the same before the change. Each language is
read with a real parser (``ast`` for Python, tree-sitter for the others); what counts is kept as data in the
tables below, and the walkers only resolve names (imports, aliases, ``getattr`` with a literal) to the
spelling the tables use. A capability is compared between the old and new text by what it is, never by
line, so moved code and a file that already used ``requests.get`` pass, and only new capabilities count.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice
from typing import Any

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

NETWORK = "reaches the network"
PROCESS = "spawns processes"
ENVIRONMENT = "reads environment variables"
SECRETS = "reads secrets or files outside the repository"
WRITES = "writes outside the repository"
DYNAMIC = "evaluates strings or loads code dynamically"

KINDS = {
    "network": NETWORK,
    "process": PROCESS,
    "environment": ENVIRONMENT,
    "secrets": SECRETS,
    "writes": WRITES,
    "dynamic": DYNAMIC,
    "safe": None,
}

FINDING = "{path} line {line}: {name} {kind}; a fix or a test may not add that"
MAX_ANALYSED_BYTES = 256 * 1024  # a source file larger than this is refused rather than read
MAX_FINDINGS = 10  # per file: past this the proposal is refused anyway, and the reason stays readable
MAX_NAME_PARTS = 8  # the tables' keys are shorter: a longer chain is cut, never walked in full
MAX_DEPTH = 40  # nested getattr/require/path calls followed before giving up
UNKNOWN = "\x00"  # stands for a part of a path that is not a literal
NAME_PARTS = re.compile(r"\.|/|::")  # what separates the parts of a module, package or constant name


@dataclass(frozen=True)
class Use:
    """One thing the code does: ``key`` names the capability however it is spelled, ``name`` the call."""

    kind: str
    key: str
    name: str
    line: int
    imported: bool = False  # an import alone; a finding prefers naming the call that uses it


def capability_findings(
    path: str, old: str | None, new: str, *, max_bytes: int = MAX_ANALYSED_BYTES
) -> list[str]:
    """What the change's added code may not do: one finding per new capability, naming the call and line."""
    reader = READERS.get(language_of(path) or "")
    if reader is None:
        return []
    if any(
        text is not None and len(text.encode("utf-8", "surrogatepass")) > max_bytes for text in (old, new)
    ):
        return [
            f"{path} is larger than the {max_bytes} bytes the capability check reads, so what its changed "
            "code may do cannot be checked"
        ]
    uses = uses_in(reader, new)
    # Most changes use nothing the tables name, and then the old text need not be read at all.
    known = {(use.kind, use.key) for use in uses_in(reader, old)} if old and uses else set()
    fresh = first_of_each(use for use in uses if (use.kind, use.key) not in known)
    findings = [FINDING.format(path=path, line=use.line, name=use.name, kind=use.kind) for use in fresh]
    if len(findings) > MAX_FINDINGS:
        hidden = len(findings) - MAX_FINDINGS
        findings = [*findings[:MAX_FINDINGS], f"{path}: {hidden} more new capabilities"]
    return findings


def uses_in(reader: Callable[[str], list[Use]], text: str) -> list[Use]:
    """Every capability the text uses; none if it does not parse (the syntax check refuses it)."""
    try:
        return reader(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []


def first_of_each(uses: Iterable[Use]) -> list[Use]:
    """One use per capability: a call before its bare import, then the first line, then the longest name."""
    chosen: dict[tuple[str, str], Use] = {}
    for use in sorted(uses, key=lambda use: (use.imported, use.line, -len(use.name))):
        chosen.setdefault((use.kind, use.key), use)
    return sorted(chosen.values(), key=lambda use: (use.line, use.name))


# --- names, paths and secrets, the same for every language --------------------------------------------


def words(text: str) -> frozenset[str]:
    """The whitespace-separated names in ``text``: how the tables below are written."""
    return frozenset(text.split())


class Table(dict[str, str | None]):
    """Names and what using them does (None: nothing), looked up by the longest entry a name starts with."""

    @classmethod
    def of(cls, **groups: str) -> Table:
        """A table from whitespace-separated names grouped by kind: ``network="socket requests"``."""
        return cls({name: KINDS[group] for group, names in groups.items() for name in names.split()})

    @cached_property
    def roots(self) -> frozenset[str]:
        return frozenset(NAME_PARTS.split(key, maxsplit=1)[0] for key in self)

    @cached_property
    def depth(self) -> int:
        return max(len(NAME_PARTS.split(key)) for key in self)

    def rule(self, name: str) -> tuple[str, str] | None:
        """(kind, entry) for ``name``: ``requests.get`` falls under ``requests``."""
        if NAME_PARTS.split(name, maxsplit=1)[0] not in self.roots:
            return None  # most names in real code start where no entry does: answer those at once
        # Only prefixes as long as the longest entry can match, however long the name.
        cuts = [match.start() for match in islice(NAME_PARTS.finditer(name), self.depth)]
        for end in reversed([*cuts, len(name)][: self.depth]):
            if name[:end] in self:
                kind = self[name[:end]]
                return (kind, name[:end]) if kind else None
        return None


def dotted(parts: Iterable[str], separator: str = ".") -> str:
    return separator.join(list(parts)[:MAX_NAME_PARTS])


def escapes_repository(path: str | None, *, writing: bool) -> bool:
    """An absolute, home or parent path; a write anywhere above its start counts too."""
    if not path or path.startswith(UNKNOWN):
        return bool(path) and writing and ".." in re.split(r"[\\/]", path)
    if path.startswith(("/", "\\", "~")) or re.match(r"[A-Za-z]:[\\/]", path):
        return True
    parts = re.split(r"[\\/]", path)
    return parts[0] == ".." or (writing and ".." in parts)


SECRET_PREFIXES = ("/proc/", "/etc/", "/run/secrets", "/var/run/secrets", "/dev/tcp/", "/dev/udp/", "/root/")
SECRET_DIRECTORIES = frozenset(prefix.rstrip("/") for prefix in SECRET_PREFIXES)
SECRET_NAMES = words(
    """
    .env .envrc .ssh .aws .gnupg .kube .docker .azure gcloud .netrc .npmrc .pypirc .pgpass
    .git-credentials id_rsa id_dsa id_ecdsa id_ed25519 .bash_history
    """
)


def names_secret(text: str) -> bool:
    """A literal that names a secrets file or a system path (``/proc/self/environ``, ``~/.ssh``, ``.env``)."""
    lowered = text.lower().replace(UNKNOWN, "*")
    if lowered in SECRET_DIRECTORIES or lowered.startswith(SECRET_PREFIXES):
        return True
    return any(part in SECRET_NAMES or part.startswith(".env.") for part in re.split(r"[\\/]", lowered))


def secret_use(text: str, line: int) -> list[Use]:
    if not names_secret(text):
        return []
    shown = text.replace(UNKNOWN, "…")
    name = repr(shown if len(shown) <= 60 else shown[:57] + "…")
    return [Use(SECRETS, name, name, line)]


def path_use(call: str, path: str | None, line: int, *, writing: bool) -> list[Use]:
    if not escapes_repository(path, writing=writing):
        return []
    name = f"{call}({(path or '').replace(UNKNOWN, '…')!r})"
    return [Use(WRITES if writing else SECRETS, name, name, line)]


def join_path(parts: Iterable[str | None]) -> str | None:
    values = [UNKNOWN if part is None else part for part in parts]
    if not values or all(value == UNKNOWN for value in values):
        return None
    return "/".join(
        value.rstrip("/") if index < len(values) - 1 else value for index, value in enumerate(values)
    )


def writes_by_mode(mode: str | None) -> bool:
    """An ``open`` mode that writes; a mode that is not a literal is taken to write."""
    return mode is None or any(flag in mode for flag in "wax+")


# --- Python ------------------------------------------------------------------------------------------

PYTHON_NAMES = Table.of(
    network="""
        socket _socket ssl http.client http.server urllib.request urllib.robotparser urllib3 requests httpx
        aiohttp httplib2 pycurl ftplib smtplib poplib imaplib nntplib telnetlib xmlrpc socketserver
        wsgiref.simple_server asyncio.open_connection asyncio.open_unix_connection asyncio.start_server
        asyncio.start_unix_server websocket websockets paramiko grpc boto3 botocore dns.resolver
    """,
    process="""
        subprocess _posixsubprocess pty pexpect sh plumbum multiprocessing webbrowser
        concurrent.futures.ProcessPoolExecutor asyncio.create_subprocess_exec asyncio.create_subprocess_shell
        asyncio.subprocess os.system os.popen os.fork os.forkpty os.posix_spawn os.posix_spawnp os.startfile
        os.execl os.execle os.execlp os.execlpe os.execv os.execve os.execvp os.execvpe
        os.spawnl os.spawnle os.spawnlp os.spawnlpe os.spawnv os.spawnve os.spawnvp
    """,
    environment="os.environ os.environb os.getenv os.getenvb os.path.expandvars environ decouple",
    secrets="""
        dotenv keyring netrc pathlib.Path.home os.path.expanduser pwd.getpwuid django.conf.settings.SECRET_KEY
    """,
    dynamic="""
        builtins builtins.eval builtins.exec builtins.compile builtins.__import__ builtins.globals
        builtins.vars builtins.execfile importlib imp runpy code codeop pickle.load pickle.loads
        pickle.Unpickler _pickle cPickle marshal shelve dill cloudpickle jsonpickle yaml.unsafe_load
        yaml.unsafe_load_all yaml.UnsafeLoader ctypes cffi types.FunctionType types.CodeType sys.modules
        sys._getframe gc.get_objects gc.get_referrers gc.get_referents
    """,
    # The builtins a bare name resolves to that the path checks judge instead.
    safe="builtins.open builtins.getattr",
)
PYTHON_STRINGS = (ast.BinOp, ast.Constant, ast.JoinedStr)  # what a sum of strings is made of
# A bare name that is not bound by an import means the builtin of that name.
PYTHON_BUILTINS = words("eval exec compile __import__ globals vars getattr open execfile")
# os and posix are the same module by another name (and nt on Windows).
PYTHON_MODULE_ALIASES = {
    "posix": "os",
    "nt": "os",
    "_os": "os",
    "__builtins__": "builtins",
    "__builtin__": "builtins",
}
# Attributes that reach a module's globals or builtins from any object (the classic sandbox escapes).
PYTHON_DYNAMIC_ATTRIBUTES = words(
    """
    __globals__ __builtins__ __subclasses__ __code__ __import__ __loader__ __getattribute__ f_globals
    f_builtins
    """
)
# Modules other modules import and so hand out: ``os.path.os``, ``shutil.os``, ``asyncio.subprocess``.
PYTHON_REEXPORTED = words(
    "os sys subprocess builtins socket importlib ctypes pickle marshal pty multiprocessing"
)
# Methods that do these things whatever object they are called on (an event loop, an opener).
PYTHON_METHODS = Table.of(
    network="create_connection create_datagram_endpoint create_unix_connection sock_connect urlopen",
    process="subprocess_exec subprocess_shell",
)
# Modules on which a computed ``getattr`` or a ``__dict__`` may reach one of the names above.
PYTHON_RISKY_ROOTS = frozenset(key.split(".")[0] for key, kind in PYTHON_NAMES.items() if kind)
# Attribute names that ``operator.attrgetter`` and the like may not be handed.
SENSITIVE_MEMBERS = (
    frozenset(key.rsplit(".", 1)[-1] for key, kind in PYTHON_NAMES.items() if kind and "." in key)
    | PYTHON_DYNAMIC_ATTRIBUTES
    | {"__dict__"}
)
PYTHON_OPENS = words("builtins.open io.open codecs.open os.open io.FileIO")
PYTHON_WRITES = words(
    """
    os.remove os.unlink os.rename os.renames os.replace os.makedirs os.mkdir os.rmdir os.removedirs
    os.symlink os.link os.chmod os.chown os.truncate shutil.copy shutil.copy2 shutil.copyfile
    shutil.copytree shutil.move shutil.rmtree shutil.chown shutil.copymode shutil.copystat
    shutil.make_archive shutil.unpack_archive
    """
)
PYTHON_READS = words(
    """
    os.listdir os.scandir os.walk glob.glob glob.iglob linecache.getline fileinput.input
    """
)
PATH_WRITE_METHODS = words(
    """
    write_text write_bytes touch mkdir unlink rmdir rename replace symlink_to hardlink_to chmod
    link_to
    """
)
PATH_SAME_METHODS = words("joinpath resolve absolute expanduser")  # a path to the same place
PATH_READ_METHODS = words("read_text read_bytes iterdir glob rglob readlink")
PYTHON_PATH_CALLS = words(
    """
    os.path.join posixpath.join pathlib.Path pathlib.PurePath pathlib.PosixPath
    pathlib.PurePosixPath pathlib.WindowsPath os.path.abspath os.path.realpath os.path.normpath
    os.fspath builtins.str
    """
)


@dataclass
class PythonScope:
    """What the module's names stand for: imports and aliases, star-imported modules, literal strings."""

    names: dict[str, str]
    stars: list[str]
    strings: dict[str, str]
    inner: set[int]  # nodes that are part of a longer chain or sum, read with it
    docstrings: set[int]


def python_uses(text: str) -> list[Use]:
    tree = ast.parse(text)
    scope = python_scope(tree)
    uses: list[Use] = []
    for node in ast.walk(tree):
        uses.extend(python_node_uses(node, scope))
    return uses


def python_scope(tree: ast.Module) -> PythonScope:
    scope = PythonScope({}, [], {}, set(), set())
    assignments: list[tuple[ast.expr, ast.expr]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                scope.names[bound] = alias.name if alias.asname else bound
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name == "*":
                    scope.stars.append(node.module)
                else:
                    scope.names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Assign):
            assignments.extend((target, node.value) for target in node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
            assignments.append((node.target, node.value))
        elif isinstance(node, ast.Attribute):
            scope.inner.add(id(node.value))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            scope.inner.update(
                id(side) for side in (node.left, node.right) if isinstance(side, PYTHON_STRINGS)
            )
        elif isinstance(node, ast.JoinedStr):
            scope.inner.update(id(value) for value in node.values)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            scope.docstrings.add(id(node.value))
    pairs = list(python_pairs(assignments))
    # An alias may be made from another alias defined later in the file (a function body runs later).
    for _ in range(3):
        for target, value in pairs:
            name = python_name(value, scope)
            if name and target not in scope.names:
                scope.names[target] = name
            path = python_path(value, scope)
            if path is not None and target not in scope.strings:
                scope.strings[target] = path
    return scope


def python_pairs(assignments: list[tuple[ast.expr, ast.expr]]) -> Iterator[tuple[str, ast.expr]]:
    for target, value in assignments:
        if isinstance(target, ast.Name):
            yield target.id, value
        elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            for one, other in zip(target.elts, value.elts, strict=False):
                if isinstance(one, ast.Name):
                    yield one.id, other


def python_node_uses(node: ast.AST, scope: PythonScope) -> list[Use]:
    line = getattr(node, "lineno", 0)
    if isinstance(node, ast.Import):
        return [use for alias in node.names for use in python_rule_use(alias.name, line, imported=True)]
    if isinstance(node, ast.ImportFrom):
        if not node.module or node.level:
            return []  # a relative import is the application's own code
        names = [node.module if alias.name == "*" else f"{node.module}.{alias.name}" for alias in node.names]
        return [use for name in names for use in python_rule_use(name, line, imported=True)]
    if isinstance(node, (ast.Name, ast.Attribute)):
        return python_reference_uses(node, scope, line)
    if isinstance(node, ast.Call):
        return python_call_uses(node, scope, line)
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        if id(node) in scope.docstrings or id(node) in scope.inner:
            return []
        value = node.value if isinstance(node.value, str) else node.value.decode("latin-1")
        return secret_use(value, line)
    if isinstance(node, (ast.JoinedStr, ast.BinOp)) and id(node) not in scope.inner:
        folded = python_fold(node)
        return secret_use(folded, line) if folded and folded.strip(UNKNOWN) else []
    return []


def python_rule_use(name: str, line: int, *, imported: bool = False) -> list[Use]:
    rule = PYTHON_NAMES.rule(name)
    return [Use(rule[0], rule[1], name.removeprefix("builtins."), line, imported)] if rule else []


def python_reference_uses(node: ast.Name | ast.Attribute, scope: PythonScope, line: int) -> list[Use]:
    uses = []
    if isinstance(node, ast.Attribute) and node.attr in PYTHON_DYNAMIC_ATTRIBUTES:
        uses.append(Use(DYNAMIC, node.attr, node.attr, line))
    if id(node) in scope.inner or (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)):
        return uses
    name = python_name(node, scope)
    if name is None:
        if isinstance(node, ast.Attribute) and node.attr in PYTHON_METHODS:
            uses.append(Use(PYTHON_METHODS[node.attr], node.attr, f"….{node.attr}", line))
        return uses
    if (
        isinstance(node, ast.Attribute)
        and node.attr == "__dict__"
        and name.split(".")[0] in PYTHON_RISKY_ROOTS
    ):
        uses.append(Use(DYNAMIC, name, name, line))
    return uses + python_rule_use(name, line)


def python_call_uses(node: ast.Call, scope: PythonScope, line: int) -> list[Use]:
    function = python_name(node.func, scope)
    if function == "builtins.getattr" and len(node.args) >= 2:
        return python_getattr_uses(node, scope, line)
    if function in {"operator.attrgetter", "operator.methodcaller"}:
        literals = [python_literal(argument) for argument in node.args[:1]]
        if any(value is None or value.rsplit(".", 1)[-1] in SENSITIVE_MEMBERS for value in literals):
            return [Use(DYNAMIC, function, function, line)]
        return []
    if function in PYTHON_OPENS:
        path = python_path(python_argument(node, 0, "file"), scope)
        mode = python_argument(node, 1, "mode" if function != "os.open" else "flags")
        writing = python_os_open_writes(mode) if function == "os.open" else python_open_writes(mode)
        return path_use(function.removeprefix("builtins."), path, line, writing=writing)
    if function in PYTHON_WRITES:
        paths = [python_path(argument, scope) for argument in [*node.args, *(k.value for k in node.keywords)]]
        return [use for path in paths for use in path_use(function, path, line, writing=True)][:1]
    if function in PYTHON_READS:
        return path_use(function, python_path(python_argument(node, 0, "path"), scope), line, writing=False)
    if isinstance(node.func, ast.Attribute):
        return python_path_method_uses(node, node.func, scope, line)
    return []


def python_getattr_uses(node: ast.Call, scope: PythonScope, line: int) -> list[Use]:
    attribute = python_literal(node.args[1])
    if attribute is not None:
        name = python_name(node, scope)
        return python_rule_use(name, line) if name else []
    owner = python_name(node.args[0], scope)
    if owner and owner.split(".")[0] in PYTHON_RISKY_ROOTS:
        name = f"getattr({owner}, …)"
        return [Use(DYNAMIC, name, name, line)]
    return []


def python_path_method_uses(
    node: ast.Call, method: ast.Attribute, scope: PythonScope, line: int
) -> list[Use]:
    if method.attr not in PATH_WRITE_METHODS | PATH_READ_METHODS | {"open"}:
        return []
    path = python_path(method.value, scope)
    if method.attr == "open":
        writing = python_open_writes(python_argument(node, 0, "mode"))
    else:
        writing = method.attr in PATH_WRITE_METHODS
    return path_use(f"Path.{method.attr}", path, line, writing=writing)


def python_argument(node: ast.Call, index: int, keyword: str) -> ast.expr | None:
    if len(node.args) > index and not isinstance(node.args[index], ast.Starred):
        return node.args[index]
    return next((item.value for item in node.keywords if item.arg == keyword), None)


def python_open_writes(mode: ast.expr | None) -> bool:
    if mode is None:
        return False
    return writes_by_mode(python_literal(mode))


def python_os_open_writes(flags: ast.expr | None) -> bool:
    names = {getattr(node, "attr", getattr(node, "id", "")) for node in ast.walk(flags)} if flags else set()
    return bool(names & {"O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND", "O_TRUNC"})


def python_name(node: ast.AST, scope: PythonScope, depth: int = 0) -> str | None:
    """The dotted name an expression stands for (``o.environ`` after ``import os as o`` is ``os.environ``)."""
    attributes = []
    while isinstance(node, ast.Attribute):
        attributes.append(node.attr)
        node = node.value
    if len(attributes) > MAX_NAME_PARTS:
        attributes = attributes[-MAX_NAME_PARTS:]
    base = python_base(node, scope, depth)
    if base is None:
        return None
    return python_rebased([*base.split("."), *reversed(attributes)])


def python_rebased(parts: list[str]) -> str:
    """``shutil.os.system`` is ``os.system``: a module hands out the modules it imported as attributes."""
    parts = [PYTHON_MODULE_ALIASES.get(part, part) for part in parts]
    for start in range(len(parts) - 1, 0, -1):
        if parts[start] in PYTHON_REEXPORTED and PYTHON_NAMES.rule(dotted(parts[start:])):
            return dotted(parts[start:])
    return dotted(parts)


def python_base(node: ast.AST, scope: PythonScope, depth: int) -> str | None:
    if isinstance(node, ast.Name):
        return python_resolve(node.id, scope)
    if not isinstance(node, ast.Call) or depth > MAX_DEPTH or not node.args:
        return None
    function = python_name(node.func, scope, depth + 1)
    if function == "builtins.getattr" and len(node.args) >= 2:
        owner, attribute = python_name(node.args[0], scope, depth + 1), python_literal(node.args[1])
        return f"{owner}.{attribute}" if owner and attribute else None
    if function in {"builtins.__import__", "importlib.import_module"}:
        return python_literal(node.args[0])
    return None


def python_resolve(name: str, scope: PythonScope) -> str | None:
    if name in scope.names:
        bound = scope.names[name]
        root, _, rest = bound.partition(".")
        return f"{PYTHON_MODULE_ALIASES.get(root, root)}{'.' if rest else ''}{rest}"
    for module in scope.stars:
        candidate = f"{PYTHON_MODULE_ALIASES.get(module, module)}.{name}"
        if PYTHON_NAMES.rule(candidate):
            return candidate
    if name in PYTHON_MODULE_ALIASES:
        return PYTHON_MODULE_ALIASES[name]
    return f"builtins.{name}" if name in PYTHON_BUILTINS else None


def python_literal(node: ast.AST | None) -> str | None:
    """The string an expression always is (a literal, or literals added together), else None."""
    folded = python_fold(node) if node is not None else None
    return None if folded is None or UNKNOWN in folded else folded


def python_fold(node: ast.AST) -> str | None:
    """A string expression as text, with ``UNKNOWN`` for its parts that are not literals; None if none is."""
    pieces: list[str] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.BinOp) and isinstance(item.op, ast.Add):
            stack.extend([item.right, item.left])
        elif isinstance(item, ast.Constant) and isinstance(item.value, str):
            pieces.append(item.value)
        elif isinstance(item, ast.JoinedStr):
            stack.extend(reversed(item.values))
        else:
            pieces.append(UNKNOWN)
    text = "".join(pieces)
    return None if not text.strip(UNKNOWN) else text


def python_path(node: ast.AST | None, scope: PythonScope, depth: int = 0) -> str | None:
    """The file path an expression builds, with ``UNKNOWN`` for its parts that are not literals."""
    if node is None or depth > MAX_DEPTH:
        return None
    if isinstance(node, ast.Name):
        return scope.strings.get(node.id)
    if isinstance(node, ast.Attribute):
        return "/" if python_name(node, scope) in {"os.sep", "os.path.sep"} else None
    if isinstance(node, ast.Constant) and isinstance(node.value, bytes):
        return node.value.decode("latin-1")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return join_path(
            [python_path(node.left, scope, depth + 1), python_path(node.right, scope, depth + 1)]
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return python_path(node.left, scope, depth + 1)
    if isinstance(node, ast.Call):
        return python_call_path(node, scope, depth)
    return python_fold(node)


def python_call_path(node: ast.Call, scope: PythonScope, depth: int) -> str | None:
    function = python_name(node.func, scope)
    if function == "pathlib.Path.home":
        return "~"
    if function == "os.path.expanduser" and node.args:
        return python_path(node.args[0], scope, depth + 1)
    if function in PYTHON_PATH_CALLS and node.args:
        return join_path(python_path(argument, scope, depth + 1) for argument in node.args)
    if isinstance(node.func, ast.Attribute) and node.func.attr in PATH_SAME_METHODS:
        base = python_path(node.func.value, scope, depth + 1)
        return join_path([base, *(python_path(argument, scope, depth + 1) for argument in node.args)])
    return None


# --- tree-sitter helpers ----------------------------------------------------------------------------

WRAPPERS = words(
    """
    parenthesized_expression as_expression satisfies_expression non_null_expression type_assertion
    await_expression
    """
)


def walk(
    root: tree_sitter.Node,
    inner_of: Callable[[tree_sitter.Node], set[int]],
    passing: frozenset[str] = WRAPPERS,
) -> Iterator[tuple[tree_sitter.Node, bool]]:
    """Every named node, and whether it is read with a larger one (``inner_of`` says which children are;
    the children of an inner node whose type is in ``passing`` are too)."""
    stack = [(root, False)]
    while stack:
        node, inner = stack.pop()
        yield node, inner
        chained = inner_of(node)
        wrapped = inner and node.type in passing
        stack.extend(
            (child, wrapped or child.id in chained) for child in reversed(node.children) if child.is_named
        )


def unwrap(node: tree_sitter.Node | None) -> tree_sitter.Node | None:
    while node is not None and node.type in WRAPPERS | {"sequence_expression"}:
        named = node.named_children
        if not named:
            return None
        # ``(0, eval)`` is eval: a sequence is its last expression; a cast is its first child.
        node = named[-1] if node.type == "sequence_expression" else named[0]
    return node


def operator(node: tree_sitter.Node) -> str:
    child = node.child_by_field_name("operator")
    return node_text(child) if child is not None else ""


def field_id(node: tree_sitter.Node, name: str) -> set[int]:
    child = node.child_by_field_name(name)
    return {child.id} if child is not None else set()


ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "0": "\0",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "a": "\a",
    "e": "\x1b",
}


def unescape(sequence: str) -> str:
    """The character an escape sequence of JavaScript, Ruby or Go stands for."""
    body = sequence[1:]
    try:
        if body[:1] in {"x", "X"} and len(body) > 1:
            return chr(int(body[1:], 16))
        if body.startswith("u{"):
            return chr(int(body[2:].rstrip("}"), 16))
        if body[:1] in {"u", "U"} and len(body) > 1:
            return chr(int(body[1:], 16))
        if body[:1] in "01234567" and len(body) > 1:
            return chr(int(body, 8))
    except (ValueError, OverflowError):
        return ""
    if body.startswith(("\n", "\r")):
        return ""
    return ESCAPES.get(body, body)


def string_sum(node: tree_sitter.Node, strings: frozenset[str], sum_type: str) -> str | None:
    """A string literal or a sum of them as text, ``UNKNOWN`` for each part that is not a literal; None if
    no part is."""
    pieces: list[str] = []
    stack: list[tree_sitter.Node | None] = [node]
    while stack:
        item = unwrap(stack.pop())
        if item is not None and item.type in strings:
            pieces.append(string_value(item))
        elif item is not None and item.type == sum_type and operator(item) == "+":
            stack.extend(reversed([item.child_by_field_name("left"), item.child_by_field_name("right")]))
        else:
            pieces.append(UNKNOWN)
    text = "".join(pieces)
    return None if not text.strip(UNKNOWN) else text


def string_value(node: tree_sitter.Node) -> str:
    """A string literal's text, escapes decoded and each interpolation as ``UNKNOWN``."""
    pieces = []
    for child in node.named_children:
        if child.type == "escape_sequence":
            pieces.append(unescape(node_text(child)))
        elif child.type in {"template_substitution", "interpolation"}:
            pieces.append(UNKNOWN)
        else:
            pieces.append(node_text(child))
    return "".join(pieces)


# --- JavaScript and TypeScript ------------------------------------------------------------------------

JS_NAMES = Table.of(
    process="child_process cluster execa shelljs cross-spawn zx Deno Bun",
    network="""
        http https http2 net tls dgram dns undici axios node-fetch got superagent supertest request needle
        cross-fetch isomorphic-fetch ky ws socket.io-client nodemailer fetch XMLHttpRequest WebSocket
        EventSource RTCPeerConnection navigator.sendBeacon
    """,
    environment="process.env Deno.env Bun.env import.meta.env",
    secrets="dotenv os.homedir os.userInfo",
    dynamic="""
        vm node:module repl inspector worker_threads v8 eval Function execScript importScripts WebAssembly
        process.binding process._linkedBinding process.dlopen process.mainModule process.getBuiltinModule
        require.cache require.extensions require.main.require module.constructor module.require module._load
        module.children
    """,
)
# A bare ``process`` handed around carries its ``env``; a bare global object carries everything.
JS_EXACT = {"process": ENVIRONMENT, "globalThis": DYNAMIC, "global": DYNAMIC, "window": DYNAMIC}
JS_GLOBAL_OBJECTS = words("globalThis global window self")
# Names that mean a global when no import or declaration binds them.
JS_GLOBALS = JS_GLOBAL_OBJECTS | words(
    """
    fetch XMLHttpRequest WebSocket EventSource RTCPeerConnection navigator process eval Function
    execScript importScripts WebAssembly require module Deno Bun Reflect Object setTimeout setInterval
    setImmediate
    """
)
# Objects whose members looked up by a computed name may be anything at all.
JS_SENSITIVE_OBJECTS = JS_GLOBAL_OBJECTS | words("process require module Reflect Deno Bun")
JS_STRING_TIMERS = words("setTimeout setInterval setImmediate execScript")
JS_FS_MODULES = words("fs fs-extra graceful-fs")
JS_FS_WRITES = words(
    """
    writeFile appendFile createWriteStream copyFile cp rename symlink link mkdir mkdtemp rm rmdir
    unlink chmod chown truncate outputFile outputJson writeJson copy move remove emptyDir ensureFile
    ensureDir utimes
    """
)
JS_FS_READS = words("readFile createReadStream readdir readlink opendir readJson access exists stat")
JS_PATH_JOINS = words("path.join path.resolve path.posix.join path.posix.resolve")
JS_STRINGS = words("string template_string")
JS_MEMBERS = words("member_expression subscript_expression")
JS_IMPORT_CLAUSES = words(
    """
    import_clause namespace_import named_imports import_specifier import_require_clause export_clause
    export_specifier
    """
)
JS_BINDING_FIELDS = {
    "variable_declarator": ("name",),
    "assignment_expression": ("left",),
    "pair_pattern": ("value",),
    "assignment_pattern": ("left",),
    "object_assignment_pattern": ("left",),
}
JS_FUNCTIONS = words("function_expression arrow_function generator_function class function")
JS_PROTOTYPE_GETTERS = words("Object.getPrototypeOf Reflect.getPrototypeOf")


@dataclass
class JavaScriptScope:
    names: dict[str, str]
    strings: dict[str, str]
    # Each member chain's name by node, so that every link of a long chain is resolved once, not once
    # for each link above it; cleared whenever ``names`` may still change.
    resolved: dict[int, str | None] = field(default_factory=dict)


def javascript_inner(node: tree_sitter.Node) -> set[int]:
    if node.type in JS_MEMBERS:
        return field_id(node, "object")
    if node.type == "binary_expression" and operator(node) == "+":
        return {child.id for child in node.named_children if child.type in JS_STRINGS | {"binary_expression"}}
    if node.type in {"import_statement", "export_statement"}:
        # The names an import binds are not uses: the statement itself is the import's use.
        return {child.id for child in node.named_children if child.type in JS_IMPORT_CLAUSES}
    if node.type in JS_BINDING_FIELDS:
        # Nor is the name a declaration binds: ``cp`` in ``const cp = require(…)`` is used where it is read.
        return {
            child.id
            for field in JS_BINDING_FIELDS[node.type]
            for child in node.children_by_field_name(field)
            if child.type == "identifier"
        }
    if node.type in {"array_pattern", "rest_pattern"}:
        return {child.id for child in node.named_children if child.type == "identifier"}
    return set()


def javascript_scope(nodes: list[tree_sitter.Node]) -> JavaScriptScope:
    scope = JavaScriptScope({}, {})
    bindings: list[tuple[tree_sitter.Node, tree_sitter.Node]] = []
    for node in nodes:
        if node.type in {"import_statement", "export_statement"}:
            javascript_import_names(node, scope)
        elif node.type == "variable_declarator":
            name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
            if name is not None and value is not None:
                bindings.append((name, value))
        elif node.type == "assignment_expression":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if left is not None and right is not None and left.type == "identifier":
                bindings.append((left, right))
    for _ in range(3):
        for target, value in bindings:
            javascript_bind(target, javascript_name(value, scope), scope, 0)
            path = javascript_path(value, scope)
            if target.type == "identifier" and path is not None:
                scope.strings.setdefault(node_text(target), path)
        scope.resolved.clear()
    return scope


def javascript_import_names(node: tree_sitter.Node, scope: JavaScriptScope) -> None:
    module = javascript_module(node)
    if module is None:
        return
    for clause in node.named_children:
        if clause.type == "import_require_clause":
            scope.names[node_text(clause.named_children[0])] = module
        if clause.type != "import_clause":
            continue
        for part in clause.named_children:
            if part.type == "identifier":
                scope.names[node_text(part)] = module
            elif part.type == "namespace_import" and part.named_children:
                scope.names[node_text(part.named_children[-1])] = module
            elif part.type == "named_imports":
                for specifier in part.named_children:
                    imported = specifier.child_by_field_name("name")
                    local = specifier.child_by_field_name("alias") or imported
                    if imported is not None and local is not None:
                        scope.names[node_text(local)] = f"{module}.{javascript_key(imported)}"


def javascript_module(node: tree_sitter.Node) -> str | None:
    source = node.child_by_field_name("source")
    if source is None:
        clause = next((child for child in node.named_children if child.type == "import_require_clause"), None)
        source = clause.child_by_field_name("source") if clause is not None else None
    literal = javascript_literal(source)
    return module_name(literal) if literal is not None else None


def module_name(specifier: str) -> str:
    """``node:fs/promises`` and ``fs/promises`` are both ``fs.promises``.

    Node's ``module`` keeps its prefix: bare, ``module`` is CommonJS's own object (``module.exports``).
    """
    name = specifier.removeprefix("node:").replace("/", ".")
    return "node:module" if name.split(".")[0] == "module" else name


def javascript_key(node: tree_sitter.Node) -> str:
    return javascript_literal(node) or node_text(node) if node.type in JS_STRINGS else node_text(node)


def javascript_bind(target: tree_sitter.Node, value: str | None, scope: JavaScriptScope, depth: int) -> None:
    if value is None or depth > MAX_DEPTH:
        return
    if target.type == "identifier":
        scope.names.setdefault(node_text(target), value)
    elif target.type == "object_pattern":
        for part in target.named_children:
            if part.type == "shorthand_property_identifier_pattern":
                scope.names.setdefault(node_text(part), f"{value}.{node_text(part)}")
            elif part.type == "object_assignment_pattern" and part.named_children:
                name = node_text(part.named_children[0])
                scope.names.setdefault(name, f"{value}.{name}")
            elif part.type == "pair_pattern":
                key, inner = part.child_by_field_name("key"), part.child_by_field_name("value")
                if key is not None and inner is not None:
                    if inner.type == "assignment_pattern" and inner.named_children:
                        inner = inner.named_children[0]
                    javascript_bind(inner, f"{value}.{javascript_key(key)}", scope, depth + 1)
            elif part.type == "rest_pattern" and part.named_children:
                javascript_bind(part.named_children[0], value, scope, depth + 1)


def javascript_name(node: tree_sitter.Node | None, scope: JavaScriptScope, depth: int = 0) -> str | None:
    """The name an expression stands for: a module member, a global, ``process.env``…; None if unknown."""
    chain = []
    node = unwrap(node)
    while node is not None and node.type in JS_MEMBERS and node.id not in scope.resolved:
        chain.append(node)
        node = unwrap(node.child_by_field_name("object"))
    if node is not None and node.id in scope.resolved:
        name = scope.resolved[node.id]
    else:
        name = javascript_base(node, scope, depth)
    for link in reversed(chain):
        name = javascript_extend(name, link)
        scope.resolved[link.id] = name
    return name


def javascript_extend(name: str | None, link: tree_sitter.Node) -> str | None:
    """``name`` with the member ``link`` reads; ``globalThis.fetch`` is ``fetch``; long names stay cut."""
    if name is None or name.count(".") + 1 >= MAX_NAME_PARTS:
        return name
    member = javascript_member(link)
    if member is None:
        return None
    return member if name in JS_GLOBAL_OBJECTS else f"{name}.{member}"


def javascript_member(node: tree_sitter.Node) -> str | None:
    """The member a ``.name`` or ``["literal"]`` reads; None for a computed one."""
    if node.type == "member_expression":
        prop = node.child_by_field_name("property")
        return node_text(prop) if prop is not None else ""
    return javascript_literal(unwrap(node.child_by_field_name("index")))


def javascript_base(node: tree_sitter.Node | None, scope: JavaScriptScope, depth: int) -> str | None:
    if node is None or depth > MAX_DEPTH:
        return None
    if node.type in {"identifier", "shorthand_property_identifier"}:
        name = node_text(node)
        return scope.names.get(name, name if name in JS_GLOBALS else None)
    if node.type == "meta_property":
        return node_text(node)  # import.meta
    if node.type != "call_expression":
        return None
    function = unwrap(node.child_by_field_name("function"))
    arguments = javascript_arguments(node)
    if function is not None and function.type == "import" and arguments:
        literal = javascript_literal(arguments[0])
        return module_name(literal) if literal is not None else None
    called = javascript_name(function, scope, depth + 1)
    if called in {"require", "module.require", "process.getBuiltinModule"} and arguments:
        literal = javascript_literal(arguments[0])
        return module_name(literal) if literal is not None else None
    if called == "Reflect.get" and len(arguments) >= 2:
        owner, key = javascript_name(arguments[0], scope, depth + 1), javascript_literal(arguments[1])
        if owner is None or key is None:
            return None
        return key if owner in JS_GLOBAL_OBJECTS else f"{owner}.{key}"
    return None


def javascript_arguments(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    arguments = node.child_by_field_name("arguments")
    if arguments is None or arguments.type != "arguments":
        return []
    return [unwrap(child) or child for child in arguments.named_children]


def javascript_literal(node: tree_sitter.Node | None) -> str | None:
    folded = string_sum(node, JS_STRINGS, "binary_expression") if node is not None else None
    return None if folded is None or UNKNOWN in folded else folded


def javascript_rule(name: str) -> tuple[str, str] | None:
    if name in JS_EXACT:
        return JS_EXACT[name], name
    return JS_NAMES.rule(name)


def javascript_rule_use(name: str | None, line: int, *, imported: bool = False) -> list[Use]:
    rule = javascript_rule(name) if name else None
    return [Use(rule[0], rule[1], name, line, imported)] if rule and name else []


def javascript_node_uses(node: tree_sitter.Node, inner: bool, scope: JavaScriptScope) -> list[Use]:
    line = line_of(node)
    kind = node.type
    if kind in {"import_statement", "export_statement"}:
        if any(child.type == "type" for child in node.children):
            return []  # ``import type``: erased when compiled, so it does nothing at run time
        module = javascript_module(node)
        return javascript_rule_use(module, line, imported=True) if module else []
    if kind == "member_expression" and javascript_is_function_constructor(node, scope):
        return [Use(DYNAMIC, "constructor", "constructor", line)]
    if kind in {"identifier", "shorthand_property_identifier", "member_expression"} and not inner:
        return javascript_rule_use(javascript_name(node, scope), line)
    if kind == "subscript_expression":
        return javascript_subscript_uses(node, inner, scope, line)
    if kind == "call_expression":
        return javascript_call_uses(node, scope, line)
    if kind == "with_statement":
        return [Use(DYNAMIC, "with", "with", line)]
    if (kind in JS_STRINGS or (kind == "binary_expression" and operator(node) == "+")) and not inner:
        folded = string_sum(node, JS_STRINGS, "binary_expression")
        return secret_use(folded, line) if folded else []
    return []


def javascript_is_function_constructor(node: tree_sitter.Node, scope: JavaScriptScope) -> bool:
    """``(async () => {}).constructor`` and the like: the Function constructor reached through a value."""
    prop = node.child_by_field_name("property")
    if prop is None or node_text(prop) != "constructor":
        return False
    owner = unwrap(node.child_by_field_name("object"))
    if owner is None:
        return False
    if owner.type in JS_FUNCTIONS:
        return True
    if (
        owner.type == "member_expression"
        and node_text(owner.child_by_field_name("property")) == "constructor"
    ):
        return True
    if owner.type != "call_expression":
        return False
    return javascript_name(owner.child_by_field_name("function"), scope) in JS_PROTOTYPE_GETTERS


def javascript_subscript_uses(
    node: tree_sitter.Node, inner: bool, scope: JavaScriptScope, line: int
) -> list[Use]:
    index = javascript_literal(unwrap(node.child_by_field_name("index")))
    if index is not None:
        return [] if inner else javascript_rule_use(javascript_name(node, scope), line)
    owner = javascript_name(node.child_by_field_name("object"), scope)
    if owner is None:
        return []
    if owner in JS_SENSITIVE_OBJECTS:
        name = f"{owner}[…]"
        return [Use(DYNAMIC, name, name, line)]
    return javascript_rule_use(owner, line)


def javascript_call_uses(node: tree_sitter.Node, scope: JavaScriptScope, line: int) -> list[Use]:
    function = unwrap(node.child_by_field_name("function"))
    arguments = javascript_arguments(node)
    if function is None:
        return []
    called = "import" if function.type == "import" else javascript_name(function, scope)
    if called in {"import", "require", "module.require", "process.getBuiltinModule"}:
        if arguments and javascript_literal(arguments[0]) is not None:
            module = module_name(javascript_literal(arguments[0]) or "")
            return javascript_rule_use(module, line, imported=True)
        name = f"{called}(…)"
        return [Use(DYNAMIC, name, name, line)]
    if called == "Reflect.get" and len(arguments) >= 2:
        return javascript_reflect_uses(node, arguments, scope, line)
    if called in JS_STRING_TIMERS and arguments and arguments[0].type in JS_STRINGS | {"binary_expression"}:
        name = f"{called}(string)"
        return [Use(DYNAMIC, name, name, line)]
    if (
        function.type == "member_expression"
        and node_text(function.child_by_field_name("property")) == "constructor"
    ):
        # ``x.constructor(code)`` called as a function, not with ``new``: the Function constructor.
        return [Use(DYNAMIC, "constructor", "constructor(…)", line)]
    return javascript_fs_uses(called, arguments, scope, line) if called else []


def javascript_reflect_uses(
    node: tree_sitter.Node, arguments: list[tree_sitter.Node], scope: JavaScriptScope, line: int
) -> list[Use]:
    """``Reflect.get(process, "env")`` is ``process.env``; with a computed key it may be anything."""
    if javascript_literal(arguments[1]) is not None:
        return javascript_rule_use(javascript_name(node, scope), line)
    owner = javascript_name(arguments[0], scope)
    if owner in JS_SENSITIVE_OBJECTS:
        name = f"Reflect.get({owner}, …)"
        return [Use(DYNAMIC, name, name, line)]
    return javascript_rule_use(owner, line) if owner else []


def javascript_fs_uses(
    called: str, arguments: list[tree_sitter.Node], scope: JavaScriptScope, line: int
) -> list[Use]:
    module, _, method = called.partition(".")
    if module not in JS_FS_MODULES:
        return []
    method = method.removeprefix("promises.").removesuffix("Sync")
    if method == "open" and arguments:
        mode = javascript_literal(arguments[1]) if len(arguments) > 1 else "r"
        return path_use(
            f"fs.{method}", javascript_path(arguments[0], scope), line, writing=writes_by_mode(mode)
        )
    if method in JS_FS_WRITES:
        paths = [javascript_path(argument, scope) for argument in arguments]
        return [use for path in paths for use in path_use(f"fs.{method}", path, line, writing=True)][:1]
    if method in JS_FS_READS and arguments:
        return path_use(f"fs.{method}", javascript_path(arguments[0], scope), line, writing=False)
    return []


def javascript_path(node: tree_sitter.Node | None, scope: JavaScriptScope, depth: int = 0) -> str | None:
    node = unwrap(node)
    if node is None or depth > MAX_DEPTH:
        return None
    if node.type == "identifier":
        return scope.strings.get(node_text(node))
    if node.type == "member_expression":
        return "/" if javascript_name(node, scope) == "path.sep" else None
    if node.type == "call_expression":
        called = javascript_name(node.child_by_field_name("function"), scope)
        arguments = javascript_arguments(node)
        if called == "os.homedir":
            return "~"
        if called in JS_PATH_JOINS and arguments:
            return join_path(javascript_path(argument, scope, depth + 1) for argument in arguments)
        return None
    if node.type in JS_STRINGS or node.type == "binary_expression":
        return string_sum(node, JS_STRINGS, "binary_expression")
    return None


# --- Ruby --------------------------------------------------------------------------------------------

RUBY_NAMES = Table.of(
    network="""
        Net TCPSocket TCPServer UDPSocket UNIXSocket Socket BasicSocket OpenURI URI.open HTTParty Faraday
        RestClient Excon Typhoeus HTTPClient HTTP Resolv WEBrick DRb
    """,
    process="""
        Open3 PTY IO.popen Process.spawn Process.exec Process.fork Process.daemon Kernel.system Kernel.exec
        Kernel.spawn Kernel.fork Kernel.syscall Kernel.` Kernel.open
    """,
    environment="ENV",
    secrets="""
        Dotenv Dir.home Etc.getpwuid Etc.getpwnam Rails.application.credentials Rails.application.secrets
    """,
    dynamic="""
        Kernel.binding Kernel.load Marshal.load Marshal.restore RubyVM Fiddle ObjectSpace TOPLEVEL_BINDING
        YAML.unsafe_load Psych.unsafe_load
    """,
)
# What ``require`` brings in: the library name as written.
RUBY_LIBRARIES = Table.of(
    network="""
        net open-uri socket resolv webrick drb httparty faraday rest-client excon typhoeus httpclient http
    """,
    process="open3 pty",
    secrets="dotenv",
    dynamic="fiddle objspace",
)
RUBY_EVALS = words("eval instance_eval class_eval module_eval")
RUBY_SENDS = words("send public_send __send__ method public_method instance_method")
RUBY_SENDS_ALSO = words("singleton_method define_method")
RUBY_CONSTANT_LOOKUPS = words("const_get constantize safe_constantize")
RUBY_REQUIRES = words("require require_relative load autoload")
# Method names that, sent by name, do what the tables forbid.
RUBY_DANGEROUS_METHODS = frozenset(
    {name.split(".")[1] for name in RUBY_NAMES if name.startswith("Kernel.")}
    | RUBY_EVALS
    | RUBY_SENDS
    | RUBY_CONSTANT_LOOKUPS
    | RUBY_REQUIRES
    | {"instance_exec", "class_exec", "module_exec", "popen", "popen3", "capture2", "capture2e", "capture3"}
    | {"instance_variable_get", "remove_const", "const_set"}
)
RUBY_BARE_CALLS = words("fork binding system exec spawn syscall")
RUBY_WRITES = words(
    """
    File.write File.binwrite IO.write IO.binwrite File.delete File.unlink File.rename File.symlink
    File.link File.chmod File.truncate Dir.mkdir Dir.rmdir Dir.delete
    """
)
RUBY_READS = words(
    """
    File.read File.readlines File.binread File.foreach IO.read IO.readlines IO.foreach IO.binread
    Dir.glob Dir.entries Dir.children Dir.each_child Dir.[] File.readlink
    """
)
RUBY_OPENS = words("File.open File.new IO.sysopen Kernel.open")
RUBY_PATH_CALLS = words("File.join File.expand_path File.absolute_path Pathname.new Kernel.Pathname")
RUBY_PATHNAME_WRITES = words("write binwrite delete unlink mkpath rmtree make_symlink")
RUBY_PATHNAME_READS = words("read binread readlines each_line children entries")
RUBY_STRINGS = words("string")


@dataclass
class RubyScope:
    names: dict[str, str]
    strings: dict[str, str]
    locals: set[str]
    # Each chain's name by node, so that every link of a long chain is resolved once (as for JavaScript).
    resolved: dict[int, str | None] = field(default_factory=dict)


def ruby_inner(node: tree_sitter.Node) -> set[int]:
    if node.type == "scope_resolution":
        return field_id(node, "scope") | field_id(node, "name")
    if node.type == "binary" and operator(node) == "+":
        return {child.id for child in node.named_children if child.type in {"binary", "string"}}
    if node.type == "call":
        return field_id(node, "method")
    if node.type in {"method", "singleton_method"}:
        return field_id(node, "name")
    return set()


def ruby_scope(nodes: list[tree_sitter.Node]) -> RubyScope:
    scope = RubyScope({}, {}, set())
    assignments = []
    for node in nodes:
        if node.type == "assignment":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if left is not None and right is not None and left.type in {"identifier", "constant"}:
                assignments.append((node_text(left), right))
                scope.locals.add(node_text(left))
        elif node.type in {"method_parameters", "block_parameters", "lambda_parameters", "parameters"}:
            scope.locals.update(
                node_text(child) for child in node.named_children if child.type == "identifier"
            )
    for _ in range(3):
        for name, value in assignments:
            resolved = ruby_name(value, scope)
            if resolved:
                scope.names.setdefault(name, resolved)
            path = ruby_path(value, scope)
            if path is not None:
                scope.strings.setdefault(name, path)
        scope.resolved.clear()
    return scope


def ruby_name(node: tree_sitter.Node | None, scope: RubyScope) -> str | None:
    """What an expression stands for: a constant (``::Net::HTTP``, an alias of ``Kernel``), or one followed
    by calls without arguments (``Rails.application.credentials``); None if unknown."""
    chain: list[tuple[tree_sitter.Node, str, tree_sitter.Node | None]] = []  # from the outermost in
    while node is not None and node.id not in scope.resolved:
        if node.type == "scope_resolution":
            chain.append((node, "::", node.child_by_field_name("name")))
            node = node.child_by_field_name("scope")
        elif node.type == "call" and ruby_is_attribute(node):
            chain.append((node, ".", node.child_by_field_name("method")))
            node = node.child_by_field_name("receiver")
        elif node.type == "parenthesized_statements" and node.named_child_count == 1:
            chain.append((node, "", None))
            node = node.named_children[0]
        else:
            break
    if node is None:
        name: str | None = "" if chain else None  # a chain that starts at the top level: ``::ENV``
    elif node.id in scope.resolved:
        name = scope.resolved[node.id]
    elif node.type in {"constant", "identifier"}:
        name = scope.names.get(node_text(node), node_text(node) if node.type == "constant" else None)
    else:
        name = None
    for link, separator, part in reversed(chain):
        if name is not None and part is not None and name.count(".") + name.count("::") < MAX_NAME_PARTS:
            name = f"{name}{separator}{node_text(part)}"
        scope.resolved[link.id] = name
    return re.sub(r"^(?:::)?(?:(?:Object|Kernel)::(?=[A-Z]))*", "", name) if name else None


def ruby_is_attribute(node: tree_sitter.Node) -> bool:
    """A call that reads like an attribute: ``x.y``, with a receiver and no arguments or block."""
    return node.child_by_field_name("receiver") is not None and not (
        node.child_by_field_name("arguments") or node.child_by_field_name("block")
    )


def ruby_literal(node: tree_sitter.Node | None) -> str | None:
    """The text of a string or symbol literal with no interpolation; None for anything else."""
    if node is None:
        return None
    if node.type == "simple_symbol":
        return node_text(node).removeprefix(":")
    if node.type in {"string", "delimited_symbol"}:
        value = string_value(node)
        return None if UNKNOWN in value else value
    return None


def ruby_arguments(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    arguments = node.child_by_field_name("arguments")
    return list(arguments.named_children) if arguments is not None else []


def ruby_rule_use(name: str, line: int, *, imported: bool = False) -> list[Use]:
    rule = RUBY_NAMES.rule(name)
    return [Use(rule[0], rule[1], name.removeprefix("Kernel."), line, imported)] if rule else []


def ruby_node_uses(node: tree_sitter.Node, inner: bool, scope: RubyScope) -> list[Use]:
    line = line_of(node)
    kind = node.type
    if kind in {"constant", "scope_resolution"} and not inner:
        name = ruby_name(node, scope)
        return ruby_rule_use(name, line) if name else []
    if kind == "identifier" and node_text(node) in RUBY_BARE_CALLS and node_text(node) not in scope.locals:
        return ruby_rule_use(f"Kernel.{node_text(node)}", line)
    if kind == "subshell":
        return [Use(PROCESS, "Kernel.`", "`…`", line)]
    if kind == "heredoc_beginning" and "`" in node_text(node):
        return [Use(PROCESS, "Kernel.`", node_text(node), line)]
    if kind == "call":
        return ruby_call_uses(node, scope, line)
    if kind == "string" and not inner:
        return secret_use(string_value(node), line)
    if kind == "binary" and not inner:
        folded = string_sum(node, RUBY_STRINGS, "binary")
        return secret_use(folded, line) if folded else []
    return []


def ruby_call_uses(node: tree_sitter.Node, scope: RubyScope, line: int) -> list[Use]:
    method_node = node.child_by_field_name("method")
    method = node_text(method_node) if method_node is not None else ""
    receiver = node.child_by_field_name("receiver")
    arguments = ruby_arguments(node)
    first = ruby_literal(arguments[0]) if arguments else None
    if (
        method in RUBY_SENDS | RUBY_SENDS_ALSO
        and arguments
        and (first is None or first in RUBY_DANGEROUS_METHODS)
    ):
        name = f"{method}(:{first})" if first else f"{method}(…)"
        return [Use(DYNAMIC, name, name, line)]
    if method in RUBY_EVALS and arguments:
        return [Use(DYNAMIC, method, f"{method}(string)", line)]
    if method in RUBY_CONSTANT_LOOKUPS:
        literal = first if method == "const_get" else ruby_literal(receiver)
        if literal is None:
            return [Use(DYNAMIC, method, f"{method}(…)", line)]
        return ruby_rule_use(literal.removeprefix("::"), line)
    if receiver is None and method in RUBY_REQUIRES:
        return ruby_require_uses(method, arguments, first, line)
    if receiver is not None:
        owner = ruby_name(receiver, scope)
        if owner is None:
            return ruby_pathname_uses(receiver, method, arguments, scope, line)
        if RUBY_NAMES.rule(owner):
            return []  # the constant itself is the finding
        called = f"{owner}.{method}"
    else:
        called = f"Kernel.{method}"
    if called == "Kernel.open" and first is not None and not first.startswith("|"):
        # Kernel#open runs "|cmd" and, with open-uri, fetches a URL; anything else is a plain file.
        called = "URI.open" if "://" in first else "File.open"
    return ruby_rule_use(called, line) + ruby_file_uses(called, arguments, scope, line)


def ruby_require_uses(
    method: str, arguments: list[tree_sitter.Node], first: str | None, line: int
) -> list[Use]:
    if not arguments:
        return []
    # Code loaded from an absolute or home path came from outside the repository (``../`` is relative to
    # the file for require_relative, so it is not judged here).
    if first is None or first.startswith(("/", "~", "\\")):
        name = f"{method}(…)" if first is None else f"{method} {first!r}"
        return [Use(DYNAMIC, name, name, line)]
    rule = RUBY_LIBRARIES.rule(first)
    return [Use(rule[0], f"require:{rule[1]}", f"{method} {first!r}", line, imported=True)] if rule else []


def ruby_file_uses(called: str, arguments: list[tree_sitter.Node], scope: RubyScope, line: int) -> list[Use]:
    if called.startswith("FileUtils.") or called in RUBY_WRITES:
        paths = [ruby_path(argument, scope) for argument in arguments]
        return [use for path in paths for use in path_use(called, path, line, writing=True)][:1]
    if called in RUBY_READS and arguments:
        return path_use(called, ruby_path(arguments[0], scope), line, writing=False)
    if called in RUBY_OPENS and arguments:
        mode = ruby_literal(arguments[1]) if len(arguments) > 1 else "r"
        return path_use(called, ruby_path(arguments[0], scope), line, writing=writes_by_mode(mode))
    return []


def ruby_pathname_uses(
    receiver: tree_sitter.Node, method: str, arguments: list[tree_sitter.Node], scope: RubyScope, line: int
) -> list[Use]:
    if method not in RUBY_PATHNAME_WRITES | RUBY_PATHNAME_READS | {"open"}:
        return []
    path = ruby_path(receiver, scope)
    if method == "open":
        writing = writes_by_mode(ruby_literal(arguments[0]) if arguments else "r")
    else:
        writing = method in RUBY_PATHNAME_WRITES
    return path_use(f"Pathname#{method}", path, line, writing=writing)


def ruby_path(node: tree_sitter.Node | None, scope: RubyScope, depth: int = 0) -> str | None:
    if node is None or depth > MAX_DEPTH:
        return None
    if node.type == "identifier":
        return scope.strings.get(node_text(node))
    if node.type in {"string", "binary"}:
        return string_sum(node, RUBY_STRINGS, "binary")
    if node.type != "call":
        return None
    receiver = node.child_by_field_name("receiver")
    method = node_text(node.child_by_field_name("method"))
    owner = ruby_name(receiver, scope) if receiver is not None else "Kernel"
    arguments = ruby_arguments(node)
    called = f"{owner}.{method}"
    if called == "Dir.home":
        return "~"
    if called in RUBY_PATH_CALLS and arguments:
        return join_path(ruby_path(argument, scope, depth + 1) for argument in arguments)
    if method in {"join", "expand_path"} and receiver is not None:
        base = ruby_path(receiver, scope, depth + 1)
        return join_path([base, *(ruby_path(argument, scope, depth + 1) for argument in arguments)])
    return None


# --- Go ------------------------------------------------------------------------------------------------

GO_NAMES = Table.of(
    network="""
        net net/rpc net/smtp net/http/httputil net/http/fcgi net/http/pprof golang.org/x/net
        golang.org/x/crypto/ssh google.golang.org/grpc github.com/go-resty/resty github.com/valyala/fasthttp
        github.com/gorilla/websocket nhooyr.io/websocket
        net/http.Get net/http.Post net/http.PostForm net/http.Head net/http.DefaultClient net/http.Client
        net/http.Transport net/http.DefaultTransport net/http.ListenAndServe net/http.ListenAndServeTLS
        net/http.Serve net/http.ServeTLS net/http.Server net/http/httptest.NewServer
        net/http/httptest.NewTLSServer net/http/httptest.NewUnstartedServer
        crypto/tls.Dial crypto/tls.DialWithDialer crypto/tls.Dialer crypto/tls.Listen crypto/tls.Client
    """,
    # Parsing addresses and URLs, and testing a handler in memory, reach nothing.
    safe="net/url net/netip net/mail net/textproto net/http net/http/httptest",
    process="os/exec syscall golang.org/x/sys net/http/cgi os.StartProcess",
    environment="os.Getenv os.LookupEnv os.Environ os.ExpandEnv",
    secrets="""
        os.UserHomeDir os.UserConfigDir os.UserCacheDir os/user github.com/joho/godotenv
        github.com/kelseyhightower/envconfig github.com/caarlos0/env
    """,
    dynamic="plugin unsafe C runtime/cgo",
)
GO_WRITES = words(
    """
    os.WriteFile os.Create os.Mkdir os.MkdirAll os.Remove os.RemoveAll os.Rename os.Symlink os.Link
    os.Chmod os.Chown os.Lchown os.Truncate os.CopyFS os.MkdirTemp os.CreateTemp io/ioutil.WriteFile
    io/ioutil.TempFile io/ioutil.TempDir
    """
)
GO_READS = words(
    """
    os.ReadFile os.Open os.ReadDir os.DirFS os.Stat os.Lstat os.Readlink io/ioutil.ReadFile
    io/ioutil.ReadDir
    """
)
GO_JOINS = words("path/filepath.Join path.Join")
GO_WRITE_FLAGS = words("O_WRONLY O_RDWR O_CREATE O_APPEND O_TRUNC")
GO_STRINGS = words("interpreted_string_literal raw_string_literal")
GO_DIRECTIVES = {"//go:linkname": DYNAMIC, "//go:cgo_import_dynamic": DYNAMIC}


@dataclass
class GoScope:
    packages: dict[str, str]  # the name a file uses for an imported package → its path
    dotted: list[str]  # packages imported with ``.``, whose members are used bare
    strings: dict[str, str]


def go_inner(node: tree_sitter.Node) -> set[int]:
    if node.type == "selector_expression":
        return field_id(node, "operand")
    if node.type == "binary_expression" and operator(node) == "+":
        return {child.id for child in node.named_children if child.type in GO_STRINGS | {"binary_expression"}}
    return set()


def go_scope(nodes: list[tree_sitter.Node]) -> GoScope:
    scope = GoScope({}, [], {})
    for node in nodes:
        if node.type == "import_spec":
            path = go_import_path(node)
            name = node.child_by_field_name("name")
            if path is None:
                continue
            if name is not None and name.type == "dot":
                scope.dotted.append(path)
            elif name is None or name.type == "package_identifier":
                scope.packages[node_text(name) if name is not None else go_package_name(path)] = path
        elif node.type in {"short_var_declaration", "assignment_statement", "var_spec", "const_spec"}:
            go_bind_strings(node, scope)
    return scope


def go_bind_strings(node: tree_sitter.Node, scope: GoScope) -> None:
    if node.type in {"var_spec", "const_spec"}:
        names = [child for child in node.children_by_field_name("name")]
        values = node.child_by_field_name("value")
    else:
        left = node.child_by_field_name("left")
        names = list(left.named_children) if left is not None else []
        values = node.child_by_field_name("right")
    for name, value in zip(names, values.named_children if values is not None else [], strict=False):
        path = go_path(value, scope)
        if path is not None:
            scope.strings.setdefault(node_text(name), path)


def go_import_path(node: tree_sitter.Node) -> str | None:
    path = node.child_by_field_name("path")
    return string_value(path) if path is not None else None


def go_package_name(path: str) -> str:
    """The name a plain import of ``path`` binds: ``…/resty/v2`` binds ``resty``, ``yaml.v3`` ``yaml``."""
    parts = path.split("/")
    last = parts[-1]
    if re.fullmatch(r"v\d+", last) and len(parts) > 1:
        last = parts[-2]
    return re.split(r"[.-]", last.removeprefix("go-"))[0]


def go_rule_use(name: str, line: int, *, imported: bool = False) -> list[Use]:
    rule = GO_NAMES.rule(name)
    return [Use(rule[0], rule[1], name, line, imported)] if rule else []


def go_member(node: tree_sitter.Node, scope: GoScope) -> str | None:
    """``exec.Command`` as ``os/exec.Command``: a package member named by its import path."""
    if node.type == "selector_expression":
        operand, field = node.child_by_field_name("operand"), node.child_by_field_name("field")
        if operand is not None and field is not None and operand.type == "identifier":
            package = scope.packages.get(node_text(operand))
            return f"{package}.{node_text(field)}" if package else None
    if node.type == "qualified_type":
        package, name = node.child_by_field_name("package"), node.child_by_field_name("name")
        if package is not None and name is not None and node_text(package) in scope.packages:
            return f"{scope.packages[node_text(package)]}.{node_text(name)}"
    if node.type in {"identifier", "type_identifier"}:
        # A bare name from a ``.`` import: a member the tables name, or one called from a risky package.
        called = node.parent is not None and node.parent.type == "call_expression"
        for package in scope.dotted:
            candidate = f"{package}.{node_text(node)}"
            if candidate in GO_NAMES or candidate in GO_WRITES | GO_READS:
                return candidate
            if called and GO_NAMES.rule(candidate):
                return candidate
    return None


def go_node_uses(node: tree_sitter.Node, inner: bool, scope: GoScope) -> list[Use]:
    line = line_of(node)
    kind = node.type
    if kind == "import_spec":
        path = go_import_path(node)
        return go_rule_use(path, line, imported=True) if path else []
    if kind in {"selector_expression", "qualified_type"} or (
        kind in {"identifier", "type_identifier"} and not inner
    ):
        if kind in {"identifier", "type_identifier"} and not scope.dotted:
            return []
        member = go_member(node, scope)
        return go_rule_use(member, line) if member else []
    if kind == "call_expression":
        return go_call_uses(node, scope, line)
    if kind in GO_STRINGS and not inner and node.parent is not None and node.parent.type != "import_spec":
        return secret_use(string_value(node), line)
    if kind == "binary_expression" and operator(node) == "+" and not inner:
        folded = string_sum(node, GO_STRINGS, "binary_expression")
        return secret_use(folded, line) if folded else []
    if kind == "comment":
        return go_directive_uses(node_text(node), line)
    return []


def go_call_uses(node: tree_sitter.Node, scope: GoScope, line: int) -> list[Use]:
    function = node.child_by_field_name("function")
    called = go_member(function, scope) if function is not None else None
    arguments_node = node.child_by_field_name("arguments")
    arguments = list(arguments_node.named_children) if arguments_node is not None else []
    if called is None or not arguments:
        return []
    short = called.removeprefix("io/")
    if called == "os.OpenFile":
        flags = node_text(arguments[1]) if len(arguments) > 1 else ""
        writing = any(flag in flags for flag in GO_WRITE_FLAGS)
        return path_use(short, go_path(arguments[0], scope), line, writing=writing)
    if called in GO_WRITES:
        paths = [go_path(argument, scope) for argument in arguments]
        return [use for path in paths for use in path_use(short, path, line, writing=True)][:1]
    if called in GO_READS:
        return path_use(short, go_path(arguments[0], scope), line, writing=False)
    return []


def go_path(node: tree_sitter.Node | None, scope: GoScope, depth: int = 0) -> str | None:
    if node is None or depth > MAX_DEPTH:
        return None
    if node.type in GO_STRINGS:
        return string_value(node)
    if node.type == "identifier":
        return scope.strings.get(node_text(node))
    if node.type == "binary_expression" and operator(node) == "+":
        left = go_path(node.child_by_field_name("left"), scope, depth + 1)
        right = go_path(node.child_by_field_name("right"), scope, depth + 1)
        return None if left is None and right is None else (left or UNKNOWN) + (right or UNKNOWN)
    if node.type == "call_expression":
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        if function is not None and arguments is not None and go_member(function, scope) in GO_JOINS:
            return join_path(go_path(argument, scope, depth + 1) for argument in arguments.named_children)
    return None


def go_directive_uses(comment: str, line: int) -> list[Use]:
    directive = comment.split()[0] if comment.split() else ""
    if directive in GO_DIRECTIVES:
        return [Use(GO_DIRECTIVES[directive], directive, directive, line)]
    if directive == "//go:embed":
        return [use for pattern in comment.split()[1:] for use in secret_use(pattern.strip('"`'), line)]
    return []


@dataclass(frozen=True)
class TreeReader:
    """How one tree-sitter language is read: which children belong to a larger name, and what each
    node uses given the names the whole file binds."""

    language: str
    inner: Callable[[tree_sitter.Node], set[int]]
    scope: Callable[[list[tree_sitter.Node]], Any]
    node_uses: Callable[[tree_sitter.Node, bool, Any], list[Use]]
    passing: frozenset[str] = WRAPPERS

    def __call__(self, text: str) -> list[Use]:
        # A tree with errors is still read: a construct the grammar does not know must not hide what is
        # around it.
        nodes = list(walk(parse(self.language, text).root_node, self.inner, self.passing))
        scope = self.scope([node for node, _ in nodes])
        return [use for node, inner in nodes for use in self.node_uses(node, inner, scope)]


def javascript_reader(language: str) -> TreeReader:
    return TreeReader(
        language, javascript_inner, javascript_scope, javascript_node_uses, WRAPPERS | JS_IMPORT_CLAUSES
    )


READERS: dict[str, Callable[[str], list[Use]]] = {
    PYTHON: python_uses,
    JAVASCRIPT: javascript_reader(JAVASCRIPT),
    TYPESCRIPT: javascript_reader(TYPESCRIPT),
    TSX: javascript_reader(TSX),
    RUBY: TreeReader(RUBY, ruby_inner, ruby_scope, ruby_node_uses),
    GO: TreeReader(GO, go_inner, go_scope, go_node_uses),
}
