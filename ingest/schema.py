"""The native event protocol v1 (DESIGN.md, "Event schema") as pydantic models.

Validation only: it says which field is wrong. Shaping the accepted payload (caps, defaults, redaction)
is ``ingest.normalize``. Line and column numbers must be real integers (``"42"`` is refused), since SDKs
that send strings there are sending something else by mistake.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

Text = Annotated[str, Field(strict=True)]
JSONMap = dict[str, Any]


class Frame(BaseModel):
    model_config = ConfigDict(extra="ignore")

    filename: Text | None = None
    abs_path: Text | None = None
    module: Text | None = None
    function: Text | None = None
    lineno: StrictInt | None = None
    colno: StrictInt | None = None
    in_app: StrictBool | None = None
    context_line: Text | None = None
    pre_context: list[Text] | None = None
    post_context: list[Text] | None = None
    vars: JSONMap | None = None


class Stacktrace(BaseModel):
    model_config = ConfigDict(extra="ignore")

    frames: list[Frame] = Field(default_factory=list)


class ExceptionValue(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Text | None = None
    value: Text | None = None
    module: Text | None = None
    mechanism: JSONMap | None = None
    stacktrace: Stacktrace | None = None


class ExceptionList(BaseModel):
    model_config = ConfigDict(extra="ignore")

    values: list[ExceptionValue] = Field(min_length=1)


class Request(BaseModel):
    model_config = ConfigDict(extra="allow")

    method: Text | None = None
    url: Text | None = None
    route: Text | None = None
    query_string: Text | JSONMap | list[Any] | None = None
    headers: JSONMap | list[Any] | None = None
    cookies: Text | JSONMap | None = None
    data: Any = None
    env: JSONMap | None = None


class EventPayload(BaseModel):
    # Unknown top-level fields are kept (bounded) in ``extra`` rather than refused: SDKs evolve.
    model_config = ConfigDict(extra="allow")

    event_id: Text | None = None
    timestamp: Text | StrictInt | float | None = None
    platform: Text | None = None
    level: Text | None = None
    environment: Text | None = None
    release: Text | None = None
    server_name: Text | None = None
    message: Text | JSONMap | None = None
    exception: ExceptionList
    request: Request | None = None
    contexts: JSONMap | None = None
    sdk: JSONMap | None = None
    user: JSONMap | None = None
    fingerprint: list[Text | StrictInt | float] | None = Field(default=None, max_length=32)
    tags: JSONMap | list[Any] | None = None
    extra: JSONMap | None = None


class SchemaError(ValueError):
    """The payload does not follow the protocol; ``field`` is the dotted path of the first problem."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field = field
        self.problem = problem


def validate_payload(payload: Any) -> EventPayload:
    """The payload as an ``EventPayload``, or ``SchemaError`` naming the first wrong field."""
    if not isinstance(payload, dict):
        raise SchemaError("", f"the event must be a JSON object, not {type(payload).__name__}")
    try:
        return EventPayload.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        raise SchemaError(".".join(str(part) for part in first["loc"]), first["msg"]) from None
