#!/usr/bin/env python
"""`make demo`: break a real app, watch bugstack fix it, and see the fixed branch pass the app's tests.

1. Makes a git repository from `demo/shop` (a small Flask shop with its own tests and one real bug) under
   `var/demo/`, and a bugstack project on it (local code host, manual auto-deploy).
2. Starts bugstack (web server and task cluster, on the embedded SQLite default) and the shop with
   bugstack's Python SDK.
3. Sends the shop the request that crashes it, then shows each pipeline stage as it happens: the error
   is captured, grouped, triaged, its files read, a fix proposed (Claude with ANTHROPIC_API_KEY, the offline
   rules otherwise), committed to a fix branch, and the shop's test suite run on that branch.
4. Prints the fix branch, its diff, the CI result and the dashboard URL, then serves until Ctrl-C.

With BUGSTACK_DEMO_EXIT=1 it exits after step 4: 0 on success, 1 naming the stage that failed. With
--openai-fake the fix comes from a local fake of an OpenAI-compatible server (tests/fakes/openai.py), through
the real openai SDK, as it would from vLLM, Ollama or llama.cpp.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOP_SOURCE = ROOT / "demo" / "shop"
DEMO_DIR = ROOT / "var" / "demo"
SHOP_REPO = DEMO_DIR / "shop"
MANAGE = [sys.executable, str(ROOT / "manage.py")]
DEMO_USER, DEMO_PASSWORD = "demo", "demo-password"
CRASHING_PATH = "/products/3"  # the milk frother has no reviews yet: average_rating divides by zero
TIMEOUT = 180
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Demo Shop",
    "GIT_AUTHOR_EMAIL": "shop@example.com",
    "GIT_COMMITTER_NAME": "Demo Shop",
    "GIT_COMMITTER_EMAIL": "shop@example.com",
}


class DemoFailed(Exception):
    def __init__(self, stage: str, detail: str) -> None:
        super().__init__(f"{stage}: {detail}")
        self.stage = stage


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, stage: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DemoFailed(stage, f"the process exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - local URL
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise DemoFailed(stage, f"{url} did not answer within {timeout:.0f} s")


# --- the repository and the project -------------------------------------------------------------------


def make_shop_repository() -> None:
    """A fresh git repository holding the shop, as its developers would have it."""
    shutil.rmtree(SHOP_REPO, ignore_errors=True)
    shutil.copytree(
        SHOP_SOURCE, SHOP_REPO, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.egg-info")
    )
    env = {**os.environ, **GIT_IDENTITY}
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-qm", "The coffee shop"]):
        subprocess.run(["git", "-C", str(SHOP_REPO), *args], check=True, env=env, capture_output=True)


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bugstack.settings")
    import django

    django.setup()


def create_demo_project() -> dict:
    """The demo account, its project on the fresh repository and a login; earlier demo runs are forgotten."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from bugstack.models import Account, Membership, Project
    from integrations.models import LocalPullRequest

    out = io.StringIO()
    test_command = f"{sys.executable} -m pytest -q -p no:cacheprovider"
    call_command(
        "createproject", "Demo shop", "--account", "Demo", "--local-repo", str(SHOP_REPO),
        "--test-command", test_command, "--policy", "manual", stdout=out,
    )  # fmt: skip
    printed = json.loads(out.getvalue().strip().splitlines()[-1])
    project = Project.objects.get(pk=printed["project_id"])
    project.groups.all().delete()
    LocalPullRequest.objects.filter(project=project).delete()
    user, _ = get_user_model().objects.get_or_create(
        username=DEMO_USER, defaults={"is_staff": True, "is_superuser": True}
    )
    user.set_password(DEMO_PASSWORD)
    user.save()
    Membership.objects.get_or_create(
        user=user, account=Account.objects.get(slug="demo"), defaults={"role": Membership.Role.OWNER}
    )
    return printed


# The fix the OpenAI-compatible fake answers with, as a model would propose it for the shop's bug.
FAKE_MODEL_FIX = {
    "root_cause": "average_rating divides by the number of reviews, which is zero for a product without any.",
    "explanation": "Return 0 for a product without reviews instead of dividing by zero.",
    "confidence": 0.9,
    "edits": [
        {
            "path": "shop/catalog.py",
            "search": "    return sum(ratings) / len(ratings)\n",
            "replace": "    if not ratings:\n        return 0\n    return sum(ratings) / len(ratings)\n",
        }
    ],
}


def start_openai_fake(project_id: int):
    """Serve the chat-completions fake on a free port and point the demo project at it."""
    from bugstack.models import Project
    from tests.fakes.openai import FakeOpenAI

    fake = FakeOpenAI().start()
    fake.queue_tool_arguments(FAKE_MODEL_FIX)
    Project.objects.filter(pk=project_id).update(
        fix_provider=Project.FixProvider.OPENAI, openai_base_url=fake.base_url, openai_model="demo-coder"
    )
    return fake


# --- watching the pipeline ----------------------------------------------------------------------------


def crash_the_shop(shop_url: str) -> None:
    try:
        urllib.request.urlopen(f"{shop_url}{CRASHING_PATH}", timeout=10)  # noqa: S310 - local URL
    except urllib.error.HTTPError as error:
        if error.code == 500:
            print(f"    GET {CRASHING_PATH} → 500 Internal Server Error (ZeroDivisionError)", flush=True)
            return
        raise DemoFailed(
            "crash the shop", f"expected a 500 from {CRASHING_PATH}, got {error.code}"
        ) from error
    raise DemoFailed(
        "crash the shop", f"{CRASHING_PATH} did not fail; is the bug already fixed in demo/shop?"
    )


