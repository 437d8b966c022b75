"""An app with bugstack's own Ruby SDK (``sdks/ruby``), given the project's DSN, reports errors that start
fixes.

The SDK's example app (``sdks/ruby/testing/shop.rb``, served by ``testing/server.rb`` with WEBrick and the
SDK's Rack middleware, set up as its README says) runs unmodified as a real ruby process with
``BUGSTACK_DSN`` set to the project's DSN at bugstack's own web server on the test database
(``served_dsn``). Every failing route's error must make a group with the right title, platform ``ruby``,
in-app frames from the app's own file and a fix run started exactly as for any new group.
"""

from __future__ import annotations

import pytest

from tests.ingest import test_sentry_sdk_apps
from tests.ingest.test_js_sdk_apps import group_for, reported_groups
from tests.ingest.test_sentry_sdk_apps import (
    ROOT,
    App,
    assert_the_fix_run_started,
    exception_frames,
    in_app_frames,
    listening_port,
    start,
    stop,
)
from tests.pipeline.harness import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

served_dsn = test_sentry_sdk_apps.served_dsn  # bugstack's own web server on the test database

DEADLINE = 60
SDK_DIR = ROOT / "sdks" / "ruby"
APP_FILE = "shop.rb"  # the app's frames are named relative to its project root, ``testing/``

# (route, title) of every failing route the test requests; the shop answers each with a 500.
FAILING_ROUTES = [
    ("/cart", "ZeroDivisionError: divided by 0"),
    ("/orders/7/pay", "Shop::PaymentError: card declined for order 7"),
    ("/rescued", "IOError: inventory feed closed"),
]


@pytest.fixture
def ruby_app(served_dsn, tmp_path):
    """The example app, started with the project's DSN; stopped afterwards."""
    log_path = tmp_path / "ruby-app.log"
    process = start(["ruby", "-Ilib", "testing/server.rb"], SDK_DIR, {"BUGSTACK_DSN": served_dsn}, log_path)
    app = App(process, log_path)
    try:
        app.port = int(wait_for(lambda: listening_port(app), DEADLINE, app.log))
        yield app
    finally:
        stop(process)


def test_a_rack_app_with_the_ruby_sdk_reports_its_errors_as_groups_with_in_app_frames_and_fix_runs(
    ruby_app, project, tmp_path
):
    assert ruby_app.get("/health") == 200
    for route, _ in FAILING_ROUTES:
        assert ruby_app.get(route) == 500, route
    groups = reported_groups(project, len(FAILING_ROUTES), ruby_app.log_path, tmp_path / "bugstack.log")

    assert len(groups) == len(FAILING_ROUTES), [group.title for group in groups]
    for _, title in FAILING_ROUTES:
        group = group_for(groups, title, APP_FILE)
        assert group.platform == "ruby"
        frames = exception_frames(group)
        assert frames[-1]["in_app"] is True
        assert frames[-1]["filename"] == APP_FILE
        assert all(frame["in_app"] is False for frame in frames if "/gems/" in frame.get("abs_path", ""))
        assert_the_fix_run_started(group)
    cart = group_for(groups, "ZeroDivisionError: divided by 0", APP_FILE)
    assert ("shop.rb", "average_price") in in_app_frames(exception_frames(cart))
