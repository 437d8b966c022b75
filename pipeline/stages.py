"""The work of each pipeline stage, given a run in that stage's state.

Each function reads what it needs from the database, talks to the outside world through the interfaces in
``integrations``, and returns an ``Outcome``: the state to move to (or None to stay, e.g. CI still running)
and the fields to save with the move. The task wrapper in ``pipeline.tasks`` does the moving, so every
change still goes through ``pipeline.states.advance``. Stages are idempotent: run twice, they find the
branch, commit and pull request they made the first time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ingest.models import ErrorGroup
from integrations.codehost import CIState, PRState, PullRequest, host_for_project
from integrations.providers import FixRequest, FrameSummary, PreviousAttempt, spend
from integrations.providers.registry import provider_for, uses_a_model
from pipeline import pr
from pipeline.context import build_context as gather_context
from pipeline.context import primary_frames
from pipeline.fixing import generate_fix as propose_and_check
from pipeline.history import history_for
from pipeline.labels import PERSON_CONFIDENCE, SET_BY_PERSON
from pipeline.models import FixAttempt, FixRun
from pipeline.policy import PatchPolicy
from pipeline.states import RunState as S
from pipeline.states import advance, is_allowed
from pipeline.summary import frames, primary_exception
from pipeline.triage import Verdict, classify


@dataclass(frozen=True)
class Outcome:
    state: str | None  # None: stay where the run is (nothing changed yet)
    detail: str = ""
    fields: dict = field(default_factory=dict)
    hold_seconds: float = 0  # when staying: do not look again before this many seconds


STAY = Outcome(None)


def event_data(run: FixRun) -> dict:
    event = run.event or run.group.events.order_by("-timestamp").first()
    return event.data if event else {}


# --- triage -------------------------------------------------------------------------------------------


def triage(run: FixRun) -> Outcome:
    verdict, least = verdict_for(run), run.project.triage_min_confidence
    code, reason = verdict.category == ErrorGroup.Category.CODE, verdict.reason
    if code and verdict.confidence < least:
        # Code, but by a rule often wrong on errors it was not written from: as uncertain as no verdict.
        code = False
        reason += f" (confidence {verdict.confidence:.2f}, below the project's {least:.2f})"
    fields = {"category": verdict.category, "triage_reason": reason}
    if code:
        return Outcome(S.BUILDING_CONTEXT, reason, fields)
    if verdict.category not in (ErrorGroup.Category.CODE, ErrorGroup.Category.UNCERTAIN):
        return Outcome(S.OUT_OF_SCOPE, reason, {**fields, "reason": reason})
    if run.project.uncertain_policy == run.project.UncertainPolicy.FIX:
        return Outcome(S.BUILDING_CONTEXT, f"{reason}; the project's policy is to try a fix", fields)
    return Outcome(S.HELD, f"{reason}; held for a person to try a fix or label the error", fields)


def verdict_for(run: FixRun) -> Verdict:
    """A person's label if the group has one; otherwise the classifier's verdict, saved on the group."""
    if label := person_label(run.group):
        return label
    verdict = classify(event_data(run), history=history_for(run.group))
    saved = ErrorGroup.objects.filter(pk=run.group_id, category_overridden=False).update(
        category=verdict.category,
        triage_reason=verdict.reason,
        triage_rule=verdict.rule,
        triage_confidence=verdict.confidence,
    )
    if not saved:  # labelled by a person while the event was being classified: the label stands
        return person_label(ErrorGroup.objects.get(pk=run.group_id)) or verdict
    return verdict


def person_label(group: ErrorGroup) -> Verdict | None:
    if not (group.category_overridden and group.category):
        return None
    reason = group.triage_reason or f"{group.category}: {SET_BY_PERSON}"
    return Verdict(group.category, reason, rule=SET_BY_PERSON, confidence=PERSON_CONFIDENCE)


# --- context ------------------------------------------------------------------------------------------


NO_STACK = "The event has no stack trace: there is no file to start a fix from"


def build_context(run: FixRun) -> Outcome:
    project = run.project
    event = event_data(run)
    if not primary_frames(event):
        # Nothing to read: the repository is not asked (a person may still label the error).
        return Outcome(S.FIX_FAILED, "the event has no stack trace", {"reason": NO_STACK})
    host = host_for_project(project)
    sha = run.base_sha or host.head(project.default_branch)
    context = gather_context(
        event, host, sha, max_files=project.context_max_files, max_bytes=project.context_max_bytes
    )
    if not context.files:
        return Outcome(
            S.FIX_FAILED,
            "none of the stack trace's files were found in the repository",
            {"base_sha": sha, "context": context.as_json(), "reason": skipped_reason(context)},
        )
    return Outcome(
        S.GENERATING_FIX,
        f"{len(context.files)} file(s) read at {sha[:12]}",
        {"base_sha": sha, "context": context.as_json()},
    )


def skipped_reason(context) -> str:
    skipped = "; ".join(f"{item['path']}: {item['reason']}" for item in context.as_json().get("skipped", []))
    return "No file of the stack trace could be read from the repository" + (
        f" ({skipped})" if skipped else ""
    )


# --- fix ----------------------------------------------------------------------------------------------


def attempt_number(run: FixRun) -> int:
    """1 for the first fix, one more after each CI failure."""
    return run.attempts.filter(outcome=FixAttempt.Outcome.CI_FAILED).count() + 1


def current_files(run: FixRun) -> dict[str, str]:
    """The context files as the fix branch has them: the base, with the last pushed attempt on top."""
    files = dict(run.context.get("files", {}))
    last = run.attempts.exclude(commit_sha="").order_by("-number").first()
    if last:
        files.update(last.changes)
    return files


def fix_request(run: FixRun, files: dict[str, str]) -> FixRequest:
    data = event_data(run)
    exception = primary_exception(data)
    paths = run.context.get("frame_paths", {})
    summaries = tuple(
        FrameSummary(
            path=paths.get(str(index)) or frame.get("filename") or frame.get("abs_path") or "?",
            function=frame.get("function") or "",
            lineno=frame.get("lineno"),
            context_line=frame.get("context_line") or "",
            pre_context=tuple(frame.get("pre_context") or ()),
            post_context=tuple(frame.get("post_context") or ()),
            in_app=bool(frame.get("in_app")),
        )
        for index, frame in enumerate(frames(data))
    )
    previous = None
    failed = run.attempts.filter(outcome=FixAttempt.Outcome.CI_FAILED).order_by("-number").first()
    if failed:
        previous = PreviousAttempt(
            diff=failed.diff, explanation=failed.explanation, ci_output=ci_output(failed.ci_failures)
        )
    return FixRequest(
        platform=run.project.platform,
        exception_type=exception.get("type") or "",
        message=exception.get("value") or "",
        frames=summaries,
        category=run.category,
        triage_reason=run.triage_reason,
        files=files,
        test_paths=tuple(run.context.get("test_paths", ())),
        repository_paths=known_paths(run.context),
        symlinks=dict(run.context.get("symlinks", {})),
        request=data.get("request"),
        previous=previous,
    )


def known_paths(context: dict) -> tuple[str, ...] | None:
    """The repository's test-named paths at the base commit (``Context.repository_tests``), all the policy
    needs to keep a new test off an existing file; None for a context stored before they were kept."""
    tests = context.get("repository_tests")
    return None if tests is None else tuple(tests)


def ci_output(failures: list[dict]) -> str:
    return "\n\n".join(
        f"## {failure.get('name')}\n{failure.get('summary', '')}\n{failure.get('text', '')}".strip()
        for failure in failures
    )


def generate_fix(run: FixRun) -> Outcome:
    number = attempt_number(run)
    attempt = run.attempts.filter(number=number).first()
    if attempt is None or attempt.outcome == FixAttempt.Outcome.PENDING:
        attempt = propose(run, number)
    if attempt.outcome != FixAttempt.Outcome.PENDING:
        reasons = "; ".join(attempt.policy_findings) or "the provider proposed no fix"
        return Outcome(S.FIX_FAILED, reasons, {"reason": f"Attempt {number}: {reasons}"})
    return Outcome(
        S.OPENING_PR,
        f"attempt {number}: {len(attempt.changes)} file(s) changed, confidence {attempt.confidence:.2f}",
        {"confidence": attempt.confidence},
    )


def propose(run: FixRun, number: int) -> FixAttempt:
    provider = provider_for(run.project)
    if uses_a_model(run.project):
        spend.check_caps(run.project)  # raises SpendCapReached: the run waits for the cap to reset
    files = current_files(run)
    result = propose_and_check(provider, fix_request(run, files), policy=PatchPolicy.for_project(run.project))
    last = result.proposals[-1] if result.proposals else None
    outcome = FixAttempt.Outcome.PENDING
    if not result.acceptable:
        outcome = FixAttempt.Outcome.REJECTED if last else FixAttempt.Outcome.DECLINED
    values = {
        "outcome": outcome,
        "provider": provider.name,
        "model": last.model if last else "",
        "prompt": audit_text(result.proposals, "prompt"),
        "response": audit_text(result.proposals, "response"),
        "usage": total_usage(result.proposals),
        "edits": [vars(edit) for edit in last.edits] if last else [],
        "changes": result.changes if result.acceptable else {},
        "diff": result.diff,
        "explanation": last.explanation if last else "",
        "root_cause": last.root_cause if last else "",
        "model_confidence": last.confidence if last else None,
        "confidence": result.confidence,
        "policy_findings": list(result.findings),
        "policy_notes": list(result.notes),
    }
    with transaction.atomic():
        attempt, _ = FixAttempt.objects.update_or_create(run=run, number=number, defaults=values)
        spend.record(run.project, values["usage"])
    return attempt


def audit_text(proposals, attribute: str) -> str:
    parts = [getattr(proposal, attribute) for proposal in proposals]
    if len(parts) <= 1:
        return parts[0] if parts else ""
    return "\n\n".join(f"===== exchange {i} =====\n{part}" for i, part in enumerate(parts, 1))


def total_usage(proposals) -> dict:
    totals: dict[str, int] = {}
    for proposal in proposals:
        for key, value in vars(proposal.usage).items():
            totals[key] = totals.get(key, 0) + value
    return totals


# --- pull request -------------------------------------------------------------------------------------


def wait_for_slot(run: FixRun) -> Outcome:
    if open_pr_count(run) >= run.project.max_open_prs:
        return STAY
    return Outcome(S.OPENING_PR, "a pull request slot is free")


def open_pr_count(run: FixRun) -> int:
    return FixRun.objects.with_open_pr().filter(project_id=run.project_id).exclude(pk=run.pk).count()


def open_pr(run: FixRun) -> Outcome:
    """Push the attempt to the run's pull request; the first time, to the group's open one if another run
    has it (one pull request per error), else to a new one."""
    project = run.project
    host = host_for_project(project)
    if run.pr_number is None and (held := group_pull_request(run, host)):
        return update_group_pull_request(run, host, *held)
    if run.pr_number is None and open_pr_count(run) >= project.max_open_prs:
        return Outcome(S.WAITING_FOR_SLOT, f"{project.max_open_prs} bugstack pull requests are already open")
    attempt = run.attempts.get(number=attempt_number(run))
    branch = run.branch or new_branch(run, host)
    data = event_data(run)
    title = pr.title(data)
    host.create_branch(branch, run.base_sha)
    sha = attempt.commit_sha or push(host, branch, attempt, run, commit_message(run, attempt, title))
    pull = host.find_pull_request(branch) or host.open_pull_request(
        branch, title, pr.body(run, attempt, data)
    )
    fields = {"branch": branch, "head_sha": sha, "pr_number": pull.number, "pr_url": pull.url}
    if run.pr_number is None:
        host.label_pull_request(pull, pr.BOT_LABEL)
        fields["pr_opened_at"] = timezone.now()
    return Outcome(S.AWAITING_CI, f"pull request #{pull.number}, commit {sha[:12]}", fields)


def group_pull_request(run: FixRun, host) -> tuple[FixRun, PullRequest] | None:
    """The group's pull request if it is still open, with the run that holds it: the group's latest other
    run that had one (people may have merged or closed it since)."""
    holder = (
        FixRun.objects.filter(group_id=run.group_id, pr_number__isnull=False)
        .exclude(pk=run.pk)
        .order_by("-created_at", "-pk")
        .first()
    )
    if holder is None:
        return None
    pull = host.get_pull_request(holder.pr_number)
    return (holder, pull) if pull.state == PRState.OPEN else None


def new_branch(run: FixRun, host) -> str:
    """The group's branch for a new pull request, unless a closed or merged one already came from it."""
    branch = pr.branch_name(run.group)
    earlier = host.find_pull_request(branch)
    if earlier is None or earlier.state == PRState.OPEN:
        return branch
    return pr.run_branch_name(run)


