import json
from collections.abc import Iterator

import django
import pytest
from django.conf import settings

from tests.django_app import SETTINGS

settings.configure(**SETTINGS)
django.setup()

import bugstack_sdk  # noqa: E402
from bugstack_sdk.redact import FILTERED  # noqa: E402
from django.test import Client as DjangoClient  # noqa: E402 - needs the settings above

from tests.conftest import TESTS_DIR  # noqa: E402
from tests.sink import Sink  # noqa: E402


@pytest.fixture
def browser() -> DjangoClient:
    # Like a real server: Django answers 500 instead of re-raising into the test.
    return DjangoClient(raise_request_exception=False)


def sent_events(sink: Sink) -> list[dict]:
    assert bugstack_sdk.flush(5)
    return [r.body for r in sink.received]


def test_an_unhandled_view_error_is_reported_once_and_django_still_answers_500(
    sdk: bugstack_sdk.Client, sink: Sink, browser: DjangoClient
) -> None:
    response = browser.get("/orders/42/total/?coupon=SPRING", HTTP_AUTHORIZATION="Bearer s3cr3t")

    assert response.status_code == 500
    assert b"Server Error (500)" in response.content
    [event] = sent_events(sink)
    [value] = event["exception"]["values"]
    assert (value["type"], value["value"]) == ("ZeroDivisionError", "division by zero")
    assert value["mechanism"] == {"type": "django", "handled": False}
    raised_at = value["stacktrace"]["frames"][-1]
    assert (raised_at["filename"], raised_at["function"], raised_at["in_app"]) == (
        "django_app.py",
        "order_total",
        True,
    )
    assert any(f["module"].startswith("django.") and not f["in_app"] for f in value["stacktrace"]["frames"])
    assert event["request"] == {"method": "GET", "route": "orders/<int:order_id>/total/"}
    assert event["contexts"]["response"] == {"status_code": 500}
    assert event["contexts"]["framework"] == {"name": "django", "version": django.get_version()}


def test_errors_django_answers_with_a_4xx_are_not_reported(
    sdk: bugstack_sdk.Client, sink: Sink, browser: DjangoClient
) -> None:
    assert browser.get("/missing/").status_code == 404
    assert browser.get("/forbidden/").status_code == 403
    assert browser.get("/no-such-route/").status_code == 404
    assert sent_events(sink) == []


def test_an_error_in_other_middleware_is_reported_through_the_signal(
    sdk: bugstack_sdk.Client, sink: Sink, browser: DjangoClient
) -> None:
    assert browser.get("/handled/", HTTP_X_BREAK_MIDDLEWARE="1").status_code == 500
    [event] = sent_events(sink)
    assert event["exception"]["values"][-1]["type"] == "ConnectionError"
    assert event["request"]["method"] == "GET"
    assert event["contexts"]["response"] == {"status_code": 500}


def test_a_manual_capture_in_a_view_carries_the_route(
    sdk: bugstack_sdk.Client, sink: Sink, browser: DjangoClient
) -> None:
    response = browser.get("/handled/")
    assert response.status_code == 200
    [event] = sent_events(sink)
    assert event["event_id"] == response.json()["event_id"]
    assert event["request"] == {"method": "GET", "route": "handled/"}
    assert event["exception"]["values"][-1]["mechanism"]["handled"] is True


def test_the_test_client_still_sees_the_exception_when_it_asks_for_it(
    sdk: bugstack_sdk.Client, sink: Sink
) -> None:
    with pytest.raises(ZeroDivisionError):
        DjangoClient().get("/orders/1/total/")
    assert len(sent_events(sink)) == 1


def test_a_hanging_ingest_server_never_holds_up_a_request(
    sdk: bugstack_sdk.Client, sink: Sink, browser: DjangoClient
) -> None:
    sink.hang.set()
    assert browser.get("/orders/1/total/").status_code == 500
    sink.wait_for(1)  # the first report is now stuck inside the server

    statuses = [browser.get(f"/orders/{n}/total/").status_code for n in range(2, 5)]

    assert statuses == [500] * 3, "every request was answered while the server held the first report"
    assert sdk.stats.queued == 3
    sink.release.set()


@pytest.fixture
def verbose_sdk(sink: Sink) -> Iterator[bugstack_sdk.Client]:
    client = bugstack_sdk.init(
        dsn=sink.dsn, project_root=str(TESTS_DIR), send_request_headers=True, send_request_body=True
    )
    yield client
    client.close(0)
    bugstack_sdk.init(dsn=None)


def test_headers_query_and_body_are_sent_only_when_enabled_and_then_redacted(
    verbose_sdk: bugstack_sdk.Client, sink: Sink, browser: DjangoClient
) -> None:
    browser.post(
        "/login/?next=/cart&token=abc",
        data=json.dumps({"username": "ann", "password": "hunter2"}),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer s3cr3t",
        HTTP_COOKIE="sessionid=xyz",
    )
    [event] = sent_events(sink)
    request = event["request"]
    assert request["url"] == "/login/"
    assert request["query_string"] == "next=%2Fcart&token=[Filtered]"
    assert request["headers"]["Authorization"] == FILTERED
    assert request["headers"]["Cookie"] == FILTERED
    assert request["data"] == {"username": "ann", "password": FILTERED}


def test_form_bodies_are_sent_field_by_field_so_passwords_are_filtered(
    verbose_sdk: bugstack_sdk.Client, sink: Sink, browser: DjangoClient
) -> None:
    browser.post("/login/", data={"username": "ann", "password": "hunter2"})
    [event] = sent_events(sink)
    assert event["request"]["data"] == {"username": "ann", "password": FILTERED}


def test_a_body_that_is_not_valid_json_is_left_out(
    verbose_sdk: bugstack_sdk.Client, sink: Sink, browser: DjangoClient
) -> None:
    browser.post("/login/", data='{"password": "hunter2", ', content_type="application/json")
    [event] = sent_events(sink)
    assert event["request"]["data"] == "[body is not valid JSON; not captured]"
    assert "hunter2" not in json.dumps(event)
