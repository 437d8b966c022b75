"""Where events go: a DSN, or an endpoint and a key, turned into the events URL and the key to send."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

EVENTS_PATH = "/api/v1/events/"


class DsnError(ValueError):
    """The DSN or endpoint cannot be used; the message names what is wrong."""


@dataclass(frozen=True)
class Dsn:
    events_url: str
    key: str
    project_id: str | None = None


def parse_dsn(dsn: str) -> Dsn:
    """Read ``http(s)://<key>@host[:port][/prefix]/<project id>``."""
    parts = urlsplit(dsn.strip())
    if not parts.username:
        raise DsnError("the DSN has no key: expected http(s)://<key>@host/<project id>")
    prefix, _, project_id = parts.path.rstrip("/").rpartition("/")
    if not project_id.isdigit():
        raise DsnError("the DSN has no project id: expected http(s)://<key>@host/<project id>")
    base = f"{parts.scheme}://{_host_and_port(parts.scheme, dsn)}{prefix}"
    return Dsn(events_url=base + EVENTS_PATH, key=parts.username, project_id=project_id)


def from_endpoint(endpoint: str, key: str) -> Dsn:
    """Use a bugstack base URL (``http://bugstack.internal:8000``) and a project key."""
    if not key.strip():
        raise DsnError("the project key is empty")
    parts = urlsplit(endpoint.strip())
    base = f"{parts.scheme}://{_host_and_port(parts.scheme, endpoint)}{parts.path.rstrip('/')}"
    return Dsn(events_url=base + EVENTS_PATH, key=key.strip())


def _host_and_port(scheme: str, url: str) -> str:
    if scheme not in ("http", "https"):
        raise DsnError(f"{url!r} must start with http:// or https://")
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError as exc:
        raise DsnError(f"{url!r} has an invalid port") from exc
    host = parts.hostname
    if not host:
        raise DsnError(f"{url!r} has no host")
    if ":" in host:  # IPv6 literals keep their brackets in a URL
        host = f"[{host}]"
    return f"{host}:{port}" if port else host
