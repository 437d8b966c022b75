from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from bugstack.admin import ReadOnlyAdminMixin
from ingest.models import ErrorGroup
from pipeline.labels import relabel
from pipeline.models import FixAttempt, FixRun, Transition
from pipeline.runs import RunInFlight, start_manual_run

# The group's fields a label sets (``pipeline.labels``), read back before the rest of the form is saved.
LABEL_FIELDS = ["category", "category_overridden", "triage_reason", "triage_rule", "triage_confidence"]
LABEL_HISTORY = 20


class ErrorGroupForm(forms.ModelForm):
    class Meta:
        model = ErrorGroup
        fields = ["status", "category", "triage_reason"]

    def clean_category(self) -> str:
        category = self.cleaned_data["category"]
        if category == ErrorGroup.Category.UNCERTAIN and category != self.instance.category:
            raise forms.ValidationError(
                "Uncertain is triage's own verdict: choose a category, or none to let triage decide."
            )
        return category


@admin.register(ErrorGroup)
class ErrorGroupAdmin(admin.ModelAdmin):
    form = ErrorGroupForm
    list_display = ["title", "project", "category", "status", "times_seen", "first_seen", "last_seen"]
    list_filter = ["status", "category", "category_overridden", "platform", "project"]
    search_fields = ["title", "culprit", "fingerprint", "exception_type"]
    list_select_related = ["project"]
    date_hierarchy = "last_seen"
    readonly_fields = [
        "project",
        "fingerprint",
        "fingerprint_version",
        "title",
        "culprit",
        "exception_type",
        "platform",
        "times_seen",
        "first_seen",
        "last_seen",
        "fix_merged_at",
        "fix_commit_sha",
        "seen_after_fix",
        "fix_verified_at",
        "category_overridden",
        "triage_rule",
        "triage_confidence",
        "label_history",
        "releases",
    ]
    fieldsets = [
        (None, {"fields": ["project", "title", "culprit", "exception_type", "platform", "status"]}),
        (
            "Triage",
            {
                "fields": [
                    "category",
                    "triage_reason",
                    "category_overridden",
                    "triage_rule",
                    "triage_confidence",
                    "label_history",
                ],
                "description": "A category set here is a person's label: triage uses it for every later run, "
                "and a run held for a person goes on (code) or ends out of scope.",
            },
        ),
        (
            "Occurrences",
            {"fields": ["times_seen", "first_seen", "last_seen", "fingerprint", "fingerprint_version"]},
        ),
        (
            "After the fix",
            {"fields": ["fix_merged_at", "fix_commit_sha", "seen_after_fix", "fix_verified_at", "releases"]},
        ),
    ]
    actions = ["start_fix_runs"]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        """A category set by staff is a label, applied and recorded as the dashboard does it.

        Only the fields the form changed are written: digest moves the counts, last seen and releases
        meanwhile, and writing the whole row would put back the values the page was loaded with.
        """
        changed = list(form.changed_data)
        if "category" in changed:
            reason = obj.triage_reason if "triage_reason" in changed else ""
            relabel(obj, obj.category, request.user, reason=reason)
            obj.refresh_from_db(fields=LABEL_FIELDS)
            changed = [name for name in changed if name not in ("category", "triage_reason")]
        if changed:
            obj.save(update_fields=changed)

    @admin.display(description="Labels")
    def label_history(self, obj):
        """Who labelled the group and how, newest first (``CategoryChange``; written only by labels)."""
        changes = obj.category_changes.all()[:LABEL_HISTORY]
        if not changes:
            return "—"
        rows = format_html_join(
            "",
            "<li>{} {}: {} → {}</li>",
            (
                (
                    f"{change.at:%Y-%m-%d %H:%M}",
                    change.username,
                    change.get_old_category_display() or "none",
                    change.get_new_category_display() or "none",
                )
                for change in changes
            ),
        )
        return format_html("<ul>{}</ul>", rows)

    @admin.action(description="Start a fix run")
    def start_fix_runs(self, request, queryset):
        for group in queryset:
            try:
                run = start_manual_run(group)
            except RunInFlight as busy:
                self.message_user(request, f"{group}: {busy}", messages.WARNING)
            else:
                self.message_user(request, f"{group}: run #{run.pk} queued.", messages.SUCCESS)


class TransitionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Transition
    extra = 0
    fields = ["at", "from_state", "to_state", "detail"]
    readonly_fields = fields


class FixAttemptInline(ReadOnlyAdminMixin, admin.StackedInline):
    model = FixAttempt
    extra = 0
    fields = [
        "number",
        "outcome",
        "provider",
        "model",
        "confidence",
        "root_cause",
        "explanation",
        "diff",
        "policy_findings",
        "ci_state",
        "commit_sha",
    ]
    readonly_fields = fields
    show_change_link = True


@admin.register(FixRun)
class FixRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "group", "project", "state", "trigger", "category", "pr_link", "created_at"]
    list_filter = ["state", "trigger", "category", "project"]
    search_fields = ["group__title", "branch", "reason"]
    list_select_related = ["group", "project"]
    date_hierarchy = "created_at"
    inlines = [TransitionInline, FixAttemptInline]

    @admin.display(description="Pull request")
    def pr_link(self, obj):
        return f"#{obj.pr_number}" if obj.pr_number else "—"


@admin.register(FixAttempt)
class FixAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "outcome", "provider", "confidence", "ci_state", "created_at"]
    list_filter = ["outcome", "provider", "ci_state"]
    search_fields = ["root_cause", "explanation"]


@admin.register(Transition)
class TransitionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["run", "from_state", "to_state", "at", "detail"]
    list_filter = ["to_state"]
    search_fields = ["detail"]
