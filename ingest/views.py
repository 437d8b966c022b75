"""The events API: authenticate, check size, parse, redact, fingerprint, append for digest, answer 202."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ingest.accept import accept, backlog_full
from ingest.auth import IngestKey, ProjectKeyAuthentication, rate_limit_wait
from ingest.normalize import prepare_event
from ingest.openapi import EventPayloadSchema  # noqa: F401 - registers the schema extension
from ingest.parsers import EventJSONParser, require_length
from ingest.redact import without_client_ip
from ingest.schema import EventPayload, SchemaError, validate_payload

RETRY_AFTER_UNAVAILABLE = 5
RETRY_AFTER_BACKLOG = 10
logger = logging.getLogger(__name__)

Accepted = inline_serializer("EventAccepted", {"id": serializers.CharField(help_text="The event id (hex).")})
Problem = inline_serializer(
    "Problem",
    {
        "detail": serializers.CharField(help_text="What is wrong, for a person."),
        "field": serializers.CharField(required=False, help_text="Dotted path of the offending field."),
    },
)


class ProjectKeyScheme(OpenApiAuthenticationExtension):
    target_class = "ingest.auth.ProjectKeyAuthentication"
    name = "projectKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "The project key (also `X-Bugstack-Key`)."}


def accepted(event_id: str, ok_status: int = status.HTTP_202_ACCEPTED) -> HttpResponse:
    """202 (or the protocol's own status) with the event id, byte for byte what ``JSONRenderer`` renders
    for ``{"id": …}``.

    Built directly because it answers nearly every request, and DRF's ``Response`` and rendering of one
    short, fixed-shape body cost more than the body; the hex id needs no escaping.
    """
    return HttpResponse(f'{{"id":"{event_id}"}}', status=ok_status, content_type="application/json")


class JSONFirstNegotiation(DefaultContentNegotiation):
    """JSON in and out without parsing media types for the requests SDKs send.

    A body of exactly ``application/json`` is parsed as JSON, and a client that takes anything or JSON
    is answered in JSON. Every other request (another Accept, a ``?format=``, a charset parameter) goes
    through DRF's negotiation, so what it would answer is unchanged.
    """

    ANY_OR_JSON = frozenset({"*/*", "application/json"})

    def select_renderer(self, request, renderers, format_suffix=None):
        only_json = len(renderers) == 1 and renderers[0].media_type == "application/json"
        plain = not format_suffix and not request.META.get("QUERY_STRING")
        if only_json and plain and request.META.get("HTTP_ACCEPT", "*/*") in self.ANY_OR_JSON:
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)

    def select_parser(self, request, parsers):
        # The exact media type SDKs send; anything else (parameters, other types) is matched by DRF.
        if len(parsers) == 1 and request.content_type == parsers[0].media_type:
            return parsers[0]
        return super().select_parser(request, parsers)


class EventIngestView(APIView):
    """Accept one event (native protocol v1) from an SDK."""

    authentication_classes = [ProjectKeyAuthentication]
    permission_classes: list = []
    throttle_classes: list = []  # the key's rate limit is ingest_event's, as for every endpoint
    parser_classes = [EventJSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONFirstNegotiation

    @extend_schema(
        operation_id="events_create",
        request=EventPayload,
        responses={
            202: OpenApiResponse(
                Accepted, description="Accepted for grouping (an event_id already stored is counted once)."
            ),
            400: OpenApiResponse(Problem, description="Not JSON, not UTF-8, or not the protocol."),
            401: OpenApiResponse(Problem, description="Missing, unknown or inactive project key."),
            413: OpenApiResponse(Problem, description="Over the size limit after decompression."),
            415: OpenApiResponse(
                Problem, description="Not application/json, or an unknown Content-Encoding."
            ),
            429: OpenApiResponse(
                Problem, description="Over the key's rate limit, or too many events wait; see Retry-After."
            ),
        },
        tags=["events"],
    )
    def post(self, request: Request) -> Response:
        require_length(request.META)
        if not request.content_type:
            raise exceptions.UnsupportedMediaType(
                "", detail="Send the event with Content-Type: application/json."
            )
        return ingest_event(request.auth, request.data)

    def handle_exception(self, exc: Exception) -> Response:
        return unavailable(exc) or super().handle_exception(exc)


def ingest_event(key: IngestKey, payload: Any, ok_status: int = status.HTTP_202_ACCEPTED) -> HttpResponse:
    """Accept one event for the key's project: its id, or why not (the key's rate limit, backlog full, not
    the protocol).

    Every ingest endpoint ends here, whatever protocol it speaks, once it has its key and the event's JSON.
    """
    # Refused before the event is validated: an event that cannot be kept costs no normalising.
    wait = rate_limit_wait(key)
    if wait is not None:
        return over_rate_limit(key, wait)
    if backlog_full():
        limit = settings.BUGSTACK_INGEST_BACKLOG_LIMIT
        return too_many(
            RETRY_AFTER_BACKLOG,
            f"More than {limit} events wait to be grouped; retry in {RETRY_AFTER_BACKLOG} s.",
        )
    received_at = timezone.now()
    if not key.keep_client_ip:
        payload = without_client_ip(payload)
    try:
        event = prepare_event(validate_payload(payload), received_at, key.redact_terms)
    except SchemaError as exc:
        return Response(
            {"detail": f"Invalid event: {exc}", "field": exc.field}, status=status.HTTP_400_BAD_REQUEST
        )
    accept(key.project_id, received_at, event)
    return accepted(event.event_id.hex, ok_status)


def too_many(wait: int, detail: str) -> Response:
    """429 with ``Retry-After``: the sender is to wait ``wait`` seconds."""
    response = Response({"detail": detail}, status=status.HTTP_429_TOO_MANY_REQUESTS)
    response["Retry-After"] = str(wait)
    return response


def over_rate_limit(key: IngestKey, wait: int) -> Response:
    """429 for a key past its project's events-per-minute limit (``ingest.auth.rate_limit_wait``)."""
    limit = key.rate_limit_per_minute
    return too_many(
        wait, f"This key sends more than {limit} events a minute (the project's limit); retry in {wait} s."
    )


def unavailable(exc: Exception) -> Response | None:
    """503 when the database is away: not the sender's fault and worth retrying; never a bare 500."""
    if not isinstance(exc, DatabaseError):
        return None
    logger.exception("event not stored")
    response = Response(
        {"detail": "Events cannot be stored right now; retry later."},
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
    )
    response["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE)
    return response
