"""The ``propose_fix`` input checked for shape, whichever provider it came from: a ``Proposal``, or
``MalformedProposal`` naming the first bad field so the model can be told once what to correct.

The content (paths, sizes, what the code does) is the patch policy's to judge, not this module's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.providers import Edit, NewFile, Proposal


class MalformedProposal(ValueError):
    """The tool input does not have the proposal's shape; the message names the field."""


def parse_proposal(data: Mapping[str, Any]) -> Proposal:
    """A ``Proposal`` from the tool input, or ``MalformedProposal`` naming the first bad field."""
    confidence = data.get("confidence")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
        raise MalformedProposal("confidence must be a number from 0 to 1")
    return Proposal(
        edits=tuple(Edit(**item) for item in records(data, "edits", ("path", "search", "replace"), True)),
        new_files=tuple(NewFile(**item) for item in records(data, "new_files", ("path", "content"), False)),
        explanation=text_field(data, "explanation"),
        root_cause=text_field(data, "root_cause"),
        confidence=float(confidence),
    )


def text_field(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise MalformedProposal(f"{name} must be a non-empty string")
    return value


def records(
    data: Mapping[str, Any], name: str, fields: tuple[str, ...], required: bool
) -> list[dict[str, str]]:
    items = data.get(name)
    if items is None and not required:
        return []
    if not isinstance(items, list):
        raise MalformedProposal(f"{name} must be a list")
    result = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise MalformedProposal(f"{name}[{index}] must be an object")
        for field in fields:
            if not isinstance(item.get(field), str):
                raise MalformedProposal(f"{name}[{index}].{field} must be a string")
        result.append({field: item[field] for field in fields})
    return result