def update_group_pull_request(run: FixRun, host, holder: FixRun, pull: PullRequest) -> Outcome:
    """Push the attempt onto the group's open pull request and say there what changed and why.

    A retry after a crash finds its commit as the branch head (``push``) and its comment by its key, so
    neither is made twice. The holder is told it was superseded when this run enters ``awaiting_ci``.
    """
    attempt = run.attempts.get(number=attempt_number(run))
    data = event_data(run)
    message = commit_message(run, attempt, pr.title(data))
    sha = attempt.commit_sha or push(host, pull.branch, attempt, run, message)
    host.comment_on_pull_request(pull, pr.update_key(run), pr.update_comment(run, attempt, data, holder, sha))
    fields = {"branch": pull.branch, "head_sha": sha, "pr_number": pull.number, "pr_url": pull.url}
    return Outcome(
        S.AWAITING_CI, f"updated pull request #{pull.number} of run #{holder.pk}, commit {sha[:12]}", fields
    )


def push(host, branch: str, attempt: FixAttempt, run: FixRun, message: str) -> str:
    """Commit the attempt unless an earlier try already did (the branch head then has its exact files)."""
    head = host.head(branch)
    if head != run.base_sha and all(host.read(path, head) == text for path, text in attempt.changes.items()):
        sha = head
    else:
        sha = host.commit(branch, attempt.changes, message)
    FixAttempt.objects.filter(pk=attempt.pk).update(commit_sha=sha, outcome=FixAttempt.Outcome.PUSHED)
    return sha


