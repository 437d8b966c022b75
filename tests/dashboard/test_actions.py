"""What people do from the dashboard: start runs, ignore and resolve errors, change settings, rotate keys."""

from html import unescape

import pytest
from django.urls import reverse
from django_q.models import OrmQ

from bugstack.models import Project
from dashboard.models import SettingsChange
from ingest.models import ErrorGroup
from pipeline.models import FixRun
from pipeline.states import RunState
from tests.factories import ErrorGroupFactory, FixRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def group(project):
    return ErrorGroupFactory(project=project)


def action_url(group, name, **extra):
    return reverse(name, kwargs={"slug": group.project.slug, "group_id": group.pk, **extra})


def text(response) -> str:
    return unescape(response.content.decode())


# --- fix runs -----------------------------------------------------------------------------------------


def test_start_a_fix_run_queues_its_first_stage(signed_in, group, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(action_url(group, "dashboard:start-run"), follow=True)
    run = group.runs.get()
    assert (run.trigger, run.state) == (FixRun.Trigger.MANUAL, RunState.QUEUED)
    assert OrmQ.objects.count() == 1
    assert f"Fix run #{run.pk} queued." in text(response)


def test_a_second_run_is_refused_while_one_is_in_flight(signed_in, group):
    running = FixRunFactory(group=group, state=RunState.AWAITING_CI)
    response = signed_in.post(action_url(group, "dashboard:start-run"))
    assert response.status_code == 409
    assert f"Run #{running.pk} is still in progress (Awaiting CI)" in text(response)
    assert group.runs.count() == 1


def test_a_run_can_start_again_after_the_last_one_ended(signed_in, group):
    FixRunFactory(group=group, state=RunState.FAILED)
    signed_in.post(action_url(group, "dashboard:start-run"))
    assert group.runs.count() == 2
    assert group.runs.latest("created_at").trigger == FixRun.Trigger.MANUAL


def test_members_can_start_runs_too(client, member, group):
    client.force_login(member)
    assert client.post(action_url(group, "dashboard:start-run")).status_code == 302
    assert group.runs.count() == 1


# --- group status -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "status", "message"),
    [
        ("ignore", ErrorGroup.Status.IGNORED, "Ignored: new events are counted but start no fix run."),
        ("resolve", ErrorGroup.Status.RESOLVED, "Marked resolved."),
        ("reopen", ErrorGroup.Status.UNRESOLVED, "Reopened."),
    ],
)
def test_ignore_resolve_and_reopen(signed_in, group, action, status, message):
    if action == "reopen":
        ErrorGroup.objects.filter(pk=group.pk).update(status=ErrorGroup.Status.IGNORED)
    response = signed_in.post(action_url(group, "dashboard:group-status", action=action), follow=True)
    group.refresh_from_db()
    assert group.status == status
    assert message in text(response)


# --- settings -----------------------------------------------------------------------------------------


def settings_url(project):
    return reverse("dashboard:settings", kwargs={"slug": project.slug})


def test_policy_change_is_saved_and_recorded(signed_in, owner, project, policy):
    response = signed_in.post(
        settings_url(project),
        policy(auto_deploy="confidence", confidence_threshold="0.95", max_ci_retries="3"),
        follow=True,
    )
    project.refresh_from_db()
    assert (project.auto_deploy, project.confidence_threshold, project.max_ci_retries) == (
        "confidence",
        0.95,
        3,
    )
    changes = {c.field: (c.old_value, c.new_value, c.user, c.username) for c in SettingsChange.objects.all()}
    assert changes == {
        "auto_deploy": (
            "Manual: stop at review",
            "Merge when CI passes and confidence ≥ threshold",
            owner,
            "olivia",
        ),
        "confidence_threshold": ("0.8", "0.95", owner, "olivia"),
        "max_ci_retries": ("2", "3", owner, "olivia"),
    }
    page = text(response)
    assert "Saved: auto-deploy policy, confidence threshold, ci retries." in page
    assert "Manual: stop at review" in page and "0.95" in page


