"""Time from an error reaching ingest to its pull request being open, through the whole pipeline.

    python bench/time_to_pr.py        # DATABASE_URL=postgres://… to measure on PostgreSQL

Runs the real stack on a fresh database of its own (a new SQLite file, or a new PostgreSQL database when
``DATABASE_URL`` points at PostgreSQL): the ingest API under ``runserver``, a real ``qcluster``, the GitHub
fake and the Anthropic fake answering at once (zero model latency). Twenty distinct errors, each in its own
module of the fake repository, are posted one after another; each is timed from the POST to the moment the
fake holds its pull request. The whole series runs twice: with PyGithub's pacing off (as against the fake),
then with GitHub's production pacing on (0.25 s between requests, 1 s between writes). Prints one JSON line
last: the pacing-off figures under the keys of the budget, the paced ones prefixed ``paced_``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.anthropic import FakeAnthropic  # noqa: E402
from tests.fakes.github import FakeGitHub  # noqa: E402

ERRORS = 20
REPO = "bench/shop"
TOKEN = "ghp_benchToken0000000000000000000000000000"  # noqa: S105 - the fake's token
TIMEOUT = 60


def module(i: int) -> str:
    return f"def average_{i}(items):\n    total = sum(items)\n    return total / len(items)\n"


def event(i: int) -> dict:
    return {
        "platform": "python",
        "exception": {
            "values": [
                {
                    "type": "ZeroDivisionError",
                    "value": "division by zero",
                    "stacktrace": {
                        "frames": [
                            {
                                "filename": f"shop/module_{i}.py",
                                "abs_path": f"/srv/app/shop/module_{i}.py",
                                "function": f"average_{i}",
                                "lineno": 3,
                                "in_app": True,
                                "context_line": "    return total / len(items)",
                            }
                        ]
                    },
                }
            ]
        },
    }


def fix(i: int) -> dict:
    return {
        "root_cause": "Dividing by the length of an empty list.",
        "explanation": "Return 0 for no items.",
        "confidence": 0.9,
        "edits": [
            {
                "path": f"shop/module_{i}.py",
                "search": "    return total / len(items)\n",
                "replace": "    if not items:\n        return 0\n    return total / len(items)\n",
            }
        ],
    }


def fresh_database(name: str) -> str:
    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(configured)
        admin = parts._replace(path="/postgres").geturl()
        for statement in (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'):
            subprocess.run(["psql", admin, "-qc", statement], check=True, capture_output=True)
        return parts._replace(path=f"/{name}").geturl()
    path = ROOT / "var" / f"{name}.sqlite3"
    path.parent.mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def manage(env: dict, *args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, **popen)


def wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):  # noqa: S310 - local
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server at {url} did not come up")


def post(url: str, key: str, payload: dict) -> None:
    request = urllib.request.Request(  # noqa: S310 - local
        f"{url}/api/v1/events/",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 202


def series(pacing: bool, port: int) -> dict:
    """Twenty errors through a fresh stack; the seconds from each POST to its pull request."""
    with ExitStack() as stack:
        github = stack.enter_context(FakeGitHub(tokens={TOKEN: None}))
        anthropic = stack.enter_context(FakeAnthropic())
        github.add_repo(
            REPO, files={f"shop/module_{i}.py": module(i) for i in range(ERRORS)} | {"shop/__init__.py": ""}
        )
        url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DATABASE_URL": fresh_database("bugstack_bench_time_to_pr"),
            "DEBUG": "1",
            "BUGSTACK_BASE_URL": url,
            "BUGSTACK_GITHUB_API_URL": github.base_url,
            "BUGSTACK_GITHUB_PACING": "1" if pacing else "0",
            "ANTHROPIC_API_KEY": "sk-ant-bench",
            "ANTHROPIC_BASE_URL": anthropic.base_url,
            "BENCH_GITHUB_TOKEN": TOKEN,
        }
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        log = stack.enter_context((ROOT / "var" / "bench-time-to-pr.log").open("w"))
        if manage(env, "migrate", "--noinput", **quiet).wait() != 0:
            raise SystemExit("migrate failed")
        created = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "createproject", "Bench shop", "--repo", REPO,
             "--github-token-env", "BENCH_GITHUB_TOKEN"],
            env=env, cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        key = json.loads(created.stdout.strip().splitlines()[-1])["key"]
        # Twenty pull requests stay open at once here; the default cap of five would queue the rest.
        django_shell(
            env, f"from bugstack.models import Project; Project.objects.update(max_open_prs={ERRORS})"
        )
        for args in (["runserver", "--noreload", f"127.0.0.1:{port}"], ["qcluster"]):
            process = manage(env, *args, stdout=log, stderr=subprocess.STDOUT)
            stack.callback(process.wait, 20)
            stack.callback(process.terminate)
        wait_until_up(url)

        seconds = []
        for i in range(ERRORS):
            anthropic.queue_tool_input(fix(i))
            started = time.monotonic()
            post(url, key, event(i))
            while len(github.repo(REPO).pulls) <= i:
                if time.monotonic() - started > TIMEOUT:
                    raise SystemExit(f"error {i}: no pull request after {TIMEOUT} s")
                time.sleep(0.005)
            seconds.append(time.monotonic() - started)
        pulls = github.repo(REPO).pulls
        time.sleep(1)  # let the runs record their moves before counting
        runs = int(django_shell(env, "from pipeline.models import FixRun; print(FixRun.objects.count())"))
    branches = [pull.head for pull in pulls]
    return {
        "p50_s": round(statistics.median(seconds), 3),
        "p95_s": round(statistics.quantiles(seconds, n=20)[-1], 3),
        "runs": runs,
        "prs": len(pulls),
        "duplicates": len(branches) - len(set(branches)),
    }


def django_shell(env: dict, code: str) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", code],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def main() -> None:
    unpaced = series(pacing=False, port=8941)
    print(json.dumps({"pacing": "off", **unpaced}), flush=True)
    paced = series(pacing=True, port=8942)
    print(json.dumps({"pacing": "on", **paced}), flush=True)
    print(json.dumps({**unpaced, **{f"paced_{k}": v for k, v in paced.items()}}))


if __name__ == "__main__":
    main()
