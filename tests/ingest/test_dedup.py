"""When an event starts a fix run and when it only batches (DESIGN.md, "Grouping and dedup")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django_q.models import OrmQ

from ingest.models import ErrorGroup
from pipeline.models import FixRun
from tests.ingest.conftest import python_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(post_event):
    """A group whose first run has been taken off the queue (the tests set its state)."""
    post_event(python_event(release="1.4.0"))
    return ErrorGroup.objects.get()


def set_latest_run(group: ErrorGroup, state: str, age: timedelta = timedelta(0)) -> FixRun:
    run = group.runs.get()
    FixRun.objects.filter(pk=run.pk).update(state=state, created_at=timezone.now() - age)
    return run


def mark_fixed(group: ErrorGroup, merged_ago: timedelta = timedelta(minutes=5)) -> None:
    set_latest_run(group, "merged")
    ErrorGroup.objects.filter(pk=group.pk).update(
        status="fixed", fix_merged_at=timezone.now() - merged_ago, fix_commit_sha="c0ffee"
    )


def test_a_new_groups_first_stage_is_queued_only_after_commit(post_event, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post_event()
        assert not OrmQ.objects.exists()

    for callback in callbacks:
        callback()
    assert OrmQ.objects.count() == 1


@pytest.mark.parametrize(
    "state", ["queued", "triaging", "generating_fix", "awaiting_ci", "ci_failed", "awaiting_review"]
)
def test_no_second_run_while_one_is_in_flight_or_its_pr_is_open(group, post_event, state):
    set_latest_run(group, state, age=timedelta(hours=2))

    post_event()

    assert group.runs.count() == 1
    group.refresh_from_db()
    assert group.times_seen == 2


def test_an_outside_failure_is_retried_once_the_dedup_window_has_passed(group, post_event):
    set_latest_run(group, "failed", age=timedelta(seconds=301))

    post_event()
    post_event()

    latest = group.runs.order_by("-created_at").first()
    assert group.runs.count() == 2
    assert (latest.trigger, latest.state) == ("retry", "queued")


def test_an_outside_failure_inside_the_dedup_window_only_batches(group, post_event, project):
    project.dedup_window_seconds = 3600
    project.save()
    set_latest_run(group, "failed", age=timedelta(seconds=600))

    post_event()

    assert group.runs.count() == 1


@pytest.mark.parametrize("state", ["out_of_scope", "fix_failed", "closed"])
def test_a_verdict_or_a_closed_pr_never_restarts_by_itself(group, post_event, state):
    set_latest_run(group, state, age=timedelta(days=2))

    post_event()

    assert group.runs.count() == 1


def test_an_ignored_group_never_starts_a_run(group, post_event):
    set_latest_run(group, "failed", age=timedelta(days=2))
    ErrorGroup.objects.filter(pk=group.pk).update(status="ignored")

    post_event()

    group.refresh_from_db()
    assert (group.runs.count(), group.times_seen, group.status) == (1, 2, "ignored")


def test_a_group_a_person_resolved_reopens_when_it_recurs_without_starting_a_run(group, post_event):
    set_latest_run(group, "closed")
    ErrorGroup.objects.filter(pk=group.pk).update(status="resolved")

    post_event()

    group.refresh_from_db()
    assert (group.status, group.times_seen, group.runs.count()) == ("unresolved", 2, 1)


def test_after_a_fix_events_from_a_release_seen_before_it_are_old_code(group, post_event):
    mark_fixed(group)

    post_event(python_event(release="1.4.0"))

    group.refresh_from_db()
    assert (group.status, group.seen_after_fix, group.runs.count()) == ("fixed", 1, 1)


def test_after_a_fix_a_new_release_with_the_error_is_a_regression(group, post_event):
    mark_fixed(group)

    post_event(python_event(release="1.5.0"))
    post_event(python_event(release="1.5.0"))

    group.refresh_from_db()
    assert (group.status, group.seen_after_fix) == ("unresolved", 0)
    assert group.releases == ["1.4.0", "1.5.0"]
    regression = group.runs.order_by("-created_at").first()
    assert (group.runs.count(), regression.trigger, regression.state) == (2, "regression", "queued")


def test_without_a_release_events_within_the_grace_period_await_the_deploy(group, post_event):
    mark_fixed(group, merged_ago=timedelta(hours=23))

    post_event(python_event(release=None))

    group.refresh_from_db()
    assert (group.status, group.seen_after_fix, group.runs.count()) == ("fixed", 1, 1)


@override_settings(BUGSTACK_REGRESSION_GRACE_SECONDS=3600)
def test_without_a_release_events_after_the_grace_period_are_a_regression(group, post_event):
    mark_fixed(group, merged_ago=timedelta(hours=2))

    post_event(python_event(release=None))

    group.refresh_from_db()
    assert group.status == "unresolved"
    assert group.runs.order_by("-created_at").first().trigger == "regression"


def test_the_releases_kept_per_group_are_bounded(group, post_event):
    for n in range(60):
        post_event(python_event(release=f"build-{n}"))

    group.refresh_from_db()
    assert len(group.releases) == 50
    assert group.releases[-1] == "build-59"
    assert group.times_seen == 61
