"""django-q2 tasks of the fix pipeline: one per stage, each taking a run id, all through ``execute``.

The database, not the broker, is the source of truth. A stage task claims the run with a lease (a
compare-and-set on state and lease), so a duplicated task does nothing; a worker that dies leaves the lease
to expire and the poll hands the stage on; a stage that keeps killing its worker ends the run after
``BUGSTACK_MAX_STAGE_ATTEMPTS``. Outside failures are classified: transient ones are retried with backoff up
to a bound, permanent ones end the run at once with a message a person can act on. A model outage that
outlasts the retries parks the run in ``waiting_for_model``; the poll asks the model again later, with the
backoff carried on, and the run goes on from there: an outage never ends a run. A project whose model
spend cap is reached waits there too, until the cap resets.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from bugstack.models import Project
from ingest.models import ErrorGroup, Event
from integrations.errors import IntegrationError, ModelUnavailable
from integrations.providers.spend import SpendCapReached
from pipeline import stages
from pipeline.models import FixRun
from pipeline.queue import TASKS, enqueue
from pipeline.states import FINAL_STATES, WAITING_ON_OUTAGES, WAITING_ON_PEOPLE, RunState, advance

S = RunState
logger = logging.getLogger(__name__)

# States whose stage waits on the outside world: looked at again by the poll, never "stuck".
POLLED_STATES = frozenset({S.AWAITING_CI, S.WAITING_FOR_SLOT, S.AWAITING_REVIEW})
# States entered without queueing their stage at once: the poll picks them up.
NOT_QUEUED_ON_ENTRY = frozenset({S.WAITING_FOR_SLOT, S.AWAITING_REVIEW})
# Local CI runs the project's tests inside the stage: its lease covers the test command's timeout. Reading a
# code host's CI takes a request, so there the stage holds the ordinary lease (a killed worker's stage is
# handed on as soon as any other's).
LONG_STAGES = frozenset({S.AWAITING_CI})
LONG_LEASE_SECONDS = 11 * 60


# --- one task per stage -------------------------------------------------------------------------------


def triage(run_id: int) -> None:
    execute(run_id, S.TRIAGING)


def build_context(run_id: int) -> None:
    execute(run_id, S.BUILDING_CONTEXT)


def generate_fix(run_id: int) -> None:
    execute(run_id, S.GENERATING_FIX)


def wait_for_slot(run_id: int) -> None:
    execute(run_id, S.WAITING_FOR_SLOT)


def open_pr(run_id: int) -> None:
    execute(run_id, S.OPENING_PR)


def check_ci(run_id: int) -> None:
    execute(run_id, S.AWAITING_CI)


def after_ci_failure(run_id: int) -> None:
    execute(run_id, S.CI_FAILED)


def merge(run_id: int) -> None:
    execute(run_id, S.CI_PASSED)


def check_review(run_id: int) -> None:
    execute(run_id, S.AWAITING_REVIEW)


# --- the wrapper --------------------------------------------------------------------------------------


def execute(run_id: int, state: str) -> str | None:
    """Do the stage for ``state`` if the run is there and nobody holds it; return the state it moved to."""
    if state in (S.QUEUED, S.TRIAGING):
        state = S.TRIAGING
        advance(run_id, S.QUEUED, S.TRIAGING, "picked up by a worker")
    if state not in stages.STAGES:
        logger.info("run %s: %s has no stage; it waits for a person or the poll", run_id, state)
        return None
    run = claim(run_id, state)
    if run is None:
        logger.info("run %s: not in %s or held by another worker; nothing to do", run_id, state)
        return None
    if run.stage_attempts > settings.BUGSTACK_MAX_STAGE_ATTEMPTS:
        return end_failed(
            run,
            f"The {run.get_state_display().lower()} stage was started {run.stage_attempts - 1} times "
            "and never finished (its worker kept stopping).",
        )
    started = time.monotonic()
    try:
        outcome = with_retries(stages.STAGES[state], run)
    except SpendCapReached as cap:
        logger.info("run %s: %s; the run waits", run_id, cap)
        return wait_for_budget(run, cap)
    except ModelUnavailable as exc:
        logger.warning("run %s: the model is unavailable past the retries (%s); the run waits", run_id, exc)
        return wait_for_model(run, exc)
    except IntegrationError as exc:
        logger.warning("run %s: %s stage failed (%s): %s", run_id, state, kind(exc), exc)
        return end_failed(run, str(exc))
    except Exception as exc:  # noqa: BLE001 - a bug must end the run readably, not kill the worker
        logger.exception("run %s: %s stage raised", run_id, state)
        return end_failed(run, f"Internal error in the {state} stage: {type(exc).__name__}: {exc}")
    elapsed = time.monotonic() - started
    logger.info("run %s: %s → %s in %.2f s", run_id, state, outcome.state or "(stays)", elapsed)
    if outcome.state is None:
        release(run, outcome.hold_seconds)
        return None
    with transaction.atomic():
        if not advance(run_id, state, outcome.state, outcome.detail, **outcome.fields):
            return None
        enter(run_id, outcome.state)
        if outcome.state in TASKS and outcome.state not in NOT_QUEUED_ON_ENTRY:
            # Queued once the move is committed, as start_run queues the first stage: the next worker
            # must find the run moved.
            transaction.on_commit(lambda: enqueue(run_id, outcome.state))
    return outcome.state


def enter(run_id: int, state: str) -> None:
    """The new state's entry hook, in the move's transaction: whoever sees a run merged sees its group
    fixed, and a worker stopping between the two cannot leave one without the other."""
    if hook := stages.ON_ENTER.get(state):
        hook(FixRun.objects.get(pk=run_id))


def claim(run_id: int, state: str) -> FixRun | None:
    now = timezone.now()
    lease = lease_seconds(run_id, state)
    claimed = (
        FixRun.objects.filter(pk=run_id, state=state)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .update(lease_expires_at=now + timedelta(seconds=lease), stage_attempts=F("stage_attempts") + 1)
    )
    if not claimed:
        return None
    return FixRun.objects.select_related("project", "project__account", "group", "event").get(pk=run_id)


def lease_seconds(run_id: int, state: str) -> int:
    runs_tests_here = (
        state in LONG_STAGES
        and FixRun.objects.filter(pk=run_id, project__code_host=Project.CodeHost.LOCAL).exists()
    )
    return LONG_LEASE_SECONDS if runs_tests_here else settings.BUGSTACK_STAGE_LEASE_SECONDS


def release(run: FixRun, hold_seconds: float) -> None:
    until = timezone.now() + timedelta(seconds=hold_seconds) if hold_seconds else None
    FixRun.objects.filter(pk=run.pk, state=run.state).update(lease_expires_at=until, stage_attempts=0)


def with_retries(stage, run: FixRun):
    """Run the stage; retry transient outside errors with exponential backoff and jitter, up to a bound."""
    attempt = 0
    while True:
        try:
            return stage(run)
        except IntegrationError as exc:
            if exc.permanent or attempt >= settings.BUGSTACK_TRANSIENT_RETRIES:
                raise
            delay = exc.retry_after or settings.BUGSTACK_TRANSIENT_BACKOFF_SECONDS * 2**attempt
            delay = min(delay, 60) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security
            logger.info("run %s: transient error (%s); retrying in %.1f s", run.pk, exc, delay)
            time.sleep(delay)
            attempt += 1
            run.refresh_from_db()


def wait_for_model(run: FixRun, exc: ModelUnavailable) -> str | None:
    """Park the run until the model may answer again: the stage's backoff, carried on and capped.

    The wait doubles with each time this run has waited, from where the stage's retries stopped; a
    ``Retry-After`` from the provider is honoured when longer. The lease holds the time to look again.
    """
    waits = run.transitions.filter(to_state=S.WAITING_FOR_MODEL).count()
    doublings = settings.BUGSTACK_TRANSIENT_RETRIES + waits
    backoff = settings.BUGSTACK_TRANSIENT_BACKOFF_SECONDS * 2**doublings
    seconds = min(max(backoff, exc.retry_after or 0), settings.BUGSTACK_MODEL_WAIT_MAX_SECONDS)
    until = timezone.now() + timedelta(seconds=seconds)
    reason = (
        f"Waiting for the model: {exc}. The fix is asked for again after {until:%Y-%m-%d %H:%M:%S} UTC "
        "and the run goes on once the model answers."
    )
    moved = advance(run.pk, run.state, S.WAITING_FOR_MODEL, reason, reason=reason, lease_expires_at=until)
    return S.WAITING_FOR_MODEL if moved else None


def wait_for_budget(run: FixRun, cap: SpendCapReached) -> str | None:
    """Park the run until the project's spend cap resets: no model call starts before then."""
    reason = (
        f"Waiting for the model budget: {cap}. The fix is asked for once it has reset, "
        "and the run goes on from there."
    )
    moved = advance(
        run.pk, run.state, S.WAITING_FOR_MODEL, reason, reason=reason, lease_expires_at=cap.resets_at
    )
    return S.WAITING_FOR_MODEL if moved else None


