"""How sure a triage verdict is: how often its rule was right on real errors it was not written from."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

# For each rule, the first verdicts it gave on the held-out sets of tests/pipeline/triage_real/ and how many
# of them were right; written by `python bench/triage_heldout.py --calibrate`.
TABLE_FILE = Path(__file__).with_name("triage_calibration.json")

# The confidence a rule claims for itself counts as this many cases of its own: a rule seen on few errors
# stays near what it claims, one seen on many says what it measured.
CLAIM_WEIGHT = 10


def read_table() -> Mapping[str, Sequence[int]]:
    return json.loads(TABLE_FILE.read_text())["rules"]


def calibrated(table: Mapping[str, Sequence[int]], rule: str, claimed: float) -> float:
    cases, right = table.get(rule, (0, 0))
    return round((right + CLAIM_WEIGHT * claimed) / (cases + CLAIM_WEIGHT), 2)
