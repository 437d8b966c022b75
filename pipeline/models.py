"""Fix runs, their attempts and the audit trail of every state change."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from bugstack.models import Project
from ingest.models import ErrorGroup, Event
from pipeline.states import FINAL_STATES, PR_OPEN_STATES, RunState


class FixRunQuerySet(models.QuerySet):
    def in_flight(self) -> FixRunQuerySet:
        return self.exclude(state__in=FINAL_STATES)

    def with_open_pr(self) -> FixRunQuerySet:
        return self.filter(pr_number__isnull=False).filter(
            models.Q(state__in=PR_OPEN_STATES) | models.Q(state=RunState.GENERATING_FIX)
        )


class FixRun(models.Model):
    """One attempt to turn an error group into a merged fix; moves only through ``pipeline.states``."""

    class Trigger(models.TextChoices):
        NEW_GROUP = "new_group", "New error"
        REGRESSION = "regression", "Regression after fix"
        RETRY = "retry", "Retry after outside failure"
        MANUAL = "manual", "Started by a person"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runs")
    # Indexed with created_at below: ingest looks up each group's latest run for every event.
    group = models.ForeignKey(ErrorGroup, on_delete=models.CASCADE, related_name="runs", db_index=False)
    event = models.ForeignKey(
        Event,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="What started it.",
    )
    trigger = models.CharField(max_length=12, choices=Trigger.choices, default=Trigger.NEW_GROUP)
    state = models.CharField(max_length=20, choices=RunState.choices, default=RunState.QUEUED)
    state_changed_at = models.DateTimeField(default=timezone.now)
    # How many times the current stage was started; bounds redelivery of a task that keeps dying.
    stage_attempts = models.PositiveSmallIntegerField(default=0)
    # A worker doing the current stage holds it until then; past it, the watchdog hands the stage on.
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    category = models.CharField(max_length=16, choices=ErrorGroup.Category.choices, blank=True)
    triage_reason = models.TextField(blank=True)

    context = models.JSONField(
        default=dict, blank=True, help_text="The files read for the fix, and why each was read or skipped."
    )
    base_sha = models.CharField(max_length=64, blank=True)
    branch = models.CharField(max_length=255, blank=True)
    head_sha = models.CharField(max_length=64, blank=True)
    pr_number = models.PositiveIntegerField(null=True, blank=True)
    pr_url = models.CharField(max_length=500, blank=True)
    merge_sha = models.CharField(max_length=64, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="Why the run ended where it did, for people.")
    superseded_by = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="superseded",
        help_text="The later run of the group that took over this run's pull request with a new attempt.",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    pr_opened_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = FixRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "state_changed_at"], name="run_state_changed"),
            models.Index(fields=["project", "-created_at"], name="run_project_created"),
            models.Index(fields=["group", "-created_at"], name="run_group_created"),
        ]

    def __str__(self) -> str:
        return f"Run #{self.pk} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


class FixAttempt(models.Model):
    """One proposal for a run: what was asked, what came back, what the policy and CI said."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        REJECTED = "rejected", "Rejected by policy"
        DECLINED = "declined", "No fix proposed"
        PUSHED = "pushed", "Pushed"
        CI_FAILED = "ci_failed", "CI failed"
        CI_PASSED = "ci_passed", "CI passed"

    run = models.ForeignKey(FixRun, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.PENDING)

    provider = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=100, blank=True)
    prompt = models.TextField(blank=True, help_text="Exactly what was sent (audit trail).")
    response = models.TextField(blank=True, help_text="Exactly what came back (audit trail).")
    usage = models.JSONField(default=dict, blank=True)

    edits = models.JSONField(default=list, blank=True)
    changes = models.JSONField(
        default=dict, blank=True, help_text="Path → full new text of each changed file."
    )
    diff = models.TextField(blank=True)
    explanation = models.TextField(blank=True)
    root_cause = models.TextField(blank=True)
    model_confidence = models.FloatField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True, help_text="Combined score, see pipeline.")
    policy_findings = models.JSONField(default=list, blank=True, help_text="Why the policy refused the fix.")
    policy_notes = models.JSONField(default=list, blank=True, help_text="What the policy could not check.")

    commit_sha = models.CharField(max_length=64, blank=True)
    ci_state = models.CharField(max_length=10, blank=True)
    ci_failures = models.JSONField(default=list, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="unique_attempt_number")]

    def __str__(self) -> str:
        return f"Attempt {self.number} of run #{self.run_id}"


class Transition(models.Model):
    """One state change of a run, written by the same compare-and-set that made it."""

    run = models.ForeignKey(FixRun, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=20, choices=RunState.choices)
    to_state = models.CharField(max_length=20, choices=RunState.choices)
    at = models.DateTimeField(default=timezone.now)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_state} → {self.to_state}"
