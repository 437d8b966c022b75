"""The stages and their wrapper, run in this process on real parts: a local git repository with its own
tests as CI, the offline rules provider, and the GitHub fake for outside failures."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from bugstack.models import Project
from ingest.models import ErrorGroup, Event
from integrations.models import Credential
from integrations.signals import code_host_event
from pipeline.models import FixRun
from pipeline.runs import start_run
from pipeline.states import RunState
from pipeline.tasks import LONG_LEASE_SECONDS, claim, execute, poll, reap, verify_fixes
from tests.factories import ErrorGroupFactory, EventFactory, FixRunFactory, ProjectFactory
from tests.fakes.github import FakeGitHub
from tests.pipeline.test_end_to_end import (
    CART,
    CART_TEST,
    REPO,
    TOKEN,
    database_down_event,
    zero_division_event,
)

S = RunState


def git(path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def local_repo(tmp_path):
    path = tmp_path / "shop"
    (path / "shop").mkdir(parents=True)
    (path / "tests").mkdir()
    (path / "shop" / "__init__.py").write_text("")
    (path / "shop" / "cart.py").write_text(CART)
    (path / "tests" / "test_cart.py").write_text(CART_TEST)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", ".")
    git(path, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-qm", "Shop")
    return path


def local_project(path, policy=Project.AutoDeploy.MANUAL) -> Project:
    return ProjectFactory(
        code_host=Project.CodeHost.LOCAL,
        local_repo_path=str(path),
        repository="",
        test_command=f"{sys.executable} -m pytest -q -p no:cacheprovider",
        auto_deploy=policy,
    )


def run_for(project: Project, data: dict) -> FixRun:
    event = EventFactory(group__project=project, data=data)
    return start_run(event.group, FixRun.Trigger.NEW_GROUP, event)


def advance_all(*runs: FixRun) -> str:
    out = StringIO()
    call_command("advance_runs", *[f"--run={run.pk}" for run in runs], stdout=out)
    return out.getvalue()


def states(run: FixRun) -> list[str]:
    return [run.transitions.first().from_state, *run.transitions.values_list("to_state", flat=True)]


@pytest.mark.django_db
def test_a_local_repository_gets_a_fix_branch_whose_tests_pass_and_manual_stops_at_review(local_repo):
    run = run_for(local_project(local_repo), zero_division_event())

    printed = advance_all(run)

    run.refresh_from_db()
    assert run.state == S.AWAITING_REVIEW, printed
    assert states(run) == [
        S.QUEUED, S.TRIAGING, S.BUILDING_CONTEXT, S.GENERATING_FIX, S.OPENING_PR, S.AWAITING_CI, S.CI_PASSED,
        S.AWAITING_REVIEW,
    ]  # fmt: skip
    fixed = git(local_repo, "show", f"{run.branch}:shop/cart.py")
    assert "average_price([])" not in fixed and fixed != CART
    assert git(local_repo, "show", "main:shop/cart.py") == CART, "nothing merged under the manual policy"
    attempt = run.attempts.get()
    assert (attempt.provider, attempt.ci_state, attempt.outcome) == ("rules", "success", "ci_passed")
    assert run.context["files"]["shop/cart.py"] == CART


@pytest.mark.django_db
def test_ci_pass_merges_into_the_default_branch_and_marks_the_group_fixed(local_repo):
    run = run_for(local_project(local_repo, Project.AutoDeploy.CI_PASS), zero_division_event())

    advance_all(run)

    run.refresh_from_db()
    assert run.state == S.MERGED
    assert git(local_repo, "show", "main:shop/cart.py") == git(
        local_repo, "show", f"{run.branch}:shop/cart.py"
    )
    group = ErrorGroup.objects.get(pk=run.group_id)
    assert group.status == ErrorGroup.Status.FIXED
    assert group.fix_merged_at is not None and group.fix_commit_sha == run.merge_sha != ""


@pytest.mark.django_db
def test_an_out_of_scope_error_ends_with_its_reason_and_touches_no_repository(tmp_path):
    project = local_project(tmp_path / "does-not-exist")
    run = run_for(project, database_down_event())

    advance_all(run)

    run.refresh_from_db()
    assert run.state == S.OUT_OF_SCOPE
    assert run.category == "infrastructure" and "db.internal" in run.reason
    assert ErrorGroup.objects.get(pk=run.group_id).category == "infrastructure"


@pytest.mark.django_db
def test_a_verdict_overridden_by_staff_is_used_instead_of_the_classifier(local_repo):
    project = local_project(local_repo)
    run = run_for(project, database_down_event())
    ErrorGroup.objects.filter(pk=run.group_id).update(
        category="code", triage_reason="code: staff say the retry loop is ours", category_overridden=True
    )

    execute(run.pk, S.TRIAGING)

    run.refresh_from_db()
    assert (run.state, run.triage_reason) == (S.BUILDING_CONTEXT, "code: staff say the retry loop is ours")


@pytest.mark.django_db
def test_a_permanent_error_ends_the_run_at_once_with_an_actionable_message():
    project = ProjectFactory(repository=REPO)  # no GitHub token for this account
    run = run_for(project, zero_division_event())

    advance_all(run)

    run.refresh_from_db()
    assert run.state == S.FAILED
    assert "has no GitHub token" in run.reason
    assert run.transitions.last().from_state == S.BUILDING_CONTEXT


@pytest.mark.django_db
def test_transient_errors_are_retried_up_to_the_bound_then_the_run_fails_with_the_last_error(settings):
    settings.BUGSTACK_TRANSIENT_RETRIES = 2
    settings.BUGSTACK_TRANSIENT_BACKOFF_SECONDS = 0.01
    with FakeGitHub(tokens={TOKEN: None}) as github:
        github.add_repo(REPO, files={"shop/__init__.py": "", "shop/cart.py": CART})
        settings.BUGSTACK_GITHUB_API_URL = github.base_url
        settings.BUGSTACK_GITHUB_PACING = False
        project = ProjectFactory(repository=REPO)
        Credential.objects.create(account=project.account, kind="github", secret=TOKEN)
        run = run_for(project, zero_division_event())
        github.inject("/git/ref", "502", times=100)

        advance_all(run)

    run.refresh_from_db()
    assert run.state == S.FAILED
    assert "502" in run.reason or "Server Error" in run.reason
    ref_reads = [r for r in github.requests if "/git/ref" in r.path]
    assert len(ref_reads) >= 3, "the stage was tried 1 + 2 times"


@pytest.mark.django_db
def test_a_duplicated_task_finds_the_run_moved_on_and_does_nothing(local_repo):
    run = run_for(local_project(local_repo), zero_division_event())
    execute(run.pk, S.TRIAGING)

    assert execute(run.pk, S.TRIAGING) is None

    run.refresh_from_db()
    assert run.state == S.BUILDING_CONTEXT
    assert run.transitions.count() == 2


@pytest.mark.django_db
def test_a_stage_held_by_a_live_worker_is_not_done_twice(local_repo):
    run = run_for(local_project(local_repo), zero_division_event())
    FixRun.objects.filter(pk=run.pk).update(
        state=S.TRIAGING, lease_expires_at=timezone.now() + timedelta(minutes=5), stage_attempts=1
    )

    assert execute(run.pk, S.TRIAGING) is None
    assert FixRun.objects.get(pk=run.pk).state == S.TRIAGING


@pytest.mark.django_db
def test_a_stage_that_keeps_killing_its_worker_ends_the_run(settings, local_repo):
    run = run_for(local_project(local_repo), zero_division_event())
    FixRun.objects.filter(pk=run.pk).update(
        state=S.TRIAGING, stage_attempts=settings.BUGSTACK_MAX_STAGE_ATTEMPTS, lease_expires_at=timezone.now()
    )

    execute(run.pk, S.TRIAGING)

    run.refresh_from_db()
    assert run.state == S.FAILED
    assert "never finished" in run.reason


@pytest.mark.django_db
def test_poll_hands_on_lost_and_abandoned_stages_and_waiting_runs(settings):
    old = timezone.now() - timedelta(seconds=settings.BUGSTACK_STUCK_SECONDS + 5)
    lost = run_in(S.BUILDING_CONTEXT, state_changed_at=old)
    abandoned = run_in(S.OPENING_PR, lease_expires_at=timezone.now() - timedelta(seconds=1))
    waiting_ci = run_in(S.AWAITING_CI)
    run_in(S.GENERATING_FIX)  # just queued: not stuck yet
    run_in(S.AWAITING_REVIEW, lease_expires_at=timezone.now() + timedelta(minutes=5))  # resting
    run_in(S.MERGED, state_changed_at=old)

    assert poll() == 3

    queued = {tuple(SignedPackage.loads(row.payload)["args"]) for row in OrmQ.objects.all()}
    assert queued == {(lost.pk,), (abandoned.pk,), (waiting_ci.pk,)}


@pytest.mark.django_db
def test_the_reaper_ends_runs_stuck_past_the_deadline_but_not_those_waiting_for_review(settings):
    old = timezone.now() - timedelta(seconds=settings.BUGSTACK_RUN_DEADLINE_SECONDS + 60)
    stuck = run_in(S.AWAITING_CI, state_changed_at=old)
    review = run_in(S.AWAITING_REVIEW, state_changed_at=old)

    assert reap() == 1

    stuck.refresh_from_db()
    review.refresh_from_db()
    assert stuck.state == S.FAILED and "ended by the reaper" in stuck.reason
    assert review.state == S.AWAITING_REVIEW


def run_in(state: str, **fields) -> FixRun:
    group = ErrorGroupFactory()
    return FixRun.objects.create(project=group.project, group=group, state=state, **fields)


@pytest.mark.django_db
def test_a_fix_quiet_after_its_release_was_seen_is_verified(settings):
    merged_at = timezone.now() - timedelta(days=3)
    fixed = ErrorGroupFactory(status="fixed", fix_merged_at=merged_at, releases=["1.0"])
    regressed = ErrorGroupFactory(
        project=fixed.project, status="unresolved", fix_merged_at=merged_at, releases=["1.0"]
    )
    not_deployed = ErrorGroupFactory(status="fixed", fix_merged_at=merged_at, releases=["1.0"])
    # Another error of the same project, from the release that carries the fix, two days ago.
    deployed = EventFactory(group__project=fixed.project, release="1.1")
    Event.objects.filter(pk=deployed.pk).update(received_at=timezone.now() - timedelta(days=2))

    assert verify_fixes() == 1

    assert ErrorGroup.objects.get(pk=fixed.pk).fix_verified_at is not None
    assert ErrorGroup.objects.get(pk=regressed.pk).fix_verified_at is None
    assert ErrorGroup.objects.get(pk=not_deployed.pk).fix_verified_at is None, "its project never ran the fix"


@pytest.mark.django_db
def test_a_fix_of_events_without_releases_is_verified_after_the_grace_and_quiet_periods(settings):
    long_ago = timezone.now() - timedelta(
        seconds=settings.BUGSTACK_REGRESSION_GRACE_SECONDS + settings.BUGSTACK_VERIFY_QUIET_SECONDS + 60
    )
    old = ErrorGroupFactory(status="fixed", fix_merged_at=long_ago)
    recent = ErrorGroupFactory(status="fixed", fix_merged_at=timezone.now() - timedelta(hours=1))

    assert verify_fixes() == 1
    assert ErrorGroup.objects.get(pk=old.pk).fix_verified_at is not None
    assert ErrorGroup.objects.get(pk=recent.pk).fix_verified_at is None


# --- on GitHub (the fake, in this process), with the offline rules provider --------------------------------


@pytest.fixture
def github(settings):
    settings.BUGSTACK_GITHUB_PACING = False
    with FakeGitHub(tokens={TOKEN: None}) as fake:
        fake.add_repo(
            REPO, files={"shop/__init__.py": "", "shop/cart.py": CART, "tests/test_cart.py": CART_TEST}
        )
        settings.BUGSTACK_GITHUB_API_URL = fake.base_url
        yield fake


def github_project(**fields) -> Project:
    project = ProjectFactory(repository=REPO, **fields)
    Credential.objects.create(account=project.account, kind="github", secret=TOKEN)
    return project


@pytest.mark.django_db
def test_a_repository_without_any_ci_check_waits_for_review_and_is_never_merged(settings, github):
    settings.BUGSTACK_CI_NONE_GRACE_SECONDS = 0
    run = run_for(github_project(auto_deploy=Project.AutoDeploy.CI_PASS), zero_division_event())

    advance_all(run)

    run.refresh_from_db()
    assert run.state == S.AWAITING_REVIEW
    assert "No CI checks" in run.reason
    assert github.repo(REPO).pull(run.pr_number).state == "open"


@pytest.mark.django_db
def test_ci_still_running_leaves_the_run_waiting(github):
    run = run_for(github_project(), zero_division_event())
    advance_all(run)
    run.refresh_from_db()
    github.set_status(REPO, run.head_sha, "pending", context="ci/tests")

    assert execute(run.pk, S.AWAITING_CI) is None

    run.refresh_from_db()
    assert run.state == S.AWAITING_CI and run.lease_expires_at is None


@pytest.mark.django_db
def test_ci_failing_on_the_last_attempt_ends_fix_failed_and_labels_the_pull_request(github):
    run = run_for(github_project(max_ci_retries=0), zero_division_event())
    advance_all(run)
    run.refresh_from_db()
    github.add_check_run(
        REPO, run.head_sha, "pytest", conclusion="failure", summary="1 failed", text="E assert 0"
    )

    advance_all(run)

    run.refresh_from_db()
    assert run.state == S.FIX_FAILED
    assert "left open for people" in run.reason
    pull = github.repo(REPO).pull(run.pr_number)
    assert pull.state == "open" and "bugstack: fix failed" in pull.labels
    assert run.attempts.get().ci_failures[0]["name"] == "pytest"


@pytest.mark.django_db
@pytest.mark.parametrize("person_merges, final", [(True, S.MERGED), (False, S.CLOSED)])
def test_a_pull_request_merged_or_closed_by_people_ends_the_run(
    github, django_capture_on_commit_callbacks, person_merges, final
):
    run = run_for(github_project(), zero_division_event())
    advance_all(run)
    run.refresh_from_db()
    github.set_status(REPO, run.head_sha, "success", context="ci/tests")
    advance_all(run)
    assert FixRun.objects.get(pk=run.pk).state == S.AWAITING_REVIEW

    if person_merges:
        github.merge_pull(REPO, run.pr_number)
    else:
        github.close_pull(REPO, run.pr_number)
    # The verified webhook's news wakes the run resting between review polls.
    with django_capture_on_commit_callbacks(execute=True):
        code_host_event.send(
            sender=None, project_ids=[run.project_id], event="pull_request", action="closed", sha="",
            branch=run.branch, pr_number=run.pr_number, merged=person_merges,
        )  # fmt: skip
    assert [SignedPackage.loads(row.payload)["func"] for row in OrmQ.objects.all()][
        -1
    ] == "pipeline.tasks.check_review"
    execute(run.pk, S.AWAITING_REVIEW)

    run.refresh_from_db()
    assert run.state == final
    group = ErrorGroup.objects.get(pk=run.group_id)
    assert (group.status == ErrorGroup.Status.FIXED) is person_merges


@pytest.mark.django_db
def test_the_open_pull_request_cap_holds_a_run_until_a_slot_frees(github):
    project = github_project(max_open_prs=1)
    first = run_for(project, zero_division_event())
    advance_all(first)
    github.push(REPO, "main", {"shop/stats.py": "def mean(values):\n    return sum(values) / len(values)\n"})
    second_event = zero_division_event()
    second_event["exception"]["values"][0]["stacktrace"]["frames"][-1].update(
        filename="shop/stats.py", abs_path="/srv/app/shop/stats.py", function="mean", lineno=2,
        context_line="    return sum(values) / len(values)", pre_context=["def mean(values):"],
    )  # fmt: skip
    second = run_for(project, second_event)

    advance_all(second)

    assert FixRun.objects.get(pk=second.pk).state == S.WAITING_FOR_SLOT
    FixRun.objects.filter(pk=first.pk).update(state=S.CLOSED)
    advance_all(second)
    second.refresh_from_db()
    assert second.state == S.AWAITING_CI and second.pr_number != FixRun.objects.get(pk=first.pk).pr_number


@pytest.mark.parametrize(
    ("code_host", "lease"),
    [(Project.CodeHost.GITHUB, 3), (Project.CodeHost.LOCAL, LONG_LEASE_SECONDS)],
)
def test_waiting_for_ci_holds_a_long_lease_only_where_the_tests_run_in_the_stage(
    db, settings, code_host, lease
):
    # A worker killed while it reads GitHub's CI must not leave the run to wait out the local test timeout.
    settings.BUGSTACK_STAGE_LEASE_SECONDS = 3
    run = FixRunFactory(group__project__code_host=code_host, state=RunState.AWAITING_CI)

    before = timezone.now()
    claimed = claim(run.pk, RunState.AWAITING_CI)

    held = (claimed.lease_expires_at - before).total_seconds()
    assert lease - 1 < held <= lease + 1
