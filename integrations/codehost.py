"""The code host interface (DESIGN.md, "Interfaces"): where the repository, pull requests and CI live.

Implementations: ``integrations.github.GitHubHost`` (PyGithub) and ``integrations.localgit.LocalGitHost``
(a git repository on disk). The pipeline talks only to this interface.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from enum import StrEnum


class PRState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"


class CIState(StrEnum):
    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"
    NONE = "none"  # the repository reports no status and no check at all


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    branch: str
    head_sha: str
    state: PRState = PRState.OPEN
    merge_sha: str = ""


@dataclass(frozen=True)
class CIFailure:
    name: str
    summary: str = ""
    text: str = ""
    url: str = ""


@dataclass(frozen=True)
class CIResult:
    state: CIState
    failures: tuple[CIFailure, ...] = field(default_factory=tuple)


class CodeHost(abc.ABC):
    """One repository on one host, seen with one account's credentials."""

    default_branch: str

    @abc.abstractmethod
    def head(self, branch: str) -> str:
        """The commit sha at the tip of ``branch``."""

    @abc.abstractmethod
    def tree(self, sha: str) -> list[str]:
        """Every file path in the repository at ``sha`` (one listing, never a clone)."""

    @abc.abstractmethod
    def symlinks(self, sha: str) -> dict[str, str]:
        """Every symlink (git mode 120000) in the repository at ``sha``: its path → its target as stored."""

    @abc.abstractmethod
    def read(self, path: str, sha: str) -> str:
        """The text of ``path`` at ``sha``; raises ``FileNotFound`` if absent, ``BinaryFile`` if not text."""

    @abc.abstractmethod
    def create_branch(self, name: str, sha: str) -> None:
        """Create ``name`` at ``sha``; an existing branch at any sha is left as it is."""

    @abc.abstractmethod
    def commit(self, branch: str, files: dict[str, str], message: str) -> str:
        """Write all ``files`` to ``branch`` as one commit (atomic) and return its sha."""

    @abc.abstractmethod
    def find_pull_request(self, branch: str) -> PullRequest | None:
        """The pull request whose head is ``branch``, open or not, if there is one."""

    @abc.abstractmethod
    def open_pull_request(self, branch: str, title: str, body: str) -> PullRequest:
        """Open a pull request from ``branch`` into the default branch."""

    @abc.abstractmethod
    def get_pull_request(self, number: int) -> PullRequest:
        """The pull request's current state (people may have merged or closed it)."""

    @abc.abstractmethod
    def label_pull_request(self, pr: PullRequest, label: str) -> None:
        """Add ``label`` to the pull request."""

    @abc.abstractmethod
    def comment_on_pull_request(self, pr: PullRequest, key: str, text: str) -> None:
        """Add ``text`` as a comment on the pull request, once: a comment already marked with ``key`` is not
        added again, so a stage retried after a crash never comments twice."""

    @abc.abstractmethod
    def ci(self, sha: str) -> CIResult:
        """The combined CI verdict for ``sha``."""

    @abc.abstractmethod
    def merge(self, pr: PullRequest, method: str) -> str:
        """Merge the pull request with ``method`` (merge, squash or rebase); return the merge commit sha."""


class FileNotFound(LookupError):
    """The path does not exist at that commit."""


class BinaryFile(ValueError):
    """The file is not text."""


def comment_marker(key: str) -> str:
    """The hidden mark that finds a comment again: an HTML comment, which Markdown does not render."""
    return f"<!-- {key} -->"


def decode_text(data: bytes, path: str) -> str:
    """The file's text; ``BinaryFile`` for content no one should edit as text (NUL bytes or not UTF-8)."""
    if b"\0" in data:
        raise BinaryFile(f"{path} is a binary file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BinaryFile(f"{path} is not UTF-8 text") from error


def host_for_project(project) -> CodeHost:
    """The code host of ``project``, seen only with the credentials of the project's own account."""
    # Imported here: the implementations import this module, and models need the app registry ready.
    from integrations.errors import PermanentError
    from integrations.models import Credential

    if project.code_host == "local":
        from integrations.localgit import LocalGitHost

        if not project.local_repo_path:
            raise PermanentError(
                f"Project {project} uses a local git repository but has no repository path set."
            )
        return LocalGitHost(project.local_repo_path, project=project)

    from integrations.github import GitHubHost

    if not project.repository:
        raise PermanentError(f"Project {project} has no GitHub repository (owner/name) set.")
    credential = Credential.objects.filter(account_id=project.account_id, kind=Credential.Kind.GITHUB).first()
    if credential is None:
        raise PermanentError(
            f"Account {project.account} has no GitHub token: "
            f"add a GitHub credential to reach {project.repository}."
        )
    return GitHubHost(project.repository, credential.secret, default_branch=project.default_branch)
