"""The stored confidence: the provider's self-report tempered by what the policy could check."""

import pytest

from pipeline.confidence import WEIGHTS, Signals, combined_confidence

BASE = Signals(
    self_report=0.9,
    policy_passed=True,
    changed_lines=4,
    max_changed_lines=60,
    test_added=True,
    syntax_checked=True,
    certain=False,
)


def score(**changes) -> float:
    return combined_confidence(Signals(**{**vars(BASE), **changes}))


def test_a_refused_patch_scores_zero_however_sure_the_model_was():
    assert score(policy_passed=False, self_report=1.0, certain=True) == 0.0


def test_the_formula_in_the_docstring():
    expected = 0.45 * 0.9 + 0.2 * (1 - 4 / 60) + 0.15 + 0.1
    assert score() == round(expected, 3)
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("change", "direction"),
    [
        ({"changed_lines": 40}, "lower"),
        ({"test_added": False}, "lower"),
        ({"syntax_checked": False}, "lower"),
        ({"self_report": 0.3}, "lower"),
        ({"certain": True}, "higher"),
    ],
)
def test_each_signal_moves_the_score(change, direction):
    moved = score(**change)
    assert (moved < score()) if direction == "lower" else (moved > score())


def test_self_report_outside_zero_to_one_is_clamped():
    assert score(self_report=7) == score(self_report=1.0)
    assert score(self_report=-3) == score(self_report=0.0)
    assert 0.0 <= score(self_report=1.0, certain=True, changed_lines=0) <= 1.0
