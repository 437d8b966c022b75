from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from bugstack.health import healthz

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
