"""Triage on real errors its rules were not written from: every held-out set's first score, from history.

    python bench/triage_heldout.py            # every set, then all of them together
    python bench/triage_heldout.py 38 39      # only these sets
    python bench/triage_heldout.py --calibrate  # and write pipeline/triage_calibration.json

Each held-out set of ``tests/pipeline/triage_real/`` was committed with the rules it was first scored with
in the commit before it (or, where its signals landed first, in the commit named below), so the repository
holds every set's first score. For each set this takes the cases the set's commit added, as that commit
holds them, extracts the rules' commit into a temporary directory (``git archive``: the checkout is not
touched) and classifies the cases there in a Python process of its own. Prints a JSON line per set and, last,
one for all the sets asked for together: cases, right, out-of-scope errors classed as code, code errors
missed, right on code or not, and how often the verdicts of each confidence the rules claimed were right
(verdicts held as uncertain left out; rules older than the confidence field count as 1.0). A set added
later is a line added to ``SETS``.

With ``--calibrate`` it also writes, for each rule, how many of the first verdicts it gave were right
(``pipeline/triage_calibration.json``, from which triage takes a verdict's confidence), and prints one more
line that checks the table on errors it was not made from: a table made from the sets before the last
quarter of the cases, applied to the last quarter's first verdicts, by tenths of the confidence it gives
(cases, the confidence given on average, how often they were right), the same for the confidence the rules
claimed, and for each the gap: how far the confidence is from how often it was right, over all verdicts;
then the last quarter's figures as they are, and as a project with the default minimum confidence for a
code verdict (0.5) takes them: a code verdict the table gives less is held, as an uncertain one is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = "tests/pipeline/triage_real/"

# (set, the commit that added its cases, the commit whose rules first scored them)
SETS: tuple[tuple[str, str, str], ...] = (
    ("1", "8879a33", "8879a33^"),
    ("2-5", "bb43bcf", "bb43bcf^"),
    ("6", "acd0560", "acd0560^"),
    ("7", "0a7fe9e", "0a7fe9e^"),
    ("8", "af0d383", "af0d383^"),
    ("9", "9f0da05", "9f0da05^"),
    ("10", "6af9a68", "6af9a68^"),
    ("11", "3ef7c4f", "3ef7c4f^"),
    ("12", "5df8f16", "5df8f16^"),
    # Sets 13-16 were committed after their signals: each was scored before the signals' commits.
    ("13", "d08c44f", "bfd35c9^"),
    ("14", "c4d3f58", "d08c44f"),
    ("15", "742eabb", "c4d3f58"),
    ("16", "c5e00f8", "742eabb"),
    ("17", "9f992ab", "9f992ab^"),
    ("18", "d1436a6", "d1436a6^"),
    ("19", "efb0c8f", "efb0c8f^"),
    ("20", "65ae99d", "65ae99d^"),
    ("21", "244a232", "244a232^"),
    ("22", "4e6e95b", "4e6e95b^"),
    ("23", "9f1ec67", "9f1ec67^"),
    ("24", "32b49ed", "32b49ed^"),
    ("25", "241911d", "241911d^"),
    ("26", "5294294", "5294294^"),
    ("27", "986c61c", "986c61c^"),
    ("28", "5bfd419", "5bfd419^"),
    ("29", "a417023", "a417023^"),
    ("30", "8fb2da3", "8fb2da3^"),
    ("31", "d4bc6d7", "d4bc6d7^"),
    ("32", "ea10bee", "ea10bee^"),
    ("33", "efac91f", "efac91f^"),
    ("34", "66aa1d7", "66aa1d7^"),
    ("35", "ce6738c", "ce6738c^"),
    ("36", "a603135", "a603135^"),
    ("37", "5758adf", "5758adf^"),
    ("38", "e0ad3b7", "e0ad3b7^"),
    ("39", "e98e8d7", "e98e8d7^"),
    ("40", "456585d", "456585d^"),
    ("41", "60c894f", "60c894f^"),
    ("42-45", "b4b32f1", "b4b32f1^"),
    ("46-48", "0ccd09c", "0ccd09c^"),
    ("49-51", "416d3c8", "416d3c8^"),
    ("52-53", "5736c9b", "5736c9b^"),
    ("54", "bd25526", "bd25526^"),
    ("55-62", "e3a8090", "e3a8090^"),
    ("63-68", "ad0bf99", "ad0bf99^"),
    ("69-70", "0d327b3", "0d327b3^"),
    ("71-78", "b833451", "b833451^"),
    ("79-84", "65496a6", "65496a6^"),
    ("85-87", "de9e2cd", "de9e2cd^"),
    ("88", "ee1398e", "ee1398e^"),
)

# Run inside the extracted tree: classify every case file named on stdin, print label and verdict.
CLASSIFY = """
import json, os, sys
sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bugstack.settings")
import django
django.setup()
import pipeline.triage as triage
from pipeline.triage import classify
# The confidence each rule claims, before a calibration table (where the tree has one) tempers it.
if hasattr(triage, "CALIBRATION"):
    triage.CALIBRATION = {}
