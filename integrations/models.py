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