def wait_for_run(project_id: int, started: float):
    from ingest.models import Event
    from pipeline.models import FixRun

    while time.monotonic() - started < TIMEOUT:
        event = Event.objects.filter(project_id=project_id).first()
        if event:
            print(f"    [{time.monotonic() - started:5.1f} s] event received: {event}", flush=True)
            run = FixRun.objects.filter(group_id=event.group_id).first()
            if run:
                return run
        time.sleep(0.2)
    raise DemoFailed("capture", f"no error reached bugstack within {TIMEOUT} s (is the SDK's DSN right?)")


def follow(run, started: float):
    """Print every move of the run until it waits for review or ends."""
    from pipeline.models import FixRun
    from pipeline.states import FINAL_STATES, RunState

    shown = 0
    while time.monotonic() - started < TIMEOUT:
        moves = list(run.transitions.order_by("at", "pk")[shown:])
        for move in moves:
            label = RunState(move.to_state).label
            detail = f"  {move.detail}" if move.detail else ""
            print(f"    [{time.monotonic() - started:5.1f} s] {label:<22}{detail}", flush=True)
        shown += len(moves)
        run = FixRun.objects.get(pk=run.pk)
        settled = run.state == RunState.AWAITING_REVIEW or run.state in FINAL_STATES
        if settled and shown == run.transitions.count():
            return run
        time.sleep(0.2)
    raise DemoFailed(run.state, f"the run did not finish within {TIMEOUT} s")


def report(run, base_url: str) -> None:
    from pipeline.states import RunState

    attempt = run.attempts.order_by("-number").first()
    if run.state != RunState.AWAITING_REVIEW or attempt is None or attempt.ci_state != "success":
        raise DemoFailed(run.state, run.reason or "the fix branch did not pass the shop's tests")
    group_url = f"{base_url}/projects/{run.project.slug}/groups/{run.group_id}/"
    print(
        f"\n  Fix branch:  {run.branch} in {SHOP_REPO} (pull request #{run.pr_number})\n"
        f"  Provider:    {attempt.provider}{f' ({attempt.model})' if attempt.model else ''}, "
        f"confidence {attempt.confidence:.2f}\n"
        f"  Root cause:  {attempt.root_cause}\n"
        f"  Local CI:    `{run.project.test_command}` passed on {run.head_sha[:12]}\n"
        f"\n{indent(attempt.diff)}\n"
        f"  Dashboard:   {group_url}   (login {DEMO_USER} / {DEMO_PASSWORD})\n"
        f"  Admin:       {base_url}/admin/\n"
        f"  Logs:        {DEMO_DIR.relative_to(ROOT)}/bugstack.log, {DEMO_DIR.relative_to(ROOT)}/shop.log\n",
        flush=True,
    )


def log_to(name: str) -> dict:
    log = (DEMO_DIR / name).open("w")
    return {"stdout": log, "stderr": subprocess.STDOUT}


def indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


# --- main ---------------------------------------------------------------------------------------------


def run_demo(addr: str, processes: list[subprocess.Popen], openai_fake: bool = False) -> None:
    base_url = f"http://{addr}"
    os.environ.setdefault("BUGSTACK_BASE_URL", base_url)

    step(f"making a git repository of the demo shop in {SHOP_REPO.relative_to(ROOT)}")
    make_shop_repository()
    setup_django()
    project = create_demo_project()
    provider = "Claude (ANTHROPIC_API_KEY is set)" if os.environ.get("ANTHROPIC_API_KEY") else "offline rules"
    if openai_fake:
        fake = start_openai_fake(project["project_id"])
        provider = f"the OpenAI-compatible fake at {fake.base_url}"
    step(f"project 'Demo shop' created; fixes will come from {provider}")

    step(f"starting bugstack (web server and task cluster) on {base_url}")
    processes.append(subprocess.Popen([*MANAGE, "serve", addr], cwd=ROOT, **log_to("bugstack.log")))
    wait_until_up(f"{base_url}/healthz", processes[-1], "start bugstack")

    shop_port = free_port()
    shop_url = f"http://127.0.0.1:{shop_port}"
    step(f"starting the shop with bugstack-sdk on {shop_url}")
    shop_env = {**os.environ, "BUGSTACK_DSN": project["dsn"], "SHOP_PORT": str(shop_port)}
    processes.append(
        subprocess.Popen([sys.executable, "-m", "shop"], cwd=SHOP_REPO, env=shop_env, **log_to("shop.log"))
    )
    wait_until_up(f"{shop_url}/healthz", processes[-1], "start the shop")

    step(f"breaking the shop: GET {CRASHING_PATH}")
    started = time.monotonic()
    crash_the_shop(shop_url)
    run = follow(wait_for_run(project["project_id"], started), started)
    step(f"fixed in {time.monotonic() - started:.1f} s: the fix branch passes the shop's tests")
    report(run, base_url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--addr", default="127.0.0.1:8000")
    parser.add_argument(
        "--openai-fake", action="store_true", help="take the fix from a local OpenAI-compatible fake"
    )
    args = parser.parse_args()
    processes: list[subprocess.Popen] = []
    try:
        run_demo(args.addr, processes, openai_fake=args.openai_fake)
        if os.environ.get("BUGSTACK_DEMO_EXIT") == "1":
            step("demo succeeded; exiting as BUGSTACK_DEMO_EXIT=1 asks")
            return
        step("serving until Ctrl-C")
        processes[0].wait()
    except DemoFailed as failure:
        print(f"demo failed at {failure}", file=sys.stderr, flush=True)
        sys.exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
