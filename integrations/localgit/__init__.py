"""A git repository on this server as a code host: for the demo and for anyone without GitHub."""

from integrations.localgit.host import LocalGitHost

__all__ = ["LocalGitHost"]
