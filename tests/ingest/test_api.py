"""The events API as an SDK sees it: every response code, with a body that names the problem."""

from __future__ import annotations

import json
import uuid
import zlib

import pytest
from django.core.cache import cache
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from ingest.auth import lookup_key
from ingest.models import ErrorGroup, Event
from pipeline.models import FixRun
from tests.factories import ProjectFactory, ProjectKeyFactory
from tests.ingest.conftest import EVENTS_URL, last_exception, python_event

pytestmark = pytest.mark.django_db


def test_an_accepted_event_is_stored_in_a_new_group_with_one_queued_run(post_event, project):
    response = post_event()

    assert response.status_code == 202
    event = Event.objects.get()
    assert response.json() == {"id": event.event_id.hex}
    group = event.group
    assert (group.project, group.times_seen, group.exception_type) == (project, 1, "ZeroDivisionError")
    assert group.title == "ZeroDivisionError: division by zero"
    assert group.culprit == "shop/cart.py in average_price"
    assert (event.release, event.environment, event.server_name) == ("1.4.0", "production", "web-1")
    run = FixRun.objects.get()
    assert (run.group, run.state, run.trigger, run.event) == (group, "queued", "new_group", event)


def test_the_same_error_again_only_batches_into_its_group(post_event):
    for _ in range(3):
        assert post_event().status_code == 202

    group = ErrorGroup.objects.get()
    assert group.times_seen == 3
    assert group.events.count() == 3
    assert FixRun.objects.count() == 1


def test_the_project_key_may_come_in_x_bugstack_key(post_event, key):
    response = post_event(HTTP_AUTHORIZATION="", HTTP_X_BUGSTACK_KEY=key.public_key)

    assert response.status_code == 202


def test_a_repeated_event_id_is_accepted_once(post_event):
    event_id = uuid.uuid4().hex
    first = post_event(python_event(event_id=event_id))
    retry = post_event(python_event(event_id=event_id))

    assert first.status_code == retry.status_code == 202
    assert first.json() == retry.json() == {"id": event_id}
    assert Event.objects.count() == 1
    assert ErrorGroup.objects.get().times_seen == 1
    assert FixRun.objects.count() == 1


def test_the_same_event_id_in_another_project_is_another_event(post_event, client):
    event_id = uuid.uuid4().hex
    other_key = ProjectKeyFactory(project=ProjectFactory())
    post_event(python_event(event_id=event_id))
    response = post_event(
        python_event(event_id=event_id), HTTP_AUTHORIZATION=f"Bearer {other_key.public_key}"
    )

    assert response.status_code == 202
    assert Event.objects.count() == 2


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"HTTP_AUTHORIZATION": ""}, "No project key"),
        ({"HTTP_AUTHORIZATION": "Bearer " + "0" * 32}, "Unknown project key"),
        ({"HTTP_AUTHORIZATION": "Bearer not a key"}, "Unknown project key"),
        ({"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}, "No project key"),
    ],
)
def test_a_missing_or_unknown_key_is_refused_with_401(post_event, headers, problem):
    response = post_event(**headers)

    assert response.status_code == 401
    assert problem in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Event.objects.exists()


def test_an_inactive_key_is_refused_with_401_even_after_it_was_cached(post_event, key):
    assert post_event().status_code == 202
    key.is_active = False
    key.save()

    response = post_event()

    assert response.status_code == 401
    assert "inactive" in response.json()["detail"]
    assert Event.objects.count() == 1


def test_a_key_is_kept_by_the_process_that_looked_it_up_for_a_few_seconds(
    post_event, key, django_assert_num_queries
):
    post_event()
    cache.clear()  # another process's change would reach this one through the shared cache, later

    with django_assert_num_queries(0):
        assert lookup_key(key.public_key).project_id == key.project_id


