"""One CI verdict from GitHub's two systems: commit statuses and check runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from integrations.codehost import CIFailure, CIResult, CIState

FAILED_CONCLUSIONS = frozenset(
    {"failure", "cancelled", "timed_out", "action_required", "startup_failure", "stale"}
)
FAILED_STATUSES = frozenset({"failure", "error"})
MAX_ANNOTATIONS = 50


def failing_runs(runs: Iterable) -> list:
    return [run for run in runs if run.status == "completed" and run.conclusion in FAILED_CONCLUSIONS]


def status_failure(status) -> CIFailure:
    return CIFailure(
        name=status.context, summary=status.description or status.state, url=status.target_url or ""
    )


def annotation_lines(annotations: Sequence) -> str:
    return "\n".join(
        f"{a.path}:{a.start_line}: {a.annotation_level}: {a.message}" for a in annotations[:MAX_ANNOTATIONS]
    )


def run_failure(run, annotations: Sequence) -> CIFailure:
    output = run.output
    text = "\n\n".join(filter(None, [output.text or "", annotation_lines(annotations)]))
    summary = " — ".join(filter(None, [output.title or "", output.summary or ""])) or run.conclusion
    return CIFailure(name=run.name, summary=summary, text=text, url=run.details_url or run.html_url or "")


def combine(statuses: Sequence, runs: Sequence, annotations: Mapping[int, Sequence]) -> CIResult:
    """Any failure → failure (with every failing check); else anything unfinished → pending; else success.

    No status and no check run at all → none: GitHub's combined status says "pending" then, which would
    leave a repository without CI waiting forever.
    """
    if not statuses and not runs:
        return CIResult(CIState.NONE)
    failures = [status_failure(s) for s in statuses if s.state in FAILED_STATUSES]
    failures += [run_failure(r, annotations.get(r.id, ())) for r in failing_runs(runs)]
    if failures:
        return CIResult(CIState.FAILURE, tuple(failures))
    if any(s.state == "pending" for s in statuses) or any(r.status != "completed" for r in runs):
        return CIResult(CIState.PENDING)
    return CIResult(CIState.SUCCESS)
