"""Secrets sent by an SDK never reach the database: asserted on the stored rows, raw."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from ingest.models import ErrorGroup, Event
from ingest.redact import FILTERED, is_sensitive_key, luhn_valid, mask_text
from tests.ingest.conftest import last_exception, python_event

GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5" * 4
ANTHROPIC_KEY = "sk-ant-api03-" + "x7Y8z9" * 8
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
STRIPE_KEY = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
CARD = "4111 1111 1111 1111"
SECRETS = [
    GITHUB_TOKEN,
    ANTHROPIC_KEY,
    JWT,
    AWS_KEY,
    STRIPE_KEY,
    CARD,
    "hunter2",
    "s3ss10n-value",
    "csrf-value",
]


def stored_text() -> str:
    """Everything ingest wrote, as the database holds it (not as the ORM decodes it)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT message, data FROM ingest_event")
        events = cursor.fetchall()
        cursor.execute("SELECT title, culprit FROM ingest_errorgroup")
        groups = cursor.fetchall()
    return json.dumps([events, groups], default=str)


def secret_laden_event():
    event = python_event()
    event["request"] = {
        "method": "POST",
        "url": f"https://shop.example.com/pay?card={CARD.replace(' ', '')}&access_token={GITHUB_TOKEN}",
        "headers": {
            "Authorization": f"Bearer {JWT}",
            "X-Api-Key": AWS_KEY,
            "Cookie": "sessionid=s3ss10n-value",
        },
        "cookies": {"sessionid": "s3ss10n-value", "csrftoken": "csrf-value"},
        "query_string": f"api_key={STRIPE_KEY}&page=2",
        "data": {"user": {"email": "a@example.com", "password": "hunter2"}, "note": f"card {CARD}"},
    }
    event["tags"] = {"deploy_token": GITHUB_TOKEN, "region": "eu"}
    event["extra"] = {"credentials": {"aws": AWS_KEY}, "debug": f"key was {ANTHROPIC_KEY}"}
    frame = last_exception(event)["stacktrace"]["frames"][-1]
    frame["vars"] = {"db_password": "hunter2", "client": f"Client(token={STRIPE_KEY})"}
    last_exception(event)["value"] = f"401 from GitHub with {GITHUB_TOKEN}; JWT {JWT}; card {CARD}"
    return event


@pytest.mark.django_db
def test_secrets_in_headers_body_frame_vars_and_message_never_reach_the_database(post_event):
    assert post_event(secret_laden_event()).status_code == 202

    raw = stored_text()
    for secret in SECRETS:
        assert secret not in raw
    data = Event.objects.get().data
    assert data["request"]["headers"]["Authorization"] == FILTERED
    assert data["request"]["data"]["user"] == {"email": "a@example.com", "password": FILTERED}
    assert data["request"]["query_string"] == "api_key=[Filtered]&page=2"
    assert data["tags"] == {"deploy_token": FILTERED, "region": "eu"}
    assert data["extra"]["credentials"] == FILTERED
    assert last_exception(data)["stacktrace"]["frames"][-1]["vars"]["db_password"] == FILTERED
    assert ErrorGroup.objects.get().title.startswith("ZeroDivisionError: 401 from GitHub with [Filtered]")


@pytest.mark.django_db
def test_secrets_sent_as_name_value_pairs_never_reach_the_database(post_event):
    # Sentry's protocol allows headers, query strings and tags as lists of [name, value] pairs.
    event = python_event(tags=[["password", "hunter2"], ["region", "eu"]])
    event["request"] = {
        "method": "GET",
        "headers": [
            ["Cookie", "sessionid=s3ss10n-value"],
            ["X-Api-Key", STRIPE_KEY],
            ["Accept", "text/html"],
        ],
        "query_string": [["token", "csrf-value"], ["page", "2"]],
    }

    assert post_event(event).status_code == 202

    raw = stored_text()
    for secret in ("hunter2", "s3ss10n-value", STRIPE_KEY, "csrf-value"):
        assert secret not in raw
    data = Event.objects.get().data
    assert data["request"]["headers"][2] == ["Accept", "text/html"]
    assert data["request"]["query_string"] == [["token", FILTERED], ["page", "2"]]


@pytest.mark.django_db
def test_a_projects_extra_keys_are_filtered_too(post_event, project):
    project.redact_keys = "customer_ssn\n# a comment\nInternal-Note"
    project.save()
    event = python_event(extra={"customer_ssn": "078-05-1120", "internal_note": "vip", "order": 7})

    post_event(event)

    assert Event.objects.get().data["extra"] == {
        "customer_ssn": FILTERED,
        "internal_note": FILTERED,
        "order": 7,
    }
    assert "078-05-1120" not in stored_text()


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "PASSWD",
        "client_secret",
        "X-Auth-Token",
        "api_key",
        "apikey",
        "Authorization",
        "Proxy-Authorization",
        "credentials",
        "Cookie",
        "Set-Cookie",
        "session",
        "sessionid",
        "csrftoken",
        "X-CSRF-Token",
        "private_key",
        "X-Api-Key",
    ],
)
def test_denylisted_keys_match_whatever_their_case_and_separators(key):
    assert is_sensitive_key(key)


