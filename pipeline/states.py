"""The fix run's states, the transitions between them and the one function that moves a run.

DESIGN.md, "Pipeline state machine". A run is in the state of the stage being done to it: a task for
the ``triaging`` stage acts only on a run in ``triaging`` (or ``queued``, which it claims first), so a
duplicated or late task finds the run elsewhere and does nothing.
"""

from __future__ import annotations

from django.db import models, transaction
from django.utils import timezone


class RunState(models.TextChoices):
    QUEUED = "queued", "Queued"
    TRIAGING = "triaging", "Triaging"
    HELD = "held", "Held for a person"
    BUILDING_CONTEXT = "building_context", "Building context"
    GENERATING_FIX = "generating_fix", "Generating fix"
    WAITING_FOR_MODEL = "waiting_for_model", "Waiting for the model"
    WAITING_FOR_SLOT = "waiting_for_slot", "Waiting for a pull request slot"
    OPENING_PR = "opening_pr", "Opening pull request"
    AWAITING_CI = "awaiting_ci", "Awaiting CI"
    CI_FAILED = "ci_failed", "CI failed"
    CI_PASSED = "ci_passed", "CI passed"
    AWAITING_REVIEW = "awaiting_review", "Awaiting review"
    MERGED = "merged", "Merged"
    CLOSED = "closed", "Closed without merge"
    OUT_OF_SCOPE = "out_of_scope", "Out of scope"
    FIX_FAILED = "fix_failed", "Fix failed"
    FAILED = "failed", "Failed"


S = RunState

# Named once: a run in one of these never moves again.
FINAL_STATES = frozenset({S.MERGED, S.CLOSED, S.OUT_OF_SCOPE, S.FIX_FAILED, S.FAILED})

# States that wait on people, not on a stage: no deadline ends them. A held run has no stage at all; a run
# awaiting review has one, polling the pull request.
WAITING_ON_PEOPLE = frozenset({S.HELD, S.AWAITING_REVIEW})

# States that wait for an outside service to come back: an outage is no verdict on the run, so no deadline
# ends them either. The poll asks the model again once the run's wait is over.
WAITING_ON_OUTAGES = frozenset({S.WAITING_FOR_MODEL})

# States in which the run has (or is about to have) an open pull request people may merge or close.
PR_OPEN_STATES = frozenset({S.AWAITING_CI, S.CI_FAILED, S.CI_PASSED, S.AWAITING_REVIEW})

# Every allowed move. Any non-final state may also end ``failed`` (an outside failure or the reaper).
TRANSITIONS: dict[str, frozenset[str]] = {
    S.QUEUED: frozenset({S.TRIAGING}),
    S.TRIAGING: frozenset({S.BUILDING_CONTEXT, S.OUT_OF_SCOPE, S.HELD}),
    # An uncertain verdict waits for a person: "try a fix", or a label that puts the error out of scope.
    S.HELD: frozenset({S.BUILDING_CONTEXT, S.OUT_OF_SCOPE}),
    # No file of the stack trace in the repository: there is nothing to fix.
    S.BUILDING_CONTEXT: frozenset({S.GENERATING_FIX, S.FIX_FAILED}),
    S.GENERATING_FIX: frozenset({S.OPENING_PR, S.FIX_FAILED, S.MERGED, S.CLOSED, S.WAITING_FOR_MODEL}),
    # The model kept failing transiently past the stage's retries: the run waits, then asks again.
    S.WAITING_FOR_MODEL: frozenset({S.GENERATING_FIX}),
    S.WAITING_FOR_SLOT: frozenset({S.OPENING_PR}),
    S.OPENING_PR: frozenset({S.AWAITING_CI, S.WAITING_FOR_SLOT}),
    S.AWAITING_CI: frozenset({S.CI_PASSED, S.CI_FAILED, S.AWAITING_REVIEW, S.MERGED, S.CLOSED}),
    S.CI_FAILED: frozenset({S.GENERATING_FIX, S.FIX_FAILED, S.MERGED, S.CLOSED}),
    S.CI_PASSED: frozenset({S.MERGED, S.AWAITING_REVIEW, S.CLOSED}),
    S.AWAITING_REVIEW: frozenset({S.MERGED, S.CLOSED}),
}
TRANSITIONS = {state: targets | {S.FAILED} for state, targets in TRANSITIONS.items()}


class InvalidTransition(ValueError):
    """A move the state machine does not allow: a bug in the caller, never an outside failure."""


def is_allowed(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, frozenset())


def advance(run_id: int, expected: str, new: str, detail: str = "", **fields) -> bool:
    """Move the run from ``expected`` to ``new`` if it is still in ``expected``; record the transition.

    Compare-and-set in the database: of two workers racing to move the same run, exactly one succeeds and
    the other gets False and must do nothing. ``fields`` are saved in the same UPDATE.
    """
    from pipeline.models import FixRun, Transition

    if not is_allowed(expected, new):
        raise InvalidTransition(f"{expected} → {new} is not an allowed transition")
    now = timezone.now()
    changes = {"state": new, "state_changed_at": now, "stage_attempts": 0, "lease_expires_at": None, **fields}
    if new in FINAL_STATES:
        changes["finished_at"] = now
    with transaction.atomic():
        moved = FixRun.objects.filter(pk=run_id, state=expected).update(**changes)
        if moved:
            Transition.objects.create(run_id=run_id, from_state=expected, to_state=new, at=now, detail=detail)
    return bool(moved)
