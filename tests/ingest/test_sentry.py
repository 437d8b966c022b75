"""Sentry's endpoints: an unmodified Sentry SDK, given the project's DSN, reports to bugstack.

The SDK test runs the real ``sentry-sdk`` against a live server; the rest post what official SDKs send (an
envelope, or a store body) through Django's test client, and read the group back.
"""

from __future__ import annotations

import gzip
import json
import uuid

import hypothesis
import pytest
import sentry_sdk
from hypothesis import strategies as st

from ingest.models import ErrorGroup, Event
from ingest.sentry import native_event
from tests.factories import ProjectFactory, ProjectKeyFactory
from tests.ingest.conftest import python_event

SENTRY_AUTH = "Sentry sentry_key={key}, sentry_version=7, sentry_client=sentry.python/2.76.0"


def envelope(*items: tuple[dict, bytes], header: dict | None = None, lengths: bool = True) -> bytes:
    lines = [json.dumps(header or {}).encode()]
    for item_header, payload in items:
        if lengths:
            item_header = {**item_header, "length": len(payload)}
        lines += [json.dumps(item_header).encode(), payload]
    return b"\n".join(lines) + b"\n"


def event_item(event: dict) -> tuple[dict, bytes]:
    return {"type": "event", "content_type": "application/json"}, json.dumps(event).encode()


def post_envelope(client, project_id: int, body: bytes, **headers):
    return client.generic(
        "POST",
        f"/api/{project_id}/envelope/",
        body,
        content_type=headers.pop("content_type", "application/x-sentry-envelope"),
        **headers,
    )


# --- reading Sentry's event into the native protocol --------------------------------------------------


def test_the_fields_sentry_shares_with_the_native_protocol_are_copied_as_they_are():
    event = python_event(event_id=uuid.uuid4().hex, breadcrumbs={"values": [{"message": "clicked"}]})
    native = native_event(event)
    assert native["exception"] == event["exception"]
    assert native["release"] == "1.4.0" and native["request"] == event["request"]
    assert native["breadcrumbs"] == {"values": [{"message": "clicked"}]}  # kept, as an extra field


def test_legacy_interfaces_and_a_bare_exception_list_are_read():
    frames = [{"filename": "app.py", "function": "run", "lineno": 3, "in_app": True}]
    native = native_event(
        {
            "sentry.interfaces.Exception": [{"type": "KeyError", "value": "'id'"}],
            "sentry.interfaces.Stacktrace": {"frames": frames},
            "sentry.interfaces.Http": {"url": "https://shop.example.com/", "method": "GET"},
        }
    )
    assert native["exception"]["values"] == [
        {"type": "KeyError", "value": "'id'", "stacktrace": {"frames": frames}}
    ]
    assert native["request"]["method"] == "GET"
    assert "sentry.interfaces.Exception" not in native


def test_an_exception_without_a_stack_takes_the_crashed_threads():
    crashed = {"frames": [{"function": "handle", "module": "main", "lineno": 9}]}
    native = native_event(
        {
            "exception": {"values": [{"type": "panic", "value": "nil map", "thread_id": 2}]},
            "threads": {
                "values": [
                    {"id": 1, "current": True, "stacktrace": {"frames": [{"function": "idle"}]}},
                    {"id": 2, "crashed": True, "stacktrace": crashed},
                ]
            },
        }
    )
    assert native["exception"]["values"][0]["stacktrace"] == crashed


def test_a_message_event_becomes_one_exception_named_by_its_logger_with_the_current_threads_stack():
    stack = {"frames": [{"filename": "shop/cart.py", "function": "checkout", "lineno": 7, "in_app": True}]}
    native = native_event(
        {
            "logger": "shop.cart",
            "logentry": {"message": "cart %s is empty", "params": ["42"], "formatted": "cart 42 is empty"},
            "threads": {"values": [{"current": True, "stacktrace": stack}]},
        }
    )
    assert native["exception"]["values"] == [
        {"type": "shop.cart", "value": "cart 42 is empty", "stacktrace": stack}
    ]
    assert native["message"] == "cart 42 is empty"
    assert native_event({"message": "disk almost full"})["exception"]["values"] == [
        {"type": "Message", "value": "disk almost full"}
    ]


# --- the endpoints ------------------------------------------------------------------------------------


def test_an_envelope_event_is_stored_in_its_group_and_answered_with_its_id(client, key):
    event_id = uuid.uuid4().hex
    body = envelope(event_item(python_event(event_id=event_id)), header={"event_id": event_id})
    response = post_envelope(
        client, key.project_id, body, HTTP_X_SENTRY_AUTH=SENTRY_AUTH.format(key=key.public_key)
    )

    assert response.status_code == 200, response.content
    assert response.json() == {"id": event_id}
    group = ErrorGroup.objects.get()
    assert group.title == "ZeroDivisionError: division by zero"
    assert group.culprit == "shop/cart.py in average_price"
    assert Event.objects.get().event_id == uuid.UUID(event_id)


def test_the_key_may_come_in_the_query_string_or_as_the_dsn_in_the_envelope_header(client, key):
    by_query = envelope(event_item(python_event(event_id=uuid.uuid4().hex)), lengths=False)
    response = client.generic(
        "POST", f"/api/{key.project_id}/envelope/?sentry_key={key.public_key}&sentry_version=7", by_query,
        content_type="text/plain;charset=UTF-8",
    )  # fmt: skip
    assert response.status_code == 200, response.content

    dsn = f"https://{key.public_key}@bugstack.example.com/{key.project_id}"
    by_dsn = envelope(event_item(python_event(event_id=uuid.uuid4().hex)), header={"dsn": dsn})
    assert post_envelope(client, key.project_id, by_dsn).status_code == 200
    assert ErrorGroup.objects.get().times_seen == 2


def test_the_store_endpoint_takes_one_gzipped_json_event(client, key):
    event_id = uuid.uuid4().hex
    response = client.generic(
        "POST",
        f"/api/{key.project_id}/store/",
        gzip.compress(json.dumps(python_event(event_id=event_id)).encode()),
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
        HTTP_X_SENTRY_AUTH=SENTRY_AUTH.format(key=key.public_key),
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"id": event_id}


def test_a_missing_or_unknown_key_is_401_and_another_projects_key_is_403(client, key, account):
    body = envelope(event_item(python_event()))
    missing = post_envelope(client, key.project_id, body)
    assert missing.status_code == 401
    assert "X-Sentry-Auth" in missing.json()["detail"]
    unknown = post_envelope(client, key.project_id, body, HTTP_X_SENTRY_AUTH=SENTRY_AUTH.format(key="0" * 32))
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == "Unknown project key."

    other = ProjectKeyFactory(project=ProjectFactory(account=account, name="Other", slug="other"))
    wrong = post_envelope(
        client, key.project_id, body, HTTP_X_SENTRY_AUTH=SENTRY_AUTH.format(key=other.public_key)
    )
    assert wrong.status_code == 403
    assert "another project" in wrong.json()["detail"]
    assert not Event.objects.exists()


def test_an_envelope_without_an_event_is_read_past_and_never_rate_limited(client, key):
    key.project.rate_limit_per_minute = 1
    key.project.save()
    report = {
        "timestamp": 1733480000,
        "discarded_events": [{"reason": "queue_overflow", "category": "error", "quantity": 3}],
    }
    body = envelope(
        ({"type": "client_report"}, json.dumps(report).encode()),
        ({"type": "attachment", "filename": "log.txt"}, b"line one\nline two\n"),
        ({"type": "session"}, b'{"sid": "x", "status": "ok"}'),
    )
    auth = SENTRY_AUTH.format(key=key.public_key)
    for _ in range(3):
        response = post_envelope(client, key.project_id, body, HTTP_X_SENTRY_AUTH=auth)
        assert (response.status_code, response.json()) == (200, {})
    assert not Event.objects.exists()


def test_over_the_projects_limit_the_answer_carries_retry_after_and_sentrys_rate_limit_header(
    client, key, one_rate_window
):
    key.project.rate_limit_per_minute = 1
    key.project.save()
    auth = SENTRY_AUTH.format(key=key.public_key)
    first = post_envelope(
        client, key.project_id, envelope(event_item(python_event())), HTTP_X_SENTRY_AUTH=auth
    )
    assert first.status_code == 200
    second = post_envelope(
        client, key.project_id, envelope(event_item(python_event())), HTTP_X_SENTRY_AUTH=auth
    )
    assert second.status_code == 429
    wait = int(second["Retry-After"])
    assert 0 < wait <= 60
    assert second["X-Sentry-Rate-Limits"] == f"{wait}:error;default:project"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not json\n", "Not a valid envelope"),
        (b'{}\n{"type": "event", "length": 500}\n{}\n', "Not a valid envelope"),
        (b'{}\n{"type": "event"}\nnot json\n', "not valid JSON"),
    ],
)
def test_a_malformed_envelope_is_400_naming_the_problem(client, key, body, problem):
    response = post_envelope(
        client, key.project_id, body, HTTP_X_SENTRY_AUTH=SENTRY_AUTH.format(key=key.public_key)
    )
    assert response.status_code == 400
    assert problem in response.json()["detail"]


