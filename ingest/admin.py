from django.contrib import admin

from ingest.models import ErrorGroup, Event


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
            {"fields": ["fix_merged_at", "fix_commit_sha", "seen_after_fix", "fix_verified_at"]},
        ),
    ]

    def has_add_permission(self, request):
        return False


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
