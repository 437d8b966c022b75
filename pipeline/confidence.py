"""The confidence score stored with a fix: the provider's self-report tempered by what we can check."""

from __future__ import annotations

from dataclasses import dataclass

# Weights sum to 1. The self-report carries under half: a model is often sure and wrong, so the
# objective signals (small diff, a regression test, a real parser, a rule known to be exact) decide the rest.
WEIGHTS = {"self_report": 0.45, "small": 0.2, "test_added": 0.15, "syntax_checked": 0.1, "certain": 0.1}


@dataclass(frozen=True)
class Signals:
    self_report: float  # the provider's own 0–1 estimate
    policy_passed: bool
    changed_lines: int
    max_changed_lines: int
    test_added: bool
    syntax_checked: bool  # every changed file went through a real parser
    certain: bool  # a rule whose fix is exact, e.g. a missing import


def combined_confidence(signals: Signals) -> float:
    """0 when the policy refused the patch; otherwise a weighted sum, rounded to 3 places.

    score = 0.45·clamp(self_report)
          + 0.20·(1 − min(changed_lines / max_changed_lines, 1))
          + 0.15·[test added] + 0.10·[syntax checked] + 0.10·[certain rule]
    """
    if not signals.policy_passed:
        return 0.0
    smallness = 1 - min(signals.changed_lines / max(signals.max_changed_lines, 1), 1)
    score = (
        WEIGHTS["self_report"] * min(max(signals.self_report, 0.0), 1.0)
        + WEIGHTS["small"] * smallness
        + WEIGHTS["test_added"] * signals.test_added
        + WEIGHTS["syntax_checked"] * signals.syntax_checked
        + WEIGHTS["certain"] * signals.certain
    )
    return round(score, 3)
