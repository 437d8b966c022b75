"""Helpers for the ingest suites: a project key, event payloads and a poster that speaks the protocol."""

from __future__ import annotations

import copy
import gzip
import json
import time
from typing import Any

import pytest
from django.core.cache import cache

from ingest import dropped
from ingest.auth import forget_all_keys
from tests.factories import ProjectKeyFactory

EVENTS_URL = "/api/v1/events/"

PYTHON_EVENT: dict[str, Any] = {
    "timestamp": "2026-11-23T10:00:00Z",
    "platform": "python",
    "level": "error",
    "environment": "production",
    "release": "1.4.0",
    "server_name": "web-1",
    "exception": {
        "values": [
            {
                "type": "ZeroDivisionError",
                "value": "division by zero",
                "mechanism": {"type": "django", "handled": False},
                "stacktrace": {
                    "frames": [
                        {
                            "filename": "django/core/handlers/base.py",
                            "abs_path": "/usr/lib/python3.11/site-packages/django/core/handlers/base.py",
                            "function": "_get_response",
                            "lineno": 197,
                            "in_app": False,
                            "context_line": "response = wrapped_callback(request, *args, **kwargs)",
                        },
                        {
                            "filename": "shop/cart.py",
                            "abs_path": "/srv/shop/shop/cart.py",
                            "function": "average_price",
                            "lineno": 42,
                            "in_app": True,
                            "context_line": "    return total / len(items)",
                            "vars": {"total": "0", "items": "[]"},
                        },
                    ]
                },
            }
        ]
    },
    "request": {"method": "GET", "url": "https://shop.example.com/cart", "headers": {"Accept": "text/html"}},
    "contexts": {"runtime": {"name": "CPython", "version": "3.11.7"}},
    "sdk": {"name": "bugstack.python", "version": "0.1.0"},
    "tags": {"region": "eu"},
}


def python_event(**changes: Any) -> dict[str, Any]:
    """A copy of the sample Python event with top-level fields replaced."""
    event = copy.deepcopy(PYTHON_EVENT)
    event.update(changes)
    return event


def last_exception(event: dict[str, Any]) -> dict[str, Any]:
    return event["exception"]["values"][-1]


@pytest.fixture(autouse=True)
def fresh_cache():
    # Key lookups and rate-limit windows live in the cache, dropped items' counts in the process until
    # written; tests must not see each other's.
    cache.clear()
    forget_all_keys()
    dropped._counts.clear()
    yield
    cache.clear()
    forget_all_keys()
    dropped._counts.clear()


@pytest.fixture
def one_rate_window():
    """Rate limits count in fixed one-minute windows: a test that sends past a limit starts well inside one,
    so that the minute turning between its requests does not give them a fresh window."""
    while time.time() % 60 > 50:
        time.sleep(0.2)


@pytest.fixture
def key(project):
    return ProjectKeyFactory(project=project)


@pytest.fixture
def post_event(client, key):
    """POST an event as JSON with the project key; ``body`` may be raw bytes."""

    def post(event: Any = None, *, body: bytes | None = None, gzipped: bool = False, **headers: str):
        if body is None:
            body = json.dumps(python_event() if event is None else event).encode()
        if gzipped:
            body = gzip.compress(body)
            headers.setdefault("HTTP_CONTENT_ENCODING", "gzip")
        headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {key.public_key}")
        content_type = headers.pop("content_type", "application/json")
        return client.generic("POST", EVENTS_URL, body, content_type=content_type, **headers)

    return post
