import json
import logging
import platform
from pathlib import Path
from typing import Any

import bugstack_sdk
import pytest
from bugstack_sdk.event import encode_event
from bugstack_sdk.redact import FILTERED

from tests.conftest import TESTS_DIR
from tests.sink import Sink


def load_settings(text: str) -> dict[str, Any]:
    return json.loads(text)


def checkout(cart: dict[str, int]) -> float:
    total = sum(cart.values())
    return total / len(cart)


def capture_checkout_error() -> str | None:
    try:
        checkout({})
    except ZeroDivisionError:
        return bugstack_sdk.capture_exception()
    return None


def frames_of(event: dict[str, Any], index: int = -1) -> list[dict[str, Any]]:
    return event["exception"]["values"][index]["stacktrace"]["frames"]


def test_a_captured_exception_arrives_with_its_stack_and_source(sdk: bugstack_sdk.Client, sink: Sink) -> None:
    event_id = capture_checkout_error()
    assert bugstack_sdk.flush(5)

    [received] = sink.wait_for(1)
    assert received.path == "/api/v1/events/"
    assert received.headers["Authorization"] == "Bearer public-key"
    event = received.body
    assert event["event_id"] == event_id
    [value] = event["exception"]["values"]
    assert (value["type"], value["value"]) == ("ZeroDivisionError", "division by zero")
    assert value["mechanism"] == {"type": "generic", "handled": True}
    raised_at = frames_of(event)[-1]
    assert raised_at["function"] == "checkout"
    assert raised_at["filename"] == "test_capture.py"
    assert raised_at["module"] == "tests.test_capture"
    assert raised_at["in_app"] is True
    assert raised_at["context_line"] == "    return total / len(cart)"
    assert raised_at["pre_context"][-1] == "    total = sum(cart.values())"
    assert raised_at["lineno"] == checkout.__code__.co_firstlineno + 2
    assert [f["function"] for f in frames_of(event)] == ["capture_checkout_error", "checkout"]


def test_library_frames_are_not_in_app(sdk: bugstack_sdk.Client, sink: Sink) -> None:
    try:
        load_settings("{not json")
    except ValueError as exc:
        bugstack_sdk.capture_exception(exc)
    bugstack_sdk.flush(5)
    frames = frames_of(sink.wait_for(1)[0].body)
    assert frames[0]["in_app"] is True
    json_frames = [f for f in frames if f["filename"].startswith("json/")]
    assert json_frames and not any(f["in_app"] for f in json_frames)
    assert frames[-1]["filename"] == "json/decoder.py"


def test_chained_causes_come_first(sdk: bugstack_sdk.Client, sink: Sink) -> None:
    try:
        try:
            load_settings("{")
        except ValueError as exc:
            raise RuntimeError("settings are broken") from exc
    except RuntimeError as exc:
        bugstack_sdk.capture_exception(exc)
    bugstack_sdk.flush(5)
    values = sink.wait_for(1)[0].body["exception"]["values"]
    assert [v["type"] for v in values] == ["JSONDecodeError", "RuntimeError"]
    assert values[0]["module"] == "json.decoder"
    assert values[-1]["value"] == "settings are broken"


def test_events_carry_environment_metadata(sink: Sink) -> None:
    client = bugstack_sdk.init(dsn=sink.dsn, environment="staging", release="9f1c2e7", server_name="web-3")
    try:
        capture_checkout_error()
        client.flush(5)
        event = sink.wait_for(1)[0].body
    finally:
        client.close(0)
    assert (event["environment"], event["release"], event["server_name"]) == ("staging", "9f1c2e7", "web-3")
    assert event["platform"] == "python"
    assert event["contexts"]["runtime"] == {"name": "CPython", "version": platform.python_version()}
    assert event["contexts"]["os"]["name"] == platform.system()
    assert event["sdk"] == {"name": "bugstack.python", "version": bugstack_sdk.__version__}


def test_the_same_error_gets_the_same_client_fingerprint_and_another_error_a_different_one(
    sdk: bugstack_sdk.Client, sink: Sink
) -> None:
    capture_checkout_error()
    capture_checkout_error()
    try:
        load_settings("[")
    except ValueError:
        bugstack_sdk.capture_exception()
    bugstack_sdk.flush(5)
    prints = [r.body["tags"]["client_fingerprint"] for r in sink.wait_for(3)]
    assert prints[0] == prints[1] != prints[2]
    assert len(prints[0]) == 64


def test_secrets_are_redacted_before_leaving_the_process(sdk: bugstack_sdk.Client, sink: Sink) -> None:
    token = "ghp_" + "Z9" * 18
    bugstack_sdk.capture_exception(PermissionError(f"GitHub refused {token}"))
    bugstack_sdk.flush(5)
    [received] = sink.wait_for(1)
    assert received.body["exception"]["values"][0]["value"] == f"GitHub refused {FILTERED}"
    assert token not in json.dumps(received.body)


