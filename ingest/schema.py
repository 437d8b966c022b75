"""The native event protocol v1 (DESIGN.md, "Event schema") as pydantic models.

Validation only: it says which field is wrong. Shaping the accepted payload (caps, defaults, redaction)
is ``ingest.normalize``. Line and column numbers must be real integers (``"42"`` is refused), since SDKs
that send strings there are sending something else by mistake.

Validation costs time per model, so the exceptions and each one's frames are cut to what is kept of them
before it runs: an event of 20,000 frames is not 20,000 models. What was cut is recorded on the model
(``EventPayload.cut_lists``), and a problem is named at the index it was sent at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StrictBool, StrictInt, ValidationError

Text = Annotated[str, Field(strict=True)]
JSONMap = dict[str, Any]

# What is kept of the protocol's long lists: the exceptions and frames nearest the handler (the last ones).
MAX_EXCEPTIONS = 10
MAX_FRAMES = 100


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
    # A line may be null: SDKs send null for the lines past a file's start or end (sentry-ruby does).
    pre_context: list[Text | None] | None = None
    post_context: list[Text | None] | None = None
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
    modules: dict[str, Text] | None = None  # installed package name → version, as Sentry's SDKs send

    _cut_lists: dict[str, int] = PrivateAttr(default_factory=dict)

    @property
    def cut_lists(self) -> dict[str, int]:
        """The lists cut before validation: each one's dotted path and how many items it was sent with."""
        return self.__pydantic_private__["_cut_lists"]  # the attribute's own lookup costs microseconds


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
    cuts: dict[Location, Cut] = {}
    bounded = bounded_lists(payload, cuts)
    try:
        event = EventPayload.model_validate(bounded)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        raise SchemaError(dotted(sent_location(first["loc"], cuts)), first["msg"]) from None
    event._cut_lists = {dotted(location): cut.sent for location, cut in cuts.items()}
    return event


def dotted(location: Location) -> str:
    return ".".join(str(part) for part in location)


Location = tuple[str | int, ...]


@dataclass(frozen=True)
class Cut:
    """A list cut to its bound: how many items it was sent with, and the sent index of its first kept one."""

    sent: int
    first_kept: int


def bounded_lists(payload: dict[str, Any], cuts: dict[Location, Cut]) -> dict[str, Any]:
    """``payload`` with its exceptions and each one's frames cut to the last of their bounds."""
    exception = payload.get("exception")
    if not isinstance(exception, dict) or not isinstance(exception.get("values"), list):
        return payload
    location: Location = ("exception", "values")
    values = keep_last(exception["values"], MAX_EXCEPTIONS, location, cuts)
    bounded = [bounded_frames(value, (*location, index), cuts) for index, value in enumerate(values)]
    if not cuts:
        return payload
    return {**payload, "exception": {**exception, "values": bounded}}


def bounded_frames(value: Any, location: Location, cuts: dict[Location, Cut]) -> Any:
    stacktrace = value.get("stacktrace") if isinstance(value, dict) else None
    if not isinstance(stacktrace, dict) or not isinstance(stacktrace.get("frames"), list):
        return value
    frames = stacktrace["frames"]
    if len(frames) <= MAX_FRAMES:
        return value
    frames = keep_last(frames, MAX_FRAMES, (*location, "stacktrace", "frames"), cuts)
    return {**value, "stacktrace": {**stacktrace, "frames": frames}}


def keep_last(items: list[Any], bound: int, location: Location, cuts: dict[Location, Cut]) -> list[Any]:
    """The last ``bound`` of ``items``, the cut recorded under ``location``."""
    if len(items) <= bound:
        return items
    cuts[location] = Cut(sent=len(items), first_kept=len(items) - bound)
    return items[-bound:]


def sent_location(location: Location, cuts: dict[Location, Cut]) -> Location:
    """A validation error's location with every index into a cut list turned back into the sent index."""
    parts = list(location)
    for depth in range(1, len(parts)):
        cut = cuts.get(tuple(location[:depth]))
        if cut is not None and isinstance(parts[depth], int):
            parts[depth] += cut.first_kept
    return tuple(parts)
