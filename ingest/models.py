"""Error groups (one per project and fingerprint) and the events batched into them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from bugstack.models import Project


class ErrorGroup(models.Model):
    """Every event with the same fingerprint in a project; created by an atomic upsert at ingest."""

    class Status(models.TextChoices):
        UNRESOLVED = "unresolved", "Unresolved"
        RESOLVED = "resolved", "Resolved"
        FIXED = "fixed", "Resolved by fix"
        IGNORED = "ignored", "Ignored"

    class Category(models.TextChoices):
        CODE = "code", "Code"
        INFRASTRUCTURE = "infrastructure", "Infrastructure"
        CONFIGURATION = "configuration", "Configuration"
        DEPENDENCY = "dependency", "Dependency"
        # The signals disagree or are too weak to tell: a person decides (the project's uncertain policy).
        UNCERTAIN = "uncertain", "Uncertain"

    # No index of its own: the unique (project, fingerprint) constraint leads with it.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="groups", db_index=False)
    fingerprint = models.CharField(max_length=64)
    # Plain integers, not Django's Positive*Fields: those add CHECK (… >= 0) constraints, and PostgreSQL
    # reads every CHECK of a row back from its stored form at each statement that updates the row, i.e. at
    # each digest batch's count. The counts only ever grow; forms still refuse negatives.
    fingerprint_version = models.SmallIntegerField(default=1, validators=[MinValueValidator(0)])

    title = models.CharField(max_length=500)
    culprit = models.CharField(max_length=500, blank=True, help_text="Where it was raised: file in function.")
    exception_type = models.CharField(max_length=200, blank=True)
    platform = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UNRESOLVED)

    # Triage verdict; people may label the group instead (dashboard or admin), and the label then stands.
    category = models.CharField(max_length=16, choices=Category.choices, blank=True)
    triage_reason = models.TextField(blank=True)
    category_overridden = models.BooleanField(default=False)
    # Which of triage's rules decided and how sure it was; for a person's label, 1.0.
    triage_rule = models.CharField(max_length=64, blank=True)
    triage_confidence = models.FloatField(null=True, blank=True)

    times_seen = models.BigIntegerField(default=0, validators=[MinValueValidator(0)])
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    # After a fix is merged: where, and how many events arrived from code that predates it.
    fix_merged_at = models.DateTimeField(null=True, blank=True)
    fix_commit_sha = models.CharField(max_length=64, blank=True)
    seen_after_fix = models.BigIntegerField(default=0, validators=[MinValueValidator(0)])
    fix_verified_at = models.DateTimeField(null=True, blank=True)
    # Distinct releases the group was seen in, oldest first and bounded: tells regressions from old deploys.
    releases = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        ordering = ["-last_seen"]
        # No index on last_seen: every digest batch moves it, and an indexed column changed means an update
        # that is not heap-only, i.e. a new entry in every index of the table per batch. A project's groups
        # are listed by sorting them; the unique constraint below leads with the project.
        constraints = [
            models.UniqueConstraint(fields=["project", "fingerprint"], name="unique_group_fingerprint"),
        ]

    def __str__(self) -> str:
        return self.title


class EventColumns(models.Model):
    """What an event stores besides its group: the columns accept derives (``ingest.normalize.derive``) and
    spools with the payload, which digest stores as they are."""

    event_id = models.UUIDField(default=uuid.uuid4)
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now, help_text="When accept took it.")

    platform = models.CharField(max_length=20, blank=True)
    level = models.CharField(max_length=10, default="error")
    environment = models.CharField(max_length=100, blank=True)
    release = models.CharField(max_length=200, blank=True)
    server_name = models.CharField(max_length=200, blank=True)
    exception_type = models.CharField(max_length=200, blank=True)
    message = models.TextField(blank=True)
    data = models.JSONField(help_text="The normalised, redacted payload.")

    class Meta:
        abstract = True


class Event(EventColumns):
    """One occurrence, stored normalised and redacted."""

    # Every event writes each index: these two are covered by the unique (project, event_id) constraint
    # and the (group, -timestamp) index, which lead with them. Neither has a database constraint: the
    # project is the group's (the group's own foreign key guards it), and a constraint would make every
    # inserted event share-lock the one project row, which concurrent digest workers would contend on;
    # the group is a row the digest batch that inserts the event has locked and counted it in, so a
    # check would only look it up again. Deletes cascade through the ORM.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="events", db_index=False, db_constraint=False
    )
    group = models.ForeignKey(
        ErrorGroup, on_delete=models.CASCADE, related_name="events", db_index=False, db_constraint=False
    )

    class Meta:
        ordering = ["-timestamp"]
        constraints = [
            models.UniqueConstraint(fields=["project", "event_id"], name="unique_event_id"),
        ]
        indexes = [models.Index(fields=["group", "-timestamp"], name="event_group_timestamp")]

    def __str__(self) -> str:
        return f"{self.exception_type}: {self.message[:80]}"


class SpoolFile(models.Model):
    """How far digest has read a file of the spool (``ingest.spool``): moved in the transaction that stores
    what it read, so each event in it is stored exactly once. Deleted with its file."""

    name = models.CharField(max_length=255, unique=True)
    offset = models.BigIntegerField(default=0, help_text="Bytes of the file digested.")
    digested_at = models.DateTimeField(null=True, blank=True, help_text="When digest last read from it.")

    class Meta:
        verbose_name = "spool file"

    def __str__(self) -> str:
        return self.name


class DroppedItems(models.Model):
    """What a project's SDKs sent that is not stored, by kind and reason: envelope items other than events
    (transactions, sessions, attachments…), and what the SDKs' own client reports say they discarded."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="dropped_items")
    category = models.CharField(max_length=64, help_text="The item type, or the client report's category.")
    reason = models.CharField(max_length=64)
    count = models.BigIntegerField(default=0)
    last_seen = models.DateTimeField()

    class Meta:
        verbose_name_plural = "dropped items"
        ordering = ["category", "reason"]
        constraints = [
            models.UniqueConstraint(fields=["project", "category", "reason"], name="unique_dropped_items"),
        ]

    def __str__(self) -> str:
        return f"{self.category} ({self.reason}): {self.count}"


class CategoryChange(models.Model):
    """One person's label on a group: who, when, old category → new category."""

    group = models.ForeignKey(ErrorGroup, on_delete=models.CASCADE, related_name="category_changes")
    # Kept when the person's user is deleted: the record of what changed outlives the account.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    username = models.CharField(max_length=150, help_text="Who, as they were called at the time.")
    at = models.DateTimeField(auto_now_add=True)
    old_category = models.CharField(max_length=16, choices=ErrorGroup.Category.choices, blank=True)
    new_category = models.CharField(max_length=16, choices=ErrorGroup.Category.choices, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["group", "-at"], name="category_change_group_at")]

    def __str__(self) -> str:
        return f"{self.group_id}: {self.old_category or '—'} → {self.new_category or '—'} by {self.username}"
