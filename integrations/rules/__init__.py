"""``RulesProvider``: offline, deterministic fixes for common runtime errors; the default with no API key.

Each rule recognises one error shape on the failing line, proposes the conventional minimal fix and says
how sure it is (high only when the fix is certain, like a missing import). When the shape is not plain —
the line does not match the frame, several candidates, a statement it cannot rewrite — it declines.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath

from integrations.providers import FixProvider, FixRequest, Proposal
from integrations.rules import go, javascript, python, ruby
from integrations.rules.base import Failure, Fix, Rule, locate

LANGUAGES: dict[str, dict[str, Rule]] = {
    ".py": python.RULES,
    ".js": javascript.RULES,
    ".cjs": javascript.RULES,
    ".mjs": javascript.RULES,
    ".jsx": javascript.RULES,
    ".rb": ruby.RULES,
    ".go": go.RULES,
}


class RulesProvider(FixProvider):
    name = "rules"

    def propose(self, request: FixRequest) -> Proposal | None:
        if request.previous or request.policy_feedback:
            # Deterministic: asked again after CI or the policy refused its fix, it would only repeat it.
            return None
        failure = locate(request)
        if failure is None:
            return None
        rule = rule_for(failure)
        fix = rule(failure) if rule else None
        if fix is None:
            return None
        return proposal(fix, rule.__name__, failure)


def rule_for(failure: Failure) -> Rule | None:
    rules = LANGUAGES.get(PurePosixPath(failure.path).suffix.lower(), {})
    exception = failure.request.exception_type.rsplit(".", 1)[-1]
    if exception in rules:
        return rules[exception]
    # Go reports panics by message, whatever type the SDK names them by.
    return next((rule for key, rule in rules.items() if key in failure.request.message), None)


def proposal(fix: Fix, rule_name: str, failure: Failure) -> Proposal:
    return Proposal(
        edits=fix.edits,
        explanation=fix.explanation,
        root_cause=fix.root_cause,
        confidence=fix.confidence,
        provider="rules",
        model=rule_name,
        certain=fix.certain,
        prompt=f"{failure.request.exception_type} at {failure.path}:{failure.lineno}: {failure.line.strip()}",
        response=json.dumps({"rule": rule_name, "edits": [vars(edit) for edit in fix.edits]}, indent=2),
    )