@override_settings(BUGSTACK_KEY_CACHE_SECONDS=0)
def test_a_key_is_not_kept_in_the_process_longer_than_the_cache_keeps_it(
    post_event, key, django_assert_num_queries
):
    post_event()
    cache.clear()

    with django_assert_num_queries(1):
        assert lookup_key(key.public_key).project_id == key.project_id


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({"message": "no exception"}, "exception", "Field required"),
        ({"exception": {"values": []}}, "exception.values", "at least 1"),
        ({"exception": {}}, "exception.values", "Field required"),
        (
            {"exception": {"values": [{"type": "E", "stacktrace": {"frames": [{"lineno": "x"}]}}]}},
            "exception.values.0.stacktrace.frames.0.lineno",
            "integer",
        ),
        (
            {"exception": {"values": [{"type": "E", "stacktrace": {"frames": [{"lineno": "42"}]}}]}},
            "exception.values.0.stacktrace.frames.0.lineno",
            "integer",
        ),
        ({"exception": {"values": [{"type": 7}]}}, "exception.values.0.type", "string"),
        ({"event_id": "nope", "exception": {"values": [{"type": "E"}]}}, "event_id", "hexadecimal"),
        ({"timestamp": "yesterday", "exception": {"values": [{"type": "E"}]}}, "timestamp", "RFC 3339"),
        ([1, 2, 3], "", "JSON object"),
    ],
)
def test_a_payload_outside_the_protocol_is_refused_with_400_naming_the_field(
    post_event, body, field, problem
):
    response = post_event(body)

    assert response.status_code == 400
    assert response.json()["field"] == field
    assert problem in response.json()["detail"]
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"exception": NaN}', "not valid JSON"),
        (b'{"timestamp": 1e400}', "not valid JSON"),
        ('{"release": "caf\u00e9"}'.encode("latin-1"), "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        # Read by orjson (under its 1,024 levels), but too deep to clean of its NUL in Python.
        (b'{"extra": {"x": ' + b"[" * 1000 + b'"\\u0000"' + b"]" * 1000 + b"}}", "not valid JSON"),
    ],
)
def test_a_body_that_is_not_utf8_json_is_refused_with_400(post_event, body, problem):
    response = post_event(body=body)

    assert response.status_code == 400
    assert problem in response.json()["detail"]


def test_numbers_are_stored_as_sent_even_past_64_bits(post_event):
    response = post_event(
        python_event(extra={"big": 2**70 + 1, "small": -(2**63), "ratio": 0.1, "digits": "9" * 30})
    )

    assert response.status_code == 202
    extra = Event.objects.get().data["extra"]
    assert extra == {"big": 2**70 + 1, "small": -(2**63), "ratio": 0.1, "digits": "9" * 30}
    assert type(extra["big"]) is int


def test_a_body_over_the_limit_is_refused_with_413(post_event):
    with override_settings(BUGSTACK_INGEST_MAX_BYTES=2048):
        response = post_event(python_event(extra={"blob": "x" * 4096}))

    assert response.status_code == 413
    assert "2048 bytes" in response.json()["detail"]


def test_gzip_and_deflate_bodies_are_accepted(post_event):
    body = json.dumps(python_event()).encode()

    assert post_event(body=body, gzipped=True).status_code == 202
    assert post_event(body=zlib.compress(body), HTTP_CONTENT_ENCODING="deflate").status_code == 202
    assert ErrorGroup.objects.get().times_seen == 2


def test_a_gzip_bomb_is_cut_off_at_the_limit_not_inflated(post_event):
    bomb = b'{"extra": {"x": "' + b"0" * 50_000_000 + b'"}}'

    with override_settings(BUGSTACK_INGEST_MAX_BYTES=1024 * 1024):
        response = post_event(body=bomb, gzipped=True)

    assert response.status_code == 413
    assert "once decompressed" in response.json()["detail"]


