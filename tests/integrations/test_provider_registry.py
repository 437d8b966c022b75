"""The provider a project gets: its own choice, else the server's, else Claude with a key and the rules
without; an OpenAI-compatible server with the project's settings, and a connection test against it."""

import pytest

from bugstack.models import Project
from integrations.anthropic import AnthropicProvider
from integrations.errors import PermanentError
from integrations.models import Credential
from integrations.openai import OpenAIProvider
from integrations.providers.registry import check_connection, provider_for
from integrations.rules import RulesProvider
from tests.factories import CredentialFactory
from tests.fakes.openai import FakeOpenAI

Choice = Project.FixProvider


@pytest.fixture
def no_server_keys(settings):
    settings.ANTHROPIC_API_KEY = ""
    settings.OPENAI_API_KEY = ""
    settings.BUGSTACK_FIX_PROVIDER = ""
    return settings


def choose(project: Project, choice: str, **fields) -> Project:
    Project.objects.filter(pk=project.pk).update(fix_provider=choice, **fields)
    project.refresh_from_db()
    return project


def test_an_openai_compatible_project_gets_its_server_model_limits_and_account_key(project, no_server_keys):
    CredentialFactory(account=project.account, kind=Credential.Kind.OPENAI, secret="sk-acme-openai")
    choose(
        project,
        Choice.OPENAI,
        openai_base_url="http://ollama:11434/v1",
        openai_model="qwen2.5-coder:32b",
        openai_timeout_seconds=90,
        openai_max_output_tokens=4096,
        openai_tool_calls=False,
    )

    provider = provider_for(project)

    assert isinstance(provider, OpenAIProvider)
    assert (provider.api_key, provider.model) == ("sk-acme-openai", "qwen2.5-coder:32b")
    assert str(provider.client.base_url) == "http://ollama:11434/v1/"
    assert provider.client.timeout.read == 90 and provider.max_output_tokens == 4096
    assert provider.tool_calls is False


def test_the_servers_openai_key_never_goes_to_an_address_a_project_chose(project, no_server_keys):
    no_server_keys.OPENAI_API_KEY = "sk-server-key-for-openai"
    no_server_keys.BUGSTACK_OPENAI_MODEL = "gpt-server-default"

    on_server_address = provider_for(choose(project, Choice.OPENAI))
    elsewhere = provider_for(choose(project, Choice.OPENAI, openai_base_url="https://collector.example/v1"))

    assert (on_server_address.api_key, on_server_address.model) == (
        "sk-server-key-for-openai",
        "gpt-server-default",
    )
    assert elsewhere.api_key == ""


def test_the_server_default_applies_to_projects_that_do_not_choose(project, no_server_keys):
    no_server_keys.BUGSTACK_FIX_PROVIDER = "openai"

    assert isinstance(provider_for(project), OpenAIProvider)
    assert isinstance(provider_for(choose(project, Choice.RULES)), RulesProvider)


def test_with_no_choice_anywhere_a_key_means_claude_and_no_key_the_rules(project, no_server_keys):
    assert isinstance(provider_for(project), RulesProvider)

    CredentialFactory(account=project.account, kind=Credential.Kind.ANTHROPIC, secret="sk-ant-acme")

    assert isinstance(provider_for(project), AnthropicProvider)


def test_rules_chosen_wins_over_an_anthropic_key(project, no_server_keys):
    no_server_keys.ANTHROPIC_API_KEY = "sk-ant-server"

    assert isinstance(provider_for(choose(project, Choice.RULES)), RulesProvider)


def test_anthropic_chosen_without_any_key_is_a_permanent_error_saying_what_to_do(project, no_server_keys):
    with pytest.raises(PermanentError, match="neither its account nor the server has an Anthropic key"):
        provider_for(choose(project, Choice.ANTHROPIC))


def test_test_connection_shows_the_models_answer_or_the_error(project, no_server_keys):
    with FakeOpenAI() as fake:
        choose(project, Choice.OPENAI, openai_base_url=fake.base_url, openai_model="llama3.1")
        fake.queue_text("ready")
        fake.queue_error(401, "Incorrect API key provided.")

        answered = check_connection(project)
        refused = check_connection(project)

    assert answered.ok and answered.message == "llama3.1 answered: ready"
    assert not refused.ok and "rejected the API key (401: Incorrect API key provided." in refused.message


def test_test_connection_says_when_the_project_uses_no_openai_compatible_server(project, no_server_keys):
    checked = check_connection(project)

    assert not checked.ok and "does not use one" in checked.message


def test_the_admin_action_tests_each_selected_projects_connection(admin_client, project, no_server_keys):
    with FakeOpenAI() as fake:
        choose(project, Choice.OPENAI, openai_base_url=fake.base_url, openai_model="llama3.1")
        fake.queue_text("ready")

        response = admin_client.post(
            "/admin/bugstack/project/",
            {"action": "test_model_connection", "_selected_action": [project.pk]},
            follow=True,
        )

    assert f"{project.name}: llama3.1 answered: ready" in response.content.decode()
