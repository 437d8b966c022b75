"""Secrets per account: tokens for code hosts and webhook secrets, encrypted at rest."""

from django.db import models

from bugstack.fields import EncryptedTextField
from bugstack.models import Account


class Credential(models.Model):
    """A secret that belongs to one account and is used only for that account's projects."""

    class Kind(models.TextChoices):
        GITHUB = "github", "GitHub token"
        GITHUB_WEBHOOK = "github_webhook", "GitHub webhook secret"
        ANTHROPIC = "anthropic", "Anthropic API key"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="credentials")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    secret = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "kind"], name="unique_credential_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.account}"


class LocalPullRequest(models.Model):
    """A pull request on a local git repository: a branch plus this record, numbered per project."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"
        MERGED = "merged", "Merged"

    project = models.ForeignKey(
        "bugstack.Project", on_delete=models.CASCADE, related_name="local_pull_requests"
    )
    number = models.PositiveIntegerField()
    branch = models.CharField(max_length=255)
    base_branch = models.CharField(max_length=200)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    head_sha = models.CharField(max_length=64)
    merge_sha = models.CharField(max_length=64, blank=True)
    labels = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="unique_local_pr_number"),
            models.UniqueConstraint(
                fields=["project", "branch"],
                condition=models.Q(state="open"),
                name="one_open_local_pr_per_branch",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.title}"


class WebhookDelivery(models.Model):
    """A GitHub webhook delivery that passed signature checks; its id makes a replay harmless."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhook_deliveries")
    delivery_id = models.CharField(max_length=100)
    event = models.CharField(max_length=50)
    action = models.CharField(max_length=50, blank=True)
    repository = models.CharField(max_length=200)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "delivery_id"], name="unique_webhook_delivery"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id}"
