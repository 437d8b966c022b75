"""Starting a fix run: the one entry point from ingest (and from people) into the pipeline."""

from __future__ import annotations

from django.db import transaction

from ingest.models import ErrorGroup, Event
from pipeline.models import FixRun
from pipeline.queue import enqueue
from pipeline.states import RunState


def start_run(group: ErrorGroup, trigger: str, event: Event | None = None) -> FixRun:
    """Create a queued run for ``group`` and enqueue its first stage once the transaction commits.

    Call it inside the transaction that decided the run is needed, so the decision and the run commit
    together; the task is queued only after the commit, so a worker never looks for an uncommitted run.
    """
    run = FixRun.objects.create(
        project_id=group.project_id, group=group, event=event, trigger=trigger, state=RunState.QUEUED
    )
    transaction.on_commit(lambda: enqueue(run.pk, RunState.QUEUED))
    return run
