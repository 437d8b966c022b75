"""``manage.py serve`` as one machine of a scaled-out installation: web workers, task clusters and
digest workers on PostgreSQL and Redis; a child that dies is started again; stopping the server stops
them all."""

from __future__ import annotations

import json
import sys
import urllib.request

import psutil
import pytest
import redis

from tests.ingest.test_sentry_sdk_apps import answers_health_check, free_port, start, stop, tail
from tests.pipeline import harness
from tests.pipeline.harness import wait_for
from tests.reliability.test_crash_stages import BROKER_DB, CACHE_DB, REDIS_URL, ROOT

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

TIMEOUT = 60


def children(pid: int) -> dict[str, list[int]]:
    """The server's ``manage.py`` children by command: ``{"qcluster": [pid, ...], "digest": [...]}``."""
    found: dict[str, list[int]] = {}
    for child in psutil.Process(pid).children():
        try:
            command = child.cmdline()
        except psutil.ZombieProcess:  # died, not yet reaped: not running
            continue
        if len(command) >= 3 and command[1].endswith("manage.py"):
            found.setdefault(command[2], []).append(child.pid)
    return found


def health(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:  # noqa: S310 - our own server
        return json.loads(response.read())


def test_serve_runs_clusters_and_digest_workers_restarts_one_that_dies_and_stops_them_all(tmp_path):
    for db in (BROKER_DB, CACHE_DB):
        redis.Redis.from_url(f"{REDIS_URL}/{db}").flushdb()
    url = f"http://127.0.0.1:{free_port()}"
    env = {
        "DATABASE_URL": harness.test_database_url(),
        "BUGSTACK_BROKER": f"{REDIS_URL}/{BROKER_DB}",
        "CACHE_URL": f"{REDIS_URL}/{CACHE_DB}",
        "BUGSTACK_DIGEST": "loop",
    }
    log = tmp_path / "serve.log"
    address = url.removeprefix("http://")
    argv = [sys.executable, str(ROOT / "manage.py"), "serve", address, "--web-workers", "2",
            "--clusters", "2", "--digest-workers", "2"]  # fmt: skip
    server = start(argv, cwd=ROOT, env=env, log_path=log)
    try:
        wait_for(lambda: answers_health_check(server, url, log), TIMEOUT, lambda: tail(log))
        running = wait_for(
            lambda: (found := children(server.pid)) and len(found.get("digest", [])) == 2 and found,
            TIMEOUT,
            lambda: tail(log),
        )
        assert len(running["qcluster"]) == 2
        assert health(url)["broker"] == {"kind": "redis", "ok": True, "queued": 0, "in_progress": None}

        dead = running["digest"][0]
        psutil.Process(dead).kill()
        again = wait_for(
            lambda: (
                (pids := children(server.pid).get("digest", []))
                and len(pids) == 2
                and dead not in pids
                and pids
            ),
            TIMEOUT,
            lambda: tail(log),
        )
        assert "`digest` exited with -9; starting it again" in tail(log)

        every_child = [psutil.Process(pid) for pid in running["qcluster"] + again]
    finally:
        stop(server)
    gone, alive = psutil.wait_procs(every_child, timeout=TIMEOUT)
    assert not alive, f"still running after the server stopped: {alive}"
