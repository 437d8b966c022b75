"""Unmodified apps with the official Sentry SDKs, given the project's DSN, report errors that start fixes.

Each test runs a real app in its own process, set up as Sentry's guide for it says: a Flask app with
``sentry-sdk`` and an Express app with ``@sentry/node`` (``tests/ingest/sentry_node/``, whose modules
``make sentry-node`` installs). The test requests the app's failing route and the SDK sends the error to
bugstack at the project's DSN: the live server for the Flask app, bugstack's own web server on the test
database for the Express app (``served_dsn`` says why). The error must make a group with the right title
and in-app frames, and start a fix run exactly as a native event does.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from bugstack.models import Project
from ingest.models import ErrorGroup, Event
from pipeline.models import FixRun
from pipeline.states import RunState
from tests.pipeline import harness
from tests.pipeline.harness import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

DEADLINE = 30
ROOT = Path(__file__).resolve().parents[2]
NODE_APP = Path(__file__).resolve().parent / "sentry_node"

FLASK_APP = textwrap.dedent(
    """\
    import os

    import sentry_sdk
    from flask import Flask
    from sentry_sdk.integrations.flask import FlaskIntegration
    from werkzeug.serving import make_server

    sentry_sdk.init(dsn=os.environ["SENTRY_DSN"], integrations=[FlaskIntegration()])

    app = Flask(__name__)


    def average_price(prices):
        return sum(prices) / len(prices)


    @app.route("/cart")
    def cart():
        return {"average": average_price([])}


    if __name__ == "__main__":
        server = make_server("127.0.0.1", 0, app)
        print(f"listening on {server.port}", flush=True)
        server.serve_forever()
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(argv: list[str], cwd: Path, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Start ``argv`` in its own process group (a server's workers go with it), its output in ``log_path``."""
    with log_path.open("w") as log:
        return subprocess.Popen(  # noqa: S603 - the test's own apps and bugstack's manage.py
            argv,
            cwd=cwd,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def tail(path: Path) -> str:
    return path.read_text()[-8000:] if path.exists() else ""


def get(url: str) -> int:
    """The status of a GET to ``url``."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a server of the test's own
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def live_dsn(live_server, key, settings) -> str:
    """The project's DSN as bugstack shows it, bugstack being the live server."""
    settings.BUGSTACK_BASE_URL = live_server.url
    return key.dsn


@pytest.fixture
def served_dsn(key, settings, tmp_path) -> Iterator[str]:
    """The project's DSN as bugstack shows it, bugstack being its own web server (``manage.py serve``) on
    the test database.

    ``@sentry/node`` streams each envelope with ``Transfer-Encoding: chunked`` and no ``Content-Length``.
    Django's development server, which ``live_server`` is, hands Django an empty body for such a request
    (answered 400, "The envelope is empty"); bugstack's server reads the body whole before Django sees it.
    """
    url = f"http://127.0.0.1:{free_port()}"
    log_path = tmp_path / "bugstack.log"
    env = {
        "DATABASE_URL": harness.test_database_url(),
        "BUGSTACK_BASE_URL": url,
        "BUGSTACK_WEB_WORKERS": "1",
        "BUGSTACK_WEB_THREADS": "2",
    }
    server = start(
        [sys.executable, str(ROOT / "manage.py"), "serve", url.removeprefix("http://"), "--web-only"],
        cwd=ROOT, env=env, log_path=log_path,
    )  # fmt: skip
    try:
        wait_for(lambda: answers_health_check(server, url, log_path), DEADLINE, lambda: tail(log_path))
        settings.BUGSTACK_BASE_URL = url
        yield key.dsn
    finally:
        stop(server)


def answers_health_check(server: subprocess.Popen, url: str, log_path: Path) -> bool:
    if server.poll() is not None:
        raise AssertionError(f"bugstack's server exited with {server.returncode}:\n{tail(log_path)}")
    try:
        return get(f"{url}/healthz") == 200
    except OSError:  # not listening yet
        return False


@dataclass
class App:
    """An app in its own process: the port it listens on, and its output."""

    process: subprocess.Popen
    log_path: Path
    port: int = 0

    def get(self, path: str) -> int:
        return get(f"http://127.0.0.1:{self.port}{path}")

    def log(self) -> str:
        return tail(self.log_path)


@pytest.fixture
def run_app(tmp_path) -> Iterator[Callable[..., App]]:
    """Start an app that reports to ``dsn`` (given in ``SENTRY_DSN``) and prints "listening on <port>"."""
    started: list[App] = []

    def run(argv: list[str], cwd: Path, dsn: str) -> App:
        log_path = tmp_path / f"app-{len(started)}.log"
        app = App(start(argv, cwd, {"SENTRY_DSN": dsn}, log_path), log_path)
        started.append(app)
        app.port = int(wait_for(lambda: listening_port(app), DEADLINE, app.log))
        return app

    yield run
    for app in started:
        stop(app.process)


def listening_port(app: App) -> str | None:
    if app.process.poll() is not None:
        raise AssertionError(f"the app exited with {app.process.returncode}:\n{app.log()}")
    found = re.search(r"listening on (\d+)", app.log())
    return found and found.group(1)


def reported_group(project: Project, *logs: Path) -> ErrorGroup:
    """The group the app's error made, once its run's first stage is queued; else the logs, to see why."""

    def arrived() -> ErrorGroup | None:
        group = ErrorGroup.objects.filter(project=project).first()
        return group if group is not None and queued_stages(group) else None

    def describe() -> str:
        groups = list(ErrorGroup.objects.filter(project=project).values_list("title", flat=True))
        runs = list(FixRun.objects.filter(project=project).values_list("state", flat=True))
        outputs = "".join(f"\n--- {path.name}:\n{tail(path)}" for path in logs)
        return f"groups: {groups}\nruns: {runs}{outputs}"

    return wait_for(arrived, DEADLINE, describe)


def queued_stages(group: ErrorGroup) -> list[tuple[str, tuple]]:
    """The tasks queued for the group's runs: (function, arguments)."""
    run_ids = set(group.runs.values_list("pk", flat=True))
    tasks = [SignedPackage.loads(row.payload) for row in OrmQ.objects.all()]
    return [(task["func"], task["args"]) for task in tasks if task["args"] and task["args"][0] in run_ids]


def assert_the_fix_run_started(group: ErrorGroup) -> None:
    """As for a native event: one queued run, started by the new group's first event, its triage queued."""
    event = Event.objects.get(group=group)
    run = FixRun.objects.get(group=group)
    assert (run.state, run.trigger, run.event) == (RunState.QUEUED, FixRun.Trigger.NEW_GROUP, event)
    assert queued_stages(group) == [("pipeline.tasks.triage", (run.pk,))]


def exception_frames(group: ErrorGroup) -> list[dict]:
    event = Event.objects.get(group=group)
    return event.data["exception"]["values"][-1]["stacktrace"]["frames"]


def in_app_frames(frames: list[dict]) -> list[tuple[str, str]]:
    """(file, function) of the frames the SDK marked in-app, oldest first."""
    return [(frame["filename"], frame["function"]) for frame in frames if frame.get("in_app") is True]


def library_frames(frames: list[dict], directory: str) -> list[dict]:
    """The frames from files under ``directory``; each must have been marked not in-app."""
    found = [frame for frame in frames if directory in (frame.get("abs_path") or frame["filename"])]
    assert all(frame["in_app"] is False for frame in found), found
    return found


def test_a_flask_app_with_sentry_sdk_reports_its_error_as_a_group_with_in_app_frames_and_a_fix_run(
    live_dsn, run_app, tmp_path, project
):
    (tmp_path / "app.py").write_text(FLASK_APP)
    app = run_app([sys.executable, "app.py"], cwd=tmp_path, dsn=live_dsn)

    assert app.get("/cart") == 500
    group = reported_group(project, app.log_path)

    assert group.title == "ZeroDivisionError: division by zero"
    assert (group.platform, group.culprit) == ("python", "app.py in average_price")
    frames = exception_frames(group)
    assert in_app_frames(frames) == [("app.py", "cart"), ("app.py", "average_price")]
    assert frames[-1]["context_line"].strip() == "return sum(prices) / len(prices)"
    assert library_frames(frames, "/site-packages/flask/"), "Flask's own frames are sent, not in-app"
    assert_the_fix_run_started(group)


def test_an_express_app_with_sentry_node_reports_its_error_as_a_group_with_in_app_frames_and_a_fix_run(
    served_dsn, run_app, project, tmp_path
):
    app = run_app(["node", "app.js"], cwd=NODE_APP, dsn=served_dsn)

    assert app.get("/orders/42") == 500
    group = reported_group(project, app.log_path, tmp_path / "bugstack.log")

    app_js = str(NODE_APP / "app.js")
    assert group.title == "TypeError: Cannot read properties of undefined (reading 'id')"
    assert (group.platform, group.culprit) == ("node", f"{app_js} in customerId")
    frames = exception_frames(group)
    assert in_app_frames(frames) == [(app_js, "showOrder"), (app_js, "customerId")]
    assert frames[-1]["context_line"].strip() == "return order.customer.id;"
    assert library_frames(frames, "/node_modules/"), "Express's own frames are sent, not in-app"
    assert_the_fix_run_started(group)
