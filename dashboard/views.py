"""The pages people use: projects, error groups, a group's fix runs, fix history, settings and setup.

Every view finds its project through ``Project.objects.for_user``: another account's project, group or run
is a 404, exactly as if it did not exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from axes.helpers import get_cool_off
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bugstack.models import Project, ProjectKey
from dashboard import presenters, queries
from dashboard.forms import GroupFilterForm, LabelForm, PolicyForm, ProviderForm
from dashboard.models import SettingsChange
from dashboard.snippets import SNIPPETS
from ingest.models import ErrorGroup
from integrations.providers.registry import LABELS as PROVIDER_LABELS
from integrations.providers.registry import check_connection
from integrations.providers.spend import current_spend
from pipeline.context import primary_frames
from pipeline.labels import LABELS, Relabelled, relabel
from pipeline.models import FixAttempt, FixRun
from pipeline.runs import RunInFlight, release_held_run, start_manual_run
from pipeline.states import FINAL_STATES, PR_OPEN_STATES, RunState

GROUPS_PER_PAGE = 25
RUNS_PER_PAGE = 50
MANAGERS_ONLY = "Only the account's owners and admins can change this project's settings."
LABEL_HISTORY = 10


def visible_project(request: HttpRequest, slug: str) -> Project:
    return get_object_or_404(Project.objects.for_user(request.user).select_related("account"), slug=slug)


def can_manage(request: HttpRequest, project: Project) -> bool:
    return Project.objects.managed_by(request.user).filter(pk=project.pk).exists()


def visible_group(request: HttpRequest, slug: str, group_id: int) -> tuple[Project, ErrorGroup]:
    project = visible_project(request, slug)
    return project, get_object_or_404(ErrorGroup, project=project, pk=group_id)


# --- log in -------------------------------------------------------------------------------------------


def login_locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """Answer a locked-out login (dashboard or admin) with the login page saying for how long."""
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    context = {"form": AuthenticationForm(request), "locked_out": True, "locked_out_minutes": minutes}
    return render(request, "registration/login.html", context, status=429)


# --- projects -----------------------------------------------------------------------------------------


@login_required
@require_GET
def projects(request: HttpRequest) -> HttpResponse:
    summaries = queries.project_summaries(Project.objects.for_user(request.user), timezone.now())
    return render(request, "dashboard/projects.html", {"summaries": summaries})


# --- error groups -------------------------------------------------------------------------------------


@login_required
@require_GET
def groups(request: HttpRequest, slug: str) -> HttpResponse:
    project = visible_project(request, slug)
    form = GroupFilterForm(request.GET)
    groups = queries.groups_of(project)
    status = 200
    if form.is_valid():
        groups = queries.filter_groups(groups, query=form.cleaned_data["q"], **filters(form))
    else:
        status = 400
        groups = groups.order_by("-last_seen", "-pk")
    page = Paginator(groups, GROUPS_PER_PAGE).get_page(request.GET.get("page"))
    now = timezone.now()
    ids = [group.pk for group in page]
    daily = queries.daily_counts(ids, now - timedelta(days=presenters.SPARK_DAYS))
    users = queries.users_affected(ids)
    rows = [
        GroupRow(group, presenters.sparkline(daily.get(group.pk, {}), now), users.get(group.pk))
        for group in page
    ]
    context = {
        "project": project,
        "section": "groups",
        "form": form,
        "page": page,
        "rows": rows,
        "filtered": any(request.GET.get(name) for name in ("q", "status", "category", "state")),
        "query_string": query_without_page(request),
    }
    return render(request, "dashboard/groups.html", context, status=status)


@dataclass(frozen=True)
class GroupRow:
    group: ErrorGroup
    sparkline: list[presenters.Bar]
    users: int | None

    @property
    def events_in_sparkline(self) -> int:
        return sum(bar.count for bar in self.sparkline)


def filters(form: GroupFilterForm) -> dict[str, str]:
    return {name: form.cleaned_data[name] for name in ("status", "category", "state")}


def query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


# --- one group ----------------------------------------------------------------------------------------


@login_required
@require_GET
def group_detail(request: HttpRequest, slug: str, group_id: int) -> HttpResponse:
    project, group = visible_group(request, slug, group_id)
    return render_group(request, project, group)


def render_group(
    request: HttpRequest, project: Project, group: ErrorGroup, status: int = 200
) -> HttpResponse:
    event = group.events.order_by("-timestamp", "-pk").first()
    data = event.data if event and isinstance(event.data, dict) else {}
    now = timezone.now()
    runs = [
        RunView.build(run, now)
        for run in group.runs.prefetch_related("transitions", "attempts").order_by("-created_at", "-pk")
    ]
    labels = list(group.category_changes.all()[:LABEL_HISTORY])
    context = {
        "project": project,
        "section": "groups",
        "group": group,
        "event": event,
        "exceptions": presenters.exceptions(data),
        "metadata": presenters.metadata(data),
        "request_rows": presenters.request_rows(data),
        "tags": presenters.tags(data),
        "user_label": presenters.user_label(data),
        "runs": runs,
        "run_in_flight": any(not view.run.is_final for view in runs),
        "held_run": runs[0].run if runs and runs[0].run.state == RunState.HELD else None,
        "has_stack": bool(primary_frames(data)),
        "can_manage": can_manage(request, project),
        "label_form": LabelForm(initial={"category": group.category if group.category in LABELS else None}),
        "category_changes": labels,
        "labelled_by": labels[0].username if group.category_overridden and labels else "",
    }
    return render(request, "dashboard/group_detail.html", context, status=status)


@dataclass(frozen=True)
class AttemptView:
    attempt: FixAttempt
    diff: list[presenters.DiffFile]

    @property
    def findings(self) -> list[str]:
        return [presenters.text(finding) for finding in presenters.as_list(self.attempt.policy_findings)]

    @property
    def notes(self) -> list[str]:
        return [presenters.text(note) for note in presenters.as_list(self.attempt.policy_notes)]

    @property
    def ci_failures(self) -> list[dict]:
        return [failure_view(failure) for failure in presenters.as_list(self.attempt.ci_failures)]

    @property
    def provider(self) -> str:
        """Who made the attempt, as people name it: "OpenAI-compatible qwen2.5-coder"."""
        name = PROVIDER_LABELS.get(self.attempt.provider, self.attempt.provider)
        return f"{name} {self.attempt.model}".strip()

    @property
    def tokens(self) -> dict[str, int]:
        usage = presenters.as_dict(self.attempt.usage)
        read = sum(
            int(usage.get(kind) or 0)
            for kind in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        )
        return {"input": read, "output": int(usage.get("output_tokens") or 0)}


def web_link(url: str) -> str:
    """The URL if it is a web address; links from outside (CI, code hosts) never become javascript: links."""
    return url if url.startswith(("https://", "http://")) else ""


def failure_view(failure) -> dict:
    failure = presenters.as_dict(failure)
    url = presenters.text(failure.get("url"))
    return {
        "name": presenters.text(failure.get("name")) or "Check",
        "summary": presenters.text(failure.get("summary")),
        "text": presenters.text(failure.get("text")),
        "url": web_link(url),
    }


@dataclass(frozen=True)
class RunView:
    run: FixRun
    steps: list[presenters.Step]
    attempts: list[AttemptView]

    @classmethod
    def build(cls, run: FixRun, now) -> RunView:
        attempts = sorted(run.attempts.all(), key=lambda attempt: attempt.number)
        return cls(
            run=run,
            steps=presenters.timeline(run, run.transitions.all(), now),
            attempts=[AttemptView(attempt, presenters.parse_diff(attempt.diff)) for attempt in attempts],
        )

    @property
    def seconds_to_pr(self) -> float | None:
        return presenters.seconds_between(self.run.created_at, self.run.pr_opened_at)

    @property
    def context(self) -> dict:
        read, skipped = presenters.context_files(getattr(self.run, "context", {}))
        return {"read": read, "skipped": skipped, "bytes": sum(item.size or 0 for item in read)}

    @property
    def seconds_to_merge(self) -> float | None:
        if self.run.state != RunState.MERGED:
            return None
        return presenters.seconds_between(self.run.created_at, self.run.finished_at)

    @property
    def pr_link(self) -> str:
        return web_link(self.run.pr_url)

    @property
    def pr_state(self) -> str:
        return pr_state(self.run)


def pr_state(run: FixRun) -> str:
    if not run.pr_number and not run.pr_url:
        return ""
    if run.state == RunState.MERGED:
        return "Merged"
    if run.state == RunState.CLOSED:
        return "Closed"
    if run.state in PR_OPEN_STATES or run.state in (RunState.FIX_FAILED, RunState.GENERATING_FIX):
        return "Open"
    return ""


@login_required
@require_GET
def group_runs(request: HttpRequest, slug: str, group_id: int) -> JsonResponse:
    """The run states of one group, polled by the group page while a run is in flight."""
    _, group = visible_group(request, slug, group_id)
    runs = group.runs.order_by("-created_at", "-pk").values("pk", "state", "state_changed_at", "pr_url")
    return JsonResponse(
        {
            "group": group.pk,
            "status": group.status,
            "status_label": group.get_status_display(),
            "runs": [
                {
                    "id": run["pk"],
                    "state": run["state"],
                    "label": presenters.state_label(run["state"]),
                    "tone": presenters.state_tone(run["state"]),
                    "final": run["state"] in FINAL_STATES,
                    "state_changed_at": run["state_changed_at"].isoformat(),
                }
                for run in runs
            ],
        }
    )


@login_required
@require_POST
def start_fix_run(request: HttpRequest, slug: str, group_id: int) -> HttpResponse:
    project, group = visible_group(request, slug, group_id)
    try:
        run = start_manual_run(group)
    except RunInFlight as busy:
        messages.error(request, f"{busy} A new run can start once it ends.")
        return render_group(request, project, group, status=409)
    messages.success(request, f"Fix run #{run.pk} queued.")
    return redirect("dashboard:group", slug=project.slug, group_id=group.pk)


@login_required
@require_POST
def try_fix(request: HttpRequest, slug: str, group_id: int) -> HttpResponse:
    """A person's answer to an uncertain verdict: the held run goes on to build a fix."""
    project, group = visible_group(request, slug, group_id)
    run = release_held_run(group, by=request.user.get_username())
    if run is None:
        messages.info(request, not_held(group))
    else:
        messages.success(request, f"Run #{run.pk} goes on to build a fix.")
    return redirect("dashboard:group", slug=project.slug, group_id=group.pk)


