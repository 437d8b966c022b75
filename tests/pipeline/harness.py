"""End-to-end plumbing: a real qcluster process on the test database, and the fakes it talks to."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection

LOG_DIR = Path(settings.BASE_DIR) / "var" / "test-logs"


def test_database_url() -> str:
    """The URL of the database this test process uses, for a child process to share it."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Cluster:
    """``manage.py qcluster`` in its own process group, so a test can SIGKILL it whole and start it again."""

    def __init__(self, env: dict[str, str], name: str) -> None:
        self.env = {**os.environ, "DATABASE_URL": test_database_url(), **env}
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{name}.log"
        self.log_path.write_text("")
        self.process: subprocess.Popen | None = None

    def start(self) -> Cluster:
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own manage.py
                [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "qcluster"],
                env=self.env,
                cwd=settings.BASE_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def kill(self) -> None:
        """SIGKILL the whole cluster: sentinel, workers, monitor; nothing gets to clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text()[-8000:]


def wait_for(condition: Callable[[], object], timeout: float, describe: Callable[[], str]) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s\n{describe()}")


def post_json(url: str, payload: dict, headers: dict[str, str]) -> tuple[int, dict]:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(  # noqa: S310 - the live test server
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def signed_webhook(url: str, event: str, payload: dict, secret: str, delivery: str) -> int:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(  # noqa: S310 - the live test server
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": signature,
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status