def commit_message(run: FixRun, attempt: FixAttempt, summary: str) -> str:
    return f"{summary}\n\n{attempt.root_cause}\n\nbugstack run #{run.pk}, attempt {attempt.number}".strip()


# --- CI and merge -------------------------------------------------------------------------------------


def settled_by_people(host, run: FixRun, found_merged: str = "merged by people") -> Outcome | None:
    """A pull request merged or closed by people ends the run whatever the pipeline was doing."""
    if run.pr_number is None:
        return None
    pull = host.get_pull_request(run.pr_number)
    if pull.state == PRState.MERGED:
        return merged(run, pull, found_merged)
    if pull.state == PRState.CLOSED:
        return Outcome(
            S.CLOSED, "closed without merge", {"reason": "The pull request was closed without merge."}
        )
    return None


def check_ci(run: FixRun) -> Outcome:
    host = host_for_project(run.project)
    if settled := settled_by_people(host, run):
        return settled
    result = host.ci(run.head_sha)
    attempt = run.attempts.get(commit_sha=run.head_sha)
    if result.state == CIState.PENDING:
        return STAY
    if result.state == CIState.NONE:
        grace = timedelta(seconds=settings.BUGSTACK_CI_NONE_GRACE_SECONDS)
        if timezone.now() - run.state_changed_at < grace:
            return STAY
        FixAttempt.objects.filter(pk=attempt.pk).update(ci_state=result.state)
        return Outcome(
            S.AWAITING_REVIEW,
            "the repository reports no CI checks; a person must review",
            {"reason": "No CI checks exist for this repository, so the fix is never merged automatically."},
        )
    failures = [vars(failure) for failure in result.failures]
    passed = result.state == CIState.SUCCESS
    FixAttempt.objects.filter(pk=attempt.pk).update(
        ci_state=result.state,
        ci_failures=failures,
        outcome=FixAttempt.Outcome.CI_PASSED if passed else FixAttempt.Outcome.CI_FAILED,
    )
    if passed:
        return Outcome(S.CI_PASSED, f"CI passed on {run.head_sha[:12]}")
    names = ", ".join(failure["name"] for failure in failures) or "CI"
    return Outcome(S.CI_FAILED, f"failed: {names}")


