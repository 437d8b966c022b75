import threading
from collections.abc import Iterator

import bugstack_sdk
import pytest
from bugstack_sdk.flask import Bugstack
from bugstack_sdk.redact import FILTERED
from flask import Flask, abort, jsonify

from tests.conftest import TESTS_DIR
from tests.sink import Sink


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/carts/<int:cart_id>/average")
    def cart_average(cart_id: int):
        prices: list[float] = []
        return jsonify(average=sum(prices) / len(prices))

    @app.get("/gone")
    def gone():
        abort(404)

    @app.get("/handled")
    def handled():
        try:
            {}["missing"]
        except KeyError:
            return jsonify(event_id=bugstack_sdk.capture_exception())

    @app.post("/signup")
    def signup():
        raise RuntimeError("mailer down")

    return app


@pytest.fixture
def app(sdk: bugstack_sdk.Client) -> Flask:
    app = create_app()
    Bugstack(app)
    return app


def sent_events(sink: Sink) -> list[dict]:
    assert bugstack_sdk.flush(5)
    return [r.body for r in sink.received]


def test_an_unhandled_error_is_reported_and_flask_still_answers_500(app: Flask, sink: Sink) -> None:
    response = app.test_client().get("/carts/3/average?promo=1", headers={"Authorization": "Bearer s3cr3t"})

    assert response.status_code == 500
    assert b"Internal Server Error" in response.data
    [event] = sent_events(sink)
    [value] = event["exception"]["values"]
    assert (value["type"], value["mechanism"]) == ("ZeroDivisionError", {"type": "flask", "handled": False})
    raised_at = value["stacktrace"]["frames"][-1]
    assert (raised_at["filename"], raised_at["function"], raised_at["in_app"]) == (
        "test_flask.py",
        "create_app.<locals>.cart_average",
        True,
    )
    assert raised_at["context_line"].strip() == "return jsonify(average=sum(prices) / len(prices))"
    assert any(f["filename"] == "flask/app.py" and not f["in_app"] for f in value["stacktrace"]["frames"])
    assert event["request"] == {"method": "GET", "route": "/carts/<int:cart_id>/average"}
    assert event["contexts"]["response"] == {"status_code": 500}
    assert event["contexts"]["framework"]["name"] == "flask"


def test_http_errors_flask_handles_are_not_reported(app: Flask, sink: Sink) -> None:
    assert app.test_client().get("/gone").status_code == 404
    assert app.test_client().get("/nowhere").status_code == 404
    assert sent_events(sink) == []


def test_propagating_exceptions_in_testing_mode_still_works_and_is_reported(app: Flask, sink: Sink) -> None:
    app.testing = True
    with pytest.raises(ZeroDivisionError):
        app.test_client().get("/carts/1/average")
    assert len(sent_events(sink)) == 1


def test_a_manual_capture_in_a_view_carries_the_route(app: Flask, sink: Sink) -> None:
    response = app.test_client().get("/handled")
    [event] = sent_events(sink)
    assert event["event_id"] == response.json["event_id"]
    assert event["request"] == {"method": "GET", "route": "/handled"}


def test_request_details_are_sent_only_when_enabled_and_then_redacted(sink: Sink) -> None:
    app = create_app()
    Bugstack(
        app, dsn=sink.dsn, project_root=str(TESTS_DIR), send_request_headers=True, send_request_body=True
    )
    try:
        app.test_client().post(
            "/signup?ref=mail&api_key=k-123",
            data={"email": "ann@example.com", "password": "hunter2"},
            headers={"X-Api-Key": "k-123"},
        )
        [event] = sent_events(sink)
    finally:
        bugstack_sdk.init(dsn=None)
    request = event["request"]
    assert (request["url"], request["route"]) == ("/signup", "/signup")
    assert request["query_string"] == "ref=mail&api_key=[Filtered]"
    assert request["headers"]["X-Api-Key"] == FILTERED
    assert request["data"] == {"email": "ann@example.com", "password": FILTERED}


@pytest.fixture
def hung_sink(sink: Sink) -> Iterator[Sink]:
    sink.hang.set()
    yield sink
    sink.release.set()


def test_a_hanging_ingest_server_never_holds_up_a_request(app: Flask, hung_sink: Sink) -> None:
    client = app.test_client()
    assert client.get("/carts/1/average").status_code == 500
    hung_sink.wait_for(1)  # the first report is now stuck inside the server

    responses = [client.get(f"/carts/{n}/average").status_code for n in range(2, 6)]

    assert responses == [500] * 4, "every request was answered while the server held the first report"
    assert not hung_sink.release.is_set()
    assert bugstack_sdk.get_client().stats.queued == 4


def test_errors_on_many_threads_at_once_are_all_reported(app: Flask, sink: Sink) -> None:
    statuses: list[int] = []

    def hit(n: int) -> None:
        statuses.append(app.test_client().get(f"/carts/{n}/average").status_code)

    threads = [threading.Thread(target=hit, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [500] * 20
    assert len(sent_events(sink)) == 20