def not_held(group: ErrorGroup) -> str:
    """What a second click (or someone quicker) finds: the run already moved on."""
    latest = group.runs.order_by("-created_at", "-pk").first()
    if latest is None:
        return "This error has no fix run to try."
    return f"Run #{latest.pk} is not held any more (now: {latest.get_state_display()}); nothing to do."


@login_required
@require_POST
def relabel_group(request: HttpRequest, slug: str, group_id: int) -> HttpResponse:
    """Label the group (owners and admins): the label stands for later runs and settles a held one."""
    project, group = visible_group(request, slug, group_id)
    if not can_manage(request, project):
        messages.error(request, "Only the account's owners and admins can label errors.")
        return render_group(request, project, group, status=403)
    form = LabelForm(request.POST)
    if not form.is_valid():
        choices = ", ".join(label.label.lower() for label in LABELS)
        messages.error(request, f"Choose one of: {choices}.")
        return render_group(request, project, group, status=400)
    category = form.cleaned_data["category"]
    result = relabel(group, category, request.user)
    messages.success(request, label_message(result, ErrorGroup.Category(category).label))
    return redirect("dashboard:group", slug=project.slug, group_id=group.pk)


def label_message(result: Relabelled, label: str) -> str:
    said = f"Labelled {label.lower()}." if result.change else f"Already labelled {label.lower()}."
    if result.run is None:
        return said
    if result.run.state == RunState.OUT_OF_SCOPE:
        return f"{said} Held run #{result.run.pk} ends out of scope."
    return f"{said} Held run #{result.run.pk} goes on to build a fix."


