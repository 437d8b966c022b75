"""The dashboard's side of fix providers: a project's provider and caps on its settings page, the "test
connection" button, and which provider and model made each attempt on the run page."""

from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from integrations.providers.spend import record
from pipeline.models import FixAttempt
from tests.factories import FixRunFactory
from tests.fakes.openai import FakeOpenAI

pytestmark = pytest.mark.django_db

PROVIDER = {
    "fix_provider": "openai",
    "openai_base_url": "http://ollama:11434/v1",
    "openai_model": "qwen2.5-coder:32b",
    "openai_tool_calls": "on",
    "openai_timeout_seconds": "120",
    "openai_max_output_tokens": "4096",
    "daily_token_cap": "200000",
    "monthly_token_cap": "",
    "price_per_million_input_tokens": "",
    "price_per_million_output_tokens": "",
    "daily_spend_cap": "",
    "monthly_spend_cap": "",
}


def url(name, project):
    return reverse(name, kwargs={"slug": project.slug})


def page_text(response) -> str:
    return unescape(response.content.decode())


def test_an_owner_points_the_project_at_a_local_server_with_a_daily_cap(client, owner, project):
    client.force_login(owner)

    response = client.post(url("dashboard:provider-settings", project), PROVIDER)

    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.fix_provider, project.openai_base_url, project.openai_model) == (
        "openai",
        "http://ollama:11434/v1",
        "qwen2.5-coder:32b",
    )
    assert (project.openai_timeout_seconds, project.daily_token_cap) == (120, 200_000)
    page = page_text(client.get(url("dashboard:settings", project)))
    assert "Saved: fix provider, server address (base url), model" in page
    assert "OpenAI-compatible server" in page and 'value="qwen2.5-coder:32b"' in page
    changed = project.settings_changes.get(field="fix_provider")
    assert (changed.old_value, changed.new_value) == ("Server default", "OpenAI-compatible server")


def test_a_spend_cap_without_prices_is_refused_saying_why(client, owner, project):
    client.force_login(owner)

    response = client.post(url("dashboard:provider-settings", project), {**PROVIDER, "daily_spend_cap": "5"})

    assert response.status_code == 400
    assert "A spend cap needs a price per million tokens" in page_text(response)
    project.refresh_from_db()
    assert project.daily_spend_cap is None


@pytest.mark.parametrize("address", ["ftp://models.internal/v1", "http://[::1/v1", "localhost:11434"])
def test_a_server_address_must_be_http_or_https_with_a_host(client, owner, project, address):
    client.force_login(owner)

    response = client.post(
        url("dashboard:provider-settings", project), {**PROVIDER, "openai_base_url": address}
    )

    assert response.status_code == 400
    assert "Enter an http:// or https:// address" in page_text(response)


def test_the_page_shows_todays_and_this_months_spend(client, owner, project):
    project.price_per_million_input_tokens = Decimal(2)
    project.save()
    record(project, {"input_tokens": 1500, "output_tokens": 500})
    client.force_login(owner)

    page = page_text(client.get(url("dashboard:settings", project)))

    assert "Spent today: <strong>2000</strong> tokens (0.0030)" in page


def test_a_member_can_neither_change_the_provider_nor_test_the_connection(client, member, project):
    client.force_login(member)

    saved = client.post(url("dashboard:provider-settings", project), PROVIDER)
    tested = client.post(url("dashboard:test-model", project))

    assert (saved.status_code, tested.status_code) == (403, 403)
    project.refresh_from_db()
    assert project.fix_provider == ""


def test_test_connection_shows_the_models_answer_then_its_error(client, owner, project):
    client.force_login(owner)
    with FakeOpenAI() as fake:
        project.fix_provider = "openai"
        project.openai_base_url = fake.base_url
        project.openai_model = "llama3.1:8b"
        project.save()
        fake.queue_text("ready")
        fake.queue_error(404, "model 'llama3.1:8b' not found, try pulling it first")

        answered = page_text(client.post(url("dashboard:test-model", project), follow=True))
        refused = page_text(client.post(url("dashboard:test-model", project), follow=True))

    assert "llama3.1:8b answered: ready" in answered
    assert "model 'llama3.1:8b' not found, try pulling it first" in refused


def test_the_run_page_says_which_provider_and_model_made_each_attempt(client, owner, project):
    run = FixRunFactory(group__project=project)
    FixAttempt.objects.create(run=run, number=1, provider="rules", outcome="rejected")
    FixAttempt.objects.create(
        run=run,
        number=2,
        provider="openai",
        model="qwen2.5-coder:32b",
        usage={"input_tokens": 1200, "cache_read_input_tokens": 300, "output_tokens": 250},
    )
    client.force_login(owner)

    page = page_text(
        client.get(reverse("dashboard:group", kwargs={"slug": project.slug, "group_id": run.group_id}))
    )

    assert "· Offline rules</span>" in page
    assert "· OpenAI-compatible qwen2.5-coder:32b · 1500 tokens in, 250 out" in page
