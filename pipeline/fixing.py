"""Stage 5 without the database: ask a provider for a fix, apply it, let the policy decide, re-ask once.

The orchestration stores what comes back (``FixAttempt``); nothing here reads or writes a model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from integrations.providers import FixProvider, FixRequest, Proposal
from pipeline.confidence import Signals, combined_confidence
from pipeline.patch import PatchError, add_new_files, apply_edits, changed_paths
from pipeline.policy import PatchPolicy, PolicyReport, review_patch


@dataclass(frozen=True)
class FixOutcome:
    proposals: tuple[Proposal, ...]  # every proposal made, in order, each with its prompt/response/usage
    after: dict[str, str]  # the context files (and new tests) as the last proposal leaves them
    changes: dict[str, str]  # only the files that change: path → full new text
    diff: str
    findings: tuple[str, ...]  # why the last proposal was refused; empty when acceptable
    notes: tuple[str, ...]  # what the policy could not check (e.g. no ruby on this server)
    confidence: float
    acceptable: bool
    declined: bool = False  # the provider proposed nothing (rather than something the policy refused)


def generate_fix(provider: FixProvider, request: FixRequest, *, policy: PatchPolicy) -> FixOutcome:
    """Propose, apply and check; when the policy refuses, ask once more with its reasons."""
    first = ask(provider, request, (), policy)
    if first.acceptable or first.declined:
        return first
    again = dataclasses.replace(request, policy_feedback=first.findings)
    second = ask(provider, again, first.proposals, policy)
    if second.declined:
        # Nothing new came back: the reasons the first proposal was refused are the answer.
        return dataclasses.replace(first, proposals=second.proposals)
    return second


def ask(
    provider: FixProvider, request: FixRequest, earlier: tuple[Proposal, ...], policy: PatchPolicy
) -> FixOutcome:
    proposal = provider.propose(request)
    if proposal is None:
        return declined(earlier, request, "the provider proposed no fix")
    proposals = (*earlier, proposal)
    if not (proposal.edits or proposal.new_files):
        return declined(proposals, request, f"the provider proposed no change: {proposal.explanation}")
    return evaluate(proposals, request, policy)


def evaluate(proposals: tuple[Proposal, ...], request: FixRequest, policy: PatchPolicy) -> FixOutcome:
    """Apply the last proposal to the request's files and score it."""
    proposal = proposals[-1]
    before = dict(request.files)
    try:
        after = add_new_files(apply_edits(before, proposal.edits), proposal.new_files)
    except PatchError as error:
        return FixOutcome(proposals, before, {}, "", (str(error),), (), 0.0, False)
    report = review_patch(
        before,
        after,
        allowed_paths=set(before),
        policy=policy,
        test_paths=request.test_paths,
        repository_paths=request.repository_paths,
        symlinks=request.symlinks,
        error_type=request.exception_type,
    )
    changes = {path: after[path] for path in changed_paths(before, after) if path in after}
    return FixOutcome(
        proposals=proposals,
        after=after,
        changes=changes,
        diff=report.diff,
        findings=report.findings,
        notes=report.notes,
        confidence=score(proposal, report, policy),
        acceptable=report.allowed,
    )


def score(proposal: Proposal, report: PolicyReport, policy: PatchPolicy) -> float:
    return combined_confidence(
        Signals(
            self_report=proposal.confidence,
            policy_passed=report.allowed,
            changed_lines=report.changed_lines,
            max_changed_lines=policy.max_changed_lines,
            test_added=bool(report.tests_added),
            syntax_checked=report.syntax_checked,
            certain=proposal.certain,
        )
    )


def declined(proposals: tuple[Proposal, ...], request: FixRequest, reason: str) -> FixOutcome:
    return FixOutcome(proposals, dict(request.files), {}, "", (reason,), (), 0.0, False, declined=True)
