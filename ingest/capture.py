"""bugstack.ai's SDK payloads: ``POST /api/capture``, so apps instrumented for it report here unchanged.

Those SDKs send a flat body: ``error{message, stackTrace, file, function, fingerprint}``, ``environment``,
``request{route, method}``, ``timestamp``, ``projectId`` and ``metadata``, with the key in
``X-BugStack-API-Key`` (or the body's ``apiKey``). The stack trace is one string, read into frames by
``ingest.stacktrace_text`` (Python tracebacks, V8/Node stacks, Ruby backtraces, Go stacks), so these events
group, triage and reach the context builder like any other. The SDK's own fingerprint includes the line
number, so it is kept as a tag (``client_fingerprint``) and not used for grouping.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ingest.auth import active_key
from ingest.parsers import EventJSONParser, require_length
from ingest.paths import is_library_path
from ingest.stacktrace_text import parse_stack_trace
from ingest.views import JSONFirstNegotiation, ingest_event, unavailable

MAX_TEXT = 8192
# Keys of the SDK's ``environment`` object that may name the deployment (production, staging…).
DEPLOYMENT_KEYS = ("environment", "env", "stage", "name")
# Keys that may name the runtime, read as a hint for the stack trace's format.
RUNTIME_KEYS = ("language", "runtime", "platform", "sdk")


def native_capture(body: dict[str, Any]) -> dict[str, Any]:
    """The capture body as a native payload, ready for ``ingest.schema.validate_payload``."""
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    environment = body.get("environment") if isinstance(body.get("environment"), dict) else {}
    message = text(error.get("message"))
    trace = parse_stack_trace(text(error.get("stackTrace")) or "", runtime_hint(environment))
    exception: dict[str, Any] = {
        "type": (trace.exception_type if trace else None)
        or text(error.get("type") or error.get("name"))
        or "Error",
        "value": message or (trace.message if trace else None) or "",
    }
    frames = [with_in_app(frame) for frame in trace.frames] if trace else raise_site(error)
    if frames:
        exception["stacktrace"] = {"frames": frames}
    native: dict[str, Any] = {"exception": {"values": [exception]}}
    if trace:
        native["platform"] = trace.platform
    if body.get("timestamp") is not None:
        native["timestamp"] = body["timestamp"]
    deployment = next(
        (environment[key] for key in DEPLOYMENT_KEYS if isinstance(environment.get(key), str)), None
    )
    if deployment:
        native["environment"] = deployment
    if environment:
        native["contexts"] = {"environment": environment}
    request = body.get("request")
    if isinstance(request, dict):
        native["request"] = {
            key: request[key] for key in ("method", "route", "url") if isinstance(request.get(key), str)
        }
    tags = {}
    if error.get("fingerprint") is not None:
        tags["client_fingerprint"] = text(error["fingerprint"])
    if isinstance(body.get("projectId"), str | int):
        tags["client_project"] = str(body["projectId"])
    if tags:
        native["tags"] = tags
    if isinstance(body.get("metadata"), dict):
        native["extra"] = body["metadata"]
    return native


def text(value: Any) -> str | None:
    """A string field as sent, bounded; anything else (numbers…) as its text, None for nothing."""
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)[: MAX_TEXT * 8]


def runtime_hint(environment: dict[str, Any]) -> str | None:
    for key in RUNTIME_KEYS:
        value = environment.get(key)
        if isinstance(value, str) and value:
            return value.split()[0].lower()[:40]
    return None


def with_in_app(frame: dict[str, Any]) -> dict[str, Any]:
    """A frame of a stack string marked as the app's own unless its file lives with a library's."""
    return {**frame, "in_app": not is_library_path(frame.get("abs_path") or frame.get("filename") or "")}


def raise_site(error: dict[str, Any]) -> list[dict[str, Any]]:
    """One frame from the error's ``file`` and ``function``, when the stack trace could not be read."""
    frame = {name: text(error.get(key)) for name, key in (("filename", "file"), ("function", "function"))}
    frame = {name: value[:1024] for name, value in frame.items() if value}
    return [frame] if frame else []


class CaptureView(APIView):
    """One error from a bugstack.ai SDK."""

    authentication_classes: list = []  # the key may be in the body
    permission_classes: list = []
    throttle_classes: list = []
    parser_classes = [EventJSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONFirstNegotiation

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        require_length(request.META)
        body = request.data
        if not isinstance(body, dict):
            raise exceptions.ParseError(f"The body must be a JSON object, not {type(body).__name__}.")
        public_key = request.META.get("HTTP_X_BUGSTACK_API_KEY", "").strip() or text(body.get("apiKey"))
        key = active_key(public_key, "send 'X-BugStack-API-Key: <project key>'")
        return ingest_event(key, native_capture(body))

    def get_authenticate_header(self, request: Request) -> str:
        return 'BugStack realm="bugstack"'

    def handle_exception(self, exc: Exception) -> Response:
        return unavailable(exc) or super().handle_exception(exc)
