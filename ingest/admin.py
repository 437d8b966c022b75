from django.contrib import admin, messages

from ingest.models import ErrorGroup, Event
from pipeline.runs import RunInFlight, start_manual_run


@admin.register(ErrorGroup)
class ErrorGroupAdmin(admin.ModelAdmin):
    list_display = ["title", "project", "category", "status", "times_seen", "first_seen", "last_seen"]
    list_filter = ["status", "category", "platform", "project"]
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
        "releases",
    ]
    fieldsets = [
        (None, {"fields": ["project", "title", "culprit", "exception_type", "platform", "status"]}),
        ("Triage", {"fields": ["category", "triage_reason", "category_overridden"]}),
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
        """A verdict set by staff is kept: triage uses it instead of the classifier from then on."""
        if "category" in form.changed_data:
            obj.category_overridden = bool(obj.category)
            if "triage_reason" not in form.changed_data and obj.category:
                obj.triage_reason = f"{obj.category}: set by {request.user.get_username()}"
        super().save_model(request, obj, form, change)

    @admin.action(description="Start a fix run")
    def start_fix_runs(self, request, queryset):
        for group in queryset:
            try:
                run = start_manual_run(group)
            except RunInFlight as busy:
                self.message_user(request, f"{group}: {busy}", messages.WARNING)
            else:
                self.message_user(request, f"{group}: run #{run.pk} queued.", messages.SUCCESS)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "exception_type", "project", "environment", "release", "timestamp"]
    list_filter = ["platform", "environment", "project"]
    search_fields = ["event_id", "exception_type", "message", "release"]
    list_select_related = ["project"]
    date_hierarchy = "timestamp"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
