"""Triage (pipeline stage 3): decide whether an error is the application's code to fix, and say why.

``classify`` is pure and deterministic: the same event always gets the same verdict. It reads the event
the way an engineer on call would, in three passes:

1. The messages of the exception chain, root cause first (``exception.values`` lists causes before the
   exception that reached the handler). Outside failures (network, disk, memory, descriptors, a client
   that went away), configuration (rejected credentials, a schema behind the code, settings, permissions)
   and broken installations use recognisable words on every platform.
2. The application line that failed: a crash on a line that reads the environment is a setting that is
   missing or wrong, whatever the exception type.
3. The stack: an error raised with application frames on the stack is the application's (a bad ORM
   lookup raises inside the ORM, but the fix is in the caller). One raised wholly inside third-party code,
   or where one library calls another with an API it lacks, is a dependency's.

Everything taken from the event is untrusted: a reason quotes only short tokens that pass ``token``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ingest.models import ErrorGroup

CODE = ErrorGroup.Category.CODE.value
INFRASTRUCTURE = ErrorGroup.Category.INFRASTRUCTURE.value
CONFIGURATION = ErrorGroup.Category.CONFIGURATION.value
DEPENDENCY = ErrorGroup.Category.DEPENDENCY.value


@dataclass(frozen=True)
class Verdict:
    category: str
    reason: str


# --- reading the event --------------------------------------------------------------------------------

# Third-party code, whatever the SDK's in_app says: package directories of every platform we ingest.
THIRD_PARTY = re.compile(
    r"(?:^|/)(?:site-packages|dist-packages|node_modules)/|/gems/|/vendor/bundle/|/pkg/mod/"
)
# The language's own library and runtime: neither the application's code nor a dependency's.
STANDARD_LIBRARY = re.compile(
    r"^<frozen |^<anonymous>$|^node:|^internal/|/lib/python\d[\d.]*/|/lib/ruby/(?:site_ruby/)?\d|"
    r"/go/src/|/go-[\d.]+/src/|/goroot/src/|^<internal:"
)
DEPLOY_PREFIX = re.compile(r"^(?:webpack://[^/]*/|file://|app:///|/srv/[^/]+/|/app/|/src/|/usr/src/app/)")


@dataclass(frozen=True)
class Frame:
    path: str
    function: str
    context_line: str
    in_app: bool
    package: str  # the third-party package the frame belongs to; "" for the app and the standard library

    @property
    def third_party(self) -> bool:
        return bool(self.package)


@dataclass(frozen=True)
class Facts:
    chain: tuple[tuple[str, str], ...]  # (type, value) of each exception, root cause first
    frames: tuple[Frame, ...]  # of the exception that reached the handler, oldest first

    @property
    def app_frames(self) -> tuple[Frame, ...]:
        return tuple(frame for frame in self.frames if frame.in_app)

    @property
    def crash(self) -> Frame | None:
        return self.frames[-1] if self.frames else None


def read_event(event: Mapping[str, Any]) -> Facts:
    event = event if isinstance(event, Mapping) else {}
    exception = event.get("exception")
    values = (exception.get("values") if isinstance(exception, Mapping) else None) or []
    values = [value for value in values if isinstance(value, Mapping)]
    chain = tuple((clip(value.get("type")), clip(value.get("value"))) for value in values)
    if not chain and event.get("message"):
        chain = (("", clip(event["message"])),)
    return Facts(chain=chain, frames=stack_of(values))


# What decides a verdict is said early in a message; reading no further bounds the work on huge ones.
MAX_TEXT = 2_000


def clip(text: Any) -> str:
    return str(text or "")[:MAX_TEXT]


def stack_of(values: list[Mapping]) -> tuple[Frame, ...]:
    """Frames of the exception that reached the handler, or of the nearest cause that has some."""
    for value in reversed(values):
        stacktrace = value.get("stacktrace")
        raw = (stacktrace.get("frames") if isinstance(stacktrace, Mapping) else None) or []
        frames = tuple(to_frame(frame) for frame in raw if isinstance(frame, Mapping))
        if frames:
            return frames
    return ()


def is_library_path(path: str) -> bool:
    """Third-party or standard-library code, judged by where the file lives."""
    return bool(THIRD_PARTY.search(path) or STANDARD_LIBRARY.search(path))


def is_app_frame(raw: Mapping) -> bool:
    """The SDK's in_app, overruled for files that live where libraries are installed."""
    path = str(raw.get("abs_path") or raw.get("filename") or "")
    return raw.get("in_app") is not False and not is_library_path(path)


