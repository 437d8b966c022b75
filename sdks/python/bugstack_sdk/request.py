"""What an event says about the request that failed: route, method and status by default; URL, query,
headers and body only when the app turned them on (and then redacted before sending)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from bugstack_sdk.options import Options

MAX_BODY_BYTES = 10 * 1024


@dataclass(frozen=True)
class RequestData:
    method: str
    route: str | None
    status_code: int | None = 500
    url: str | None = None
    query_string: str | None = None
    headers: Mapping[str, str] | None = None
    data: Any = None

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"method": self.method, "route": self.route}
        for name in ("url", "query_string", "headers", "data"):
            value = getattr(self, name)
            if value is not None:
                payload[name] = dict(value) if name == "headers" else value
        return payload


def describe_request(
    options: Options,
    *,
    method: str,
    route: str | None,
    status_code: int | None,
    path: str,
    query_string: Callable[[], str],
    headers: Callable[[], Mapping[str, str]],
    body: Callable[[], Any],
) -> RequestData:
    """Route, method and status always; the rest only as the app allowed, and only then read."""
    if not (options.send_request_headers or options.send_request_body):
        return RequestData(method=method, route=route, status_code=status_code)
    return RequestData(
        method=method,
        route=route,
        status_code=status_code,
        url=path,
        query_string=query_string() if options.send_request_headers else None,
        headers=headers() if options.send_request_headers else None,
        data=body() if options.send_request_body else None,
    )


# Framework integrations register how to describe the request being served, so that a manual
# ``capture_exception()`` inside a view carries it too.
RequestSource = Callable[[Options], RequestData | None]
_sources: list[RequestSource] = []
current_request: ContextVar[Any] = ContextVar("bugstack_current_request", default=None)


def register_request_source(source: RequestSource) -> None:
    if source not in _sources:
        _sources.append(source)


def request_from_sources(options: Options) -> RequestData | None:
    for source in _sources:
        data = source(options)
        if data is not None:
            return data
    return None


def decode_body(raw: bytes, content_type: str) -> Any:
    """JSON and form bodies as data, so their keys can be redacted one by one; other text as is.

    A body that cannot be parsed into keys is left out rather than sent as text that might hide a
    ``"password": …`` where redaction cannot see it.
    """
    if len(raw) > MAX_BODY_BYTES:
        return f"[{len(raw)} bytes not captured]"
    if "json" in content_type:
        try:
            return json.loads(raw)
        except ValueError:
            return "[body is not valid JSON; not captured]"
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
    if content_type.startswith("multipart/"):
        return "[multipart body not captured]"
    return raw.decode("utf-8", errors="replace")
