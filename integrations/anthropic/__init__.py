"""Claude as a fix provider: ``client`` makes the Messages API call, ``prompt`` says what is asked,
``provider`` turns the reply into a ``Proposal``."""

from integrations.anthropic.provider import AnthropicProvider

__all__ = ["AnthropicProvider"]
