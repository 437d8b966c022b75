"""However an event is built, what ingest reads, stores and groups is bounded, and every cut is recorded.

Asserted on what is stored: the text kept, the ``…[truncated]`` marker in it, the ``_meta`` record of
which fields were cut from what length, and the group the event lands in.
"""

from __future__ import annotations

import json

import pytest

from ingest.fingerprint import MAX_TEXT, fingerprint
from ingest.models import ErrorGroup, Event
from ingest.normalize import (
    MAX_CONTEXT_LINES,
    MAX_EVENT_TEXT,
    MAX_EVENT_VALUES,
    MAX_ITEMS,
    MAX_META,
    MAX_STRING,
    TRUNCATED,
)
from ingest.parsers import max_containers
from ingest.schema import MAX_EXCEPTIONS, MAX_FRAMES
from tests.ingest.conftest import last_exception, python_event

pytestmark = pytest.mark.django_db


def stored_text(value) -> int:
    """Characters of text in a stored event, keys aside."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(stored_text(item) for key, item in value.items() if key != "_meta")
    if isinstance(value, list):
        return sum(stored_text(item) for item in value)
    return 0


def frame(n: int, text: str = "") -> dict:
    return {"filename": f"shop/m{n}.py", "function": f"f{n}", "context_line": text, "in_app": True}


def hostile_event(lists: int) -> dict:
    """An event of text redaction has to read ("x@y:"), in more fields than any event keeps."""
    text = "x@y:" * 300
    event = python_event(extra={"notes": [text] * 20}, tags={f"t{n}": text for n in range(20)})
    event["request"]["data"] = [[text] * 10 for _ in range(lists)]
    return event


def test_a_large_event_keeps_a_bounded_amount_of_text_and_says_what_it_cut(post_event):
    text = "x@y:" * 300

    assert post_event(hostile_event(lists=60)).status_code == 202  # 720 KiB of text

    data = Event.objects.get().data
    assert MAX_EVENT_TEXT - MAX_STRING < stored_text(data) <= MAX_EVENT_TEXT + 1024
    assert data["request"]["data"][0][0] == text[: MAX_STRING - len(TRUNCATED)] + TRUNCATED
    assert data["_meta"]["request.data.0.0"] == {"": {"len": len(text)}}
    assert len(data["_meta"]) == MAX_META + 1  # the first fields cut, and how many more were
    assert data["_meta"][TRUNCATED][""]["count"] > 0
    assert data["tags"] == {TRUNCATED: "20 more keys"}
    # The exception came first: grouping's inputs are whole.
    assert last_exception(data)["stacktrace"]["frames"][-1]["context_line"] == "    return total / len(items)"


def test_twice_the_text_costs_no_more_to_keep(post_event):
    post_event(hostile_event(lists=30))
    post_event(hostile_event(lists=60))

    smaller, larger = (event.data for event in Event.objects.order_by("pk"))
    assert json.dumps(smaller).count("x@y:") == json.dumps(larger).count("x@y:")
    assert stored_text(smaller) == stored_text(larger)


def test_the_handlers_exception_and_the_newest_frames_are_kept_before_older_ones(post_event):
    long = "y" * (MAX_STRING - 1)
    frames = [frame(n, long) | {"pre_context": [long] * 5, "post_context": [long] * 5} for n in range(40)]
    cause = {"type": "KeyError", "value": "'sku'", "stacktrace": {"frames": frames}}
    handled = {"type": "PricingError", "value": "no price", "stacktrace": {"frames": frames}}

    assert post_event(python_event(exception={"values": [cause, handled]})).status_code == 202

    data = Event.objects.get().data
    cause, handled = data["exception"]["values"]
    # Every frame's place is kept for grouping; the source around them went to the newest frames first.
    assert [stored["context_line"] for stored in cause["stacktrace"]["frames"]] == [long] * 40
    assert [stored["context_line"] for stored in handled["stacktrace"]["frames"]] == [long] * 40
    assert handled["stacktrace"]["frames"][-1]["pre_context"] == [long] * 5
    assert "pre_context" not in handled["stacktrace"]["frames"][0]
    assert "pre_context" not in cause["stacktrace"]["frames"][-1]
    assert data["_meta"]["exception.values.1.stacktrace.frames.34.pre_context"] == {"": {"len": 5}}


def test_thousands_of_frames_keep_the_last_hundred(post_event):
    event = python_event()
    sent = [{"filename": "shop/recursion.py", "function": "descend", "lineno": 7}] * 12_000 + [frame(1)]
    last_exception(event)["stacktrace"]["frames"] = sent

    assert post_event(event).status_code == 202

    data = Event.objects.get().data
    stacktrace = last_exception(data)["stacktrace"]
    assert len(stacktrace["frames"]) == MAX_FRAMES and stacktrace["frames"][-1]["function"] == "f1"
    assert stacktrace["frames_omitted"] == len(sent) - MAX_FRAMES
    assert data["_meta"]["exception.values.0.stacktrace.frames"] == {"": {"len": len(sent)}}


def test_a_long_chain_keeps_the_exceptions_nearest_the_handler(post_event):
    chain = [{"type": f"E{n}", "value": "boom"} for n in range(30)]

    assert post_event(python_event(exception={"values": chain})).status_code == 202

    data = Event.objects.get().data
    assert [value["type"] for value in data["exception"]["values"]] == [f"E{n}" for n in range(20, 30)]
    assert data["_meta"]["exception.values"] == {"": {"len": 30}}
    assert len(data["exception"]["values"]) == MAX_EXCEPTIONS


def test_context_lines_are_kept_nearest_the_frames_line(post_event):
    event = python_event()
    last_exception(event)["stacktrace"]["frames"] = [
        frame(1)
        | {"pre_context": [f"pre {n}" for n in range(9)], "post_context": [f"post {n}" for n in range(9)]}
    ]

    post_event(event)

    data = Event.objects.get().data
    stored = last_exception(data)["stacktrace"]["frames"][0]
    assert stored["pre_context"] == [f"pre {n}" for n in range(9 - MAX_CONTEXT_LINES, 9)]
    assert stored["post_context"] == [f"post {n}" for n in range(MAX_CONTEXT_LINES)]
    assert data["_meta"]["exception.values.0.stacktrace.frames.0.pre_context"] == {"": {"len": 9}}


def test_a_wrong_field_in_a_long_list_is_named_at_the_index_it_was_sent_at(post_event):
    event = python_event()
    last_exception(event)["stacktrace"]["frames"] = [{}] * 500 + [{"lineno": "42"}]

    response = post_event(event)

    assert response.status_code == 400
    assert response.json()["field"] == "exception.values.0.stacktrace.frames.500.lineno"


def test_a_body_with_more_objects_and_arrays_than_its_size_allows_is_refused_before_it_is_parsed(post_event):
    event = python_event(extra={"many": [[]] * 60_000})
    body = json.dumps(event).encode()
    assert body.count(b"[") > max_containers(len(body))

    response = post_event(body=body)

    assert response.status_code == 400
    assert "objects and arrays" in response.json()["detail"]
    assert not Event.objects.exists()


def test_brackets_inside_strings_are_not_objects_or_arrays(post_event):
    reprs = ['[{"id": 1}, {"id": 2}]' * 40, 'quote \\" [[ and backslash \\\\ {{' * 40] * 20
    event = python_event()
    event["request"]["data"] = reprs
    body = json.dumps(event).encode()
    assert body.count(b"[") + body.count(b"{") > max_containers(len(body))

    assert post_event(body=body).status_code == 202

    assert Event.objects.get().data["request"]["data"][0].startswith('[{"id": 1}')


def test_a_body_just_within_the_limit_is_accepted_and_bounded(post_event):
    event = python_event(extra={"many": [[0]] * 3_000})

    assert post_event(event).status_code == 202

    assert Event.objects.get().data["extra"]["many"][-1] == f"{TRUNCATED} {3_000 - MAX_ITEMS} more items"


def test_free_form_data_keeps_a_bounded_number_of_values(post_event):
    # A hundred lists of a hundred: the first values fill the event's budget, the rest are cut.
    event = python_event(extra={"grid": [list(range(MAX_ITEMS)) for _ in range(MAX_ITEMS)]})
    event["request"]["data"] = [list(range(MAX_ITEMS)) for _ in range(MAX_ITEMS)]

    assert post_event(event).status_code == 202

    data = Event.objects.get().data
    numbers = json.dumps(data["request"]["data"]).count(",") + json.dumps(data.get("extra")).count(",")
    assert numbers <= MAX_EVENT_VALUES + 2 * MAX_ITEMS
    assert "request.data" in json.dumps(data["_meta"])


def test_unknown_top_level_fields_are_read_no_further_than_their_bound(post_event):
    event = python_event(**{f"field_{n}": n for n in range(20_000)})

    assert post_event(event).status_code == 202

    extra = Event.objects.get().data["extra"]
    assert len(extra) == MAX_ITEMS + 1
    assert extra[TRUNCATED] == f"{20_000 - MAX_ITEMS} fields over 16384 bytes dropped"


@pytest.mark.parametrize("field", ["timestamp", "event_id"])
def test_an_id_or_a_time_as_long_as_a_book_is_refused(post_event, field):
    response = post_event(python_event(**{field: "1" * 100_000}))

    assert response.status_code == 400
    assert response.json()["field"] == field


def test_grouping_reads_the_first_characters_of_a_message_however_long(post_event):
    head = "cannot price order: " + "details " * (MAX_TEXT // 8)
    one = {"exception": {"values": [{"type": "PricingError", "value": head + "first tail"}]}}
    other = {"exception": {"values": [{"type": "PricingError", "value": head + "second tail"}]}}

    assert fingerprint(one) == fingerprint(other)
    post_event(one)
    post_event(other)
    assert ErrorGroup.objects.get().times_seen == 2
