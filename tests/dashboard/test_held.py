"""Held runs and labels on the dashboard: what people see, who may act, and the uncertain policy setting."""

import re
from html import unescape

import pytest
from django.urls import reverse

from dashboard.models import SettingsChange
from ingest.models import CategoryChange, ErrorGroup
from pipeline.labels import relabel
from pipeline.states import RunState
from tests.factories import ErrorGroupFactory, EventFactory, FixRunFactory

pytestmark = pytest.mark.django_db

S = RunState
REASON = (
    "uncertain: there is no stack trace, and nothing in the message says whether the application "
    "or something outside it failed"
)
ACTIONS = ["dashboard:try-fix", "dashboard:relabel"]


@pytest.fixture
def held_group(project):
    group = ErrorGroupFactory(
        project=project,
        title="ValueError: could not process report 8812",
        category=ErrorGroup.Category.UNCERTAIN,
        triage_reason=REASON,
        triage_rule="no-stack",
        triage_confidence=0.4,
    )
    FixRunFactory(group=group, state=S.HELD, category="uncertain", triage_reason=REASON)
    return group


def url(name, group):
    return reverse(name, kwargs={"slug": group.project.slug, "group_id": group.pk})


def page(client, user, group) -> str:
    client.force_login(user)
    response = client.get(url("dashboard:group", group))
    assert response.status_code == 200
    return unescape(response.content.decode())


# --- the group page -----------------------------------------------------------------------------------


def test_a_held_run_is_announced_with_its_reason_and_a_try_a_fix_button(client, member, held_group):
    html = page(client, member, held_group)

    assert "Held: triage is uncertain" in html
    assert REASON in html
    assert f'action="{url("dashboard:try-fix", held_group)}"' in html
    assert ">Try a fix</button>" in html
    assert "Held for a person" in html, "the run's state badge"
    assert "Rule: no-stack · confidence 40%" in html


def test_a_run_held_on_a_weak_code_verdict_says_so(client, member, project):
    reason = "code: raised in the runtime with no third-party package involved (confidence 0.25, below the "
    reason += "project's 0.50)"
    group = ErrorGroupFactory(
        project=project, category="code", triage_rule="raised-in-runtime", triage_confidence=0.25
    )
    FixRunFactory(group=group, state=S.HELD, category="code", triage_reason=reason)

    html = page(client, member, group)

    assert "Held: triage reads this as code, but not surely enough" in html
    assert "Held: triage is uncertain" not in html
    assert reason in html and ">Try a fix</button>" in html
    assert "Rule: raised-in-runtime · confidence 25%" in html


def test_the_notice_says_when_a_fix_has_no_file_to_start_from(client, member, held_group):
    EventFactory(group=held_group)  # a message and no stack trace
    assert "The event has no stack trace, so a fix has no file to start from" in page(
        client, member, held_group
    )

    frame = {"filename": "app/report.py", "abs_path": "/srv/app/report.py", "lineno": 3, "in_app": True}
    value = {"type": "ValueError", "value": "bad", "stacktrace": {"frames": [frame]}}
    EventFactory(group=held_group, data={"exception": {"values": [value]}})
    html = page(client, member, held_group)
    assert "held-no-stack" not in html and ">Try a fix</button>" in html


def test_the_notice_is_gone_once_the_run_moved_on(client, member, held_group):
    held_group.runs.update(state=S.BUILDING_CONTEXT)

    html = page(client, member, held_group)

    assert "Held: triage is uncertain" not in html
    assert "Try a fix" not in html


def test_a_label_shows_who_set_it_and_the_history_of_labels(client, owner, held_group):
    relabel(held_group, "code", owner)
    relabel(held_group, "configuration", owner)

    html = page(client, owner, held_group)

    assert "set by olivia" in html
    assert "configuration: set by olivia" in html
    assert "Rule: " not in html, "a person's label is not one of triage's rules"
    assert "olivia: Uncertain → Code" in html and "olivia: Code → Configuration" in html
    assert html.index("Code → Configuration") < html.index("Uncertain → Code"), "newest first"


def test_owners_get_the_label_form_and_members_do_not(client, owner, member, held_group):
    action = f'action="{url("dashboard:relabel", held_group)}"'
    assert action in page(client, owner, held_group)
    assert action not in page(client, member, held_group)