def to_frame(raw: Mapping) -> Frame:
    path = str(raw.get("abs_path") or raw.get("filename") or "")
    return Frame(
        path=display_path(raw),
        function=str(raw.get("function") or ""),
        context_line=clip(raw.get("context_line")),
        in_app=is_app_frame(raw),
        package=package_of(path),
    )


def package_of(path: str) -> str:
    """The third-party package a path belongs to, or "" when it is not third-party code."""
    if not THIRD_PARTY.search(path):
        return ""
    if "/pkg/mod/" in path:
        return path.split("/pkg/mod/", 1)[1].split("@", 1)[0]
    if "node_modules/" in path:
        parts = path.rsplit("node_modules/", 1)[1].split("/")
        return "/".join(parts[:2]) if parts[0].startswith("@") else parts[0]
    if "/gems/" in path:
        directory = path.split("/gems/", 1)[1].split("/", 1)[0]
        return re.sub(r"-\d[\w.]*(?:-[\w-]+)?$", "", directory)
    tail = re.split(r"(?:site|dist)-packages/", path, maxsplit=1)[-1]
    return tail.split("/", 1)[0].removesuffix(".py")


def display_path(raw: Mapping) -> str:
    path = str(raw.get("filename") or raw.get("abs_path") or "")
    return DEPLOY_PREFIX.sub("", path).removeprefix("./") or path


# --- quoting untrusted text ---------------------------------------------------------------------------

SAFE_TOKEN = re.compile(r"^[\w.:/@+\-\[\]()*<>$]{1,100}$")


def token(text: str | None) -> str:
    """``text`` in backticks if it is a short, plain identifier-like token; otherwise nothing at all."""
    return f"`{text}`" if text and SAFE_TOKEN.match(text) else ""


def first_group(patterns: tuple[re.Pattern, ...], text: str) -> str:
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            return ":".join(part for part in match.groups() if part)
    return ""


URL_HOST = re.compile(r"https?://([\w-]+(?:\.[\w-]+)+)")
ENDPOINT = (
    re.compile(r"->\[?([\w.:-]{1,100}?)\]?:(\d+)\b"),  # Go's "read tcp local->remote"
    re.compile(r"server at \"([\w.-]+)\"(?: \([\d.:a-f]+\))?, port (\d+)"),
    re.compile(r"host='([\w.-]+)', port=(\d+)"),
    re.compile(r"(?:Redis on|TCP connection to|dial tcp|connect \w+) \[?([\w.-]+)\]?:(\d+)"),
    re.compile(r"`host=([\w.-]+)"),
    re.compile(r"\b(\d{1,3}(?:\.\d{1,3}){3}):(\d+)"),
)
HOST_NAME = (
    re.compile(
        r"(?:\bENOTFOUND\b|\bEAI_AGAIN\b|lookup|resolve '?|translate host name \")\s*([\w-]+(?:\.[\w-]+)+)"
    ),
    re.compile(r"(?:TCP connection to|host=')([\w-]+(?:\.[\w-]+)+)"),
)
SERVICES = {
    "5432": "PostgreSQL",
    "3306": "MySQL",
    "6379": "Redis",
    "27017": "MongoDB",
    "5672": "RabbitMQ",
    "11211": "Memcached",
    "9200": "Elasticsearch",
}