def test_before_send_can_change_or_drop_events(sink: Sink) -> None:
    def before_send(event: dict[str, Any]) -> dict[str, Any] | None:
        if "ignore me" in event["exception"]["values"][-1]["value"]:
            return None
        event["tags"]["team"] = "payments"
        event["tags"]["session_token"] = "added by the app, still redacted"
        return event

    client = bugstack_sdk.init(dsn=sink.dsn, before_send=before_send)
    try:
        assert bugstack_sdk.capture_exception(ValueError("ignore me")) is None
        assert bugstack_sdk.capture_exception(ValueError("keep me")) is not None
        client.flush(5)
    finally:
        client.close(0)
    [received] = sink.wait_for(1)
    assert received.body["tags"]["team"] == "payments"
    assert received.body["tags"]["session_token"] == FILTERED


def test_a_failing_before_send_drops_the_event_without_raising(
    sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    def before_send(event: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("scrubber bug")

    client = bugstack_sdk.init(dsn=sink.dsn, before_send=before_send)
    try:
        with caplog.at_level(logging.ERROR, logger="bugstack_sdk"):
            assert bugstack_sdk.capture_exception(ValueError("boom")) is None
        client.flush(1)
    finally:
        client.close(0)
    assert "before_send raised; the event was dropped" in caplog.text
    assert sink.received == []


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("broken __str__")


def test_exceptions_that_cannot_be_printed_are_still_reported(sdk: bugstack_sdk.Client, sink: Sink) -> None:
    assert bugstack_sdk.capture_exception(Unprintable()) is not None
    bugstack_sdk.flush(5)
    [value] = sink.wait_for(1)[0].body["exception"]["values"]
    assert (value["type"], value["value"]) == ("Unprintable", "<unprintable Unprintable>")


def test_the_same_exception_object_is_reported_once(sdk: bugstack_sdk.Client, sink: Sink) -> None:
    exc = ValueError("seen twice")
    assert bugstack_sdk.capture_exception(exc) is not None
    assert bugstack_sdk.capture_exception(exc) is None
    bugstack_sdk.flush(5)
    assert len(sink.received) == 1


def test_capture_outside_an_except_block_sends_nothing(sdk: bugstack_sdk.Client, sink: Sink) -> None:
    assert bugstack_sdk.capture_exception() is None


def synthetic_event(frames: int) -> dict[str, Any]:
    def frame(n: int) -> dict[str, Any]:
        return {
            "filename": f"app/f{n}.py" if n % 2 else f"lib/f{n}.py",
            "function": f"f{n}",
            "in_app": bool(n % 2),
            "context_line": "x = 1",
            "pre_context": ["# " + "p" * 200] * 5,
            "post_context": ["# " + "q" * 200] * 5,
        }

    return {
        "exception": {
            "values": [
                {"type": "RecursionError", "stacktrace": {"frames": [frame(n) for n in range(frames)]}}
            ]
        }
    }


def test_an_event_too_big_for_the_server_first_loses_library_source() -> None:
    event = synthetic_event(40)
    full = len(encode_event(synthetic_event(40), limit=10**9))
    frames = json.loads(encode_event(event, limit=full * 2 // 3))["exception"]["values"][0]["stacktrace"][
        "frames"
    ]
    assert len(frames) == 40
    assert all("pre_context" in f for f in frames if f["in_app"])
    assert not any("pre_context" in f for f in frames if not f["in_app"])


def test_an_event_far_too_big_keeps_its_innermost_frames_without_source() -> None:
    encoded = encode_event(synthetic_event(400), limit=2000)
    frames = json.loads(encoded)["exception"]["values"][0]["stacktrace"]["frames"]
    assert [f["function"] for f in frames] == [f"f{n}" for n in range(380, 400)]
    assert all(f["context_line"] == "x = 1" and "pre_context" not in f for f in frames)


INSTALLED_TOOL = """
def run(options):
    return options["verbose"]
"""


def test_a_package_named_in_app_include_is_the_apps_own_wherever_it_is_installed(
    sink: Sink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "lib" / "python3" / "site-packages" / "shoptool"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "cli.py").write_text(INSTALLED_TOOL)
    monkeypatch.syspath_prepend(str(package.parent))
    from shoptool import cli  # noqa: PLC0415 - installed by this test

    def raised_in_the_tool(events: int, **options: object) -> dict[str, Any]:
        bugstack_sdk.init(dsn=sink.dsn, project_root=str(TESTS_DIR), **options)
        try:
            cli.run({})
        except KeyError:
            bugstack_sdk.capture_exception()
        bugstack_sdk.flush(5)
        return frames_of(sink.wait_for(events)[events - 1].body)[-1]

    try:
        default = raised_in_the_tool(1)
        included = raised_in_the_tool(2, in_app_include=["shoptool"])
    finally:
        bugstack_sdk.init(dsn=None, project_root=str(TESTS_DIR)).close(timeout=0)
    assert (default["filename"], default["module"], default["in_app"]) == (
        "shoptool/cli.py",
        "shoptool.cli",
        False,
    )
    assert (included["filename"], included["in_app"]) == ("shoptool/cli.py", True)
