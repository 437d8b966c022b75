from django import forms
from django.contrib import admin

from bugstack.admin import ReadOnlyAdminMixin
from integrations.models import Credential, LocalCheckRun, LocalPullRequest, ModelSpend, WebhookDelivery


class CredentialForm(forms.ModelForm):
    """The secret is write-only: never rendered back, and left unchanged when the field is empty."""

    secret = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Stored encrypted (AES-256-GCM). Leave empty to keep the current value.",
    )

    class Meta:
        model = Credential
        fields = ["account", "kind", "secret"]

    def clean_secret(self):
        secret = self.cleaned_data["secret"]
        if not secret and not self.instance.pk:
            raise forms.ValidationError("Enter the secret.")
        return secret or self.instance.secret


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    form = CredentialForm
    list_display = ["account", "kind", "created_at", "updated_at"]
    list_filter = ["kind", "account"]
    search_fields = ["account__name"]
    autocomplete_fields = ["account"]


@admin.register(LocalPullRequest)
class LocalPullRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "project", "branch", "state", "head_sha", "created_at"]
    list_filter = ["state", "project"]
    search_fields = ["title", "branch", "head_sha"]


@admin.register(LocalCheckRun)
class LocalCheckRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["sha", "project", "state", "summary", "started_at", "finished_at"]
    list_filter = ["state", "project"]
    search_fields = ["sha", "summary"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["delivery_id", "event", "action", "repository", "account", "received_at"]
    list_filter = ["event", "account"]
    search_fields = ["delivery_id", "repository"]


@admin.register(ModelSpend)
class ModelSpendAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What each project's fix models used per UTC day: the sums its spend caps are checked against."""

    list_display = ["day", "project", "calls", "input_tokens", "output_tokens", "total_tokens", "cost"]
    list_filter = ["project__account", "project"]
    date_hierarchy = "day"
    search_fields = ["project__name"]

    @admin.display(description="Tokens")
    def total_tokens(self, obj):
        return obj.tokens
