from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.db import DatabaseError
from django.http import JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from ingest.digest import backlog


def healthz(request):
    """Up, and how many accepted events wait for digest (counted up to the bound where accept says 429).

    The database out of reach is 503: the process is up, but it can accept nothing.
    """
    limit = settings.BUGSTACK_INGEST_BACKLOG_LIMIT
    try:
        waiting = backlog(limit)
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "detail": "the database cannot be reached"}, status=503)
    return JsonResponse({"status": "ok", "ingest": {"backlog": waiting, "backlog_limit": limit}})


admin.site.site_header = "bugstack administration"
admin.site.site_title = "bugstack"

# The events API first: it answers nearly every request, and each pattern before it is tried in turn.
urlpatterns = [
    path("api/", include("ingest.urls")),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("integrations/", include("integrations.urls")),
    path("", include("dashboard.urls")),
]
