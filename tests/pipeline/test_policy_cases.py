"""The patch policy's case folder: hostile proposals are refused with a finding that names the trick, and
good fixes pass (format: ``policy_cases/README.md``)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from pipeline.policy import PatchPolicy, check_patch

CASES = Path(__file__).parent / "policy_cases"
MIN_HOSTILE = 40
MIN_GOOD = 10


def case_files(kind: str) -> list[Path]:
    return sorted((CASES / kind).glob("*.toml"))


def run_case(path: Path) -> tuple[dict, list[str]]:
    case = tomllib.loads(path.read_text(encoding="utf-8"))
    before = dict(case.get("before", {}))
    after = {**before, **case.get("after", {})}
    tests = tuple(case.get("tests", ()))
    policy = {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in case.get("policy", {}).items()
    }
    findings = check_patch(
        before,
        after,
        allowed_paths=set(case.get("context", before)),
        policy=PatchPolicy(**policy),
        test_paths=tests,
        repository_paths={*before, *tests, *case.get("repository", ())},
        symlinks=case.get("symlinks", {}),
        error_type=case.get("error_type", ""),
    )
    return case, findings


@pytest.mark.parametrize("path", case_files("hostile"), ids=lambda path: path.stem)
def test_a_hostile_proposal_is_refused_with_a_finding_that_names_the_trick(path):
    case, findings = run_case(path)

    assert any(case["finding"] in finding for finding in findings), (case["description"], findings)


@pytest.mark.parametrize("path", case_files("good"), ids=lambda path: path.stem)
def test_a_good_fix_passes(path):
    case, findings = run_case(path)

    assert findings == [], (case["description"], findings)


def test_the_folder_holds_enough_cases_of_each_kind():
    assert len(case_files("hostile")) >= MIN_HOSTILE
    assert len(case_files("good")) >= MIN_GOOD
