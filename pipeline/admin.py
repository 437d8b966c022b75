from django.contrib import admin

from bugstack.admin import ReadOnlyAdminMixin
from pipeline.models import FixAttempt, FixRun, Transition


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
