"""The history triage weighs an error against: packages that changed version just before it was first seen."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache

from ingest.auth import forget_all_keys
from ingest.models import ErrorGroup
from pipeline.history import history_for
from pipeline.models import FixRun
from pipeline.states import RunState
from pipeline.tasks import execute
from pipeline.triage import NO_HISTORY, History, VersionChange, classify, version_changes
from tests.factories import ProjectKeyFactory
from tests.ingest.conftest import EVENTS_URL, python_event

pytestmark = pytest.mark.django_db

BEFORE = {"django": "5.0.6", "requests": "2.31.0", "six": "1.16.0"}
AFTER = {"django": "5.0.6", "requests": "2.32.0", "idna": "3.7"}


def library_event(timestamp: str, modules: dict | None, **changes) -> dict:
    """An error raised inside ``requests`` when the application called it."""
    frames = [
        {
            "filename": "shop/payments.py",
            "abs_path": "/srv/shop/shop/payments.py",
            "function": "charge",
            "lineno": 12,
            "in_app": True,
            "context_line": "session.request('POST', url, proxies=proxies)",
        },
        {
            "filename": "requests/sessions.py",
            "abs_path": "/srv/venv/lib/python3.12/site-packages/requests/sessions.py",
            "function": "request",
            "lineno": 575,
            "in_app": False,
        },
    ]
    exception = {
        "type": "TypeError",
        "value": "request() got an unexpected keyword argument 'proxies'",
        "stacktrace": {"frames": frames},
    }
    event = python_event(timestamp=timestamp, **{"exception": {"values": [exception]}, **changes})
    if modules is not None:
        event["modules"] = modules
    return event


@pytest.fixture
def post(client, project):
    cache.clear()
    forget_all_keys()
    key = ProjectKeyFactory(project=project)

    def post(event: dict) -> None:
        response = client.post(
            EVENTS_URL,
            json.dumps(event),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key.public_key}",
        )
        assert response.status_code == 202, response.content

    yield post
    cache.clear()
    forget_all_keys()


def raised_in_app(type_: str, value: str, path: str = "shop/a.py", **changes) -> dict:
    frame = {"filename": path, "abs_path": f"/srv/shop/{path}", "function": "f", "in_app": True}
    exception = {"type": type_, "value": value, "stacktrace": {"frames": [frame]}}
    return python_event(**{"exception": {"values": [exception]}, **changes})


def group_of(exception_type: str) -> ErrorGroup:
    return ErrorGroup.objects.get(exception_type=exception_type)


def test_version_changes_lists_moved_added_and_removed_packages():
    assert version_changes(BEFORE, AFTER) == (
        VersionChange("idna", "", "3.7"),
        VersionChange("requests", "2.31.0", "2.32.0"),
        VersionChange("six", "1.16.0", ""),
    )


def test_a_group_first_seen_right_after_an_upgrade_has_the_upgrade_in_its_history(post):
    post(python_event(timestamp="2026-11-23T09:00:00Z", modules=BEFORE))  # another error, before the deploy
    post(library_event("2026-11-23T10:00:00Z", AFTER))

    history = history_for(group_of("TypeError"))

    assert VersionChange("requests", "2.31.0", "2.32.0") in history.version_changes


def test_the_verdict_names_the_package_that_moved_and_its_versions(post):
    post(python_event(timestamp="2026-11-23T09:00:00Z", modules=BEFORE))
    post(library_event("2026-11-23T10:00:00Z", AFTER))
    group = group_of("TypeError")
    event = group.events.get().data

    alone, weighed = classify(event), classify(event, history=history_for(group))

    assert alone.category == "code"  # raised in a library the application called: on its own, the caller's
    assert weighed.category == "dependency"
    assert weighed.rule == "version-changed"
    assert "`requests` moved from `2.31.0` to `2.32.0`" in weighed.reason


def test_no_change_and_no_modules_leave_the_verdict_to_the_event(post):
    post(python_event(timestamp="2026-11-23T09:00:00Z", modules=AFTER))
    post(library_event("2026-11-23T10:00:00Z", AFTER))
    post(raised_in_app("KeyError", "'sku'", timestamp="2026-11-23T11:00:00Z"))  # sent without modules

    assert history_for(group_of("TypeError")) == History(version_changes=())
    assert history_for(group_of("KeyError")) == NO_HISTORY


def test_only_the_same_environment_counts(post):
    post(python_event(timestamp="2026-11-23T09:30:00Z", environment="staging", modules=BEFORE))
    post(library_event("2026-11-23T10:00:00Z", AFTER))

    assert history_for(group_of("TypeError")) == NO_HISTORY


def test_the_latest_earlier_event_is_the_one_compared(post):
    post(python_event(timestamp="2026-11-23T08:00:00Z", modules=BEFORE))
    post(raised_in_app("ValueError", "bad", timestamp="2026-11-23T09:00:00Z", modules=AFTER))
    post(library_event("2026-11-23T10:00:00Z", AFTER))  # the upgrade came before the last error: no suspect

    assert history_for(group_of("TypeError")).version_changes == ()


def test_an_outage_stays_an_outage_whatever_moved():
    event = library_event("2026-11-23T10:00:00Z", AFTER)
    event["exception"]["values"][0]["value"] = "Connection refused"
    history = History(version_changes=(VersionChange("requests", "2.31.0", "2.32.0"),))

    assert classify(event, history=history).category == "infrastructure"


def test_a_package_named_in_the_message_is_a_suspect_even_when_the_application_raised():
    event = raised_in_app("ImportError", "cannot import name 'url_quote' from 'werkzeug.urls'", "shop/app.py")
    history = History(version_changes=(VersionChange("Werkzeug", "2.3.8", "3.0.0"),))

    verdict = classify(event, history=history)

    assert verdict.category == "dependency" and "`Werkzeug` moved from `2.3.8` to `3.0.0`" in verdict.reason


def test_a_package_only_further_up_the_stack_is_no_suspect():
    event = python_event()  # ZeroDivisionError in shop/cart.py, called by Django
    history = History(version_changes=(VersionChange("Django", "5.0.6", "5.1.0"),))

    assert classify(event, history=history).category == "code"


def test_the_triage_stage_weighs_the_projects_history(post):
    post(python_event(timestamp="2026-11-23T09:00:00Z", modules=BEFORE))
    post(library_event("2026-11-23T10:00:00Z", AFTER))
    run = FixRun.objects.get(group=group_of("TypeError"))

    assert execute(run.pk, RunState.TRIAGING) == RunState.OUT_OF_SCOPE

    group = group_of("TypeError")
    assert (group.category, group.triage_rule) == ("dependency", "version-changed")
    assert "`requests` moved from `2.31.0` to `2.32.0`" in group.triage_reason
