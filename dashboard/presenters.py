"""Turn stored runs, attempts and events into the shapes the templates draw."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from pipeline.models import FixRun, Transition
from pipeline.states import FINAL_STATES, RunState

# --- durations ----------------------------------------------------------------------------------------


def format_seconds(seconds: float | None) -> str:
    """A duration people read at a glance: 850 ms, 14 s, 3 min 20 s, 2 h 5 min, 3 d 4 h."""
    if seconds is None:
        return "—"
    seconds = max(seconds, 0.0)
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


# --- run timeline -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    state: str
    label: str
    at: datetime
    offset: float  # seconds since the run was created
    duration: float | None  # time spent in this state; None for a final state
    detail: str
    current: bool


def timeline(run: FixRun, transitions: Iterable[Transition], now: datetime) -> list[Step]:
    """Each state the run went through, with when it began and how long it lasted."""
    transitions = list(transitions)
    entries = [(RunState.QUEUED.value, run.created_at)] + [(t.to_state, t.at) for t in transitions]
    # A transition's detail says how the stage it leaves ended ("CI passed on …"), so it goes with that stage.
    details = [t.detail for t in transitions] + [run.reason if run.state in FINAL_STATES else ""]
    steps = []
    for index, ((state, at), detail) in enumerate(zip(entries, details, strict=True)):
        is_last = index == len(entries) - 1
        if not is_last:
            duration = seconds_between(at, entries[index + 1][1])
        else:
            duration = None if state in FINAL_STATES else seconds_between(at, now)
        steps.append(
            Step(
                state=state,
                label=state_label(state),
                at=at,
                offset=seconds_between(run.created_at, at) or 0.0,
                duration=duration,
                detail=detail,
                current=is_last and state not in FINAL_STATES,
            )
        )
    return steps


def state_label(state: str) -> str:
    try:
        return RunState(state).label
    except ValueError:
        return state.replace("_", " ").capitalize()


# Badge colours by meaning, not by state, so a new state only needs a line here.
STATE_TONES = {
    RunState.MERGED: "good",
    RunState.CI_PASSED: "good",
    RunState.AWAITING_REVIEW: "warn",
    RunState.HELD: "warn",
    RunState.WAITING_FOR_SLOT: "warn",
    RunState.WAITING_FOR_MODEL: "warn",
    RunState.CI_FAILED: "bad",
    RunState.FIX_FAILED: "bad",
    RunState.FAILED: "bad",
    RunState.CLOSED: "muted",
    RunState.OUT_OF_SCOPE: "muted",
}


def state_tone(state: str) -> str:
    return STATE_TONES.get(state, "busy")


# --- context ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContextFile:
    path: str
    reason: str
    size: int | None


def context_files(context: Mapping) -> tuple[list[ContextFile], list[ContextFile]]:
    """The files read for a fix and the ones passed over, each with why (``FixRun.context``)."""
    context = as_dict(context)
    read = [
        ContextFile(text(item.get("path")), text(item.get("reason")), as_int(item.get("bytes")))
        for item in map(as_dict, as_list(context.get("included")))
    ]
    skipped = [
        ContextFile(text(item.get("path")), text(item.get("reason")), None)
        for item in map(as_dict, as_list(context.get("skipped")))
    ]
    return read, skipped


# --- diffs --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "del", "hunk", "context"
    text: str


@dataclass(frozen=True)
class DiffFile:
    path: str
    lines: tuple[DiffLine, ...]
    additions: int
    deletions: int


def parse_diff(diff: str) -> list[DiffFile]:
    """Split a unified diff into files whose lines are marked as added, deleted, hunk header or context."""
    files: list[DiffFile] = []
    path, lines = "", []
    for raw in diff.splitlines():
        if raw.startswith("diff --git "):
            files.append(finish_file(path, lines))
            path, lines = "", []
        elif raw.startswith("+++ "):
            path = strip_prefix(raw[4:]) or path
        elif raw.startswith("--- "):
            path = path or strip_prefix(raw[4:])
        elif raw.startswith(("index ", "new file mode", "deleted file mode", "similarity ", "rename ")):
            continue
        elif raw.startswith("@@"):
            lines.append(DiffLine("hunk", raw))
        elif raw.startswith("+"):
            lines.append(DiffLine("add", raw))
        elif raw.startswith("-"):
            lines.append(DiffLine("del", raw))
        else:
            lines.append(DiffLine("context", raw))
    files.append(finish_file(path, lines))
    return [file for file in files if file.lines]


def strip_prefix(name: str) -> str:
    name = name.split("\t")[0].strip()
    if name == "/dev/null":
        return ""
    return name[2:] if name.startswith(("a/", "b/")) else name


def finish_file(path: str, lines: list[DiffLine]) -> DiffFile:
    return DiffFile(
        path=path or "changes",
        lines=tuple(lines),
        additions=sum(line.kind == "add" for line in lines),
        deletions=sum(line.kind == "del" for line in lines),
    )


# --- events -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceLine:
    number: int | None
    text: str
    is_error_line: bool


@dataclass(frozen=True)
class Frame:
    location: str
    function: str
    lineno: int | None
    colno: int | None
    in_app: bool
    source: tuple[SourceLine, ...]


@dataclass(frozen=True)
class ExceptionView:
    type: str
    value: str
    module: str
    mechanism: str
    frames: tuple[Frame, ...]  # most recent call first, as people read a trace


def exceptions(data: Mapping) -> list[ExceptionView]:
    """The event's exceptions, the one that reached the handler first, each with its frames newest first."""
    values = as_list(as_dict(data.get("exception")).get("values"))
    views = [exception_view(as_dict(value)) for value in values]
    return list(reversed(views))


