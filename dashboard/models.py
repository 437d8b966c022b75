"""The audit trail of project settings changed from the dashboard."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from bugstack.models import Project


class SettingsChange(models.Model):
    """One setting of one project changed by one person: who, when, old value → new value."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="settings_changes")
    # Kept when the person's user is deleted: the record of what changed outlives the account.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    username = models.CharField(max_length=150, help_text="Who, as they were called at the time.")
    at = models.DateTimeField(auto_now_add=True)
    field = models.CharField(max_length=100)
    label = models.CharField(max_length=200)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["project", "-at"], name="settings_change_project_at")]

    def __str__(self) -> str:
        return f"{self.project}: {self.label} changed by {self.username}"
