"""Every public endpoint fuzzed from an OpenAPI description (schemathesis), in process, over the WSGI app.

The native events API is fuzzed from the schema bugstack serves (``/api/schema/``). Sentry's endpoints, the
capture endpoint and the GitHub webhook are left out of that schema (they speak other protocols), so they are
described here, over the served schema's components, for the same generator: a Sentry event or a capture
body as JSON, an envelope from its own strategy (it is not JSON), a webhook delivery signed with the
account's secret after it is generated.

Whatever is sent: no answer is a server error, every 4xx says what is wrong in a JSON message, and every
answer the description declares has its status, content type and shape. Most requests carry the project's
key; some an inactive, unknown, malformed or missing one, or another project's. Examples are derandomised,
so a run in CI sends what it sent here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from integrations.models import Credential
from tests.factories import CredentialFactory, ProjectFactory, ProjectKeyFactory

application = get_wsgi_application()
served = schemathesis.openapi.from_wsgi("/api/schema/", application)

ENVELOPE = "application/x-sentry-envelope"
REPOSITORY = "acme/shop"
SHOP_ORIGIN = "https://shop.example.com"
WEBHOOK_SECRET = "whsec-fuzz-0123456789"

# What a request carries to say who sends it: the project's key most often, so that most requests reach
# past authentication.
CREDENTIALS = st.sampled_from(
    ["valid"] * 6 + ["inactive", "unknown", "malformed", "missing", "other project"]
)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    # The database and the key are the test's; every example posts to the same project.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def states_what_is_wrong(ctx: Any, response: Any, case: Any) -> None:
    """A 4xx answer is a JSON object with a non-empty message: DRF's ``detail`` or the webhook's ``error``."""
    if not 400 <= response.status_code < 500:
        return
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(
            f"{response.status_code} without a JSON body: {response.content[:200]!r}"
        ) from None
    message = (
        body.get("detail") or body.get("message") or body.get("error") if isinstance(body, dict) else None
    )
    assert isinstance(message, str) and message.strip(), f"{response.status_code} without a message: {body!r}"


CHECKS = [
    not_a_server_error,
    states_what_is_wrong,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def app(db):
    """The WSGI application on the test's database connection, as Django's own test client runs it.

    The handler closes the connection as each request starts and ends; inside the test's transaction that
    would end the transaction too, so those receivers are off while the test runs.
    """
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield application
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def keys(key, project):
    """The public key each credential names (None: no key at all)."""
    return {
        "valid": key.public_key,
        "inactive": ProjectKeyFactory(project=project, is_active=False).public_key,
        "unknown": "0123456789abcdef" * 2,
        "malformed": "not a key",
        "missing": None,
        "other project": ProjectKeyFactory(project=ProjectFactory(account=project.account)).public_key,
    }


# --- The native events API, from the schema bugstack serves ----------------------------------------------


@served.parametrize()
@served.given(credential=CREDENTIALS)
@FUZZ
def test_events_api(app, case, credential, keys):
    public_key = keys[credential]
    headers = {} if public_key is None else {"Authorization": f"Bearer {public_key}"}
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)


# --- Sentry's endpoints, capture and the webhook, described here ----------------------------------------


def problem(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema or PROBLEM}}}


PROBLEM = {"$ref": "#/components/schemas/Problem"}
# The webhook's refusals, as GitHub shows them in the delivery's log.
WEBHOOK_PROBLEM = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
ACCEPTED = {"$ref": "#/components/schemas/EventAccepted"}
JSON_VALUE: dict[str, Any] = {}
TEXT_OR_OBJECT = {"anyOf": [{"type": "string"}, {"type": "object"}]}
PROJECT_ID = {
    "name": "project_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}
SENTRY_REFUSALS = {
    "400": problem("Not JSON, not an envelope, or not an event."),
    "401": problem("No key, or an unknown or inactive one."),
    "403": problem("A key of another project, or an origin the project does not allow."),
    "413": problem("Over the size limit after decompression."),
    "415": problem("An unknown Content-Encoding."),
    "429": problem("Over the key's rate limit, or too many events wait."),
}

# A Sentry event: the native fields, and where Sentry SDKs may put the exception and the message instead.
SENTRY_EVENT = {
    "allOf": [{"$ref": "#/components/schemas/EventPayload"}],
    "type": "object",
    "properties": {
        "exception": {
            "anyOf": [
                {"$ref": "#/components/schemas/ExceptionList"},
                {"type": "array", "items": {"$ref": "#/components/schemas/ExceptionValue"}},
            ]
        },
        "logentry": {"type": "object", "properties": {"formatted": {"type": "string"}}},
        "message": TEXT_OR_OBJECT,
        "threads": {
            "type": "object",
            "properties": {
                "values": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "crashed": {"type": "boolean"},
                            "current": {"type": "boolean"},
                            "stacktrace": {"$ref": "#/components/schemas/Stacktrace"},
                        },
                    },
                }
            },
        },
        "logger": {"type": "string"},
    },
}
# What bugstack.ai's SDKs post to /api/capture (``ingest.capture``).
CAPTURE_BODY = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                name: {"type": "string"}
                for name in ("message", "stackTrace", "file", "function", "fingerprint", "type", "name")
            },
        },
        "environment": {"type": "object"},
        "request": {
            "type": "object",
            "properties": {name: {"type": "string"} for name in ("route", "method", "url")},
        },
        "timestamp": {"anyOf": [{"type": "string"}, {"type": "number"}]},
        "projectId": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        "metadata": {"type": "object"},
        "apiKey": {"type": "string"},
    },
    "required": ["error"],
}
# The GitHub deliveries the webhook reads (``integrations.webhooks``), on the project's repository.
GITHUB_DELIVERY = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": ["completed", "closed", "opened", "requested"]},
        "repository": {
            "type": "object",
            "properties": {"full_name": {"type": "string", "enum": [REPOSITORY]}},
            "required": ["full_name"],
        },
        "check_run": {
            "type": "object",
            "properties": {
                "head_sha": {"type": "string"},
                "check_suite": {"type": "object", "properties": {"head_branch": {"type": "string"}}},
                "pull_requests": {"type": "array", "items": {"type": "object"}},
            },
        },
        "check_suite": {
            "type": "object",
            "properties": {
                "head_sha": {"type": "string"},
                "head_branch": {"type": "string"},
                "pull_requests": {"type": "array", "items": {"type": "object"}},
            },
        },
        "state": {"type": "string", "enum": ["pending", "success", "failure", "error"]},
        "sha": {"type": "string"},
        "branches": {
            "type": "array",
            "items": {"type": "object", "properties": {"name": {"type": "string"}}},
        },
        "pull_request": {
            "type": "object",
            "properties": {
                "number": {"type": "integer"},
                "merged": {"type": "boolean"},
                "head": {
                    "type": "object",
                    "properties": {"sha": {"type": "string"}, "ref": {"type": "string"}},
                },
            },
        },
    },
    "required": ["repository"],
}


def described_paths() -> dict[str, Any]:
    sentry_ok = {
        "description": "Accepted, or nothing to store.",
        "content": {"application/json": {"schema": {}}},
    }
    return {
        "/api/{project_id}/store/": {
            "post": {
                "operationId": "sentry_store",
                "parameters": [PROJECT_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": SENTRY_EVENT}}},
                "responses": {"200": {**sentry_ok, "content": {"application/json": {"schema": ACCEPTED}}}}
                | SENTRY_REFUSALS,
            }
        },
        "/api/{project_id}/envelope/": {
            "post": {
                "operationId": "sentry_envelope",
                "parameters": [PROJECT_ID],
                "requestBody": {
                    "required": True,
                    "content": {ENVELOPE: {"schema": {"type": "string", "format": "binary"}}},
                },
                "responses": {"200": sentry_ok} | SENTRY_REFUSALS,
            },
            "options": {
                "operationId": "sentry_envelope_preflight",
                "parameters": [
                    PROJECT_ID,
                    {
                        "name": "Origin",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string", "enum": [SHOP_ORIGIN, "https://elsewhere.example"]},
                    },
                ],
                "responses": {
                    "200": {"description": "The origin may post."},
                    "403": problem("The origin may not post to this project."),
                },
            },
        },
        "/api/capture": {
            "post": {
                "operationId": "capture",
                "requestBody": {"required": True, "content": {"application/json": {"schema": CAPTURE_BODY}}},
                "responses": {
                    "202": {
                        "description": "Accepted.",
                        "content": {"application/json": {"schema": ACCEPTED}},
                    },
                    "400": problem("Not JSON, or not an error report."),
                    "401": problem("No key, or an unknown or inactive one."),
                    "413": problem("Over the size limit after decompression."),
                    "415": problem("Not application/json, or an unknown Content-Encoding."),
                    "429": problem("Over the key's rate limit, or too many events wait."),
                },
            }
        },
        "/integrations/github/webhook/": {
            "post": {
                "operationId": "github_webhook",
                "parameters": [
                    {
                        "name": "X-GitHub-Event",
                        "in": "header",
                        "required": True,
                        "schema": {
                            "type": "string",
                            "enum": ["check_run", "check_suite", "status", "pull_request", "ping", "push"],
                        },
                    },
                    {
                        "name": "X-GitHub-Delivery",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[0-9a-f-]{1,40}$"},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": GITHUB_DELIVERY}},
                },
                "responses": {
                    "200": {"description": "A ping, or a delivery seen before."},
                    "202": {"description": "Announced to the repository's projects."},
                    "204": {"description": "Nothing a fix run waits for."},
                    "400": problem(
                        "Not a JSON object, or a field missing or of the wrong type.", WEBHOOK_PROBLEM
                    ),
                    "401": problem(
                        "Not signed with the webhook secret of an account on the repository.", WEBHOOK_PROBLEM
                    ),
                    "413": problem("Over the size limit.", WEBHOOK_PROBLEM),
                },
            }
        },
    }


@st.composite
def envelopes(draw: st.DrawFn) -> bytes:
    """An envelope as Sentry SDKs write it, or nearly: a header line, then items with or without a length."""
    header = draw(st.fixed_dictionaries({}, optional={"event_id": st.uuids().map(lambda u: u.hex)}))
    lines = [json.dumps(header).encode()]
    for kind, payload in draw(st.lists(envelope_items(), max_size=4)):
        item_header = {"type": kind}
        if draw(st.booleans()):
            item_header["length"] = len(payload)
        lines += [json.dumps(item_header).encode(), payload]
    body = b"\n".join(lines)
    return draw(st.sampled_from([body, body + b"\n", body[: draw(st.integers(0, len(body)))]]))


def envelope_items() -> st.SearchStrategy[tuple[str, bytes]]:
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=10,
    )
    event = st.fixed_dictionaries(
        {},
        optional={
            "message": st.text(max_size=40),
            "exception": st.fixed_dictionaries(
                {"values": st.lists(st.fixed_dictionaries({"type": st.text(max_size=20)}), max_size=2)}
            ),
            "level": st.sampled_from(["error", "fatal", "warning"]),
            "extra": json_values,
        },
    )
    return st.one_of(
        st.tuples(st.just("event"), event.map(lambda value: json.dumps(value).encode())),
        st.tuples(st.just("event"), st.binary(max_size=40)),
        st.tuples(
            st.sampled_from(["session", "attachment", "client_report", "mystery"]), st.binary(max_size=40)
        ),
        st.tuples(st.just("client_report"), json_values.map(lambda value: json.dumps(value).encode())),
    )


schemathesis.openapi.media_type(ENVELOPE, envelopes())
described = schemathesis.openapi.from_dict({**served.raw_schema, "paths": described_paths()})


@pytest.fixture
def webhook_secret(project):
    """The project on GitHub, its account's webhook secret set, its shop's page allowed to send events."""
    CredentialFactory(account=project.account, kind=Credential.Kind.GITHUB_WEBHOOK, secret=WEBHOOK_SECRET)
    project.code_host = "github"
    project.repository = REPOSITORY
    project.allowed_origins = SHOP_ORIGIN
    project.save()
    return WEBHOOK_SECRET


def sentry_headers(public_key: str | None) -> dict[str, str]:
    return (
        {} if public_key is None else {"X-Sentry-Auth": f"Sentry sentry_key={public_key}, sentry_version=7"}
    )


@described.parametrize()
@described.given(credential=CREDENTIALS)
@FUZZ
def test_described_endpoints(app, case, credential, keys, project, webhook_secret):
    public_key = keys[credential]
    if "project_id" in case.path_parameters:
        # The key's project (or not, for another project's key): a path without a project id routes to none
        # of these views.
        case.path_parameters["project_id"] = project.pk
    send: dict[str, Any] = {}
    if case.operation.path == "/integrations/github/webhook/":
        body = case.body if isinstance(case.body, bytes) else json.dumps(case.body).encode()
        secret = webhook_secret if public_key == keys["valid"] else "not the secret"
        headers = {} if public_key is None else {"X-Hub-Signature-256": signature(body, secret)}
        send["data"] = body
    elif case.operation.path == "/api/capture":
        headers = {} if public_key is None else {"X-BugStack-API-Key": public_key}
    else:
        headers = sentry_headers(public_key)
    response = case.call(app=app, headers=headers, **send)
    case.validate_response(response, checks=CHECKS, headers=headers)


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
