from django.contrib import admin

from dashboard.models import SettingsChange


@admin.register(SettingsChange)
class SettingsChangeAdmin(admin.ModelAdmin):
    """The audit trail is read-only: a record of what changed is never edited after the fact."""

    list_display = ["at", "project", "username", "label", "old_value", "new_value"]
    list_filter = ["project"]
    search_fields = ["username", "label", "project__name"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