cases = json.load(sys.stdin)
verdicts = [classify(case["event"]) for case in cases]
print(json.dumps([
    [case["category"], verdict.category, getattr(verdict, "confidence", 1.0), getattr(verdict, "rule", "")]
    for case, verdict in zip(cases, verdicts)
]))
"""


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True).stdout


def added_cases(commit: str) -> list[dict]:
    names = git("diff", "--name-only", "--diff-filter=A", f"{commit}^", commit, "--", CORPUS).decode().split()
    return [json.loads(git("show", f"{commit}:{name}")) for name in names if name.endswith(".json")]


def first_verdicts(cases: list[dict], rules: str) -> list[list]:
    with tempfile.TemporaryDirectory() as tree:
        with tarfile.open(fileobj=BytesIO(git("archive", rules))) as archive:
            archive.extractall(tree, filter="data")
        env = {**os.environ, "DEBUG": "1"}
        done = subprocess.run(
            [sys.executable, "-c", CLASSIFY],
            cwd=tree,
            env=env,
            input=json.dumps(cases),
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(done.stdout)


def share(hits: int, of: int) -> float:
    return round(hits / max(of, 1), 6)


def figures(name: str, results: list[list]) -> dict:
    out_of_scope = [got for expected, got, *_ in results if expected != "code"]
    code = [got for expected, got, *_ in results if expected == "code"]
    tiers: dict[str, list[int]] = {}
    for expected, got, confidence, _ in results:
        if got != "uncertain":
            tier = tiers.setdefault(f"{confidence:.2f}", [0, 0])
            tier[0] += 1
            tier[1] += expected == got
    return {
        "set": name,
        "cases": len(results),
        "right": share(sum(expected == got for expected, got, *_ in results), len(results)),
        "out_of_scope_as_code": share(out_of_scope.count("code"), len(out_of_scope)),
        "code_missed": share(sum(got != "code" for got in code), len(code)),
        "code_or_not": share(
            sum((expected == "code") == (got == "code") for expected, got, *_ in results), len(results)
        ),
        "right_by_confidence": {
            tier: [count, share(right, count)] for tier, (count, right) in sorted(tiers.items())
        },
    }


def calibration(results: list[list]) -> dict[str, list[int]]:
    """For each rule, the first verdicts it gave (held as uncertain left out) and how many were right."""
    rules: dict[str, list[int]] = {}
    for expected, got, _, rule in results:
        if got != "uncertain" and rule:
            counts = rules.setdefault(rule, [0, 0])
            counts[0] += 1
            counts[1] += expected == got
    return dict(sorted(rules.items()))


def calibration_check(by_set: list[list[list]]) -> dict:
    """The table made from the earlier sets, applied to the last quarter of the cases, by tenths."""
    cases = sum(len(results) for results in by_set)
    earlier: list[list] = []
    by_set = list(by_set)  # the caller's list stays whole
    while by_set and len(earlier) + len(by_set[0]) <= cases * 3 // 4:
        earlier += by_set.pop(0)
    table = calibration(earlier)
    # The later cases as a project with the default minimum takes them: weak code verdicts held.
    least = DEFAULT_TRIAGE_MIN_CONFIDENCE
    as_held = [
        [
            expected,
            "uncertain" if got == "code" and calibrated(table, rule, claimed) < least else got,
            claimed,
            rule,
        ]
        for results in by_set
        for expected, got, claimed, rule in results
    ]
    later = [result for results in by_set for result in results if result[1] != "uncertain"]
    given = by_tenth(
        [(calibrated(table, rule, claimed), expected == got) for expected, got, claimed, rule in later]
    )
    claimed = by_tenth([(claimed, expected == got) for expected, got, claimed, _ in later])
    return {
        "check": f"table from {len(earlier)} cases, applied to the next {cases - len(earlier)}",
        "by_tenth": given,
        "gap": gap(given),
        "as_claimed": claimed,
        "gap_as_claimed": gap(claimed),
        "later": figures("later", [result for results in by_set for result in results]),
        f"later_holding_code_below_{least}": figures("later, held", as_held),
    }


def gap(tenths: dict[str, list]) -> float:
    """How far the confidence given is from how often the verdicts were right, on average over verdicts."""
    verdicts = sum(count for count, _, _ in tenths.values())
    return share(sum(count * abs(given - right) for count, given, right in tenths.values()), verdicts)


def by_tenth(verdicts: list[tuple[float, bool]]) -> dict[str, list]:
    """Verdicts by tenths of their confidence: how many, the confidence on average, how often right."""
    tenths: dict[str, list[float]] = {}
    for confidence, right in verdicts:
        tenth = tenths.setdefault(f"{min(int(confidence * 10), 9) / 10:.1f}", [0, 0.0, 0])
        tenth[0] += 1
        tenth[1] += confidence
        tenth[2] += right
    return {
        tenth: [count, round(given / count, 3), share(right, count)]
        for tenth, (count, given, right) in sorted(tenths.items())
    }


def write_table(sets: list[str], rules: dict[str, list[int]]) -> None:
    """One rule a line, so that a change to the table reads as the rules whose figures moved."""
    lines = ",\n".join(f"  {json.dumps(rule)}: {json.dumps(counts)}" for rule, counts in rules.items())
    head = f'{{\n "written_by": "python bench/triage_heldout.py --calibrate",\n "sets": {json.dumps(sets)},\n'
    TABLE_FILE.write_text(f'{head} "rules": {{\n{lines}\n }}\n}}\n')


def main(asked: list[str]) -> None:
    calibrate = "--calibrate" in asked
    asked = [name for name in asked if name != "--calibrate"]
    by_set: list[list[list]] = []
    for name, commit, rules in SETS:
        if asked and name not in asked:
            continue
        results = first_verdicts(added_cases(commit), rules)
        by_set.append(results)
        print(json.dumps(figures(name, results)), flush=True)
    everything = [result for results in by_set for result in results]
    print(json.dumps(figures("all", everything)))
    if calibrate:
        write_table([name for name, _, _ in SETS if not asked or name in asked], calibration(everything))
        print(json.dumps(calibration_check(by_set)))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from bugstack.limits import DEFAULT_TRIAGE_MIN_CONFIDENCE
    from pipeline.triage_confidence import TABLE_FILE, calibrated

    main(sys.argv[1:])
