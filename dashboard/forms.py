"""Forms: the group list's filters, a group's label, a project's policies and its fix provider."""

from __future__ import annotations

from django import forms

from bugstack.models import Project
from ingest.models import ErrorGroup
from pipeline.labels import LABELS
from pipeline.states import RunState


def with_any(label: str, choices) -> list[tuple[str, str]]:
    return [("", label), *choices]


class GroupFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200, strip=True)
    status = forms.ChoiceField(
        label="Status", required=False, choices=with_any("Any status", ErrorGroup.Status.choices)
    )
    category = forms.ChoiceField(
        label="Category", required=False, choices=with_any("Any category", ErrorGroup.Category.choices)
    )
    state = forms.ChoiceField(
        label="Fix run",
        required=False,
        choices=with_any("Any run state", [("none", "No run yet"), *RunState.choices]),
    )


class LabelForm(forms.Form):
    """A person's category for a group, in place of triage's verdict."""

    category = forms.ChoiceField(label="Label as", choices=[(label.value, label.label) for label in LABELS])


class RecordedChangesMixin:
    """Forms on a project whose saved changes go into the settings history."""

    def changes(self) -> list[tuple[str, str, str, str]]:
        """(field, label, old, new) for every field whose value changed, as people would read them."""
        rows = []
        for name in self.changed_data:
            field = Project._meta.get_field(name)
            old = display(field, self.initial.get(name))
            new = display(field, self.cleaned_data.get(name))
            if old != new:
                rows.append((name, str(self.fields[name].label), old, new))
        return rows


class PolicyForm(RecordedChangesMixin, forms.ModelForm):
    """What bugstack may do on its own in a project: uncertain errors, merge policy, retries, limits and
    protected paths."""

    class Meta:
        model = Project
        fields = [
            "uncertain_policy",
            "triage_min_confidence",
            "auto_deploy",
            "confidence_threshold",
            "max_ci_retries",
            "max_open_prs",
            "max_changed_lines",
            "max_file_bytes",
            "max_patch_bytes",
            "dedup_window_seconds",
            "context_max_files",
            "context_max_bytes",
            "protected_paths",
        ]
        labels = {
            "uncertain_policy": "Uncertain errors",
            "triage_min_confidence": "Code verdicts at least this sure",
            "auto_deploy": "Auto-deploy policy",
            "confidence_threshold": "Confidence threshold",
            "max_ci_retries": "CI retries",
            "max_open_prs": "Open pull requests at most",
            "max_changed_lines": "Changed lines per fix at most",
            "max_file_bytes": "Bytes per changed file at most",
            "max_patch_bytes": "Bytes per fix at most",
            "dedup_window_seconds": "Dedup window (seconds)",
            "context_max_files": "Context files at most",
            "context_max_bytes": "Context size at most (bytes)",
            "protected_paths": "Protected paths",
        }
        help_texts = {
            "uncertain_policy": "When triage cannot tell whether an error is the application's to fix: hold "
            "the run until a person tries a fix or labels the error, or try a fix at once.",
            "triage_min_confidence": "Between 0 and 1. A code verdict less sure than this is uncertain "
            "(above): its confidence is how often its rule was right on real errors it was not written from.",
            "auto_deploy": "Whether a fix whose CI passed is merged without a person.",
            "confidence_threshold": "Between 0 and 1; used only by the confidence policy.",
            "max_ci_retries": "New attempts, with the CI output, after a fix fails CI (0–10).",
            "max_open_prs": "Further fixes wait for a slot while this many pull requests are open.",
            "max_changed_lines": "A proposal that changes more lines is refused.",
            "max_file_bytes": "A proposal that adds or changes more bytes in one file is refused.",
            "max_patch_bytes": "A proposal that adds or changes more bytes in all is refused.",
            "dedup_window_seconds": "After an outside failure, a new event starts another run only this long "
            "after the last one.",
            "context_max_files": "Files from the stack trace and their direct imports read for a fix.",
            "context_max_bytes": "Total size of those files.",
            "protected_paths": "Glob patterns, one per line, that a fix may never change.",
        }
        widgets = {
            "uncertain_policy": forms.RadioSelect,
            "auto_deploy": forms.RadioSelect,
            "triage_min_confidence": forms.NumberInput(attrs={"step": "0.05", "min": "0", "max": "1"}),
            "confidence_threshold": forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "1"}),
            "protected_paths": forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        }

    def clean_max_open_prs(self) -> int:
        value = self.cleaned_data["max_open_prs"]
        if value < 1:
            raise forms.ValidationError("At least one pull request must be allowed, or no fix could open.")
        return value

    def clean_context_max_files(self) -> int:
        value = self.cleaned_data["context_max_files"]
        if value < 1:
            raise forms.ValidationError("A fix needs at least the file where the error was raised.")
        return value

    def clean_protected_paths(self) -> str:
        patterns = [
            line.strip() for line in self.cleaned_data["protected_paths"].splitlines() if line.strip()
        ]
        return "\n".join(patterns)


class ProviderForm(RecordedChangesMixin, forms.ModelForm):
    """Where a project's fixes come from, and what its model may spend."""

    class Meta:
        model = Project
        fields = [
            "fix_provider",
            "openai_base_url",
            "openai_model",
            "openai_tool_calls",
            "openai_timeout_seconds",
            "openai_max_output_tokens",
            "daily_token_cap",
            "monthly_token_cap",
            "price_per_million_input_tokens",
            "price_per_million_output_tokens",
            "daily_spend_cap",
            "monthly_spend_cap",
        ]
        labels = {
            "fix_provider": "Fix provider",
            "openai_base_url": "Server address (base URL)",
            "openai_model": "Model",
            "openai_tool_calls": "The model calls tools",
            "openai_timeout_seconds": "Request timeout (seconds)",
            "openai_max_output_tokens": "Output tokens at most",
            "daily_token_cap": "Tokens per day at most",
            "monthly_token_cap": "Tokens per month at most",
            "price_per_million_input_tokens": "Price per million input tokens",
            "price_per_million_output_tokens": "Price per million output tokens",
            "daily_spend_cap": "Spend per day at most",
            "monthly_spend_cap": "Spend per month at most",
        }
        widgets = {
            "fix_provider": forms.RadioSelect,
            "openai_base_url": forms.URLInput(attrs={"placeholder": "http://127.0.0.1:11434/v1"}),
        }

    def clean(self):
        cleaned = super().clean()
        money_caps = (
            cleaned.get("daily_spend_cap") is not None or cleaned.get("monthly_spend_cap") is not None
        )
        priced = cleaned.get("price_per_million_input_tokens") is not None or (
            cleaned.get("price_per_million_output_tokens") is not None
        )
        if money_caps and not priced:
            raise forms.ValidationError("A spend cap needs a price per million tokens to count spend with.")
        return cleaned


def display(field, value) -> str:
    if field.choices:
        return str(dict(field.choices).get(value, value))
    if value is None:
        return ""
    return str(value)