def resume_after_outage(run_id: int) -> bool:
    """Send a run whose wait for the model is over back to generating its fix."""
    with transaction.atomic():
        if not advance(run_id, S.WAITING_FOR_MODEL, S.GENERATING_FIX, "asking the model again", reason=""):
            return False
        transaction.on_commit(lambda: enqueue(run_id, S.GENERATING_FIX))
    return True


def end_failed(run: FixRun, reason: str) -> str | None:
    moved = advance(run.pk, run.state, S.FAILED, reason, reason=reason)
    return S.FAILED if moved else None


def kind(exc: IntegrationError) -> str:
    return "permanent" if exc.permanent else "transient, retries exhausted"


# --- schedules ----------------------------------------------------------------------------------------


def poll() -> int:
    """Hand on every stage that is due: polled states whose hold has passed, stages nobody is doing, and
    runs whose wait for the model is over.

    Only states with a stage task are looked at: a held run waits for a person, not for a worker.
    """
    now = timezone.now()
    lease_free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
    waited = FixRun.objects.filter(Q(state=S.WAITING_FOR_MODEL) & lease_free).order_by("state_changed_at")
    resumed = sum(resume_after_outage(run_id) for run_id in waited.values_list("pk", flat=True))
    stale = now - timedelta(seconds=settings.BUGSTACK_STUCK_SECONDS)
    due = FixRun.objects.filter(
        (Q(state__in=POLLED_STATES) & lease_free)
        | Q(state__in=set(TASKS) - POLLED_STATES, lease_expires_at__lte=now)
        | Q(state__in=set(TASKS) - POLLED_STATES, lease_expires_at__isnull=True, state_changed_at__lt=stale)
    ).order_by("state_changed_at")
    count = 0
    for run_id, state in due.values_list("pk", "state"):
        enqueue(run_id, state)
        count += 1
    return count + resumed


