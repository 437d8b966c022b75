from django.conf import settings
from django.contrib import admin

from ingest.digest import backlog
from ingest.models import DroppedItems, Event, IncomingEvent

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


@admin.register(IncomingEvent)
class IncomingEventAdmin(admin.ModelAdmin):
    """Accepted events not digested yet: read-only, and their count against the bound for accept's 429."""

    list_display = ["id", "project", "title", "received_at"]
    list_select_related = ["project"]
    show_full_result_count = False

    def changelist_view(self, request, extra_context=None):
        limit = settings.BUGSTACK_INGEST_BACKLOG_LIMIT
        waiting = backlog(limit)
        title = f"Accepted events waiting for digest: {waiting if waiting <= limit else f'more than {limit}'}"
        extra_context = {**(extra_context or {}), "title": f"{title} (accept answers 429 from {limit})"}
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