def test_byte_budgets_are_saved_and_bind_the_patch_policy(signed_in, project, policy):
    from pipeline.policy import PatchPolicy, check_patch

    response = signed_in.post(
        settings_url(project), policy(max_file_bytes="2048", max_patch_bytes="4096"), follow=True
    )

    project.refresh_from_db()
    assert (project.max_file_bytes, project.max_patch_bytes) == (2048, 4096)
    assert "Saved: bytes per changed file at most, bytes per fix at most." in text(response)
    findings = check_patch(
        {"shop/a.py": "x = 1\n"},
        {"shop/a.py": "x = '" + "y" * 3000 + "'\n"},
        allowed_paths={"shop/a.py"},
        policy=PatchPolicy.for_project(project),
    )
    assert findings == ["shop/a.py adds at least 3001 bytes; the limit is 2048 bytes per file"]


def test_saving_without_changes_records_nothing(signed_in, project, policy):
    response = signed_in.post(settings_url(project), policy(), follow=True)
    assert "Nothing changed." in text(response)
    assert not SettingsChange.objects.exists()


def test_protected_paths_are_saved_one_per_line(signed_in, project, policy):
    signed_in.post(settings_url(project), policy(protected_paths="  migrations/**\r\n\r\n.github/**  \r\n"))
    project.refresh_from_db()
    assert project.protected_path_globs == ["migrations/**", ".github/**"]
    change = SettingsChange.objects.get()
    assert change.new_value == "migrations/**\n.github/**"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"confidence_threshold": "1.5"},
            "Confidence threshold: Ensure this value is less than or equal to 1.0.",
        ),
        ({"confidence_threshold": "high"}, "Confidence threshold: Enter a number."),
        (
            {"triage_min_confidence": "-0.1"},
            "Code verdicts at least this sure: Ensure this value is greater than or equal to 0.0.",
        ),
        ({"auto_deploy": "yolo"}, "Auto-deploy policy: Select a valid choice. yolo is not one of"),
        ({"max_ci_retries": "11"}, "CI retries: Ensure this value is less than or equal to 10."),
        ({"max_open_prs": "0"}, "Open pull requests at most: At least one pull request must be allowed"),
        ({"context_max_files": "0"}, "Context files at most: A fix needs at least the file"),
        (
            {"dedup_window_seconds": "-5"},
            "Dedup window (seconds): Ensure this value is greater than or equal to 0.",
        ),
        ({"max_changed_lines": ""}, "Changed lines per fix at most: This field is required."),
    ],
)
def test_bad_policy_is_refused_naming_the_setting(signed_in, project, policy, changes, message):
    response = signed_in.post(settings_url(project), policy(**changes))
    assert response.status_code == 400
    assert "The settings were not saved:" in text(response)
    assert message in " ".join(text(response).split()).replace("</a>", "")
    assert Project.objects.get(pk=project.pk).auto_deploy == "manual"
    assert not SettingsChange.objects.exists()


# --- keys ---------------------------------------------------------------------------------------------


def test_rotating_the_key_issues_a_new_one_and_retires_the_old(signed_in, project, key):
    response = signed_in.post(reverse("dashboard:rotate-key", kwargs={"slug": project.slug}), follow=True)
    key.refresh_from_db()
    assert not key.is_active
    new = project.keys.active().get()
    assert new.public_key != key.public_key
    page = text(response)
    assert new.dsn in page and key.dsn not in page
    assert "Events sent with the old key are now refused" in page
    change = SettingsChange.objects.get(field="key")
    assert (change.old_value, change.new_value) == (key.public_key, new.public_key)


def test_issuing_a_first_key(signed_in, project):
    signed_in.post(reverse("dashboard:rotate-key", kwargs={"slug": project.slug}))
    assert project.keys.active().count() == 1
