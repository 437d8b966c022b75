"""Uncertain verdicts held for a person, and people's labels in place of triage's verdict.

Events go in through the real ingest endpoint, stages run in this process through the same wrapper the task
queue uses (``pipeline.tasks.execute``), and people act through the dashboard's and the admin's real views.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from html import unescape
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from bugstack.models import Project
from ingest.models import CategoryChange, ErrorGroup
from pipeline.models import FixRun
from pipeline.runs import release_held_run
from pipeline.states import FINAL_STATES, RunState, is_allowed
from pipeline.tasks import execute, poll, reap
from tests.factories import ErrorGroupFactory, ProjectKeyFactory, UserFactory

pytestmark = pytest.mark.django_db

S = RunState

# An error reported without a stack whose message names no outside cause: triage cannot place it.
UNCERTAIN_EVENT = {
    "platform": "python",
    "level": "error",
    "exception": {"values": [{"type": "ValueError", "value": "could not process report 8812"}]},
}


@pytest.fixture
def key(project):
    return ProjectKeyFactory(project=project)


@pytest.fixture
def sdk(key):
    """POST an event to the ingest endpoint as an SDK does; returns the run it started, if any."""
    client = Client()

    def post(event: dict) -> FixRun | None:
        response = client.post(
            "/api/v1/events/",
            json.dumps(copy.deepcopy(event)),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key.public_key}",
        )
        assert response.status_code == 202, response.content
        return FixRun.objects.filter(project=key.project).order_by("-pk").first()

    return post


@pytest.fixture
def held(sdk):
    """The run of an uncertain event, triaged under the default policy: held for a person."""
    run = sdk(UNCERTAIN_EVENT)
    execute(run.pk, S.TRIAGING)
    run.refresh_from_db()
    assert run.state == S.HELD
    return run


def signed_in(client, user):
    client.force_login(user)
    return client


def group_url(name: str, group: ErrorGroup) -> str:
    return reverse(name, kwargs={"slug": group.project.slug, "group_id": group.pk})


def text(response) -> str:
    return unescape(response.content.decode())


def queued_tasks() -> list[tuple[str, tuple]]:
    packages = [SignedPackage.loads(row.payload) for row in OrmQ.objects.all()]
    return [(package["func"], tuple(package["args"])) for package in packages]


# --- the state machine --------------------------------------------------------------------------------


def test_held_is_entered_from_triage_and_left_only_by_a_person_or_a_failure():
    assert is_allowed(S.TRIAGING, S.HELD)
    assert {state for state in RunState if is_allowed(S.HELD, state)} == {
        S.BUILDING_CONTEXT,
        S.OUT_OF_SCOPE,
        S.FAILED,
    }
    assert S.HELD not in FINAL_STATES
    assert not is_allowed(S.QUEUED, S.HELD)


# --- triage -------------------------------------------------------------------------------------------


def test_an_uncertain_event_is_held_with_its_verdict_rule_and_confidence_saved(
    sdk, django_capture_on_commit_callbacks
):
    run = sdk(UNCERTAIN_EVENT)

    with django_capture_on_commit_callbacks(execute=True):
        assert execute(run.pk, S.TRIAGING) == S.HELD

    run.refresh_from_db()
    group = ErrorGroup.objects.get(pk=run.group_id)
    assert (run.state, run.category, run.is_final) == (S.HELD, "uncertain", False)
    assert (group.category, group.triage_rule, group.triage_confidence) == ("uncertain", "no-stack", 0.4)
    assert run.triage_reason == group.triage_reason and "no stack trace" in group.triage_reason
    assert "held for a person" in run.transitions.last().detail
    assert queued_tasks() == [], "a held run has no stage to queue"


def test_under_the_try_a_fix_policy_an_uncertain_event_goes_straight_to_building_context(key, sdk):
    Project.objects.filter(pk=key.project_id).update(uncertain_policy=Project.UncertainPolicy.FIX)
    run = sdk(UNCERTAIN_EVENT)

    execute(run.pk, S.TRIAGING)

    run.refresh_from_db()
    assert (run.state, run.category) == (S.BUILDING_CONTEXT, "uncertain")
    assert run.transitions.last().detail.endswith("the project's policy is to try a fix")
    assert ErrorGroup.objects.get(pk=run.group_id).triage_rule == "no-stack"


# Raised inside the runtime with no application frame: code by a rule that was right on few such errors.
WEAKLY_CODE_EVENT = {
    "platform": "python",
    "level": "error",
    "exception": {
        "values": [
            {
                "type": "ValueError",
                "value": "unconverted data remains: 5",
                "stacktrace": {
                    "frames": [
                        {
                            "filename": "/usr/lib/python3.12/_strptime.py",
                            "function": "_strptime",
                            "lineno": 352,
                        }
                    ]
                },
            }
        ]
    },
}


def test_a_code_verdict_less_sure_than_the_project_asks_is_held_like_an_uncertain_one(sdk):
    run = sdk(WEAKLY_CODE_EVENT)

    assert execute(run.pk, S.TRIAGING) == S.HELD

    run.refresh_from_db()
    group = ErrorGroup.objects.get(pk=run.group_id)
    assert (run.category, group.category, group.triage_rule) == ("code", "code", "raised-in-runtime")
    assert group.triage_confidence < run.project.triage_min_confidence == 0.5
    assert f"(confidence {group.triage_confidence:.2f}, below the project's 0.50)" in run.triage_reason
    assert "held for a person" in run.transitions.last().detail


@pytest.mark.parametrize(
    ("least", "policy"), [(0.0, Project.UncertainPolicy.HOLD), (0.5, Project.UncertainPolicy.FIX)]
)
def test_a_weak_code_verdict_is_tried_when_the_project_takes_every_code_verdict_or_tries_uncertain_ones(
    key, sdk, least, policy
):
    Project.objects.filter(pk=key.project_id).update(triage_min_confidence=least, uncertain_policy=policy)
    run = sdk(WEAKLY_CODE_EVENT)

    assert execute(run.pk, S.TRIAGING) == S.BUILDING_CONTEXT


def test_a_held_group_starts_no_second_run(sdk, held):
    assert sdk(UNCERTAIN_EVENT) == held

    assert FixRun.objects.filter(group_id=held.group_id).count() == 1
    assert ErrorGroup.objects.get(pk=held.group_id).times_seen == 2


# --- try a fix ----------------------------------------------------------------------------------------


def test_try_a_fix_moves_the_held_run_on_queues_its_stage_and_names_who_asked(
    client, member, held, django_capture_on_commit_callbacks
):
    signed_in(client, member)
    url = group_url("dashboard:try-fix", held.group)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, follow=True)

    held.refresh_from_db()
    assert held.state == S.BUILDING_CONTEXT
    assert held.transitions.last().detail == "max asked for a fix"
    assert queued_tasks() == [("pipeline.tasks.build_context", (held.pk,))]
    assert f"Run #{held.pk} goes on to build a fix." in text(response)


def test_a_second_try_a_fix_finds_the_run_moved_and_says_so(client, member, held):
    signed_in(client, member)
    url = group_url("dashboard:try-fix", held.group)
    client.post(url)

    response = client.post(url, follow=True)

    assert response.status_code == 200
    assert f"Run #{held.pk} is not held any more (now: Building context); nothing to do." in text(response)
    assert held.transitions.filter(from_state=S.HELD).count() == 1


def test_of_two_people_releasing_one_held_run_only_one_moves_it(held):
    group = held.group
    first, second = release_held_run(group, by="olivia"), release_held_run(group, by="max")

    assert first.pk == held.pk and first.state == S.BUILDING_CONTEXT
    assert second is None
    assert list(held.transitions.filter(from_state=S.HELD).values_list("detail", flat=True)) == [
        "olivia asked for a fix"
    ]


# --- labels -------------------------------------------------------------------------------------------


def test_a_label_out_of_scope_ends_the_held_run_and_stands_for_later_runs(client, owner, sdk, held):
    signed_in(client, owner)

    response = client.post(
        group_url("dashboard:relabel", held.group), {"category": "infrastructure"}, follow=True
    )

    held.refresh_from_db()
    group = ErrorGroup.objects.get(pk=held.group_id)
    assert held.state == S.OUT_OF_SCOPE
    assert held.reason == "olivia labelled the error infrastructure: out of scope"
    assert (held.category, held.transitions.last().detail) == ("infrastructure", held.reason)
    assert (group.category, group.category_overridden) == ("infrastructure", True)
    assert (group.triage_rule, group.triage_confidence) == ("set by a person", 1.0)
    change = CategoryChange.objects.get()
    assert (change.group_id, change.user, change.username) == (group.pk, owner, "olivia")
    assert (change.old_category, change.new_category) == ("uncertain", "infrastructure")
    assert f"Labelled infrastructure. Held run #{held.pk} ends out of scope." in text(response)

    # A later event is counted; after a verdict only a person starts a run, and that run takes the label.
    assert sdk(UNCERTAIN_EVENT) == held
    client.post(group_url("dashboard:start-run", group))
    later = FixRun.objects.filter(group=group).latest("pk")
    execute(later.pk, S.TRIAGING)

    later.refresh_from_db()
    group.refresh_from_db()
    assert later.pk != held.pk
    assert (later.state, later.category) == (S.OUT_OF_SCOPE, "infrastructure")
    assert later.triage_reason == "infrastructure: set by olivia"
    assert (group.category, group.triage_rule) == ("infrastructure", "set by a person"), (
        "not classified again"
    )


def test_a_label_of_code_releases_the_held_run(client, owner, held, django_capture_on_commit_callbacks):
    signed_in(client, owner)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(group_url("dashboard:relabel", held.group), {"category": "code"}, follow=True)

    held.refresh_from_db()
    assert (held.state, held.category, held.triage_reason) == (
        S.BUILDING_CONTEXT,
        "code",
        "code: set by olivia",
    )
    assert held.transitions.last().detail == "olivia labelled the error code"
    assert queued_tasks() == [("pipeline.tasks.build_context", (held.pk,))]
    assert f"Labelled code. Held run #{held.pk} goes on to build a fix." in text(response)


def test_the_same_label_twice_is_recorded_once(client, owner, held):
    signed_in(client, owner)
    url = group_url("dashboard:relabel", held.group)
    client.post(url, {"category": "configuration"})

    response = client.post(url, {"category": "configuration"}, follow=True)

    assert CategoryChange.objects.count() == 1
    assert "Already labelled configuration." in text(response)


# --- the admin ----------------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client):
    return signed_in(client, UserFactory(username="root", is_staff=True, is_superuser=True))


def admin_form(group: ErrorGroup, **changes) -> dict:
    return {
        "status": group.status,
        "category": group.category,
        "triage_reason": group.triage_reason,
        **changes,
    }


def test_a_label_set_in_the_admin_goes_through_the_same_function(staff_client, held):
    group = held.group
    url = reverse("admin:ingest_errorgroup_change", args=[group.pk])

    response = staff_client.post(url, admin_form(group, category="dependency", status="ignored"))

    assert response.status_code == 302
    held.refresh_from_db()
    group.refresh_from_db()
    assert held.state == S.OUT_OF_SCOPE and held.reason == "root labelled the error dependency: out of scope"
    assert (group.category, group.category_overridden, group.status) == ("dependency", True, "ignored")
    assert (group.triage_reason, group.triage_rule) == ("dependency: set by root", "set by a person")
    change = CategoryChange.objects.get()
    assert (change.username, change.old_category, change.new_category) == ("root", "uncertain", "dependency")
    page = staff_client.get(url).content.decode()
    assert "root: Uncertain → Dependency" in page


def test_the_admin_does_not_let_a_person_choose_uncertain(staff_client):
    group = ErrorGroupFactory(category="code", triage_reason="code: raised in the application")
    url = reverse("admin:ingest_errorgroup_change", args=[group.pk])

    response = staff_client.post(url, admin_form(group, category="uncertain"))

    assert response.status_code == 200
    assert "Uncertain is triage&#x27;s own verdict" in response.content.decode()
    group.refresh_from_db()
    assert (group.category, group.category_overridden) == ("code", False)
    assert not CategoryChange.objects.exists()


def test_clearing_the_label_in_the_admin_hands_the_group_back_to_triage(staff_client, held):
    group = held.group
    url = reverse("admin:ingest_errorgroup_change", args=[group.pk])
    staff_client.post(url, admin_form(group, category="code"))
    group.refresh_from_db()

    staff_client.post(url, admin_form(group, category=""))

    group.refresh_from_db()
    assert (group.category, group.category_overridden, group.triage_rule) == ("", False, "")
    assert list(CategoryChange.objects.order_by("pk").values_list("old_category", "new_category")) == [
        ("uncertain", "code"),
        ("code", ""),
    ]


# --- schedules ----------------------------------------------------------------------------------------


def test_no_worker_and_no_advance_runs_moves_a_held_run(held):
    assert execute(held.pk, S.HELD) is None

    out = StringIO()
    call_command("advance_runs", stdout=out)

    held.refresh_from_db()
    assert (held.state, held.stage_attempts, held.lease_expires_at) == (S.HELD, 0, None)
    assert out.getvalue() == f"run {held.pk}: held\n"


def test_held_runs_are_neither_polled_nor_reaped(settings, held):
    long_ago = timezone.now() - timedelta(
        seconds=max(settings.BUGSTACK_RUN_DEADLINE_SECONDS, settings.BUGSTACK_STUCK_SECONDS) + 60
    )
    FixRun.objects.filter(pk=held.pk).update(state_changed_at=long_ago)
    OrmQ.objects.all().delete()

    assert poll() == 0
    assert reap() == 0

    held.refresh_from_db()
    assert held.state == S.HELD
    assert queued_tasks() == []
