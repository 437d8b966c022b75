from django.urls import path, re_path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.projects, name="projects"),
    path("projects/<slug:slug>/", views.groups, name="groups"),
    path("projects/<slug:slug>/groups/<int:group_id>/", views.group_detail, name="group"),
    path("projects/<slug:slug>/groups/<int:group_id>/runs.json", views.group_runs, name="group-runs"),
    path("projects/<slug:slug>/groups/<int:group_id>/start-run/", views.start_fix_run, name="start-run"),
    path("projects/<slug:slug>/groups/<int:group_id>/try-fix/", views.try_fix, name="try-fix"),
    path("projects/<slug:slug>/groups/<int:group_id>/label/", views.relabel_group, name="relabel"),
    re_path(
        r"^projects/(?P<slug>[-\w]+)/groups/(?P<group_id>[0-9]+)/(?P<action>ignore|resolve|reopen)/$",
        views.set_group_status,
        name="group-status",
    ),
    path("projects/<slug:slug>/fixes/", views.fixes, name="fixes"),
    path("projects/<slug:slug>/settings/", views.project_settings, name="settings"),
    path("projects/<slug:slug>/settings/provider/", views.provider_settings, name="provider-settings"),
    path("projects/<slug:slug>/settings/test-model/", views.test_model_connection, name="test-model"),
    path("projects/<slug:slug>/setup/", views.setup, name="setup"),
    path("projects/<slug:slug>/setup/rotate-key/", views.rotate_key, name="rotate-key"),
]