def test_the_held_reason_is_shown_as_text(client, member, project):
    hostile = "uncertain: <script>alert(1)</script> & <img src=x onerror=alert(2)>"
    group = ErrorGroupFactory(project=project, category="uncertain", triage_reason=hostile)
    FixRunFactory(group=group, state=S.HELD, triage_reason=hostile)
    client.force_login(member)

    body = client.get(url("dashboard:group", group)).content.decode()

    assert "<script>alert(1)</script>" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_the_groups_list_shows_and_filters_held_runs(client, member, project, held_group):
    ErrorGroupFactory(project=project, title="KeyError: 'sku'")
    client.force_login(member)
    groups = reverse("dashboard:groups", kwargs={"slug": project.slug})

    everything = unescape(client.get(groups).content.decode())
    held_only = unescape(client.get(groups, {"state": "held"}).content.decode())

    assert "Held for a person" in everything and "KeyError: 'sku'" in everything
    assert held_group.title in held_only and "KeyError: 'sku'" not in held_only


# --- who may act --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ACTIONS)
def test_outsiders_get_404_and_nothing_changes(client, outsider, held_group, name):
    client.force_login(outsider)

    assert client.post(url(name, held_group), {"category": "code"}).status_code == 404

    assert held_group.runs.get().state == S.HELD
    assert not CategoryChange.objects.exists()


@pytest.mark.parametrize("name", ACTIONS)
def test_a_get_is_refused(client, owner, held_group, name):
    client.force_login(owner)

    assert client.get(url(name, held_group)).status_code == 405

    assert held_group.runs.get().state == S.HELD


@pytest.mark.parametrize("name", ACTIONS)
def test_anonymous_people_are_sent_to_log_in(client, held_group, name):
    response = client.post(url(name, held_group), {"category": "code"})

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert held_group.runs.get().state == S.HELD


def test_members_may_not_label(client, member, held_group):
    client.force_login(member)

    response = client.post(url("dashboard:relabel", held_group), {"category": "code"})

    assert response.status_code == 403
    assert "Only the account's owners and admins can label errors." in unescape(response.content.decode())
    held_group.refresh_from_db()
    assert (held_group.category, held_group.category_overridden) == ("uncertain", False)
    assert held_group.runs.get().state == S.HELD


@pytest.mark.parametrize("category", ["uncertain", "bogus", ""])
def test_only_the_four_categories_are_labels(client, owner, held_group, category):
    client.force_login(owner)

    response = client.post(url("dashboard:relabel", held_group), {"category": category})

    assert response.status_code == 400
    assert "Choose one of: code, infrastructure, configuration, dependency." in response.content.decode()
    assert not CategoryChange.objects.exists()


def test_try_a_fix_without_any_run_says_there_is_none(client, member, project):
    group = ErrorGroupFactory(project=project)
    client.force_login(member)

    response = client.post(url("dashboard:try-fix", group), follow=True)

    assert "This error has no fix run to try." in unescape(response.content.decode())
    assert not group.runs.exists()


# --- the project's uncertain policy -------------------------------------------------------------------


def test_the_uncertain_policy_is_changed_and_recorded_on_the_settings_page(client, owner, project, policy):
    client.force_login(owner)
    settings_url = reverse("dashboard:settings", kwargs={"slug": project.slug})
    assert re.search(r'value="hold"[^>]* checked', client.get(settings_url).content.decode())

    response = client.post(settings_url, policy(uncertain_policy="fix"), follow=True)

    project.refresh_from_db()
    assert project.uncertain_policy == "fix"
    change = SettingsChange.objects.get()
    assert (change.field, change.old_value, change.new_value, change.username) == (
        "uncertain_policy",
        "Hold for a person",
        "Try a fix",
        "olivia",
    )
    assert "Saved: uncertain errors." in unescape(response.content.decode())


def test_how_sure_a_code_verdict_must_be_is_changed_and_recorded_on_the_settings_page(
    client, owner, project, policy
):
    client.force_login(owner)
    settings_url = reverse("dashboard:settings", kwargs={"slug": project.slug})
    assert 'name="triage_min_confidence"' in client.get(settings_url).content.decode()

    response = client.post(settings_url, policy(triage_min_confidence="0.6"), follow=True)

    project.refresh_from_db()
    assert project.triage_min_confidence == 0.6
    change = SettingsChange.objects.get()
    assert (change.field, change.old_value, change.new_value) == ("triage_min_confidence", "0.5", "0.6")
    assert "Saved: code verdicts at least this sure." in unescape(response.content.decode())


def test_members_cannot_change_the_uncertain_policy(client, member, project, policy):
    client.force_login(member)

    response = client.post(
        reverse("dashboard:settings", kwargs={"slug": project.slug}), policy(uncertain_policy="fix")
    )

    assert response.status_code == 403
    project.refresh_from_db()
    assert project.uncertain_policy == "hold"
