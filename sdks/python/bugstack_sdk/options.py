"""The SDK's configuration: arguments to ``init`` first, then ``BUGSTACK_*`` environment variables."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bugstack_sdk.dsn import Dsn, DsnError, from_endpoint, parse_dsn

Event = dict[str, Any]
BeforeSend = Callable[[Event], Event | None]

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class Options:
    dsn: Dsn | None  # None: the SDK is off and every call is a cheap no-op
    environment: str = "production"
    release: str | None = None
    server_name: str = ""
    project_root: str = ""
    # Installed packages that are the app's own (an app run from its package, a plugin)
    in_app_include: tuple[str, ...] = ()
    send_request_headers: bool = False
    send_request_body: bool = False
    send_modules: bool = True
    redact_keys: frozenset[str] = frozenset()
    before_send: BeforeSend | None = None
    max_queue_size: int = 100
    timeout: float = 2.0
    max_retries: int = 3
    shutdown_timeout: float = 2.0


def build_options(
    dsn: str | None = None,
    *,
    key: str | None = None,
    endpoint: str | None = None,
    environment: str | None = None,
    release: str | None = None,
    server_name: str | None = None,
    project_root: str | None = None,
    in_app_include: Iterable[str] = (),
    send_request_headers: bool | None = None,
    send_request_body: bool | None = None,
    send_modules: bool = True,
    redact_keys: Iterable[str] = (),
    before_send: BeforeSend | None = None,
    max_queue_size: int = 100,
    timeout: float = 2.0,
    max_retries: int = 3,
    shutdown_timeout: float = 2.0,
) -> Options:
    """Merge arguments with the environment; raise ``DsnError`` when the destination is malformed."""
    root = os.path.abspath(project_root or os.getcwd())
    extra_keys = [*redact_keys, *_env("BUGSTACK_REDACT_KEYS", "").split(",")]
    destination = _destination(dsn, key, endpoint)
    return Options(
        dsn=destination,
        environment=environment or _env("BUGSTACK_ENVIRONMENT", "production"),
        # Asking git costs a process: only worth it when events will be sent.
        release=release or _env("BUGSTACK_RELEASE", "") or (_git_head(root) if destination else None),
        server_name=server_name or _env("BUGSTACK_SERVER_NAME", "") or socket.gethostname(),
        project_root=root,
        in_app_include=tuple(name.strip() for name in in_app_include if name.strip()),
        send_request_headers=_flag(send_request_headers, "BUGSTACK_SEND_REQUEST_HEADERS"),
        send_request_body=_flag(send_request_body, "BUGSTACK_SEND_REQUEST_BODY"),
        send_modules=send_modules,
        redact_keys=frozenset(k.strip().lower() for k in extra_keys if k.strip()),
        before_send=before_send,
        max_queue_size=max(1, max_queue_size),
        timeout=timeout,
        max_retries=max(0, max_retries),
        shutdown_timeout=shutdown_timeout,
    )


def _destination(dsn: str | None, key: str | None, endpoint: str | None) -> Dsn | None:
    dsn = dsn or _env("BUGSTACK_DSN", "")
    if dsn:
        return parse_dsn(dsn)
    key = key or _env("BUGSTACK_KEY", "")
    endpoint = endpoint or _env("BUGSTACK_ENDPOINT", "")
    if key and endpoint:
        return from_endpoint(endpoint, key)
    if key or endpoint:
        missing = "endpoint (BUGSTACK_ENDPOINT)" if key else "key (BUGSTACK_KEY)"
        raise DsnError(f"a key and an endpoint go together: the {missing} is missing")
    return None


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default).strip()


def _flag(value: bool | None, env_name: str) -> bool:
    if value is not None:
        return value
    return _env(env_name, "").lower() in TRUE_WORDS


def _git_head(root: str) -> str | None:
    """The commit the app runs from, so the server can tell which release contains a fix.

    Only when the project root is itself the top of a repository: a parent repository's commit would
    name some other project's history.
    """
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--show-toplevel", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = result.stdout.split()
    if result.returncode != 0 or len(lines) != 2 or os.path.realpath(lines[0]) != os.path.realpath(root):
        return None
    return lines[1]
