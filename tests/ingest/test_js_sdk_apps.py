"""Apps with bugstack's own Node.js SDK (``sdks/javascript``), given the project's DSN, report errors that
start fixes.

The SDK's test apps run unmodified as real node processes: its Express app (``testing/express-app.js``) and
its Next.js app (``testing/next-app``, built with ``next build`` and served by ``next start``), each with
``BUGSTACK_DSN`` set to the project's DSN at bugstack's own web server on the test database
(``served_dsn``). Every failing route's error must make a group with the right title, platform ``node``,
in-app frames from the app's own file and a fix run started exactly as for any new group.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bugstack.models import Project
from ingest.models import ErrorGroup
from tests.ingest import test_sentry_sdk_apps
from tests.ingest.test_sentry_sdk_apps import (
    ROOT,
    App,
    assert_the_fix_run_started,
    exception_frames,
    free_port,
    in_app_frames,
    listening_port,
    queued_stages,
    start,
    stop,
    tail,
)
from tests.pipeline.harness import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

served_dsn = test_sentry_sdk_apps.served_dsn  # bugstack's own web server on the test database

DEADLINE = 60
SDK_DIR = ROOT / "sdks" / "javascript"
TESTING_DIR = SDK_DIR / "testing"
NEXT_APP = TESTING_DIR / "next-app"
NEXT_BIN = SDK_DIR / "node_modules" / "next" / "dist" / "bin" / "next"
NEXT_ENV = {"NEXT_TELEMETRY_DISABLED": "1", "NODE_ENV": "production"}

# Serves the SDK's Express test app as its own tests do, set up as the README says. Run in ``TESTING_DIR``,
# which is then the SDK's project root: the app's frames are named ``express-app.js``.
EXPRESS_SERVER = """
const bugstack = require('..');
const { createApp } = require('./express-app');

bugstack.init(); // reads BUGSTACK_DSN
const server = createApp(bugstack).listen(0, '127.0.0.1', () => {
  console.log(`listening on ${server.address().port}`);
});
"""

EXPRESS_APP_FILE = "express-app.js"
BOOM_ROUTE_FILE = ".next/server/app/api/boom/route.js"
LEGACY_ROUTE_FILE = ".next/server/pages/api/legacy.js"
UNDEFINED_NAME = "TypeError: Cannot read properties of undefined (reading 'name')"

# (title, a file among the group's in-app frames) of every error the test's requests raise.
EXPECTED_GROUPS = [
    (UNDEFINED_NAME, EXPRESS_APP_FILE),
    ("RangeError: order total out of range", EXPRESS_APP_FILE),
    ("RangeError: order 42 total out of range", BOOM_ROUTE_FILE),
    (UNDEFINED_NAME, LEGACY_ROUTE_FILE),
]


@pytest.fixture
def node_apps(tmp_path) -> Iterator[Callable[..., App]]:
    """Start a node process whose output goes to its own log; every one started is stopped afterwards."""
    started: list[App] = []

    def run(argv: list[str], cwd: Path, env: dict[str, str]) -> App:
        log_path = tmp_path / f"node-{len(started)}.log"
        app = App(start(argv, cwd, env, log_path), log_path)
        started.append(app)
        return app

    try:
        yield run
    finally:
        for app in started:
            stop(app.process)


def run_express_app(node_apps: Callable[..., App], dsn: str) -> App:
    app = node_apps(["node", "-e", EXPRESS_SERVER], TESTING_DIR, {"BUGSTACK_DSN": dsn})
    app.port = int(wait_for(lambda: listening_port(app), DEADLINE, app.log))
    return app


def build_next_app(tmp_path: Path) -> None:
    """``next build`` in the app's folder, as the SDK's own tests build it (into its ignored ``.next/``)."""
    log_path = tmp_path / "next-build.log"
    build = start(["node", str(NEXT_BIN), "build"], NEXT_APP, NEXT_ENV, log_path)
    try:
        returncode = build.wait(timeout=DEADLINE)
    finally:
        stop(build)
    assert returncode == 0, tail(log_path)


def run_next_app(node_apps: Callable[..., App], dsn: str) -> App:
    port = free_port()
    argv = ["node", str(NEXT_BIN), "start", "-p", str(port), "-H", "127.0.0.1"]
    app = node_apps(argv, NEXT_APP, {**NEXT_ENV, "BUGSTACK_DSN": dsn})
    wait_for(lambda: says_ready(app), DEADLINE, app.log)
    app.port = port
    return app


def says_ready(app: App) -> bool:
    if app.process.poll() is not None:
        raise AssertionError(f"next start exited with {app.process.returncode}:\n{app.log()}")
    return "Ready in" in app.log()


def reported_groups(project: Project, count: int, *logs: Path) -> list[ErrorGroup]:
    """The ``count`` groups the apps' errors made, once each run's first stage is queued; else the logs."""

    def arrived() -> list[ErrorGroup] | None:
        groups = [group for group in ErrorGroup.objects.filter(project=project) if queued_stages(group)]
        return groups if len(groups) >= count else None

    def describe() -> str:
        titles = list(ErrorGroup.objects.filter(project=project).values_list("title", flat=True))
        outputs = "".join(f"\n--- {path.name}:\n{tail(path)}" for path in logs)
        return f"groups: {titles}{outputs}"

    return wait_for(arrived, DEADLINE, describe)


def group_for(groups: list[ErrorGroup], title: str, app_file: str) -> ErrorGroup:
    """The one group with ``title`` whose in-app frames include one from ``app_file``."""
    found = [
        group
        for group in groups
        if group.title == title
        and app_file in {filename for filename, _ in in_app_frames(exception_frames(group))}
    ]
    assert len(found) == 1, [(group.title, in_app_frames(exception_frames(group))) for group in groups]
    return found[0]


def test_express_and_nextjs_apps_with_the_sdk_report_their_errors_as_groups_with_in_app_frames_and_fix_runs(
    served_dsn, node_apps, project, tmp_path
):
    express = run_express_app(node_apps, served_dsn)
    build_next_app(tmp_path)
    nextjs = run_next_app(node_apps, served_dsn)

    assert express.get("/users/42") == 500
    assert express.get("/orders/7") == 500
    assert nextjs.get("/api/boom") == 500
    assert nextjs.get("/api/legacy") == 500
    groups = reported_groups(
        project, len(EXPECTED_GROUPS), express.log_path, nextjs.log_path, tmp_path / "bugstack.log"
    )

    assert len(groups) == len(EXPECTED_GROUPS), [group.title for group in groups]
    for title, app_file in EXPECTED_GROUPS:
        group = group_for(groups, title, app_file)
        assert group.platform == "node"
        assert_the_fix_run_started(group)
        if app_file == EXPRESS_APP_FILE:  # the installed versions, as the app loaded them
            assert group.events.first().data["modules"]["express"] == installed_version("express")


def installed_version(package: str) -> str:
    return json.loads((SDK_DIR / "node_modules" / package / "package.json").read_text())["version"]