def test_a_body_that_is_not_valid_gzip_is_refused_with_400(post_event):
    response = post_event(body=b"plain text, not gzip", HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 400
    assert "gzip" in response.json()["detail"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_that_is_not_json_by_content_type_is_refused_with_415(post_event, content_type):
    response = post_event(content_type=content_type)

    assert response.status_code == 415
    assert response.json()["detail"]


def test_an_unknown_content_encoding_is_refused_with_415(post_event):
    response = post_event(HTTP_CONTENT_ENCODING="compress")

    assert response.status_code == 415
    assert "compress" in response.json()["detail"]


def test_past_the_projects_rate_limit_events_get_429_with_retry_after(post_event, project, one_rate_window):
    project.rate_limit_per_minute = 2
    project.save()

    statuses = [post_event().status_code for _ in range(3)]

    assert statuses == [202, 202, 429]
    refused = post_event()
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "2 events a minute" in refused.json()["detail"]
    assert ErrorGroup.objects.get().times_seen == 2


def test_without_a_rate_limit_duplicates_are_all_accepted(post_event):
    assert {post_event().status_code for _ in range(20)} == {202}
    assert ErrorGroup.objects.get().times_seen == 20


@pytest.mark.parametrize(
    "event",
    [
        python_event(release="x" * 5000, environment="e" * 500, server_name="s" * 500, platform="p" * 100),
        python_event(timestamp=1e12),
        python_event(timestamp="99999999999999999999"),
        python_event(level="???", tags=[["a", "b"]], extra={"deep": [[[[[[[[[["x"]]]]]]]]]]}),
        python_event(
            exception={"values": [{"value": "\u0000nul and \ud800 lone surrogate", "type": "\u0000"}]}
        ),
        python_event(fingerprint=["{{ default }}", 7, 1.5]),
        python_event(request={"headers": [["Cookie", "a=b"]], "query_string": {"token": "x"}, "data": "raw"}),
        python_event(exception={"values": [{"type": "E", "stacktrace": {"frames": []}}]}),
        python_event(exception={"values": [{"type": "E", "stacktrace": None, "mechanism": None}]}),
        python_event(user={"id": 1, "email": "a@example.com"}, unknown_field={"kept": True}),
    ],
    ids=[
        "long-columns",
        "ms-epoch",
        "huge-epoch",
        "odd-shapes",
        "nul-surrogate",
        "fingerprint",
        "lists",
        "no-frames",
        "nulls",
        "unknown-fields",
    ],
)
def test_odd_but_valid_payloads_are_stored_or_refused_never_a_500(post_event, event):
    response = post_event(event)

    assert response.status_code in (202, 400)
    assert response.json()
    if response.status_code == 202:
        assert Event.objects.filter(event_id=response.json()["id"]).exists()


def test_unknown_fields_are_kept_in_extra_and_long_strings_are_capped(post_event):
    event = python_event(unknown_field={"kept": True})
    last_exception(event)["value"] = "v" * 20_000

    post_event(event)

    data = Event.objects.get().data
    assert data["extra"]["unknown_field"] == {"kept": True}
    assert len(last_exception(data)["value"]) == 8192
    assert last_exception(data)["value"].endswith("…[truncated]")


def test_epoch_timestamps_and_platform_aliases_are_normalised(post_event):
    post_event(python_event(timestamp=1_700_000_000, platform="nodejs"))

    event = Event.objects.get()
    assert event.timestamp.isoformat() == "2023-11-14T22:13:20+00:00"
    assert event.platform == "node"


def test_accepting_an_event_writes_nothing_to_the_database_and_reads_no_group_run_or_key(
    post_event, settings, django_assert_max_num_queries
):
    settings.BUGSTACK_DIGEST = "loop"
    post_event()  # caches the key

    with django_assert_max_num_queries(3) as queries:  # the test's savepoint pair, the backlog's offsets
        assert post_event().status_code == 202

    statements = [query["sql"] for query in queries.captured_queries]
    assert not [sql for sql in statements if sql.startswith(("INSERT", "UPDATE", "DELETE"))]
    for table in ("ingest_errorgroup", "ingest_event", "pipeline_fixrun", "bugstack_projectkey"):
        assert not [sql for sql in statements if f'"{table}"' in sql], table


def test_the_api_is_described_by_openapi_and_browsable(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    operation = schema.json()["paths"][EVENTS_URL]["post"]
    assert {"202", "400", "401", "413", "415", "429"} <= set(operation["responses"])
    assert "EventPayload" in schema.json()["components"]["schemas"]
    assert docs.status_code == 200


def test_the_openapi_schema_is_valid_openapi_3():
    schema = SchemaGenerator().get_schema(request=None, public=True)

    validate_schema(schema)  # raises on anything OpenAPI 3.0 does not allow
    lineno = schema["components"]["schemas"]["Frame"]["properties"]["lineno"]
    assert (lineno["type"], lineno["nullable"]) == ("integer", True)
