"""The shortcuts of the ingest hot path answer exactly what the general path would."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from rest_framework.renderers import JSONRenderer

from ingest.models import ErrorGroup, Event
from ingest.normalize import Scrubber
from ingest.redact import FILTERED, mask_text
from tests.ingest.conftest import last_exception, python_event

pytestmark = pytest.mark.django_db

# One sample of each kind of secret, alone in its string: the pre-check must let every one through to
# its pattern, whatever the case of the parts the pattern ignores.
SECRETS_ALONE = [
    ("BEARER abcdefgh12345678", f"BEARER {FILTERED}"),
    ("Basic dXNlcjpwYXNzd29yZA==", f"Basic {FILTERED}"),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl", FILTERED),
    ("ghp_" + "a1" * 18, FILTERED),
    ("ghs_" + "b2" * 18, FILTERED),
    ("github_pat_" + "C3_" * 12, FILTERED),
    ("sk-ant-" + "d4" * 12, FILTERED),
    ("sk-" + "e5" * 17, FILTERED),
    ("AKIAABCDEFGHIJKLMNOP", FILTERED),
    ("ASIAABCDEFGHIJKLMNOP", FILTERED),
    ("AWS_SECRET_ACCESS_KEY=" + "f" * 40, f"AWS_SECRET_ACCESS_KEY={FILTERED}"),
    ("rk_live_" + "g6" * 8, FILTERED),
    ("whsec_" + "h7" * 12, FILTERED),
    ("xoxb-1234567890-abc", FILTERED),
    ("redis://app:hunter22@cache:6379/0", f"redis://app:{FILTERED}@cache:6379/0"),
    ("4111-1111-1111-1111", FILTERED),
]


@pytest.mark.parametrize(("text", "masked"), SECRETS_ALONE)
def test_each_kind_of_secret_is_masked_on_its_own(text, masked):
    assert mask_text(text) == masked


@pytest.mark.parametrize(("text", "masked"), SECRETS_ALONE)
def test_a_secret_is_masked_every_time_it_appears_after_clean_look_alikes(text, masked):
    # Clean strings are remembered; a string that differs from one only by its secret is still scanned.
    clean = "total = sum(i.price for i in items)"
    assert mask_text(clean) == clean
    assert mask_text(clean) == clean
    assert Scrubber().value({"vars": {"a": clean, "b": text}, "lines": [clean, text]}) == {
        "vars": {"a": clean, "b": masked},
        "lines": [clean, masked],
    }
    assert mask_text(text) == masked


def test_a_secret_in_a_frame_seen_before_clean_is_still_masked_when_it_changes(post_event):
    token = "ghp_" + "z9" * 18
    clean = python_event()
    with_secret = python_event()
    last_exception(with_secret)["stacktrace"]["frames"][-1]["context_line"] = f"client.login('{token}')"

    assert post_event(clean).status_code == 202
    assert post_event(with_secret).status_code == 202

    stored = [event.data for event in Event.objects.order_by("received_at", "pk")]
    frame = last_exception(stored[1])["stacktrace"]["frames"][-1]
    assert frame["context_line"] == f"client.login('{FILTERED}')"
    assert token not in str(stored)


def test_the_accepted_answer_is_what_drfs_json_renderer_would_send(post_event):
    response = post_event()

    assert response.status_code == 202
    event_id = Event.objects.get().event_id.hex
    assert response.content == JSONRenderer().render({"id": event_id})
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("accept", ["*/*", "application/json", "application/json; indent=2", "application/*"])
def test_clients_that_take_json_get_the_event_id_as_json(post_event, accept):
    response = post_event(HTTP_ACCEPT=accept)

    assert response.status_code == 202
    assert response.json() == {"id": Event.objects.get().event_id.hex}


def test_a_client_that_takes_only_html_is_told_406_as_before(post_event):
    response = post_event(HTTP_ACCEPT="text/html")

    assert response.status_code == 406
    assert "Accept" in response.json()["detail"]
    assert not Event.objects.exists()


def test_numbers_past_64_bits_in_free_form_data_are_stored_exactly(post_event):
    huge = 10**30
    event = python_event(tags={"region": "eu", "order": huge}, extra={"nested": [huge, -huge, 1.5]})

    assert post_event(event).status_code == 202
    data = Event.objects.get().data
    assert data["tags"]["order"] == huge
    assert data["extra"]["nested"] == [huge, -huge, 1.5]


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
def test_json_bodies_are_accepted_with_or_without_parameters(post_event, content_type):
    response = post_event(content_type=content_type)

    assert response.status_code == 202
    assert Event.objects.get().exception_type == "ZeroDivisionError"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="column compression is PostgreSQL's")
def test_event_payloads_are_compressed_with_lz4_where_the_server_has_it():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'lz4' = ANY (enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        row = cursor.fetchone()
        cursor.execute(
            "SELECT attcompression FROM pg_attribute "
            "WHERE attrelid = 'ingest_event'::regclass AND attname = 'data'"
        )
        compression = cursor.fetchone()[0]
    assert compression == ("l" if row and row[0] else "")


@pytest.mark.django_db(transaction=True)
def test_events_are_stored_across_a_new_database_connection(post_event):
    # Accept and digest work on whatever connection the request has: a lost one is simply opened again.
    assert post_event(python_event(event_id=uuid.uuid4().hex)).status_code == 202
    assert post_event(python_event(event_id=uuid.uuid4().hex)).status_code == 202
    connection.close()  # as CONN_MAX_AGE or a lost connection would
    assert post_event(python_event(event_id=uuid.uuid4().hex)).status_code == 202

    assert ErrorGroup.objects.get().times_seen == 3
    assert Event.objects.count() == 3
