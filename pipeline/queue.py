"""Queueing a run's stage on django-q2: which task does each state's stage."""

from __future__ import annotations

from django_q.tasks import async_task

from pipeline.states import RunState as S

# A held run has no task: it waits for a person (``pipeline.runs.release_held_run``, ``pipeline.labels``).
TASKS = {
    S.QUEUED: "pipeline.tasks.triage",
    S.TRIAGING: "pipeline.tasks.triage",
    S.BUILDING_CONTEXT: "pipeline.tasks.build_context",
    S.GENERATING_FIX: "pipeline.tasks.generate_fix",
    S.WAITING_FOR_SLOT: "pipeline.tasks.wait_for_slot",
    S.OPENING_PR: "pipeline.tasks.open_pr",
    S.AWAITING_CI: "pipeline.tasks.check_ci",
    S.CI_FAILED: "pipeline.tasks.after_ci_failure",
    S.CI_PASSED: "pipeline.tasks.merge",
    S.AWAITING_REVIEW: "pipeline.tasks.check_review",
}


def enqueue(run_id: int, state: str) -> None:
    """Queue the task for the stage of ``state``; tasks take the run id, never the run."""
    async_task(TASKS[state], run_id, task_name=f"run-{run_id}-{state}", group=f"run-{run_id}")