def remote(text: str, otherwise: str = "a remote service", *, urls: bool = True) -> str:
    """'PostgreSQL at db.internal:5432' or 'api.example.com:443' from a message, else ``otherwise``.

    ``urls=False`` ignores hosts that appear only inside URLs (an error body linking to documentation).
    """
    endpoint = first_group(ENDPOINT + ((URL_HOST,) if urls else ()), text)
    service = SERVICES.get(endpoint.rsplit(":", 1)[-1], "") if ":" in endpoint else ""
    if not token(endpoint):
        return service or otherwise
    return f"{service} at {endpoint}" if service else endpoint


def host_name(text: str) -> str:
    name = token(first_group(HOST_NAME, text))
    return f"the host name {name}" if name else f"the host name of {remote(text)}"


def timed_out(text: str) -> str:
    where = remote(text, "")
    return f"{where} did not answer in time" if where else "an operation timed out waiting on a service"


def quoted_path(text: str) -> str:
    match = re.search(r"(/[\w./-]+)", text)
    return token(match.group(1)) if match else ""


# --- pass 1: the messages -----------------------------------------------------------------------------

Rule = Callable[[str, str, Facts], Verdict | None]


def matching(pattern: str, category: str, describe: Callable[[str], str], *, on_type: bool = False) -> Rule:
    """A rule: when ``pattern`` is in the exception's type (and message), ``describe`` words the reason."""
    compiled = re.compile(pattern, re.IGNORECASE)

    def rule(type_: str, value: str, facts: Facts) -> Verdict | None:
        text = f"{type_}: {value}"
        if compiled.search(type_ if on_type else text):
            return Verdict(category, f"{category}: {describe(text)}")
        return None

    return rule


CREDENTIALS = matching(
    r"password authentication failed|access denied for user|authentication failed|invalid username-password|"
    r"\bWRONGPASS\b|\bNOAUTH\b|invalid[_ ]api[_ ]key|incorrect api key|InvalidAccessKeyId|"
    r"SignatureDoesNotMatch|InvalidClientTokenId|security token included in the request is invalid|"
    r"Unable to locate credentials|bad credentials|invalid_grant|invalid_client|AuthenticationError|\b401\b|"
    r"^\w*Error: Unauthorized$",
    CONFIGURATION,
    lambda text: f"the credentials configured for {remote(text, urls=False)} were rejected",
)

SCHEMA_OBJECT = (
    re.compile(r"(?:relation|table|Table) [\"'`]?([\w.]+)[\"'`]? (?:does not|doesn't) exist"),
    re.compile(r"no such (?:table|column): ([\w.]+)"),
    re.compile(r"column ([\w.\"]+) (?:of relation \"\w+\" )?does not exist"),
)


def schema_behind(text: str) -> str:
    name = token(first_group(SCHEMA_OBJECT, text).replace('"', ""))
    what = f"the table or column {name} does not exist" if name else "the database schema is behind the code"
    return f"{what}; migrations have probably not been applied"


SCHEMA = matching(
    r"relation \"[^\"]+\" does not exist|no such (?:table|column)|"
    r"column [\w.\"]+ (?:of relation \"\w+\" )?does not exist|Table '[^']+' doesn't exist|Unknown column|"
    r"PendingMigrationError|Migrations are pending|UndefinedTable|UndefinedColumn",
    CONFIGURATION,
    schema_behind,
)

