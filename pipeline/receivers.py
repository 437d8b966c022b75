"""What the pipeline does when the outside world reports news: digested events may start fix runs (the
one seam from ingest), and code host events (webhooks) wake runs instead of waiting for the next poll."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.dispatch import receiver

from bugstack.models import Project
from ingest.digest import Activity, GroupActivity
from ingest.models import ErrorGroup, Event
from ingest.signals import groups_digested
from integrations.signals import code_host_event
from pipeline.models import FixRun
from pipeline.queue import enqueue
from pipeline.runs import start_run
from pipeline.states import FINAL_STATES, PR_OPEN_STATES, RunState

# --- digested events ------------------------------------------------------------------------------------

# Runs that ended on a verdict about the error: only a person starts another one.
VERDICT_STATES = frozenset({RunState.OUT_OF_SCOPE, RunState.FIX_FAILED})


@dataclass(frozen=True)
class LatestRun:
    state: str
    created_at: datetime


def run_trigger(activity: GroupActivity, latest: LatestRun | None, window_seconds: int) -> str | None:
    """The run trigger a digested group calls for, or None (DESIGN.md, "When an event starts a run")."""
    if activity.activity == Activity.NEW:
        return FixRun.Trigger.NEW_GROUP
    if activity.activity == Activity.REGRESSED:
        return FixRun.Trigger.REGRESSION if may_start(latest) else None
    if (
        activity.activity == Activity.SEEN
        and latest is not None
        and latest.state == RunState.FAILED
        and latest.created_at <= activity.at - timedelta(seconds=window_seconds)
    ):
        return FixRun.Trigger.RETRY
    return None


def may_start(latest: LatestRun | None) -> bool:
    """No run in flight (nor a PR open), and the last one did not end on a verdict."""
    return latest is None or (latest.state in FINAL_STATES and latest.state not in VERDICT_STATES)


def latest_runs(group_ids: set[int]) -> dict[int, LatestRun]:
    """Each group's latest run, in one query (one probe of the runs' (group, -created_at) index each)."""
    if not group_ids:
        return {}
    latest = FixRun.objects.filter(group=OuterRef("pk")).order_by("-created_at")
    rows = (
        ErrorGroup.objects.filter(pk__in=group_ids)
        .annotate(
            run_state=Subquery(latest.values("state")[:1]), run_at=Subquery(latest.values("created_at")[:1])
        )
        .values_list("pk", "run_state", "run_at")
    )
    return {pk: LatestRun(state, at) for pk, state, at in rows if state}


@receiver(groups_digested, dispatch_uid="pipeline.start_runs")
def start_runs(sender, *, activities: list[GroupActivity], **kwargs) -> None:
    """Start the runs a digested batch calls for, in the digest's transaction (its groups are locked)."""
    acting = [
        item for item in activities if item.activity in (Activity.NEW, Activity.REGRESSED, Activity.SEEN)
    ]
    if not acting:
        return
    latest = latest_runs({item.group_id for item in acting if item.activity != Activity.NEW})
    windows = dict(
        Project.objects.filter(pk__in={item.project_id for item in acting}).values_list(
            "pk", "dedup_window_seconds"
        )
    )
    for item in acting:
        trigger = run_trigger(item, latest.get(item.group_id), windows[item.project_id])
        if trigger:
            group = ErrorGroup(id=item.group_id, project_id=item.project_id)
            start_run(group, trigger, Event(pk=item.first_event_id, project_id=item.project_id, group=group))


# --- code host events -----------------------------------------------------------------------------------

# States whose stage reads CI or the pull request: news may let them move. ``ci_failed`` and ``ci_passed``
# are already queued; a pull request merged or closed meanwhile is seen by their stage too.
WOKEN_STATES = PR_OPEN_STATES - {RunState.CI_FAILED, RunState.CI_PASSED}


@receiver(code_host_event, dispatch_uid="pipeline.wake_runs")
def wake_runs(sender, *, project_ids, sha="", branch="", pr_number=None, **kwargs) -> None:
    """Queue the stage of every waiting run the news is about: by commit, branch or pull request number."""
    about = Q(pk__in=[])
    if sha:
        about |= Q(head_sha=sha)
    if branch:
        about |= Q(branch=branch)
    if pr_number:
        about |= Q(pr_number=pr_number)
    runs = FixRun.objects.filter(about, project_id__in=project_ids, state__in=WOKEN_STATES)
    # A run resting between polls holds its stage idle (no worker on it: ``stage_attempts`` is 0); news ends
    # the rest. A stage a worker is doing right now keeps its lease.
    runs.filter(stage_attempts=0).update(lease_expires_at=None)
    for run_id, state in runs.values_list("pk", "state"):
        transaction.on_commit(lambda run_id=run_id, state=state: enqueue(run_id, state))