@pytest.mark.parametrize("key", ["user", "email", "page", "region", "filename"])
def test_ordinary_keys_are_kept(key):
    assert not is_sensitive_key(key)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"Authorization: Bearer {JWT}", "Authorization: Bearer [Filtered]"),
        (f"token {GITHUB_TOKEN}", "token [Filtered]"),
        (f"used {ANTHROPIC_KEY} for the call", "used [Filtered] for the call"),
        (f"aws {AWS_KEY}", "aws [Filtered]"),
        (f"stripe {STRIPE_KEY}", "stripe [Filtered]"),
        ("postgres://app:pa55word@db:5432/shop", "postgres://app:[Filtered]@db:5432/shop"),
        (f"charged {CARD} ok", "charged [Filtered] ok"),
        ("order 4111111111111112 shipped", "order 4111111111111112 shipped"),  # not Luhn-valid: kept
        ("user 12345 at 10.0.0.1", "user 12345 at 10.0.0.1"),
    ],
)
def test_values_that_look_like_secrets_are_masked_anywhere(text, masked):
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"session x-{JWT} ended", f"session x-{FILTERED} ended"),  # a token glued after a dash
        ("Postgres://app:pa55word@db/shop", f"Postgres://app:{FILTERED}@db/shop"),  # any scheme, any case
        ("x_redis://app:pa55word@cache", f"x_redis://app:{FILTERED}@cache"),
        ("BeArEr abcdefgh12345678", f"BeArEr {FILTERED}"),
        ("card 4111-1111-1111-1111.", f"card {FILTERED}."),
        # A number beside the card, which the digit run takes in: the card is still found within it.
        ("card 4111111111111111 2 items", f"card {FILTERED} 2 items"),
        ("order 7 4111-1111-1111-1111 5", f"order 7 {FILTERED} 5"),
        ("2 5555 5555 5555 4444", f"2 {FILTERED}"),
    ],
)
def test_secrets_are_masked_whatever_surrounds_them(text, masked):
    assert mask_text(text) == masked


def test_luhn():
    assert luhn_valid("4111111111111111")
    assert luhn_valid("5555555555554444")
    assert not luhn_valid("4111111111111112")


def test_the_python_sdk_redacts_by_the_same_rules():
    # The SDK keeps its own copy of the rules (it installs without the server); they must not drift apart.
    import bugstack_sdk.redact as sdk

    import ingest.redact as server

    assert sdk.FILTERED == server.FILTERED
    assert sdk.DENYLIST == server.DENYLIST
    assert sdk.SECRET_PATTERNS == server.SECRET_PATTERNS
    assert sdk.CARD_CANDIDATE == server.CARD_CANDIDATE
    # And the card check around the pattern: the same texts come out the same.
    for text in ("card 4111111111111111 2 items", "order 7 4111-1111-1111-1111 5", "2 5555 5555 5555 4444",
                 "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5", "id 12345678901234567 ok"):  # fmt: skip
        assert sdk.mask_text(text) == server.mask_text(text), text


@pytest.mark.django_db
def test_a_projects_extra_key_that_names_a_protocol_field_filters_only_free_form_data(post_event, project):
    # Keys are filtered in free-form data (request, tags, extra, frame vars…), never the protocol's own
    # structure: an event stays an event, its exception and frames readable.
    project.redact_keys = "exception\nstacktrace\nframes\nvalues"
    project.save()
    event = python_event(extra={"frames": "in the extra", "order": 7})

    assert post_event(event).status_code == 202

    stored = Event.objects.get()
    sent = last_exception(event)
    assert stored.data["extra"] == {"frames": FILTERED, "order": 7}
    assert last_exception(stored.data)["stacktrace"]["frames"] == sent["stacktrace"]["frames"]
    assert stored.exception_type == sent["type"]


@pytest.mark.django_db
def test_urls_and_query_strings_among_the_extra_fields_have_their_parameters_filtered(post_event):
    token = GITHUB_TOKEN[:12]  # too short for a pattern: only the parameter's name gives it away
    url = f"https://shop.example.com/cb?access_token={token}"
    event = python_event(extra={"url": url, "query_string": "session=abc&page=2"})

    assert post_event(event).status_code == 202

    assert Event.objects.get().data["extra"] == {
        "url": "https://shop.example.com/cb?access_token=[Filtered]",
        "query_string": "session=[Filtered]&page=2",
    }
