from django import forms
from django.contrib import admin

from integrations.models import Credential


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
