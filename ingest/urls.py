from django.urls import path

from ingest.capture import CaptureView
from ingest.sentry_views import SentryEnvelopeView, SentryStoreView
from ingest.views import EventBatchView, EventIngestView

urlpatterns = [
    path("v1/events/", EventIngestView.as_view(), name="ingest-events"),
    path("v1/events/batch/", EventBatchView.as_view(), name="ingest-events-batch"),
    # Sentry's endpoints, where a Sentry SDK given the project's DSN sends.
    path("<int:project_id>/store/", SentryStoreView.as_view(), name="sentry-store"),
    path("<int:project_id>/envelope/", SentryEnvelopeView.as_view(), name="sentry-envelope"),
    # bugstack.ai's SDKs post to /api/capture, without a trailing slash.
    path("capture", CaptureView.as_view(), name="capture"),
    path("capture/", CaptureView.as_view()),
]
