"""An app with bugstack's own Go SDK (``sdks/go``), given the project's DSN, reports its errors as groups that
start fixes.

The SDK's example app (``sdks/go/testing/app``, a net/http server in its own module, which uses the SDK
through a ``replace`` directive) is built with ``go build`` and run as a real process with ``BUGSTACK_DSN``
set to the project's DSN at bugstack's own web server on the test database (``served_dsn``). A route that
panics and a route that reports an error it handled must each make a group with the right title, platform
``go``, in-app frames from the app's own file and a fix run started, exactly as for any new group.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.ingest import test_js_sdk_apps, test_sentry_sdk_apps
from tests.ingest.test_js_sdk_apps import group_for, reported_groups
from tests.ingest.test_sentry_sdk_apps import ROOT, App, assert_the_fix_run_started, listening_port, tail
from tests.pipeline.harness import wait_for

pytestmark = pytest.mark.django_db(transaction=True)  # Go comes from `make toolchains`

served_dsn = test_sentry_sdk_apps.served_dsn  # bugstack's own web server on the test database
node_apps = test_js_sdk_apps.node_apps  # starts any program, its output to its own log

DEADLINE = 60
BUILD_DEADLINE = 300  # a first build compiles the standard library's packages the app uses
APP_DIR = ROOT / "sdks" / "go" / "testing" / "app"
APP_FILE = "main.go"
# The module uses the standard library alone: no module proxy is needed, nor may one be asked.
GO_ENV = {"GOPROXY": "off", "GOFLAGS": "-mod=mod"}

# (title, in-app frames as (file, function), oldest first) of the error each route raises.
EXPECTED_GROUPS = [
    (
        "runtime.boundsError: runtime error: index out of range [0] with length 0",
        [(APP_FILE, "showOrder"), (APP_FILE, "orderTotal")],
    ),
    (
        "*fmt.wrapError: charging cart 42: payment declined",
        [(APP_FILE, "checkout"), (APP_FILE, "chargeCard")],
    ),
]


def build_app(tmp_path: Path) -> Path:
    """``go build`` the example app into ``tmp_path``, as its README says to build an app with the SDK."""
    binary = tmp_path / "shop"
    build = subprocess.run(  # noqa: S603 - the Go toolchain on the SDK's own example app
        ["go", "build", "-o", str(binary), "."],  # noqa: S607 - go from PATH, as a developer runs it
        cwd=APP_DIR,
        env={**os.environ, **GO_ENV},
        capture_output=True,
        text=True,
        timeout=BUILD_DEADLINE,
        check=False,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    return binary


def run_app(node_apps: Callable[..., App], binary: Path, dsn: str) -> App:
    app = node_apps([str(binary)], APP_DIR, {"BUGSTACK_DSN": dsn})
    app.port = int(wait_for(lambda: listening_port(app), DEADLINE, app.log))
    return app


def test_the_go_sdks_example_app_reports_a_panic_and_a_handled_error_as_groups_with_in_app_frames_and_runs(
    served_dsn, node_apps, project, tmp_path
):
    app = run_app(node_apps, build_app(tmp_path), served_dsn)

    assert app.get("/orders/7") == 500
    assert app.get("/checkout/42") == 500
    groups = reported_groups(project, len(EXPECTED_GROUPS), app.log_path, tmp_path / "bugstack.log")

    assert len(groups) == len(EXPECTED_GROUPS), [group.title for group in groups]
    for title, frames in EXPECTED_GROUPS:
        group = group_for(groups, title, APP_FILE)
        assert group.platform == "go"
        assert test_sentry_sdk_apps.in_app_frames(test_sentry_sdk_apps.exception_frames(group)) == frames
        assert_the_fix_run_started(group)
    assert "bugstack" not in tail(app.log_path), "the SDK warned about something"