INFRASTRUCTURE_RULES: tuple[Rule, ...] = (
    matching(
        r"too many (?:clients|connections)|remaining connection slots|could not obtain a connection from the "
        r"pool|pool exhausted|ConnectionTimeoutError",
        INFRASTRUCTURE,
        lambda text: f"{remote(text, 'the connection pool')} has no free connections left",
    ),
    matching(
        r"connection refused|\bECONNREFUSED\b|CannotConnectError|ConnectionRefusedError",
        INFRASTRUCTURE,
        lambda text: f"{remote(text)} refused the connection",
    ),
    matching(
        r"connection reset|\bECONNRESET\b|socket hang up|server closed the connection unexpectedly",
        INFRASTRUCTURE,
        lambda text: f"{remote(text)} reset or dropped the connection",
    ),
    matching(
        r"name or service not known|nodename nor servname|getaddrinfo|\bENOTFOUND\b|\bEAI_AGAIN\b|"
        r"no such host|NameResolutionError|name resolution|could not translate host name",
        INFRASTRUCTURE,
        lambda text: f"{host_name(text)} could not be resolved (DNS)",
    ),
    matching(
        r"certificate verify failed|certificate has expired|\bCERT_HAS_EXPIRED\b|x509:|"
        r"self[- ]signed certificate|unable to get local issuer certificate|SSLError|SSL_connect|tls: ",
        INFRASTRUCTURE,
        lambda text: f"the TLS handshake with {remote(text)} failed (certificate rejected)",
    ),
    matching(r"timeout|timed out", INFRASTRUCTURE, timed_out, on_type=True),
    matching(
        r"timed out|timeout of \d+|timeout (?:reading|writing|connecting)|statement timeout|"
        r"deadline exceeded|\bETIMEDOUT\b|Client\.Timeout",
        INFRASTRUCTURE,
        timed_out,
    ),
    matching(
        r"no space left on device|\bENOSPC\b|disk full|could not extend file",
        INFRASTRUCTURE,
        lambda text: "the disk is full (no space left on device)",
    ),
    matching(
        r"MemoryError|out of memory|cannot allocate memory|failed to allocate memory|\bENOMEM\b|"
        r"allocation failed|Unable to allocate",
        INFRASTRUCTURE,
        lambda text: "the process ran out of memory",
    ),
    matching(
        r"too many open files|\bEMFILE\b|\bENFILE\b",
        INFRASTRUCTURE,
        lambda text: "the process ran out of file descriptors (too many open files)",
    ),
    matching(
        r"broken pipe|\bEPIPE\b|ClientDisconnect|client disconnected|request aborted|UnreadablePostError|"
        r"\bECONNABORTED\b|Puma::ConnectionError",
        INFRASTRUCTURE,
        lambda text: "the client went away before the request was finished",
    ),
    matching(
        r"status code 50[234]|\b50[234] (?:Bad Gateway|Service Unavailable|Gateway Time-?out)|"
        r"code = Unavailable|\bEHOSTUNREACH\b|network is unreachable|no route to host",
        INFRASTRUCTURE,
        lambda text: f"{remote(text)} is unavailable",
    ),
)


def app_packages(facts: Facts) -> set[str]:
    """Top-level names of the application's own modules (first components of its frames' paths)."""
    return {frame.path.split("/", 1)[0].removesuffix(".py") for frame in facts.app_frames}


def missing_module(type_: str, value: str, facts: Facts) -> Verdict | None:
    """A module that cannot be found: the application's own (a code bug) or a package (not installed)."""
    match = (
        re.search(r"No module named '([\w.]+)'", value)
        or re.search(r"Cannot find (?:module|package) '([^']+)'", value)
        or re.search(r"cannot load such file -- (\S+)", value)
    )
    if not match:
        return None
    name = match.group(1)
    if name.startswith((".", "/")) or name.split(".")[0] in app_packages(facts):
        where = token(facts.app_frames[-1].path) if facts.app_frames else ""
        return Verdict(
            CODE,
            f"code: the application imports its own module {token(name)}, which does not exist"
            + (f" (from {where})" if where else ""),
        )
    package = name if name.startswith("@") else re.split(r"[./]", name)[0]
    return Verdict(DEPENDENCY, f"dependency: the package {token(package) or 'it needs'} is not installed")


