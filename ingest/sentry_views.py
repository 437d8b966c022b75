"""Sentry's ingestion endpoints: ``/api/<project id>/store/`` and ``/api/<project id>/envelope/``.

A Sentry SDK given the project's DSN (``http(s)://<public key>@<host>/<project id>``, shown beside the native
key) sends here. The key comes from the ``X-Sentry-Auth`` header, the ``sentry_key`` query parameter (browser
SDKs) or, for an envelope, the ``dsn`` in its header line; it must belong to the project in the path. The
event is read into the native protocol (``ingest.sentry``) and accepted exactly as a native event is. Other
envelope items (transactions, sessions, attachments, client reports…) are read past and not stored.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bugstack.models import Project
from ingest.auth import IngestKey, active_key, origin_allowed
from ingest.dropped import count_client_report, count_dropped
from ingest.envelope import (
    Envelope,
    EnvelopeError,
    EnvelopeTooLarge,
    dsn_public_key,
    parse_envelope,
    parse_sentry_auth,
)
from ingest.parsers import PayloadTooLarge, decompress, loads, read_body, require_length
from ingest.sentry import native_event
from ingest.views import JSONFirstNegotiation, ingest_event, unavailable

AUTH_HINT = (
    "send 'X-Sentry-Auth: Sentry sentry_key=<public key>, sentry_version=7', or ?sentry_key=<public key>, "
    "or the project's DSN in the envelope header"
)


class EnvelopeParser(BaseParser):
    """Any body, decompressed and cut off at ``BUGSTACK_ENVELOPE_MAX_BYTES``: the envelope's bytes."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return read_body(stream, parser_context, settings.BUGSTACK_ENVELOPE_MAX_BYTES)


class StoreParser(BaseParser):
    """A store body whatever its content type (browser SDKs send text/plain, Raven clients octet-stream):
    JSON, or the legacy encoding Raven clients send by default, JSON deflated with zlib and base64-encoded."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        limit = settings.BUGSTACK_INGEST_MAX_BYTES
        body = read_body(stream, parser_context, limit)
        if body.lstrip()[:1] not in (b"{", b""):
            body = legacy_body(body, limit)
        return loads(body, needs_cleaning=b"\\u" in body)


def legacy_body(body: bytes, limit: int) -> bytes:
    """Raven's base64 of zlib-deflated JSON, decoded (inflating at most ``limit`` bytes)."""
    try:
        deflated = base64.b64decode(body.strip(), validate=True)
    except binascii.Error:
        raise exceptions.ParseError(
            "The body is neither JSON nor base64-encoded zlib-deflated JSON."
        ) from None
    return decompress(deflated, "deflate", limit)


