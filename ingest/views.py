"""The events API: authenticate, check size, parse, redact, fingerprint, append for digest, answer 202."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse
from django.template.defaultfilters import filesizeformat
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
from ingest.parsers import BatchJSONParser, EventJSONParser, require_length
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
BatchResults = inline_serializer(
    "EventBatchResults",
    {
        "results": serializers.ListField(
            child=serializers.DictField(),
            help_text='Per event: {"id", "status": 202}, or {"status", "detail", "field"?, "retry_after"?}.',
        )
    },
)

# The batch's body in the schema: the single event's component, as an array.
EVENT_ARRAY = {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/EventPayload"}}


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


class EventBatchView(APIView):
    """Accept a batch of events (native protocol v1): what an SDK sends when events queued while it sent.

    Each event is judged on its own, as if it came alone: the answer lists, in order, its id or why it was
    not stored; those stored are appended together. A refused batch (key, size, not an array) stores none.
    """

    authentication_classes = [ProjectKeyAuthentication]
    permission_classes: list = []
    throttle_classes: list = []
    parser_classes = [BatchJSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONFirstNegotiation

    @extend_schema(
        operation_id="events_batch_create",
        request={"application/json": EVENT_ARRAY},
        responses={
            200: OpenApiResponse(
                BatchResults,
                description="One result per event, in order: 202 with its id, 400 (not stored, do not "
                "resend) or 429 (resend after `retry_after` seconds; the response then has Retry-After).",
            ),
            400: OpenApiResponse(Problem, description="Not JSON, or not an array of 1 to 100 events."),
            401: OpenApiResponse(Problem, description="Missing, unknown or inactive project key."),
            413: OpenApiResponse(Problem, description="Over the batch size limit after decompression."),
            415: OpenApiResponse(
                Problem, description="Not application/json, or an unknown Content-Encoding."
            ),
        },
        tags=["events"],
    )
    def post(self, request: Request) -> Response:
        require_length(request.META)
        if not request.content_type:
            raise exceptions.UnsupportedMediaType(
                "", detail="Send the events with Content-Type: application/json."
            )
        payloads = request.data
        most = settings.BUGSTACK_BATCH_MAX_EVENTS
        if not isinstance(payloads, list) or not 1 <= len(payloads) <= most:
            raise exceptions.ParseError(f"Send a JSON array of 1 to {most} events.")
        results = [batch_result(outcome) for outcome in take_events(request.auth, payloads)]
        response = Response({"results": results}, status=status.HTTP_200_OK)
        waits = [result["retry_after"] for result in results if "retry_after" in result]
        if waits:
            response["Retry-After"] = str(max(waits))
        return response

    def handle_exception(self, exc: Exception) -> Response:
        return unavailable(exc) or super().handle_exception(exc)


def batch_result(outcome: str | Refusal) -> dict[str, Any]:
    if isinstance(outcome, Refusal):
        return {"status": outcome.status, **outcome.body()}
    return {"id": outcome, "status": status.HTTP_202_ACCEPTED}


def ingest_event(key: IngestKey, payload: Any, ok_status: int = status.HTTP_202_ACCEPTED) -> HttpResponse:
    """Accept one event for the key's project: its id, or why not (the key's rate limit, backlog full, not
    the protocol).

    Every ingest endpoint ends here, whatever protocol it speaks, once it has its key and the event's JSON.
    """
    (outcome,) = take_events(key, [payload])
    if isinstance(outcome, Refusal):
        return outcome.response()
    return accepted(outcome, ok_status)


@dataclass(frozen=True)
class Refusal:
    """Why an event was not stored: an HTTP status, a message for a person, and when to resend, if ever."""

    status: int
    detail: str
    retry_after: int | None = None
    field: str | None = None

    def body(self) -> dict[str, Any]:
        fields = {"detail": self.detail, "field": self.field, "retry_after": self.retry_after}
        return {name: value for name, value in fields.items() if value is not None}

    def response(self) -> Response:
        response = Response(self.body(), status=self.status)
        if self.retry_after is not None:
            response["Retry-After"] = str(self.retry_after)
        return response


def take_events(key: IngestKey, payloads: list[Any]) -> list[str | Refusal]:
    """Check, prepare and append the key's events: for each, in order, its stored id (hex) or a ``Refusal``.

    The events that pass are appended together, after every one was checked: a batch costs one statement.
    """
    received_at = timezone.now()
    outcomes: list[str | Refusal] = []
    events = []
    for payload in payloads:
        outcome = refusal_before_reading(key)
        if outcome is None:
            try:
                event = prepare_event(validate_payload(visible(key, payload)), received_at, key.redact_terms)
            except SchemaError as exc:
                outcome = Refusal(status.HTTP_400_BAD_REQUEST, f"Invalid event: {exc}", field=exc.field)
            else:
                events.append(event)
                outcome = event.event_id.hex
        outcomes.append(outcome)
    if events:
        accept(key.project_id, received_at, events)
    return outcomes


def refusal_before_reading(key: IngestKey) -> Refusal | None:
    """The key's rate limit or a full backlog, checked before an event is validated: an event that cannot be
    kept costs no normalising."""
    wait = rate_limit_wait(key)
    if wait is not None:
        limit = key.rate_limit_per_minute
        return Refusal(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"This key sends more than {limit} events a minute (the project's limit); retry in {wait} s.",
            retry_after=wait,
        )
    if backlog_full():
        limit = filesizeformat(settings.BUGSTACK_INGEST_BACKLOG_BYTES)
        return Refusal(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"More than {limit} of events wait to be grouped; retry in {RETRY_AFTER_BACKLOG} s.",
            retry_after=RETRY_AFTER_BACKLOG,
        )
    return None


def visible(key: IngestKey, payload: Any) -> Any:
    """The payload as the project may keep it: without the client's IP address unless the project keeps it."""
    return payload if key.keep_client_ip else without_client_ip(payload)


def unavailable(exc: Exception) -> Response | None:
    """503 when the database is away or the spool's disk refuses a write: not the sender's fault and worth
    retrying; never a bare 500."""
    if not isinstance(exc, DatabaseError | OSError):
        return None
    logger.exception("event not stored")
    response = Response(
        {"detail": "Events cannot be stored right now; retry later."},
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
    )
    response["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE)
    return response
