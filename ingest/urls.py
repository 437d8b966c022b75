from django.urls import path

from ingest.views import EventIngestView

urlpatterns = [
    path("v1/events/", EventIngestView.as_view(), name="ingest-events"),
]