def test_an_event_item_over_the_event_limit_is_413_naming_it(client, key, settings):
    settings.BUGSTACK_INGEST_MAX_BYTES = 2000
    big = python_event(extra={"blob": "x" * 5000})
    response = post_envelope(
        client,
        key.project_id,
        envelope(event_item(big)),
        HTTP_X_SENTRY_AUTH=SENTRY_AUTH.format(key=key.public_key),
    )
    assert response.status_code == 413
    assert "2000" in response.json()["detail"]


# --- the real SDK ---------------------------------------------------------------------------------------


def average_price(items: list[float]) -> float:
    return sum(items) / len(items)


@pytest.mark.django_db(transaction=True)
def test_the_sentry_python_sdk_given_the_projects_dsn_reports_an_error_that_groups_with_its_frames(
    live_server, project
):
    key = ProjectKeyFactory(project=project)
    host = live_server.url.split("://", 1)[1]
    client = sentry_sdk.Client(
        dsn=f"http://{key.public_key}@{host}/{project.pk}", default_integrations=False, release="shop@1.4.0"
    )
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        try:
            average_price([])
        except ZeroDivisionError:
            sentry_sdk.capture_exception()
    client.flush(timeout=10)
    client.close()

    group = ErrorGroup.objects.get(project=project)
    assert group.title == "ZeroDivisionError: division by zero"
    assert group.culprit.endswith("in average_price")
    event = Event.objects.get(group=group)
    assert event.release == "shop@1.4.0"
    frames = event.data["exception"]["values"][-1]["stacktrace"]["frames"]
    assert frames[-1]["function"] == "average_price"
    assert frames[-1]["context_line"].strip() == "return sum(items) / len(items)"


# --- browsers and privacy -----------------------------------------------------------------------------


