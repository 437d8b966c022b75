"""The event payload in the OpenAPI schema: pydantic's JSON Schema, rewritten for OpenAPI 3.0.

pydantic describes ``str | None`` as ``anyOf: [{type: string}, {type: "null"}]`` (JSON Schema 2020-12),
which OpenAPI 3.0 does not allow; it spells the same thing ``type: string, nullable: true``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.plumbing import ResolvedComponent
from pydantic.json_schema import model_json_schema

NULL = {"type": "null"}


def openapi30(node: Any) -> Any:
    """``node`` with every nullable union in OpenAPI 3.0's form."""
    if isinstance(node, list):
        return [openapi30(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: openapi30(value) for key, value in node.items()}
    options = node.get("anyOf")
    if options and NULL in options:
        rest = [option for option in options if option != NULL]
        del node["anyOf"]
        if len(rest) == 1 and "$ref" in rest[0]:
            node["allOf"] = rest  # a $ref admits no sibling keywords in 3.0
        elif len(rest) == 1:
            node.update(rest[0])
        else:
            node["anyOf"] = rest
        node["nullable"] = True
    return node


class EventPayloadSchema(OpenApiSerializerExtension):
    target_class = "ingest.schema.EventPayload"
    match_subclasses = True
    priority = 1  # ahead of drf-spectacular's generic pydantic extension

    def get_name(self, auto_schema, direction) -> str:
        return self.target.__name__

    def map_serializer(self, auto_schema, direction) -> dict[str, Any]:
        schema = model_json_schema(self.target, ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            component = ResolvedComponent(
                name=name, type=ResolvedComponent.SCHEMA, object=name, schema=openapi30(definition)
            )
            auto_schema.registry.register_on_missing(component)
        return openapi30(schema)