def import_from_library(type_: str, value: str, facts: Facts) -> Verdict | None:
    """``cannot import name X from Y`` where Y is an installed package: two library versions disagree."""
    match = re.search(r"cannot import name '(\w+)' from '([\w.]+)' \(([^)]*)\)", value)
    if not match:
        return None
    module, location = match.group(2), match.group(3)
    if not THIRD_PARTY.search(location) and module.split(".")[0] in app_packages(facts):
        return None
    return Verdict(
        DEPENDENCY,
        f"dependency: the installed {token(module)} does not provide {token(match.group(1))}; "
        "library versions are incompatible",
    )


def broken_package(text: str) -> str:
    """The package a broken-installation message names: by its install path, or as ``name-version``."""
    for path in re.findall(r"/[\w./@-]+", text):
        if package_of(path):
            return token(package_of(path))
    match = re.search(
        r"(?:activate|find) ([a-z][\w-]*?)-\d|\b(go-\w+) requires|failed to find (lib\w+)", text
    )
    return token(next(group for group in match.groups() if group)) if match else ""


BROKEN_INSTALLATION = matching(
    r"cannot open shared object file|Library not loaded|failed to find lib\w+|\bNODE_MODULE_VERSION\b|"
    r"invalid ELF header|compiled against a different|\bERR_REQUIRE_ESM\b|require\(\) of ES Module|"
    r"can't activate|GemNotFound|in locally installed gems|Gem::LoadError|Gem::MissingSpecError|"
    r"requires cgo to work|DLL load failed|Error loading \w+(?: or \w+)? module|DistributionNotFound|"
    r"VersionConflict",
    DEPENDENCY,
    lambda text: (
        f"{broken_package(text) or 'a third-party package'} is missing, mis-built or incompatible "
        "with the other packages installed on this host"
    ),
)


def setting_name(text: str) -> str:
    match = re.search(r"\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b", text) or re.search(r"`(\w+)`", text)
    return token(match.group(1)) if match else ""


SETTINGS = matching(
    r"ImproperlyConfigured|environment variable|\benv(?:ironment)? var\b|required key \w+ missing value|"
    r"secret_key_base|MessageEncryptor::InvalidMessage|missing (?:required )?(?:setting|configuration)",
    CONFIGURATION,
    lambda text: " ".join(filter(None, ("a required setting", setting_name(text), "is missing or invalid"))),
)
PERMISSION = matching(
    r"\[Errno 13\]|\bEACCES\b|permission denied",
    CONFIGURATION,
    lambda text: f"the process is not allowed to access {quoted_path(text) or 'a file'} on the host",
)
NOT_FOUND = re.compile(r"no such file|\bENOENT\b|cannot find the file", re.IGNORECASE)
CONFIG_FILE = re.compile(r"[\w./-]{1,200}\.(?:ya?ml|toml|ini|cfg|conf|env|properties|pem|key|crt)\b")


def config_file_missing(type_: str, value: str, facts: Facts) -> Verdict | None:
    match = CONFIG_FILE.search(value)
    if match and NOT_FOUND.search(value):
        return Verdict(
            CONFIGURATION, f"configuration: the configuration file {token(match.group(0))} is missing"
        )
    return None


MESSAGE_RULES: tuple[Rule, ...] = (
    CREDENTIALS,
    SCHEMA,
    *INFRASTRUCTURE_RULES,
    missing_module,
    import_from_library,
    BROKEN_INSTALLATION,
    SETTINGS,
    PERMISSION,
    config_file_missing,
)


def by_message(facts: Facts) -> Verdict | None:
    for type_, value in facts.chain:
        for rule in MESSAGE_RULES:
            verdict = rule(type_, value, facts)
            if verdict:
                return verdict
    return None


# --- pass 2: the failing application line ------------------------------------------------------------

