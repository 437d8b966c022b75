"""Triage on real production errors: each case taken from a public issue thread that settles its cause.

The synthetic corpus (``triage_cases/``) holds what the rules were written from; this one holds what
applications really threw, labelled by their own threads, so it measures how the rules hold on errors they
were not written from.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from pipeline.triage import classify
from tests.pipeline.test_triage import confusion_matrix

CASES = Path(__file__).parent / "triage_real"
PLATFORMS = ("python", "node", "ruby", "go")
LABELS = ("code", "infrastructure", "configuration", "dependency")
KEYS = {"category", "source", "settled_by", "note", "event"}


def load_cases() -> list[tuple[str, dict]]:
    return [(path.stem, json.loads(path.read_text())) for path in sorted(CASES.glob("*.json"))]


def test_every_case_names_its_thread_and_how_the_thread_settled_it():
    for name, case in load_cases():
        assert set(case) == KEYS, name
        assert case["category"] in LABELS, name
        assert re.match(r"https://github\.com/[\w.-]+/[\w.-]+/(?:issues|pull)/\d+$", case["source"]), name
        assert case["settled_by"].strip() and case["note"].strip(), name
        assert case["event"]["platform"] in PLATFORMS, name
        assert case["event"]["exception"]["values"], name


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_corpus_holds_real_errors_of_every_platform(platform):
    cases = [case for _, case in load_cases() if case["event"]["platform"] == platform]
    assert len(cases) >= 25, f"{len(cases)} {platform} cases"


def test_the_corpus_holds_enough_out_of_scope_errors():
    labels = Counter(case["category"] for _, case in load_cases())
    assert labels["infrastructure"] + labels["configuration"] + labels["dependency"] >= 0.4 * labels.total()


def report(cases: list[tuple[str, dict]]) -> tuple[float, str]:
    results = [(case["category"], classify(case["event"]).category) for _, case in cases]
    accuracy = sum(expected == got for expected, got in results) / len(results)
    summary = f"triage accuracy {accuracy:.1%} on {len(results)} real events"
    return accuracy, f"{summary}\n{confusion_matrix(results)}"


# Where triage stands on these errors today, as this test prints it (81.9% right, 6.8% of out-of-scope errors
# classed as code, 13.0% of code errors not classed as code: 7.8% classed out of scope and 5.2% held as
# uncertain for a person): each figure may only move towards the goal of accuracy >= 92%, at most 3% of
# out-of-scope errors classed as code and at most 3% of code errors missed. An uncertain verdict counts as
# wrong and, for a code error, as missed: it is held, not fixed, until a person asks. Many of the remaining
# errors are out-of-scope errors given the wrong out-of-scope category (a refused connection to localhost is
# as often a setting as an outage), which reach no model either way. One code error is missed on purpose:
# `module 'flask.json' has no attribute 'JSONEncoder'` is a version clash by the same reading as
# `cannot import name` (a dependency error even where the application's frame raised), though its thread
# fixed the application.
#
# The last 61 cases were collected as a held-out set, by people who had not read the rules: on them the rules
# as they were scored 68.9% right with 29.4% of out-of-scope errors classed as code. The signals added from
# them (file-descriptor limits, a module called as a class, names Python removed, files the SDK places
# outside the application wherever they live) bring them to 83.6% and 8.8%; a new held-out set measures the
# next change best.
FLOOR_ACCURACY = 0.815
CEILING_OUT_OF_SCOPE_AS_CODE = 0.07
CEILING_CODE_MISSED = 0.135


def share(cases: list[dict], wrong) -> float:
    return sum(wrong(classify(case["event"]).category) for case in cases) / len(cases)


def test_triage_on_real_errors_holds_where_it_stands():
    cases = load_cases()
    accuracy, text = report(cases)
    out_of_scope = [case for _, case in cases if case["category"] != "code"]
    code = [case for _, case in cases if case["category"] == "code"]
    as_code = share(out_of_scope, lambda verdict: verdict == "code")
    missed = share(code, lambda verdict: verdict != "code")
    held = share(code, lambda verdict: verdict == "uncertain")
    text += (
        f"\nout of scope classed as code {as_code:.1%}, code errors missed {missed:.1%} "
        f"(of which held as uncertain {held:.1%})"
    )
    print(text)

    assert accuracy >= FLOOR_ACCURACY, text
    assert as_code <= CEILING_OUT_OF_SCOPE_AS_CODE, text
    assert missed <= CEILING_CODE_MISSED, text
