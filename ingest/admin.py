from django.conf import settings
from django.contrib import admin
from django.template.defaultfilters import filesizeformat

from ingest.digest import backlog_bytes
from ingest.models import DroppedItems, Event, SpoolFile

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


@admin.register(SpoolFile)
class SpoolFileAdmin(admin.ModelAdmin):
    """The spool's files digest has read from, and how far: read-only, with the bytes of events waiting
    against the bound for accept's 429."""

    list_display = ["name", "offset", "digested_at"]
    show_full_result_count = False

    def changelist_view(self, request, extra_context=None):
        limit = settings.BUGSTACK_INGEST_BACKLOG_BYTES
        title = f"Accepted events waiting for digest: {filesizeformat(backlog_bytes())}"
        extra_context = {
            **(extra_context or {}),
            "title": f"{title} (accept answers 429 from {filesizeformat(limit)})",
        }
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DroppedItems)
class DroppedItemsAdmin(admin.ModelAdmin):
    """What SDKs sent that is not stored, by project, kind and reason: read-only."""

    list_display = ["project", "category", "reason", "count", "last_seen"]
    list_filter = ["category"]
    list_select_related = ["project"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