READS_ENVIRONMENT = re.compile(
    r"os\.environ|getenv\(|\bENV\[|\bENV\.fetch|process\.env|os\.Getenv|os\.LookupEnv|"
    r"\benv\.(?:str|int|bool|db|url)\("
)
ENV_NAME = re.compile(
    r"""(?:environ\[|getenv\(|ENV\[|ENV\.fetch\(|process\.env\.|Getenv\(|LookupEnv\()["']?(\w+)"""
)


def by_environment(facts: Facts) -> Verdict | None:
    # The line that read the setting is often one call above the line that failed on its value (a
    # helper parsing it), so the innermost two application lines are looked at.
    for frame in reversed(facts.app_frames[-2:]):
        if READS_ENVIRONMENT.search(frame.context_line):
            match = ENV_NAME.search(frame.context_line)
            name = (token(match.group(1)) if match else "") or "it reads"
            where = token(frame.path) or "the application"
            return Verdict(
                CONFIGURATION,
                f"configuration: the environment variable {name} is missing or invalid where {where} "
                "reads it",
            )
    return None


# --- pass 3: the stack --------------------------------------------------------------------------------

# Data of the wrong shape (a None, a string where a dict was expected) is the caller's doing, not a
# version mismatch between libraries.
BUILTIN_SUBJECT = re.compile(
    r"'(?:NoneType|str|int|float|bool|bytes|dict|list|tuple|set)' object|nil:NilClass|for nil\b|"
    r"an instance of (?:String|Integer|Float|Hash|Array|NilClass)|of (?:undefined|null)\b"
)
API_MISMATCH = re.compile(
    r"ImportError|unexpected keyword argument|positional argument|is not a function|is not a constructor|"
    r"has no attribute|uninitialized constant|undefined method|undefined local variable or method"
)


def library_calls_library(facts: Facts) -> Verdict | None:
    """One library calling another (or itself) with an API it lacks: the installed versions disagree."""
    crash = facts.crash
    type_, value = facts.chain[-1] if facts.chain else ("", "")
    if crash is None or len(facts.frames) < 2 or not crash.third_party:
        return None
    caller = facts.frames[-2]
    if (
        not caller.third_party
        or not API_MISMATCH.search(f"{type_}: {value}")
        or BUILTIN_SUBJECT.search(value)
    ):
        return None
    if caller.package == crash.package:
        what = f"{token(crash.package)} uses an API its installed dependencies do not provide"
    else:
        what = f"{token(caller.package)} calls {token(crash.package)} with an API the installed version lacks"
    return Verdict(DEPENDENCY, f"dependency: {what}; library versions are incompatible")


def in_application(frame: Frame, crash: Frame) -> Verdict:
    where = (token(frame.path) or "code") + (f" in {token(frame.function)}" if token(frame.function) else "")
    if crash.third_party:
        return Verdict(
            CODE,
            f"code: raised inside {token(crash.package)} when called from the application's {where}; "
            "the fix is in how the application calls it",
        )
    return Verdict(CODE, f"code: raised in the application's own {where}")


def by_stack(facts: Facts) -> Verdict:
    crash = facts.crash
    if crash is None:
        return Verdict(
            CODE, "code: there is no stack trace, and nothing in the message points outside the application"
        )
    mismatch = library_calls_library(facts)
    if mismatch:
        return mismatch
    if facts.app_frames:
        return in_application(facts.app_frames[-1], crash)
    packages = [frame.package for frame in facts.frames if frame.third_party]
    if packages:
        return Verdict(
            DEPENDENCY,
            f"dependency: raised inside the third-party package {token(packages[-1])} "
            "with no application frame involved",
        )
    return Verdict(CODE, "code: raised in the runtime with no third-party package involved")


def classify(event: Mapping[str, Any]) -> Verdict:
    """Decide whether the event's error is code, infrastructure, configuration or a dependency, and why."""
    facts = read_event(event)
    return by_message(facts) or by_environment(facts) or by_stack(facts)
