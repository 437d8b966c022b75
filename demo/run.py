#!/usr/bin/env python
"""`make demo`: bring bugstack up on the embedded default and show where to look.

With BUGSTACK_DEMO_EXIT=1 it checks that the server and the task cluster came up, then exits
(0 on success, non-zero naming the failing step).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "manage.py")]
DEMO_USER, DEMO_PASSWORD = "demo", "demo-password"


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def fail(stage: str, detail: str) -> None:
    print(f"demo failed at {stage}: {detail}", file=sys.stderr, flush=True)
    sys.exit(1)


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bugstack.settings")
    import django

    django.setup()


def create_demo_project() -> dict:
    """The demo account, its project and a login for the admin; safe to repeat."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from bugstack.models import Account, Membership

    out = io.StringIO()
    call_command("createproject", "Demo shop", "--account", "Demo", stdout=out)
    user, _ = get_user_model().objects.get_or_create(
        username=DEMO_USER, defaults={"is_staff": True, "is_superuser": True}
    )
    user.set_password(DEMO_PASSWORD)
    user.save()
    Membership.objects.get_or_create(
        user=user, account=Account.objects.get(slug="demo"), defaults={"role": Membership.Role.OWNER}
    )
    return json.loads(out.getvalue().strip().splitlines()[-1])


def wait_until_up(base: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            fail("start server", f"the server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:  # noqa: S310 - local URL
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    fail("start server", f"{base}/healthz did not answer within {timeout:.0f} s")


def wait_for_cluster(timeout_ms: int = 30_000) -> None:
    """Queue a trivial task and wait for the cluster to run it: proof that workers are consuming."""
    from django_q.tasks import async_task, result

    task_id = async_task("django.utils.timezone.now")
    if result(task_id, wait=timeout_ms) is None:
        fail("start task cluster", f"a queued task was not run within {timeout_ms // 1000} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--addr", default="127.0.0.1:8000")
    args = parser.parse_args()
    base = f"http://{args.addr}"
    os.environ.setdefault("BUGSTACK_BASE_URL", base)

    step("creating the demo account and project")
    setup_django()
    try:
        project = create_demo_project()
    except Exception as exc:  # noqa: BLE001 - reported as the failing stage
        fail("create project", str(exc))

    step(f"starting the web server and the task cluster on {base}")
    server = subprocess.Popen([*MANAGE, "serve", args.addr], cwd=ROOT)
    try:
        wait_until_up(base, server)
        wait_for_cluster()
        print(
            f"\n  Admin:      {base}/admin/   (login {DEMO_USER} / {DEMO_PASSWORD})\n"
            f"  API docs:   {base}/api/docs/\n"
            f"  DSN:        {project['dsn']}\n",
            flush=True,
        )
        if os.environ.get("BUGSTACK_DEMO_EXIT") == "1":
            step("demo is up; exiting as BUGSTACK_DEMO_EXIT=1 asks")
            return
        step("serving until Ctrl-C")
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