def exception_view(value: Mapping) -> ExceptionView:
    frames = as_list(as_dict(value.get("stacktrace")).get("frames"))
    mechanism = as_dict(value.get("mechanism"))
    return ExceptionView(
        type=text(value.get("type")) or "Error",
        value=text(value.get("value")),
        module=text(value.get("module")),
        mechanism=text(mechanism.get("type")),
        frames=tuple(frame_view(as_dict(frame)) for frame in reversed(frames)),
    )


def frame_view(frame: Mapping) -> Frame:
    lineno = as_int(frame.get("lineno"))
    pre = [text(line) for line in as_list(frame.get("pre_context"))]
    post = [text(line) for line in as_list(frame.get("post_context"))]
    source: list[SourceLine] = []
    if frame.get("context_line") is not None:
        first = lineno - len(pre) if lineno is not None else None
        numbered = [*pre, text(frame.get("context_line")), *post]
        for offset, line in enumerate(numbered):
            source.append(
                SourceLine(
                    number=first + offset if first is not None else None,
                    text=line,
                    is_error_line=offset == len(pre),
                )
            )
    return Frame(
        location=text(frame.get("filename"))
        or text(frame.get("abs_path"))
        or text(frame.get("module"))
        or "?",
        function=text(frame.get("function")),
        lineno=lineno,
        colno=as_int(frame.get("colno")),
        in_app=bool(frame.get("in_app")),
        source=tuple(source),
    )


def metadata(data: Mapping) -> list[tuple[str, str]]:
    """Where the event came from: release, environment, runtime, SDK — the rows of the metadata table."""
    contexts = as_dict(data.get("contexts"))
    rows = [
        ("Environment", text(data.get("environment"))),
        ("Release", text(data.get("release"))),
        ("Server", text(data.get("server_name"))),
        ("Level", text(data.get("level"))),
        ("Platform", text(data.get("platform"))),
    ]
    for key, name in (("runtime", "Runtime"), ("framework", "Framework"), ("os", "OS")):
        context = as_dict(contexts.get(key))
        rows.append((name, " ".join(filter(None, [text(context.get("name")), text(context.get("version"))]))))
    sdk = as_dict(data.get("sdk"))
    rows.append(("SDK", " ".join(filter(None, [text(sdk.get("name")), text(sdk.get("version"))]))))
    return [(name, value) for name, value in rows if value]


def request_rows(data: Mapping) -> list[tuple[str, str]]:
    request = as_dict(data.get("request"))
    rows = [
        ("Method", text(request.get("method"))),
        ("URL", text(request.get("url"))),
        ("Route", text(request.get("route"))),
        ("Query", text(request.get("query_string"))),
    ]
    rows += [(f"Header {name}", value) for name, value in pairs(request.get("headers"))]
    if request.get("data") not in (None, "", {}, []):
        rows.append(("Body", text(request.get("data"))))
    return [(name, value) for name, value in rows if value]


def tags(data: Mapping) -> list[tuple[str, str]]:
    return pairs(data.get("tags"))


def pairs(raw) -> list[tuple[str, str]]:
    """Key/value rows from an object or, as Sentry SDKs also send tags and headers, a list of pairs."""
    if isinstance(raw, Mapping):
        items = raw.items()
    else:
        items = [item for item in as_list(raw) if isinstance(item, list | tuple) and len(item) == 2]
    return sorted((text(key), text(value)) for key, value in items)


def user_label(data: Mapping) -> str:
    user = as_dict(data.get("user"))
    return text(user.get("id") or user.get("username") or user.get("email") or user.get("ip_address"))


def as_dict(value) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def as_list(value) -> list:
    return value if isinstance(value, list) else []


def as_int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def text(value) -> str:
    """Any stored value as plain text; templates escape it, so nothing in an event becomes markup."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# --- sparklines ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    x: int
    y: float
    height: float
    count: int
    day: str


SPARK_DAYS = 14
SPARK_HEIGHT = 24


def sparkline(counts_by_day: Mapping, today: datetime) -> list[Bar]:
    """One bar per day of the last two weeks, scaled to the busiest day."""
    # Days as the database truncates them: in the current time zone.
    days = [timezone.localdate(today - timedelta(days=offset)) for offset in range(SPARK_DAYS - 1, -1, -1)]
    counts = [counts_by_day.get(day, 0) for day in days]
    peak = max(counts) or 1
    bars = []
    for index, (day, count) in enumerate(zip(days, counts, strict=True)):
        # A day with a single event among thousands still shows as a sliver, never as nothing.
        height = max(count / peak * SPARK_HEIGHT, 1.5) if count else 0.0
        bars.append(Bar(x=index * 5, y=SPARK_HEIGHT - height, height=height, count=count, day=str(day)))
    return bars
