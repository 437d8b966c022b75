"""The fix provider interface (DESIGN.md, "Interfaces"): an error and its code in, a proposed fix out.

Implementations: ``integrations.anthropic.AnthropicProvider`` (Claude), ``integrations.openai.OpenAIProvider``
(any OpenAI-compatible server) and ``integrations.rules.RulesProvider`` (offline, deterministic); which one a
project uses is ``integrations.providers.registry``'s choice. A provider proposes; the policy decides.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class FrameSummary:
    path: str  # repository path when the frame was mapped to one, else the frame's filename
    function: str
    lineno: int | None
    context_line: str = ""
    pre_context: tuple[str, ...] = ()
    post_context: tuple[str, ...] = ()
    in_app: bool = True


@dataclass(frozen=True)
class PreviousAttempt:
    diff: str
    explanation: str
    ci_output: str = ""  # failing checks' names and output, untrusted


@dataclass(frozen=True)
class FixRequest:
    platform: str
    exception_type: str
    message: str  # untrusted: already redacted at ingest
    frames: tuple[FrameSummary, ...]  # oldest first; the last is where the error was raised
    category: str
    triage_reason: str
    files: Mapping[str, str]  # context files, repository path → text
    test_paths: tuple[str, ...] = ()  # existing test files in the repository, for a regression test
    # For the policy, not the prompt: paths known to exist at the base commit (every test-named one at least;
    # None when unknown), and each symlink's target as git stores it.
    repository_paths: tuple[str, ...] | None = None
    symlinks: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    request: Mapping | None = None  # request metadata of the event, untrusted
    previous: PreviousAttempt | None = None
    policy_feedback: tuple[str, ...] = ()  # why the last proposal was refused, when re-asking


@dataclass(frozen=True)
class Edit:
    path: str
    search: str
    replace: str


@dataclass(frozen=True)
class NewFile:
    path: str
    content: str


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


@dataclass(frozen=True)
class Proposal:
    edits: tuple[Edit, ...]
    explanation: str
    root_cause: str
    confidence: float  # self-reported, 0–1
    new_files: tuple[NewFile, ...] = ()
    usage: Usage = field(default_factory=Usage)
    provider: str = ""
    model: str = ""
    prompt: str = ""  # exactly what was sent, for the audit trail
    response: str = ""  # exactly what came back
    certain: bool = False  # a rule whose fix is certain (e.g. a missing import)


class FixProvider(abc.ABC):
    name: str

    @abc.abstractmethod
    def propose(self, request: FixRequest) -> Proposal | None:
        """A proposed fix, or None when the provider declines rather than guess.

        A proposal with neither edits nor new files also declines, keeping the exchange for the audit trail.
        Raises ``integrations.errors.IntegrationError`` when the provider could not be reached or refused.
        """