def reap() -> int:
    """End runs stuck in one state past the deadline (held runs and reviews wait on people, runs waiting for
    the model on an outage: no deadline)."""
    deadline = timezone.now() - timedelta(seconds=settings.BUGSTACK_RUN_DEADLINE_SECONDS)
    stuck = FixRun.objects.exclude(state__in=FINAL_STATES | WAITING_ON_PEOPLE | WAITING_ON_OUTAGES).filter(
        state_changed_at__lt=deadline
    )
    hours = settings.BUGSTACK_RUN_DEADLINE_SECONDS / 3600
    ended = 0
    for run_id, state in stuck.values_list("pk", "state"):
        reason = f"Stuck in {RunState(state).label.lower()} for more than {hours:g} h; ended by the reaper."
        ended += advance(run_id, state, S.FAILED, reason, reason=reason)
    return ended


def verify_fixes() -> int:
    """Mark fixes verified that stayed quiet for a while after the code containing them was seen running.

    Code with the fix is "seen" when the project reports an event from a release this group never appeared
    in before the merge (for groups whose events carry no release: once the regression grace period after
    the merge has passed). A regression reopens the group, so a group still ``fixed`` then was quiet.
    """
    now = timezone.now()
    quiet = timedelta(seconds=settings.BUGSTACK_VERIFY_QUIET_SECONDS)
    verified = 0
    candidates = ErrorGroup.objects.filter(
        status=ErrorGroup.Status.FIXED, fix_verified_at__isnull=True, fix_merged_at__isnull=False
    )
    for group in candidates:
        deployed_at = fix_seen_running_at(group)
        if deployed_at is not None and now - deployed_at >= quiet:
            verified += ErrorGroup.objects.filter(
                pk=group.pk, status=ErrorGroup.Status.FIXED, fix_verified_at__isnull=True
            ).update(fix_verified_at=now)
    return verified


def fix_seen_running_at(group: ErrorGroup):
    """When code containing the group's fix was first seen running, if it has been."""
    if not group.releases:
        return group.fix_merged_at + timedelta(seconds=settings.BUGSTACK_REGRESSION_GRACE_SECONDS)
    return (
        Event.objects.filter(project_id=group.project_id, received_at__gt=group.fix_merged_at)
        .exclude(release="")
        .exclude(release__in=group.releases)
        .order_by("received_at")
        .values_list("received_at", flat=True)
        .first()
    )
