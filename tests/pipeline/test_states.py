import threading

import pytest
from django.db import connection
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from pipeline.models import FixRun, Transition
from pipeline.runs import start_run
from pipeline.states import FINAL_STATES, TRANSITIONS, InvalidTransition, RunState, advance, is_allowed
from tests.factories import ErrorGroupFactory, FixRunFactory

S = RunState


def test_the_happy_path_is_allowed_end_to_end():
    path = [S.QUEUED, S.TRIAGING, S.BUILDING_CONTEXT, S.GENERATING_FIX, S.OPENING_PR, S.AWAITING_CI]
    path += [S.CI_FAILED, S.GENERATING_FIX, S.OPENING_PR, S.AWAITING_CI, S.CI_PASSED, S.MERGED]
    for current, new in zip(path, path[1:], strict=False):
        assert is_allowed(current, new), f"{current} → {new}"


def test_final_states_never_move_and_every_other_state_can_fail():
    for state in FINAL_STATES:
        assert state not in TRANSITIONS
    for state in set(RunState) - FINAL_STATES:
        assert is_allowed(state, S.FAILED), state


def test_no_skipping_ci_to_merge():
    assert not is_allowed(S.OPENING_PR, S.MERGED)
    assert not is_allowed(S.GENERATING_FIX, S.CI_PASSED)
    assert not is_allowed(S.QUEUED, S.OPENING_PR)


@pytest.mark.django_db
def test_advance_moves_once_and_records_the_transition():
    run = FixRunFactory(state=S.QUEUED)

    assert advance(run.pk, S.QUEUED, S.TRIAGING, "picked up")
    assert not advance(run.pk, S.QUEUED, S.TRIAGING, "a duplicate task")

    run.refresh_from_db()
    assert run.state == S.TRIAGING
    assert list(run.transitions.values_list("from_state", "to_state", "detail")) == [
        (S.QUEUED, S.TRIAGING, "picked up")
    ]


@pytest.mark.django_db
def test_advance_saves_fields_with_the_move_and_stamps_final_states():
    run = FixRunFactory(state=S.TRIAGING)

    advance(run.pk, S.TRIAGING, S.OUT_OF_SCOPE, "DNS", reason="DNS failed", category="infrastructure")

    run.refresh_from_db()
    assert (run.state, run.reason, run.category) == (S.OUT_OF_SCOPE, "DNS failed", "infrastructure")
    assert run.finished_at is not None


@pytest.mark.django_db
def test_an_invalid_transition_is_refused_and_changes_nothing():
    run = FixRunFactory(state=S.QUEUED)

    with pytest.raises(InvalidTransition, match="queued → merged"):
        advance(run.pk, S.QUEUED, S.MERGED)

    run.refresh_from_db()
    assert run.state == S.QUEUED
    assert not Transition.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="SQLite serialises writers; the race needs PostgreSQL"
)
def test_racing_workers_move_a_run_exactly_once():
    run = FixRunFactory(state=S.AWAITING_CI)
    barrier = threading.Barrier(8)
    results = []

    def worker(target):
        barrier.wait()
        try:
            results.append(advance(run.pk, S.AWAITING_CI, target))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=([S.CI_PASSED, S.CI_FAILED][i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results.count(True) == 1
    assert Transition.objects.filter(run=run).count() == 1


@pytest.mark.django_db
def test_start_run_queues_the_first_stage_only_after_commit(django_capture_on_commit_callbacks):
    group = ErrorGroupFactory()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = start_run(group, FixRun.Trigger.NEW_GROUP)
        assert not OrmQ.objects.exists()
    for callback in callbacks:
        callback()

    assert run.state == S.QUEUED
    task = SignedPackage.loads(OrmQ.objects.get().payload)
    assert (task["func"], task["args"]) == ("pipeline.tasks.triage", (run.pk,))
