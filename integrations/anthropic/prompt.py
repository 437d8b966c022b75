"""What Claude is told: the shared instructions and ``propose_fix`` tool (``integrations.providers.prompt``)
in the Messages API's shape, with the stable prefix marked for caching."""

from __future__ import annotations

from integrations.providers.prompt import INSTRUCTIONS, PROPOSAL_SCHEMA, TOOL_DESCRIPTION, TOOL_NAME

TOOL = {"name": TOOL_NAME, "description": TOOL_DESCRIPTION, "input_schema": PROPOSAL_SCHEMA}


def system_blocks() -> list[dict]:
    # The tools and these instructions never change between calls: one cache breakpoint covers both.
    return [{"type": "text", "text": INSTRUCTIONS, "cache_control": {"type": "ephemeral"}}]
