"""Which fix provider a project uses, built with its settings and its account's key.

The project's own choice wins; else the server's (``BUGSTACK_FIX_PROVIDER``); else Claude when a key is set
and the offline rules otherwise. Kept apart from the interface module: the interface never imports the
implementations.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from bugstack.models import Project
from integrations.anthropic import AnthropicProvider
from integrations.errors import IntegrationError, PermanentError
from integrations.models import Credential
from integrations.openai import OpenAIProvider
from integrations.providers import FixProvider
from integrations.rules import RulesProvider

Choice = Project.FixProvider

# How people read a provider's name (``FixAttempt.provider``, ``Proposal.provider``).
LABELS = {
    RulesProvider.name: "Offline rules",
    AnthropicProvider.name: "Anthropic",
    OpenAIProvider.name: "OpenAI-compatible",
}


def provider_for(project: Project) -> FixProvider:
    """The project's fix provider; ``PermanentError`` when it chose Anthropic and no key exists."""
    choice = chosen_provider(project)
    if choice == Choice.RULES:
        return RulesProvider()
    if choice == Choice.OPENAI:
        return openai_provider(project)
    api_key = account_secret(project, Credential.Kind.ANTHROPIC) or settings.ANTHROPIC_API_KEY
    if not api_key:
        raise PermanentError(
            f"Project {project.name} uses Anthropic, but neither its account nor the server has an "
            "Anthropic key. Add one (admin, Credentials) or set ANTHROPIC_API_KEY."
        )
    return AnthropicProvider(api_key=api_key)


def chosen_provider(project: Project) -> str:
    """The project's choice, the server's, or the historical default: Claude when a key is set."""
    if choice := project.fix_provider or settings.BUGSTACK_FIX_PROVIDER:
        return choice
    if account_secret(project, Credential.Kind.ANTHROPIC) or settings.ANTHROPIC_API_KEY:
        return Choice.ANTHROPIC
    return Choice.RULES


def uses_a_model(project: Project) -> bool:
    """True when fixes cost model tokens (spend caps apply); the offline rules cost none."""
    return chosen_provider(project) != Choice.RULES


def openai_provider(project: Project) -> OpenAIProvider:
    """The project's server, model and limits, with the account's key. The server's key goes only to the
    server's own address: a project that names its own address could otherwise collect it."""
    api_key = account_secret(project, Credential.Kind.OPENAI)
    if not api_key and not project.openai_base_url:
        api_key = settings.OPENAI_API_KEY
    return OpenAIProvider(
        api_key=api_key,
        model=project.openai_model or settings.BUGSTACK_OPENAI_MODEL,
        base_url=project.openai_base_url or None,
        timeout=float(project.openai_timeout_seconds),
        max_output_tokens=project.openai_max_output_tokens,
        tool_calls=project.openai_tool_calls,
    )


def account_secret(project: Project, kind: str) -> str:
    credential = Credential.objects.filter(account_id=project.account_id, kind=kind).first()
    return credential.secret if credential else ""


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str


def check_connection(project: Project) -> ConnectionCheck:
    """Ask the project's OpenAI-compatible server a tiny question: its answer, or why it failed."""
    if chosen_provider(project) != Choice.OPENAI:
        return ConnectionCheck(
            False, "Test connection checks an OpenAI-compatible server; this project does not use one."
        )
    provider = openai_provider(project)
    try:
        answer = provider.ping()
    except IntegrationError as error:
        return ConnectionCheck(False, f"{provider.model}: {error}")
    return ConnectionCheck(True, f"{provider.model} answered: {answer or '(an empty answer)'}")
