"""A triage verdict's confidence: what its rule claims, tempered by how often the rule was right on real
errors it was not written from (the held-out sets of ``triage_real/``)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from pipeline.triage import CALIBRATION, LIKELY, classify
from pipeline.triage_confidence import CLAIM_WEIGHT, TABLE_FILE, calibrated

BENCH = Path(__file__).resolve().parents[2] / "bench" / "triage_heldout.py"


def held_out_sets() -> list[str]:
    """The names in ``SETS`` of bench/triage_heldout.py, read without running it."""
    for node in ast.parse(BENCH.read_text()).body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "SETS":
            return [row.elts[0].value for row in node.value.elts]
    raise AssertionError("no SETS in bench/triage_heldout.py")


def test_a_rule_never_measured_keeps_what_it_claims():
    assert calibrated({}, "a-new-rule", 0.9) == 0.9


def test_a_rule_measured_on_many_errors_says_what_it_measured():
    assert calibrated({"often-wrong": [1_000, 220]}, "often-wrong", 0.9) == pytest.approx(0.22, abs=0.02)
    assert calibrated({"often-right": [1_000, 950]}, "often-right", 0.4) == pytest.approx(0.95, abs=0.02)


def test_a_rule_measured_on_few_errors_stays_near_its_claim():
    # Two wrong verdicts out of two are not enough to call a rule that claims 0.9 hopeless.
    expected = round(0.9 * CLAIM_WEIGHT / (CLAIM_WEIGHT + 2), 2)
    assert calibrated({"seen-twice": [2, 0]}, "seen-twice", 0.9) == expected


def test_the_table_is_made_from_every_held_out_set():
    # A set added to the bench without `--calibrate` would leave the table behind the measurements.
    assert json.loads(TABLE_FILE.read_text())["sets"] == held_out_sets()
    assert all(0 <= right <= cases for cases, right in CALIBRATION.values())


def test_a_verdict_carries_its_rules_calibrated_confidence():
    event = {
        "platform": "python",
        "exception": {
            "values": [
                {
                    "type": "TypeError",
                    "value": "unsupported operand type(s) for +: 'int' and 'str'",
                    "stacktrace": {"frames": [{"filename": "shop/cart.py", "lineno": 9, "in_app": True}]},
                }
            ]
        },
    }
    verdict = classify(event)
    assert (verdict.category, verdict.rule) == ("code", "raised-in-application")
    assert verdict.confidence == calibrated(CALIBRATION, "raised-in-application", LIKELY)
    assert CALIBRATION["raised-in-application"][0] > 100  # measured, not only claimed
