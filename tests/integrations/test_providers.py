"""provider_for: Claude when a key exists for the project's account (or the server), rules otherwise."""

from integrations.anthropic import AnthropicProvider
from integrations.models import Credential
from integrations.providers.registry import provider_for
from integrations.rules import RulesProvider
from tests.factories import AccountFactory, CredentialFactory


def test_without_any_key_the_offline_rules_are_used(project, settings):
    settings.ANTHROPIC_API_KEY = ""

    assert isinstance(provider_for(project), RulesProvider)


def test_the_server_key_selects_claude(project, settings):
    settings.ANTHROPIC_API_KEY = "sk-ant-server"
    settings.BUGSTACK_ANTHROPIC_MODEL = "claude-configured"

    provider = provider_for(project)

    assert isinstance(provider, AnthropicProvider)
    assert (provider.api_key, provider.model) == ("sk-ant-server", "claude-configured")


def test_the_accounts_own_key_is_preferred(project, settings):
    settings.ANTHROPIC_API_KEY = "sk-ant-server"
    CredentialFactory(account=project.account, kind=Credential.Kind.ANTHROPIC, secret="sk-ant-acme")

    assert provider_for(project).api_key == "sk-ant-acme"


def test_another_accounts_key_is_never_used(project, settings):
    settings.ANTHROPIC_API_KEY = ""
    CredentialFactory(account=AccountFactory(), kind=Credential.Kind.ANTHROPIC, secret="sk-ant-other")

    assert isinstance(provider_for(project), RulesProvider)
