"""The dashboard's reads: every one starts from a project the person may see."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import TruncDate

from bugstack.models import Project
from ingest.models import ErrorGroup, Event
from pipeline.models import FixAttempt, FixRun
from pipeline.states import FINAL_STATES, RunState

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class ProjectSummary:
    project: Project
    open_groups: int
    runs_in_flight: int
    prs_opened_this_week: int
    prs_merged_this_week: int
    last_error_at: datetime | None


def project_summaries(projects: QuerySet[Project], now: datetime) -> list[ProjectSummary]:
    """Each project with its open groups, runs in flight and this week's pull requests (three queries)."""
    projects = list(projects.select_related("account"))
    ids = [project.pk for project in projects]
    groups = {
        row["project"]: row
        for row in ErrorGroup.objects.filter(project__in=ids)
        .values("project")
        .annotate(
            open=Count("pk", filter=Q(status=ErrorGroup.Status.UNRESOLVED)),
            last=Subquery(
                ErrorGroup.objects.filter(project=OuterRef("project"))
                .order_by("-last_seen")
                .values("last_seen")[:1]
            ),
        )
        .order_by()
    }
    week_ago = now - WEEK
    runs = {
        row["project"]: row
        for row in FixRun.objects.filter(project__in=ids)
        .values("project")
        .annotate(
            in_flight=Count("pk", filter=~Q(state__in=FINAL_STATES)),
            opened=Count("pk", filter=Q(pr_opened_at__gte=week_ago)),
            merged=Count("pk", filter=Q(state=RunState.MERGED, finished_at__gte=week_ago)),
        )
        .order_by()
    }
    return [
        ProjectSummary(
            project=project,
            open_groups=groups.get(project.pk, {}).get("open", 0),
            runs_in_flight=runs.get(project.pk, {}).get("in_flight", 0),
            prs_opened_this_week=runs.get(project.pk, {}).get("opened", 0),
            prs_merged_this_week=runs.get(project.pk, {}).get("merged", 0),
            last_error_at=groups.get(project.pk, {}).get("last"),
        )
        for project in projects
    ]


def groups_of(project: Project) -> QuerySet[ErrorGroup]:
    """The project's groups, each with the state and id of its latest run."""
    latest = FixRun.objects.filter(group=OuterRef("pk")).order_by("-created_at", "-pk")
    return project.groups.annotate(
        run_state=Subquery(latest.values("state")[:1]),
        run_id=Subquery(latest.values("pk")[:1]),
    )


def filter_groups(
    groups: QuerySet[ErrorGroup], *, status: str, category: str, state: str, query: str
) -> QuerySet[ErrorGroup]:
    if status:
        groups = groups.filter(status=status)
    if category:
        groups = groups.filter(category=category)
    if state == "none":
        groups = groups.filter(run_state__isnull=True)
    elif state:
        groups = groups.filter(run_state=state)
    if query:
        groups = groups.filter(
            Q(title__icontains=query) | Q(culprit__icontains=query) | Q(exception_type__icontains=query)
        )
    return groups.order_by("-last_seen", "-pk")


def daily_counts(group_ids: Iterable[int], since: datetime) -> dict[int, dict]:
    """Events per group per day since ``since``, for the sparklines (one query for the whole page)."""
    counts: dict[int, dict] = defaultdict(dict)
    rows = (
        Event.objects.filter(group__in=list(group_ids), timestamp__gte=since)
        .annotate(day=TruncDate("timestamp"))
        .values("group", "day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        counts[row["group"]][row["day"]] = row["n"]
    return counts


def users_affected(group_ids: Iterable[int]) -> dict[int, int]:
    """Distinct users per group, from the ``user.id`` events carry when the SDK knows who it was."""
    rows = (
        Event.objects.filter(group__in=list(group_ids), data__user__id__isnull=False)
        .values("group")
        .annotate(users=Count(KT("data__user__id"), distinct=True))
        .order_by()
    )
    return {row["group"]: row["users"] for row in rows}


# --- fix history --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixStats:
    runs: int
    finished: int
    merged: int
    fix_rate: float | None  # merged ÷ finished runs that were in scope
    median_seconds_to_pr: float | None
    first_ci_runs: int
    first_ci_passed: int
    first_ci_pass_rate: float | None


def fix_stats(project: Project) -> FixStats:
    runs = FixRun.objects.filter(project=project)
    counts = runs.aggregate(
        total=Count("pk"),
        finished=Count("pk", filter=Q(state__in=FINAL_STATES) & ~Q(state=RunState.OUT_OF_SCOPE)),
        merged=Count("pk", filter=Q(state=RunState.MERGED)),
    )
    to_pr = [
        (opened - created).total_seconds()
        for created, opened in runs.filter(pr_opened_at__isnull=False).values_list(
            "created_at", "pr_opened_at"
        )
    ]
    first = first_ci_results(project)
    passed = sum(state == "success" for state in first.values())
    return FixStats(
        runs=counts["total"],
        finished=counts["finished"],
        merged=counts["merged"],
        fix_rate=ratio(counts["merged"], counts["finished"]),
        median_seconds_to_pr=statistics.median(to_pr) if to_pr else None,
        first_ci_runs=len(first),
        first_ci_passed=passed,
        first_ci_pass_rate=ratio(passed, len(first)),
    )


# CI verdicts that count: pending is not over yet, "none" means the repository has no checks.
CI_VERDICTS = ("success", "failure")


def first_ci_results(project: Project, run_ids: Iterable[int] | None = None) -> dict[int, str]:
    """For each run, the CI verdict on its first attempt that reached CI."""
    attempts = FixAttempt.objects.filter(run__project=project, ci_state__in=CI_VERDICTS)
    if run_ids is not None:
        attempts = attempts.filter(run__in=list(run_ids))
    first: dict[int, str] = {}
    for run_id, state in attempts.order_by("run_id", "number").values_list("run_id", "ci_state"):
        first.setdefault(run_id, state)
    return first


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def run_history(project: Project) -> QuerySet[FixRun]:
    return (
        FixRun.objects.filter(project=project)
        .select_related("group")
        .annotate(attempt_count=Count("attempts"))
        .order_by("-created_at", "-pk")
    )


def last_ci_results(run_ids: Iterable[int]) -> dict[int, str]:
    """For each run, the CI verdict on its latest attempt that has one."""
    last: dict[int, str] = {}
    attempts = FixAttempt.objects.filter(run__in=list(run_ids)).exclude(ci_state="")
    for run_id, state in attempts.order_by("run_id", "-number").values_list("run_id", "ci_state"):
        last.setdefault(run_id, state)
    return last
