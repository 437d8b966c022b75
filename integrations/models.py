"""Secrets per account (tokens for code hosts, webhook secrets, model API keys), encrypted at rest; the
local code host's pull requests and CI; what models cost per project and day."""

from decimal import Decimal

from django.db import models

from bugstack.fields import EncryptedTextField
from bugstack.models import Account


class Credential(models.Model):
    """A secret that belongs to one account and is used only for that account's projects."""

    class Kind(models.TextChoices):
        GITHUB = "github", "GitHub token"
        GITHUB_WEBHOOK = "github_webhook", "GitHub webhook secret"
        ANTHROPIC = "anthropic", "Anthropic API key"
        OPENAI = "openai", "OpenAI-compatible API key"

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


class LocalCheckRun(models.Model):
    """The local code host's CI for one commit: the test command's verdict, kept so it runs once."""

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCESS = "success", "Passed"
        FAILURE = "failure", "Failed"

    project = models.ForeignKey("bugstack.Project", on_delete=models.CASCADE, related_name="local_check_runs")
    sha = models.CharField(max_length=64)
    command = models.CharField(max_length=500)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    summary = models.CharField(max_length=500, blank=True)
    output = models.TextField(blank=True, help_text="The last 64 KB of the command's output.")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [models.UniqueConstraint(fields=["project", "sha"], name="unique_local_check_run")]

    def __str__(self) -> str:
        return f"{self.sha[:12]}: {self.state}"


class ModelSpend(models.Model):
    """What one project's fix models used on one UTC day: the sums spend caps are checked against.

    Rows only grow, by atomic increments (``integrations.providers.spend.record``), as attempts' usage is
    recorded.
    """

    project = models.ForeignKey("bugstack.Project", on_delete=models.CASCADE, related_name="model_spend")
    day = models.DateField(help_text="UTC day.")
    calls = models.PositiveIntegerField(default=0, help_text="Fix attempts whose usage was recorded.")
    input_tokens = models.PositiveBigIntegerField(default=0, help_text="Cached prompt tokens included.")
    output_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(
        max_digits=16,
        decimal_places=6,
        default=Decimal(0),
        help_text="At the project's prices when the usage was recorded; 0 while none are set.",
    )

    class Meta:
        ordering = ["-day", "project_id"]
        verbose_name_plural = "model spend"
        constraints = [models.UniqueConstraint(fields=["project", "day"], name="unique_model_spend_day")]

    def __str__(self) -> str:
        return f"{self.project} on {self.day}"

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens
