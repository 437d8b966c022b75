"""The fix run's states and the transitions between them (DESIGN.md, "Pipeline state machine")."""

from django.db import models


class RunState(models.TextChoices):
    QUEUED = "queued", "Queued"
    TRIAGING = "triaging", "Triaging"
    BUILDING_CONTEXT = "building_context", "Building context"
    GENERATING_FIX = "generating_fix", "Generating fix"
    OPENING_PR = "opening_pr", "Opening pull request"
    AWAITING_CI = "awaiting_ci", "Awaiting CI"
    CI_FAILED = "ci_failed", "CI failed"
    CI_PASSED = "ci_passed", "CI passed"
    AWAITING_REVIEW = "awaiting_review", "Awaiting review"
    MERGED = "merged", "Merged"
    CLOSED = "closed", "Closed without merge"
    OUT_OF_SCOPE = "out_of_scope", "Out of scope"
    FIX_FAILED = "fix_failed", "Fix failed"
    FAILED = "failed", "Failed"


# Named once: a run in one of these never moves again.
FINAL_STATES = frozenset(
    {RunState.MERGED, RunState.CLOSED, RunState.OUT_OF_SCOPE, RunState.FIX_FAILED, RunState.FAILED}
)

# A run here has a pull request that people still have to act on; it moves only to merged or closed.
REVIEW_STATES = frozenset({RunState.AWAITING_REVIEW})
