"""Starting a fix run: the one entry point from ingest (and from people) into the pipeline."""

from __future__ import annotations

from django.db import transaction

from ingest.models import ErrorGroup, Event
from pipeline.models import FixRun
from pipeline.queue import enqueue
from pipeline.states import RunState, advance


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


class RunInFlight(Exception):
    """A person asked for a run while one is still going."""

    def __init__(self, run: FixRun) -> None:
        super().__init__(f"Run #{run.pk} is still in progress ({run.get_state_display()}).")
        self.run = run


def start_manual_run(group: ErrorGroup) -> FixRun:
    """Start the run a person asked for (dashboard or admin); raises ``RunInFlight`` if one is going."""
    with transaction.atomic():
        # Lock the group so two people pressing the button at once cannot start two runs.
        locked = ErrorGroup.objects.select_for_update().get(pk=group.pk)
        if in_flight := locked.runs.in_flight().first():
            raise RunInFlight(in_flight)
        return start_run(locked, FixRun.Trigger.MANUAL)


def held_run(group: ErrorGroup) -> FixRun | None:
    """The group's latest run if it is held for a person (a group has at most one run in flight)."""
    latest = group.runs.order_by("-created_at", "-pk").first()
    return latest if latest is not None and latest.state == RunState.HELD else None


def release_held_run(group: ErrorGroup, by: str, why: str = "asked for a fix", **fields) -> FixRun | None:
    """Send the group's held run on to build a fix; None if no run is held any more.

    ``by`` (who) and ``why`` (what they did) make the transition's detail. The move is a compare-and-set:
    of two people pressing "Try a fix" at once, one moves the run and the other gets None. The stage is
    queued once the move commits.
    """
    run = held_run(group)
    if run is None:
        return None
    with transaction.atomic():
        if not advance(run.pk, RunState.HELD, RunState.BUILDING_CONTEXT, f"{by} {why}", **fields):
            return None
        transaction.on_commit(lambda: enqueue(run.pk, RunState.BUILDING_CONTEXT))
    run.refresh_from_db()
    return run


def end_held_run(group: ErrorGroup, reason: str, **fields) -> FixRun | None:
    """End the group's held run out of scope, saying why; None if no run is held any more."""
    run = held_run(group)
    if run is None:
        return None
    if not advance(run.pk, RunState.HELD, RunState.OUT_OF_SCOPE, reason, reason=reason, **fields):
        return None
    run.refresh_from_db()
    return run
