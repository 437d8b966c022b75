"""bugstack.ai SDK payloads at ``POST /api/capture``: each runtime's stack string groups, with its frames."""

from __future__ import annotations

import json

import pytest

from ingest.capture import native_capture
from ingest.models import ErrorGroup, Event
from tests.ingest.test_stacktrace_text import GO_PANIC, NODE_ASYNC, PYTHON_CARETS, RUBY_BACKTRACE


def capture_body(message: str, stack: str, language: str, **more) -> dict:
    return {
        "apiKey": "ignored-when-the-header-has-one",
        "error": {
            "message": message,
            "stackTrace": stack,
            "file": "x",
            "function": "y",
            "fingerprint": "f:12",
        },
        "environment": {"language": language, "environment": "production", "hostname": "web-1"},
        "request": {"route": "/orders/:id", "method": "GET"},
        "timestamp": "2026-12-06T10:00:00Z",
        "projectId": "shop",
        "metadata": {"userId": "42"},
        **more,
    }


@pytest.mark.parametrize(
    ("language", "stack", "message", "title", "culprit"),
    [
        ("python", PYTHON_CARETS, "division by zero", "ZeroDivisionError: division by zero", "in ratio"),
        (
            "node",
            NODE_ASYNC,
            "Cannot read properties of undefined (reading 'id')",
            "TypeError: Cannot read properties of undefined (reading 'id')",
            "in Repo.find",
        ),
        (
            "ruby",
            RUBY_BACKTRACE,
            "undefined method 'upcase' for nil",
            "Error: undefined method 'upcase' for nil",
            "in block in full_name",
        ),
        (
            "go",
            GO_PANIC,
            "runtime error: index out of range [5] with length 3",
            "panic: runtime error: index out of range [5] with length 3",
            "in (*Server).handle",
        ),
    ],
)
def test_each_runtimes_payload_becomes_a_group_with_the_frames_of_its_stack(
    client, key, language, stack, message, title, culprit
):
    response = client.post(
        "/api/capture",
        json.dumps(capture_body(message, stack, language)),
        content_type="application/json",
        HTTP_X_BUGSTACK_API_KEY=key.public_key,
    )
    assert response.status_code == 202, response.content
    group = ErrorGroup.objects.get()
    assert group.title == title
    assert group.culprit.endswith(culprit)
    event = Event.objects.get()
    frames = event.data["exception"]["values"][-1]["stacktrace"]["frames"]
    assert len(frames) >= 2
    # Marked by where each file lives: the app's own files in-app, the runtime's (node:, <anonymous>) not.
    assert frames[-1]["in_app"] is True
    assert all(frame["in_app"] is not ("<anonymous>" in frame.get("filename", "")) for frame in frames)
    assert event.environment == "production"
    assert event.data["tags"]["client_fingerprint"] == "f:12"
    assert event.data["request"] == {"method": "GET", "route": "/orders/:id"}


def test_the_sdks_own_fingerprint_does_not_split_a_group():
    one = native_capture(capture_body("division by zero", PYTHON_CARETS, "python"))
    other = native_capture(capture_body("division by zero", PYTHON_CARETS, "python", error={
        "message": "division by zero", "stackTrace": PYTHON_CARETS, "fingerprint": "f:13"
    }))  # fmt: skip
    assert "fingerprint" not in one and "fingerprint" not in other
    assert one["exception"] == other["exception"]


def test_without_a_readable_stack_the_file_and_function_make_the_one_frame():
    native = native_capture(
        {"error": {"message": "boom", "stackTrace": "???", "file": "app/jobs.rb", "function": "run"}}
    )
    assert native["exception"]["values"] == [
        {
            "type": "Error",
            "value": "boom",
            "stacktrace": {"frames": [{"filename": "app/jobs.rb", "function": "run"}]},
        }
    ]


def test_the_key_may_be_in_the_body_and_a_missing_or_unknown_one_is_401(client, key):
    body = capture_body("division by zero", PYTHON_CARETS, "python")
    assert (
        client.post(
            "/api/capture", {**body, "apiKey": key.public_key}, content_type="application/json"
        ).status_code
        == 202
    )
    missing = client.post(
        "/api/capture", {k: v for k, v in body.items() if k != "apiKey"}, content_type="application/json"
    )
    assert missing.status_code == 401
    assert "X-BugStack-API-Key" in missing.json()["detail"]
    unknown = client.post(
        "/api/capture", body, content_type="application/json", HTTP_X_BUGSTACK_API_KEY="f" * 32
    )
    assert unknown.status_code == 401


def test_a_body_that_is_not_an_object_is_400(client, key):
    response = client.post(
        "/api/capture", "[1, 2]", content_type="application/json", HTTP_X_BUGSTACK_API_KEY=key.public_key
    )
    assert response.status_code == 400
    assert "JSON object" in response.json()["detail"]