def test_a_browser_sdk_may_send_only_from_the_projects_allowed_origins_and_then_reads_the_answer(client, key):
    body = envelope(event_item(python_event(event_id=uuid.uuid4().hex)))
    url = f"/api/{key.project_id}/envelope/?sentry_key={key.public_key}&sentry_version=7"
    refused = client.generic(
        "POST", url, body, content_type="text/plain", HTTP_ORIGIN="https://shop.example.com"
    )
    assert refused.status_code == 403
    assert "allowed origins" in refused.json()["detail"]
    assert "Access-Control-Allow-Origin" not in refused

    key.project.allowed_origins = "https://shop.example.com/\nhttps://admin.example.com"
    key.project.save()
    sent = client.generic(
        "POST", url, body, content_type="text/plain", HTTP_ORIGIN="https://shop.example.com"
    )
    assert sent.status_code == 200
    assert sent["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "X-Sentry-Rate-Limits" in sent["Access-Control-Expose-Headers"]

    preflight = client.options(url, HTTP_ORIGIN="https://admin.example.com")
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == "https://admin.example.com"
    assert "X-Sentry-Auth" in preflight["Access-Control-Allow-Headers"]
    assert client.options(url, HTTP_ORIGIN="https://evil.example").status_code == 403


def test_the_client_ip_is_dropped_unless_the_project_keeps_it(client, key):
    auth = SENTRY_AUTH.format(key=key.public_key)
    sent = python_event(
        user={"id": "7", "ip_address": "203.0.113.9"},
        request={"url": "https://s/", "env": {"REMOTE_ADDR": "203.0.113.9"}},
    )
    post_envelope(
        client,
        key.project_id,
        envelope(event_item({**sent, "event_id": uuid.uuid4().hex})),
        HTTP_X_SENTRY_AUTH=auth,
    )
    dropped = Event.objects.get().data
    assert dropped["user"] == {"id": "7"}
    assert "REMOTE_ADDR" not in json.dumps(dropped)

    key.project.keep_client_ip = True
    key.project.save()
    post_envelope(
        client,
        key.project_id,
        envelope(event_item({**sent, "event_id": uuid.uuid4().hex})),
        HTTP_X_SENTRY_AUTH=auth,
    )
    kept = Event.objects.order_by("-pk").first().data
    assert kept["user"]["ip_address"] == "203.0.113.9"


@pytest.mark.parametrize(
    "path", ["/api/{project}/envelope/", "/api/{project}/store/", "/api/v1/events/", "/api/capture"]
)
def test_a_chunked_body_the_server_passed_on_without_its_length_is_411_not_lost_quietly(client, key, path):
    # What runserver and gunicorn pass Django for a chunked request (as @sentry/node sends): no length.
    response = client.generic(
        "POST",
        path.format(project=key.project_id) + f"?sentry_key={key.public_key}",
        b"",
        content_type="application/json",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        HTTP_AUTHORIZATION=f"Bearer {key.public_key}",
        HTTP_X_BUGSTACK_API_KEY=key.public_key,
    )
    assert response.status_code == 411
    assert "manage.py serve" in response.json()["detail"]


def test_items_not_stored_and_client_reports_are_counted_per_project_and_shown_on_the_setup_page(
    client, key, owner
):
    from ingest.dropped import flush_dropped
    from ingest.models import DroppedItems

    report = {"discarded_events": [{"reason": "queue_overflow", "category": "error", "quantity": 3}, "junk"]}
    body = envelope(
        event_item(python_event(event_id=uuid.uuid4().hex)),
        ({"type": "transaction"}, b'{"type": "transaction"}'),
        ({"type": "client_report"}, json.dumps(report).encode()),
        ({"type": "made_up"}, b"?"),
    )
    for _ in range(2):
        post_envelope(client, key.project_id, body, HTTP_X_SENTRY_AUTH=SENTRY_AUTH.format(key=key.public_key))
    flush_dropped()

    counts = {
        (row.category, row.reason): row.count for row in DroppedItems.objects.filter(project=key.project)
    }
    assert counts == {
        ("transaction", "not stored"): 2,
        ("error", "client: queue_overflow"): 6,
        ("unknown", "unknown type"): 2,
    }
    client.force_login(owner)
    page = client.get(f"/projects/{key.project.slug}/setup/")
    assert "Sent but not stored" in page.text
    assert "client: queue_overflow" in page.text


# --- hostile input at the endpoints ---------------------------------------------------------------------

ITEM_LINES = [b'{"type": "event"}', b'{"type": "event", "length": 3}', b"{}", b"null", b""]
ENCODINGS = ["", "gzip", "deflate", "br", "zstd", "identity", "compress", "gzip, br"]


def encoded(body: bytes, encoding: str) -> bytes:
    import zlib

    import brotli
    import zstandard

    return {
        "gzip": gzip.compress,
        "deflate": zlib.compress,
        "br": brotli.compress,
        "zstd": zstandard.ZstdCompressor().compress,
    }.get(encoding, lambda raw: raw)(body)


@pytest.fixture(scope="module")
def fuzz_key(django_db_setup, django_db_blocker):
    """One project and key for every example: hypothesis runs its examples inside one test."""
    with django_db_blocker.unblock():
        key = ProjectKeyFactory(project=ProjectFactory(name="Fuzz", slug="fuzz"))
    yield key
    with django_db_blocker.unblock():
        key.project.account.delete()


@pytest.mark.django_db
@hypothesis.settings(max_examples=150, deadline=None, database=None)
@hypothesis.given(
    body=st.one_of(
        st.binary(max_size=2048),
        st.builds(
            lambda header, items: b"\n".join([header, *items]),
            st.sampled_from([b"{}", b'{"dsn": 7}', b'{"event_id": "x"}', b"[]", b"{"]),
            st.lists(
                st.sampled_from(
                    [b'{"type": "event"}', b'{"type": "event", "length": 3}', b"{}", b"null", b""]
                )
                | st.binary(max_size=64),
                max_size=6,
            ),
        ),
    ),
    encoding=st.sampled_from(ENCODINGS),
    compress=st.booleans(),
    endpoint=st.sampled_from(["envelope", "store"]),
    auth=st.sampled_from(["header", "query", "none", "garbled"]),
)
def test_no_malformed_envelope_header_or_encoding_gets_a_5xx(
    fuzz_key, body, encoding, compress, endpoint, auth
):
    from django.test import Client

    headers = {"HTTP_CONTENT_ENCODING": encoding} if encoding else {}
    if auth == "header":
        headers["HTTP_X_SENTRY_AUTH"] = SENTRY_AUTH.format(key=fuzz_key.public_key)
    elif auth == "garbled":
        headers["HTTP_X_SENTRY_AUTH"] = "Sentry sentry_key=" + body[:40].decode("latin-1")
    query = f"?sentry_key={fuzz_key.public_key}" if auth == "query" else ""
    response = Client().generic(
        "POST",
        f"/api/{fuzz_key.project_id}/{endpoint}/{query}",
        encoded(body, encoding) if compress else body,
        content_type="application/x-sentry-envelope",
        **headers,
    )
    assert response.status_code < 500, response.content
    assert response.status_code in (200, 400, 401, 403, 411, 413, 415, 429), response.content
