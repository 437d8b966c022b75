from django.urls import path

from integrations.webhooks import github_webhook

app_name = "integrations"

urlpatterns = [
    path("github/webhook/", github_webhook, name="github-webhook"),
]
