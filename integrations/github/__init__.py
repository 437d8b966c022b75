"""GitHub (and GitHub Enterprise) as a code host, through PyGithub."""

from integrations.github.host import GitHubHost

__all__ = ["GitHubHost"]
