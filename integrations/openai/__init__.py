"""An OpenAI-compatible server as a fix provider (OpenAI's API, vLLM, Ollama, llama.cpp, gateways):
``client`` makes the chat-completions call, ``provider`` turns the reply into a ``Proposal``. What is asked
is shared with every model provider (``integrations.providers.prompt``)."""

from integrations.openai.provider import OpenAIProvider

__all__ = ["OpenAIProvider"]
