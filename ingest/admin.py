from django.contrib import admin

from ingest.models import Event

# ``ErrorGroup``'s admin, with its labels' history, is registered by ``pipeline.admin``: its actions start and
# settle fix runs, and ingest does not reach into the pipeline.


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