class SentryView(APIView):
    """What both endpoints share: the key, its project, the rate limits as Sentry clients read them."""

    authentication_classes: list = []  # the key may be in the body: each view finds it (``key_for``)
    permission_classes: list = []
    throttle_classes: list = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONFirstNegotiation
    allowed_origin: str | None = None  # set once the request's Origin is found among the project's

    def key_for(self, request: Request, project_id: int, dsn: str | None = None) -> IngestKey:
        key = active_key(sentry_key(request) or (dsn_public_key(dsn) if dsn else None), AUTH_HINT)
        if key.project_id != project_id:
            raise exceptions.PermissionDenied(
                f"This key belongs to another project than {project_id}; use the DSN shown for this project."
            )
        origin = request.META.get("HTTP_ORIGIN")
        if origin is not None:
            if not key.allows_origin(origin):
                raise exceptions.PermissionDenied(
                    f"Events from {origin[:200]} are refused: it is not among the project's allowed origins."
                )
            self.allowed_origin = origin
        return key

    def finalize_response(self, request: Request, response, *args, **kwargs):
        """A 429 also in Sentry's header, which makes official SDKs hold back error events (and every other
        category) as long as ``Retry-After`` says; the page of an allowed origin may read the answer."""
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS and response.has_header("Retry-After"):
            response["X-Sentry-Rate-Limits"] = f"{response['Retry-After']}:error;default:project"
        if self.allowed_origin:
            response["Access-Control-Allow-Origin"] = self.allowed_origin
            response["Access-Control-Expose-Headers"] = "X-Sentry-Rate-Limits, Retry-After"
            response["Vary"] = "Origin"
        return response

    def options(self, request: Request, project_id: int) -> Response:
        """A browser's preflight: allowed for the project's origins, as the POST that follows will be."""
        origin = request.META.get("HTTP_ORIGIN", "")
        project = Project.objects.filter(pk=project_id).only("allowed_origins").first()
        origins = project.origins if project else frozenset()
        if not origin or not origin_allowed(origins, origin):
            raise exceptions.PermissionDenied("This origin may not send events to this project.")
        self.allowed_origin = origin
        response = Response(status=status.HTTP_200_OK)
        response["Access-Control-Allow-Methods"] = "POST"
        response["Access-Control-Allow-Headers"] = "Content-Type, Content-Encoding, X-Sentry-Auth"
        response["Access-Control-Max-Age"] = "3600"
        return response

    def accept_event(self, key: IngestKey, event: Any) -> Response:
        """Accept one Sentry event for the key's project: 200 with its id, or what stood in the way."""
        if not isinstance(event, dict):
            return Response(
                {"detail": f"Invalid event: the event must be a JSON object, not {type(event).__name__}"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return ingest_event(key, native_event(event), ok_status=status.HTTP_200_OK)

    def get_authenticate_header(self, request: Request) -> str:
        return 'Sentry realm="bugstack"'

    def handle_exception(self, exc: Exception) -> Response:
        return unavailable(exc) or super().handle_exception(exc)


class SentryStoreView(SentryView):
    """One event as JSON (Sentry's older ``store`` endpoint)."""

    parser_classes = [StoreParser]

    @extend_schema(exclude=True)
    def post(self, request: Request, project_id: int) -> Response:
        require_length(request.META)
        key = self.key_for(request, project_id)
        return self.accept_event(key, request.data)


class SentryEnvelopeView(SentryView):
    """An envelope: its event item is accepted; every other item is read past."""

    parser_classes = [EnvelopeParser]

    @extend_schema(exclude=True)
    def post(self, request: Request, project_id: int) -> Response:
        require_length(request.META)
        try:
            envelope = parse_envelope(
                request.data,
                max_items=settings.BUGSTACK_ENVELOPE_MAX_ITEMS,
                max_item_bytes=settings.BUGSTACK_INGEST_MAX_BYTES,
            )
        except EnvelopeTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from None
        except EnvelopeError as exc:
            raise exceptions.ParseError(f"Not a valid envelope: {exc}") from None
        dsn = envelope.headers.get("dsn")
        key = self.key_for(request, project_id, dsn if isinstance(dsn, str) else None)
        count_items_not_stored(key.project_id, envelope)
        events = [item for item in envelope.items if item.type == "event"]
        if not events:
            return Response({}, status=status.HTTP_200_OK)
        try:
            event = events[0].json()
        except EnvelopeError as exc:
            raise exceptions.ParseError(f"The event item is not valid JSON: {exc}") from None
        return self.accept_event(key, event)


# Item types Sentry SDKs send that bugstack reads past; any other type is counted as unknown.
NOT_STORED = frozenset({
    "transaction", "session", "sessions", "attachment", "client_report", "check_in", "profile",
    "profile_chunk", "replay_event", "replay_recording", "replay_video", "span", "log", "otel_log",
    "statsd", "metric_buckets", "user_report", "feedback",
})  # fmt: skip


def count_items_not_stored(project_id: int, envelope: Envelope) -> None:
    """Count the envelope's items other than its event, and what its client reports say was discarded."""
    for item in envelope.items:
        if item.type == "event":
            continue
        if item.type == "client_report":
            try:
                count_client_report(project_id, item.json())
            except EnvelopeError:
                count_dropped(project_id, "client_report", "not valid JSON")
            continue
        known = item.type in NOT_STORED
        count_dropped(
            project_id, item.type if known else "unknown", "not stored" if known else "unknown type"
        )


def sentry_key(request: Request) -> str | None:
    """The key from ``X-Sentry-Auth`` (or ``Authorization: Sentry …``), else from ``?sentry_key=``."""
    for header in ("HTTP_X_SENTRY_AUTH", "HTTP_AUTHORIZATION"):
        value = request.META.get(header, "")
        if value.lstrip().lower().startswith("sentry "):
            found = parse_sentry_auth(value).get("sentry_key")
            if found:
                return found
    return request.query_params.get("sentry_key") or None
