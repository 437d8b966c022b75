"""What a fix's pull request is called and says."""

from __future__ import annotations

import re

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from pipeline.summary import crash_frame, frames, primary_exception

BOT_LABEL = "bugstack"
FAILED_LABEL = "bugstack: fix failed"
STACK_LINES = 8
# Characters of one piece of untrusted text quoted in a comment: GitHub refuses a body over 65,536.
QUOTE_LIMIT = 4000


def branch_name(group) -> str:
    """Deterministic, so a retried stage finds the branch (and its pull request) it made before."""
    return f"bugstack/fix-{group.pk}-{group.fingerprint[:8]}"


def run_branch_name(run) -> str:
    """The branch of a run whose group's branch already carries a closed or merged pull request: the
    rejected or merged commits stay out of the new one. Deterministic too."""
    return f"{branch_name(run.group)}-run-{run.pk}"


def title(event_data: dict) -> str:
    exception = primary_exception(event_data)
    frame = crash_frame(event_data) or {}
    where = frame.get("function") or "<module>"
    filename = frame.get("filename") or frame.get("abs_path") or "unknown file"
    return f"Fix {exception.get('type') or 'Error'} in {where} ({filename})"[:250]


def group_url(run) -> str:
    try:
        path = reverse("dashboard:group", args=[run.project.slug, run.group_id])
    except NoReverseMatch:
        path = f"/projects/{run.project.slug}/groups/{run.group_id}/"
    return f"{settings.BUGSTACK_BASE_URL}{path}"


def fence(text: str) -> str:
    """Quote untrusted text so Markdown renders it verbatim."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}text\n{text}\n{ticks}"


def stack_excerpt(event_data: dict) -> str:
    lines = []
    for frame in reversed(frames(event_data)[-STACK_LINES:]):
        path = frame.get("filename") or frame.get("abs_path")
        line = f"{path}:{frame.get('lineno')} in {frame.get('function')}"
        if frame.get("context_line"):
            line += f"\n    {frame['context_line'].strip()}"
        lines.append(line)
    return "\n".join(lines) or "(no stack trace)"


def diff_summary(diff: str) -> str:
    files, added, removed = [], 0, 0
    for line in diff.splitlines():
        if line.startswith("+++ "):
            files.append(line[4:].removeprefix("b/"))
        elif line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    listed = "\n".join(f"- `{path}`" for path in files)
    return f"{len(files)} file(s), +{added} −{removed}\n{listed}"


def body(run, attempt, event_data: dict) -> str:
    exception = primary_exception(event_data)
    message = f"{exception.get('type') or 'Error'}: {exception.get('value') or ''}"
    confidence = f"{attempt.confidence:.2f}" if attempt.confidence is not None else "n/a"
    return "\n\n".join(
        [
            f"bugstack proposes a fix for an error seen {run.group.times_seen} time(s) in production.",
            f"### Error\n{fence(message)}",
            f"### Top of the stack (innermost first)\n{fence(stack_excerpt(event_data))}",
            f"### Triage\n{run.triage_reason or run.category}",
            f"### Root cause\n{attempt.root_cause or '(not stated)'}",
            f"### The fix\n{attempt.explanation or '(not stated)'}",
            f"### Changes\n{diff_summary(attempt.diff)}",
            f"**Confidence:** {confidence} · **Attempt:** {attempt.number} · "
            f"**Run:** #{run.pk} · [Error group on bugstack]({group_url(run)})",
        ]
    )


def update_key(run) -> str:
    """Marks the comment of a run's update, so a stage retried after a crash finds it instead of adding it
    again."""
    return f"bugstack-update-run-{run.pk}"


def clip(text: str, limit: int = QUOTE_LIMIT) -> str:
    return text if len(text) <= limit else f"{text[:limit]}\n… ({len(text) - limit} more characters)"


def update_comment(run, attempt, event_data: dict, previous, sha: str) -> str:
    """What a new run's attempt changed on the group's open pull request, and why a new run made it.

    The error, the previous run's reason and the model's words are untrusted: fenced and clipped.
    """
    exception = primary_exception(event_data)
    message = f"{exception.get('type') or 'Error'}: {exception.get('value') or ''}"
    confidence = f"{attempt.confidence:.2f}" if attempt.confidence is not None else "n/a"
    ended = previous.reason or "(no reason given)"
    return "\n\n".join(
        [
            f"bugstack run #{run.pk} made a new attempt at this fix and pushed it here, on top of run "
            f"#{previous.pk}'s: the branch has the new attempt's files at commit `{sha[:12]}`.",
            f"### Why a new run\n**{run.get_trigger_display()}.** Run #{previous.pk}'s state was "
            f"*{previous.get_state_display().lower()}*:\n{fence(clip(ended))}",
            f"### Error\n{fence(clip(message))}",
            f"### Root cause\n{fence(clip(attempt.root_cause or '(not stated)'))}",
            f"### The fix\n{fence(clip(attempt.explanation or '(not stated)'))}",
            f"### Changes\n{diff_summary(attempt.diff)}",
            f"**Confidence:** {confidence} · **Attempt:** {attempt.number} · "
            f"**Run:** #{run.pk} · [Error group on bugstack]({group_url(run)})",
        ]
    )