def after_ci_failure(run: FixRun) -> Outcome:
    failed = run.attempts.filter(outcome=FixAttempt.Outcome.CI_FAILED).count()
    if failed <= run.project.max_ci_retries:
        return Outcome(S.GENERATING_FIX, f"retry {failed} of {run.project.max_ci_retries} with the CI output")
    host = host_for_project(run.project)
    host.label_pull_request(open_pull(run), pr.FAILED_LABEL)
    return Outcome(
        S.FIX_FAILED,
        f"CI failed on all {failed} attempt(s)",
        {"reason": f"CI failed on all {failed} attempt(s); the pull request is left open for people."},
    )


def open_pull(run: FixRun) -> PullRequest:
    return PullRequest(number=run.pr_number, url=run.pr_url, branch=run.branch, head_sha=run.head_sha)


def apply_policy(run: FixRun) -> Outcome:
    project = run.project
    policy = project.auto_deploy
    if policy == project.AutoDeploy.MANUAL:
        return Outcome(S.AWAITING_REVIEW, "auto-deploy is manual: waiting for review")
    if policy == project.AutoDeploy.CONFIDENCE and (run.confidence or 0) < project.confidence_threshold:
        return Outcome(
            S.AWAITING_REVIEW,
            f"confidence {run.confidence or 0:.2f} is below the threshold {project.confidence_threshold:.2f}",
        )
    host = host_for_project(project)
    # Found merged here: by people, or by this stage's earlier try whose answer was lost on the way back.
    if settled := settled_by_people(host, run, f"found merged as policy {policy} was to merge it"):
        return settled
    sha = host.merge(open_pull(run), project.merge_method)
    return merged(run, None, f"merged by policy {policy}", merge_sha=sha)