GROUP_STATUS_ACTIONS = {
    "ignore": (ErrorGroup.Status.IGNORED, "Ignored: new events are counted but start no fix run."),
    "resolve": (ErrorGroup.Status.RESOLVED, "Marked resolved."),
    "reopen": (ErrorGroup.Status.UNRESOLVED, "Reopened."),
}


@login_required
@require_POST
def set_group_status(request: HttpRequest, slug: str, group_id: int, action: str) -> HttpResponse:
    project, group = visible_group(request, slug, group_id)
    status, message = GROUP_STATUS_ACTIONS[action]
    ErrorGroup.objects.filter(pk=group.pk).update(status=status)
    messages.success(request, message)
    return redirect("dashboard:group", slug=project.slug, group_id=group.pk)


# --- fix history --------------------------------------------------------------------------------------


@login_required
@require_GET
def fixes(request: HttpRequest, slug: str) -> HttpResponse:
    project = visible_project(request, slug)
    page = Paginator(queries.run_history(project), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    ci = queries.last_ci_results([run.pk for run in page])
    rows = [HistoryRow(run, ci.get(run.pk, "")) for run in page]
    context = {
        "project": project,
        "section": "fixes",
        "stats": queries.fix_stats(project),
        "page": page,
        "rows": rows,
    }
    return render(request, "dashboard/fixes.html", context)


@dataclass(frozen=True)
class HistoryRow:
    run: FixRun
    ci_state: str

    @property
    def seconds_to_pr(self) -> float | None:
        return presenters.seconds_between(self.run.created_at, self.run.pr_opened_at)

    @property
    def pr_link(self) -> str:
        return web_link(self.run.pr_url)


# --- settings -----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def project_settings(request: HttpRequest, slug: str) -> HttpResponse:
    project = visible_project(request, slug)
    if request.method == "GET":
        return render_settings(request, project)
    if refused := settings_refused(request, project):
        return refused
    form = PolicyForm(request.POST, instance=project)
    if form.is_valid():
        save_policy(request, project, form)
        return redirect("dashboard:settings", slug=project.slug)
    return render_settings(request, project, form=form, status=400)


@login_required
@require_POST
def provider_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """Save where the project's fixes come from and its model's spend caps."""
    project = visible_project(request, slug)
    if refused := settings_refused(request, project):
        return refused
    form = ProviderForm(request.POST, instance=project)
    if form.is_valid():
        save_policy(request, project, form)
        return redirect("dashboard:settings", slug=project.slug)
    return render_settings(request, project, provider_form=form, status=400)


@login_required
@require_POST
def test_model_connection(request: HttpRequest, slug: str) -> HttpResponse:
    """Ask the project's OpenAI-compatible server a tiny question (owners and admins: it spends tokens)."""
    project = visible_project(request, slug)
    if refused := settings_refused(request, project):
        return refused
    checked = check_connection(project)
    (messages.success if checked.ok else messages.error)(request, checked.message)
    return redirect("dashboard:settings", slug=project.slug)


def settings_refused(request: HttpRequest, project: Project) -> HttpResponse | None:
    """The settings page, 403, for a member who may not change the project's settings; None for a manager."""
    if can_manage(request, project):
        return None
    messages.error(request, MANAGERS_ONLY)
    return render_settings(request, project, status=403)


def render_settings(
    request: HttpRequest,
    project: Project,
    *,
    form: PolicyForm | None = None,
    provider_form: ProviderForm | None = None,
    status: int = 200,
) -> HttpResponse:
    manager = can_manage(request, project)
    forms = [form or PolicyForm(instance=project), provider_form or ProviderForm(instance=project)]
    if not manager:
        for field in (field for each in forms for field in each.fields.values()):
            field.disabled = True
    context = {
        "project": project,
        "section": "settings",
        "form": forms[0],
        "provider_form": forms[1],
        "spend": current_spend(project),
        "can_manage": manager,
        "changes": project.settings_changes.all()[:25],
    }
    return render(request, "dashboard/settings.html", context, status=status)


def save_policy(request: HttpRequest, project: Project, form: PolicyForm | ProviderForm) -> None:
    changes = form.changes()
    with transaction.atomic():
        form.save()
        record_changes(request, project, changes)
    if changes:
        names = ", ".join(label.lower() for _, label, _, _ in changes)
        messages.success(request, f"Saved: {names}.")
    else:
        messages.info(request, "Nothing changed.")


def record_changes(request: HttpRequest, project: Project, changes: list[tuple[str, str, str, str]]) -> None:
    SettingsChange.objects.bulk_create(
        SettingsChange(
            project=project,
            user=request.user,
            username=request.user.get_username(),
            field=field,
            label=label,
            old_value=old,
            new_value=new,
        )
        for field, label, old, new in changes
    )


# --- setup --------------------------------------------------------------------------------------------


@login_required
@require_GET
def setup(request: HttpRequest, slug: str) -> HttpResponse:
    project = visible_project(request, slug)
    return render_setup(request, project)


def render_setup(request: HttpRequest, project: Project, status: int = 200) -> HttpResponse:
    keys = list(project.keys.active())
    context = {
        "project": project,
        "section": "setup",
        "key": keys[0] if keys else None,
        "keys": keys,
        "snippets": SNIPPETS,
        "open_snippet": next((s.slug for s in SNIPPETS if s.platform == project.platform), SNIPPETS[0].slug),
        "can_manage": can_manage(request, project),
        "dropped": list(project.dropped_items.all()),
    }
    return render(request, "dashboard/setup.html", context, status=status)


@login_required
@require_POST
def rotate_key(request: HttpRequest, slug: str) -> HttpResponse:
    """Issue a new key and stop accepting events sent with the old ones."""
    project = visible_project(request, slug)
    if not can_manage(request, project):
        messages.error(request, "Only the account's owners and admins can rotate the project key.")
        return render_setup(request, project, status=403)
    with transaction.atomic():
        old = list(project.keys.select_for_update().filter(is_active=True))
        new = ProjectKey.objects.create(project=project, label=f"Rotated {timezone.now():%Y-%m-%d %H:%M}")
        ProjectKey.objects.filter(pk__in=[key.pk for key in old]).update(is_active=False)
        old_keys = ", ".join(key.public_key for key in old) or "none"
        record_changes(request, project, [("key", "Project key", old_keys, new.public_key)])
    messages.success(
        request, "New key issued. Events sent with the old key are now refused: update your DSN."
    )
    return redirect("dashboard:setup", slug=project.slug)