def check_review(run: FixRun) -> Outcome:
    host = host_for_project(run.project)
    return settled_by_people(host, run) or Outcome(None, hold_seconds=settings.BUGSTACK_REVIEW_POLL_SECONDS)


def merged(run: FixRun, pull: PullRequest | None, detail: str, merge_sha: str = "") -> Outcome:
    sha = merge_sha or (pull.merge_sha if pull else "")
    return Outcome(S.MERGED, detail, {"reason": detail, "merge_sha": sha})


def mark_group_fixed(run: FixRun) -> None:
    """Once merged, later events of the group count as "seen after fix" until a deploy proves otherwise."""
    ErrorGroup.objects.filter(pk=run.group_id).update(
        status=ErrorGroup.Status.FIXED,
        fix_merged_at=run.finished_at,
        fix_commit_sha=run.merge_sha,
        seen_after_fix=0,
        fix_verified_at=None,
    )


def supersede_earlier_holders(run: FixRun) -> None:
    """A run that took over its group's pull request ends the runs that held it before, saying why."""
    earlier = FixRun.objects.filter(
        group_id=run.group_id, pr_number=run.pr_number, superseded_by__isnull=True
    ).exclude(pk=run.pk)
    for holder in earlier:
        supersede(holder, run)


def supersede(holder: FixRun, run: FixRun) -> None:
    """End ``holder`` as ``closed`` if it is still going (its pull request is no longer its own); a run that
    already ended keeps the state it ended in, its reason saying what became of its pull request."""
    why = f"Superseded by run #{run.pk}, which updated the pull request (#{run.pr_number})."
    if is_allowed(holder.state, S.CLOSED) and advance(
        holder.pk, holder.state, S.CLOSED, why, reason=why, superseded_by=run
    ):
        return
    FixRun.objects.filter(pk=holder.pk, superseded_by__isnull=True).update(
        superseded_by=run, reason=f"{holder.reason} {why}".strip()
    )


# What entering a state does besides the move itself (idempotent: it may run again after a crash).
ON_ENTER = {S.MERGED: mark_group_fixed, S.AWAITING_CI: supersede_earlier_holders}


# The stage for each state, and the task that runs it (``pipeline.tasks``).
STAGES = {
    S.QUEUED: triage,
    S.TRIAGING: triage,
    S.BUILDING_CONTEXT: build_context,
    S.GENERATING_FIX: generate_fix,
    S.WAITING_FOR_SLOT: wait_for_slot,
    S.OPENING_PR: open_pr,
    S.AWAITING_CI: check_ci,
    S.CI_FAILED: after_ci_failure,
    S.CI_PASSED: apply_policy,
    S.AWAITING_REVIEW: check_review,
}
