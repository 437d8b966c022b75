"""A worker SIGKILLed at each stage of the pipeline, on an installation scaled out as production runs it.

Two web processes (``manage.py serve --web-workers 2``), two task clusters (``qcluster``) and a digest worker
(``manage.py digest``), on PostgreSQL with Redis as the task broker and the cache, against the GitHub and
Anthropic fakes. A burst of one error is posted; the stage under test is held in flight (its call to GitHub or
the model kept open by the fake; triage, which calls out to nothing, waits on a row lock the test holds) and
the cluster doing it is SIGKILLed whole, then started again. Whatever stage dies, the error must end in
exactly one branch, one commit of the fix, one pull request and one merge, and the run in ``merged``.

Run by ``make test-reliability`` (and ``.ci/run``), which needs PostgreSQL (``DATABASE_URL``) and Redis
(``BUGSTACK_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection, connections

from bugstack.models import Project
from ingest.models import ErrorGroup
from pipeline.models import FixRun
from pipeline.states import RunState
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.github import FakeGitHub
from tests.ingest.test_sentry_sdk_apps import answers_health_check, free_port, start, stop, tail
from tests.pipeline import harness, test_end_to_end
from tests.pipeline.harness import Cluster, post_json, signed_webhook, wait_for
from tests.pipeline.test_end_to_end import (
    FIXED_CART,
    GOOD_FIX,
    REPO,
    WEBHOOK_SECRET,
    github_project_key,
    zero_division_event,
)

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

S = RunState
ROOT = Path(settings.BASE_DIR)
REDIS_URL = os.environ.get("BUGSTACK_TEST_REDIS_URL", "redis://127.0.0.1:6379")
BROKER_DB, CACHE_DB = 14, 15
BURST = 60
TIMEOUT = 120
HOLD_SECONDS = 60  # longer than any test waits: a held call ends when its caller is killed, or at teardown


@pytest.fixture(scope="module", autouse=True)
def postgresql_and_redis(django_db_blocker):
    """Fail (not skip) with what to start when the installation under test cannot be built here."""
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            pytest.fail("the reliability tests run on PostgreSQL: set DATABASE_URL=postgres://…")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"the reliability tests need Redis at {REDIS_URL} ({exc}): start redis-server")


github = test_end_to_end.github  # the GitHub fake holding the shop


@pytest.fixture
def anthropic():
    with FakeAnthropic() as fake:
        # Twice: a model call whose caller was killed is answered all the same, and the retry asks again.
        fake.queue_tool_input(GOOD_FIX)
        fake.queue_tool_input(GOOD_FIX)
        yield fake


@pytest.fixture
def key(db):
    return github_project_key(auto_deploy=Project.AutoDeploy.CI_PASS)


@dataclass
class Installation:
    """bugstack's processes on the test database: the web server, the digest worker, two task clusters."""

    url: str
    env: dict[str, str]
    web: subprocess.Popen
    web_log: Path
    digest: Cluster
    clusters: list[Cluster]

    def describe(self) -> str:
        logs = [f"--- web\n{tail(self.web_log)}", f"--- digest\n{self.digest.log()}"]
        logs += [f"--- {cluster.log_path.stem}\n{cluster.log()}" for cluster in self.clusters]
        return "\n".join(logs)

    def cluster_of(self, pid: int) -> Cluster:
        """The cluster whose process group holds ``pid`` (each cluster is a session of its own)."""
        group = os.getpgid(pid)
        for cluster in self.clusters:
            if cluster.process and cluster.process.poll() is None and cluster.process.pid == group:
                return cluster
        raise AssertionError(f"process {pid} belongs to no task cluster\n{self.describe()}")


class Digester(Cluster):
    """``manage.py digest``, in a process group of its own as the clusters are."""

    def start(self) -> Digester:
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own manage.py
                [sys.executable, str(ROOT / "manage.py"), "digest"],
                env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        return self


@pytest.fixture
def installation(request, key, github, anthropic, tmp_path) -> Iterator[Installation]:
    for db in (BROKER_DB, CACHE_DB):
        redis.Redis.from_url(f"{REDIS_URL}/{db}").flushdb()
    url = f"http://127.0.0.1:{free_port()}"
    env = {
        "DATABASE_URL": harness.test_database_url(),
        "BUGSTACK_BROKER": f"{REDIS_URL}/{BROKER_DB}",
        "CACHE_URL": f"{REDIS_URL}/{CACHE_DB}",
        "BUGSTACK_DIGEST": "loop",
        "BUGSTACK_BASE_URL": url,
        "BUGSTACK_GITHUB_API_URL": github.base_url,
        "BUGSTACK_GITHUB_PACING": "0",
        "ANTHROPIC_API_KEY": "sk-ant-reliability-test-key",
        "ANTHROPIC_BASE_URL": anthropic.base_url,
        "BUGSTACK_STAGE_LEASE_SECONDS": "3",
        "BUGSTACK_STUCK_SECONDS": "3",
        "BUGSTACK_TRANSIENT_BACKOFF_SECONDS": "0.1",
        "BUGSTACK_WORKERS": "2",
    }
    web_log = tmp_path / "web.log"
    web = start(
        [sys.executable, str(ROOT / "manage.py"), "serve", url.removeprefix("http://"), "--web-only",
         "--web-workers", "2"],
        cwd=ROOT, env=env, log_path=web_log,
    )  # fmt: skip
    name = request.node.name
    digest = Digester(env, f"{name}-digest").start()
    clusters = [Cluster(env, f"{name}-cluster-{n}") for n in (1, 2)]
    found = Installation(url, env, web, web_log, digest, clusters)
    try:
        wait_for(lambda: answers_health_check(web, url, web_log), 60, found.describe)
        yield found
    finally:
        for process in (*clusters, digest):
            process.stop()
        stop(web)
        connections.close_all()


def post_burst(installation: Installation, key) -> None:
    """``BURST`` events of one error, sent to the web processes as an SDK would."""
    for _ in range(BURST):
        event = {**zero_division_event(), "event_id": uuid.uuid4().hex}
        status, body = post_json(
            f"{installation.url}/api/v1/events/", event, {"Authorization": f"Bearer {key.public_key}"}
        )
        assert status == 202, body


def the_run(key) -> FixRun | None:
    return FixRun.objects.filter(project=key.project).order_by("pk").last()


def describe_run(key, installation: Installation) -> Callable[[], str]:
    def describe() -> str:
        run = the_run(key)
        moves = list(run.transitions.values_list("from_state", "to_state", "detail")) if run else []
        return f"run: {run and run.state} {run and run.reason}\nmoves: {moves}\n{installation.describe()}"

    return describe


def client_pid(port: int) -> int:
    """The process on this machine whose TCP connection has local port ``port``."""
    for conn in psutil.net_connections(kind="tcp"):
        if conn.laddr and conn.laddr.port == port and conn.pid:
            return conn.pid
    raise AssertionError(f"no process holds a connection from port {port}")


# --- holding a stage in flight ------------------------------------------------------------------------------


@contextlib.contextmanager
def group_row_locked(group_id: int) -> Iterator[Callable[[], int | None]]:
    """Lock the group's row from a connection of the test's own (triage writes its verdict on it); yields a
    look-up of the client port of a backend waiting for that lock."""
    with psycopg.connect(harness.test_database_url()) as holder:
        holder.execute("SELECT 1 FROM ingest_errorgroup WHERE id = %s FOR UPDATE", [group_id])
        own = holder.info.backend_pid

        def waiting_client_port() -> int | None:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT client_port FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND %s = ANY(pg_blocking_pids(pid))",
                    [own],
                )
                row = cursor.fetchone()
            return row and row[0]

        yield waiting_client_port
        holder.rollback()


@dataclass(frozen=True)
class Stage:
    name: str
    state: str  # the run's state while the stage is in flight
    fake: str  # "github" or "anthropic"; "" for triage (held on the group's row)
    method: str = ""
    path: str = ""


STAGES = [
    Stage("triage", S.TRIAGING, ""),
    Stage("context", S.BUILDING_CONTEXT, "github", "GET", "/contents/"),
    Stage("fix", S.GENERATING_FIX, "anthropic", "POST", "/v1/messages"),
    Stage("pr_open", S.OPENING_PR, "github", "POST", "/pulls"),
    Stage("ci_wait", S.AWAITING_CI, "github", "GET", "/status"),
    Stage("merge", S.CI_PASSED, "github", "PUT", "/merge"),
]


class CI:
    """Reports CI passed, once, on the head of the run's pull request once the run waits for CI, as GitHub
    does with a signed webhook; ``armed`` says whether it may yet."""

    def __init__(self, installation: Installation, github: FakeGitHub, key) -> None:
        self.installation, self.github, self.key = installation, github, key
        self.armed = True
        self.reported: set[str] = set()

    def tick(self) -> None:
        run = the_run(self.key)
        if not (self.armed and run and run.state == S.AWAITING_CI and run.head_sha):
            return
        if run.head_sha in self.reported:
            return
        self.reported.add(run.head_sha)
        self.github.set_status(REPO, run.head_sha, "success", context="ci/tests")
        payload = {
            "sha": run.head_sha, "state": "success", "context": "ci/tests", "repository": {"full_name": REPO},
        }  # fmt: skip
        status = signed_webhook(
            f"{self.installation.url}/integrations/github/webhook/",
            "status",
            payload,
            WEBHOOK_SECRET,
            f"ci-{uuid.uuid4().hex}",
        )
        assert status in (200, 202, 204), status


def kill_while_held(stage: Stage, installation: Installation, key, fake, ci: CI, describe) -> Cluster:
    """Start the clusters with the stage held in flight, SIGKILL the cluster doing it, start it again."""
    if not stage.fake:
        # The burst digested first: the digest worker must not be the one waiting for the row.
        group = wait_for(
            lambda: ErrorGroup.objects.filter(project=key.project, times_seen=BURST).first(),
            TIMEOUT,
            describe,
        )
        with group_row_locked(group.id) as waiting_client_port:
            for cluster in installation.clusters:
                cluster.start()
            port = wait_for(waiting_client_port, TIMEOUT, describe)
            victim = installation.cluster_of(client_pid(port))
            assert the_run(key).state == stage.state, describe()
            victim.kill()
        victim.start()
        return victim
    route = f"{stage.method} {stage.path}"
    rule = fake.hold(route, seconds=HOLD_SECONDS)
    for cluster in installation.clusters:
        cluster.start()
    wait_for(lambda: ci.tick() or rule.arrived.is_set(), TIMEOUT, describe)
    (client,) = rule.clients
    victim = installation.cluster_of(client_pid(client[1]))
    assert the_run(key).state == stage.state, describe()
    victim.kill()
    # What the killed worker asked for now happens, its answer lost: a retry must not do it twice.
    fake.release(route)
    victim.start()
    return victim


@pytest.mark.parametrize("stage", STAGES, ids=lambda stage: stage.name)
def test_a_worker_killed_in_any_stage_leaves_one_pull_request_and_the_run_merged(
    stage, installation, key, github, anthropic
):
    describe = describe_run(key, installation)
    ci = CI(installation, github, key)
    # Held on its first look at CI, the CI stage must not find it passed by a webhook before it is killed.
    ci.armed = stage.name != "ci_wait"
    post_burst(installation, key)
    fake = {"github": github, "anthropic": anthropic}.get(stage.fake)
    victim = kill_while_held(stage, installation, key, fake, ci, describe)
    ci.armed = True

    def final() -> FixRun | None:
        ci.tick()
        run = the_run(key)
        return run if run and run.state in (S.MERGED, S.FAILED, S.FIX_FAILED) else None

    run = wait_for(final, TIMEOUT, describe)
    repo = github.repo(REPO)
    branches = [ref for ref in repo.refs if ref.startswith("refs/heads/bugstack/")]
    commits = github.requests_to("/git/commits", "POST")
    print(
        f"\nstage {stage.name}: killed cluster {installation.clusters.index(victim) + 1} in {stage.state}; "
        f"pull requests opened: {len(repo.pulls)}; branches: {len(branches)}; commits: {len(commits)}; "
        f"final state: {run.state}"
    )
    assert run.state == S.MERGED, describe()
    assert FixRun.objects.filter(project=key.project).count() == 1, "one run for the burst"
    assert ErrorGroup.objects.get(project=key.project).times_seen == BURST, "every event counted once"
    assert branches == [f"refs/heads/{run.branch}"], "one branch"
    assert len(commits) == 1, "one commit of the fix"
    assert len(repo.pulls) == 1, "one pull request"
    assert repo.pulls[0].merged, "merged"
    assert len(github.requests_to("/merge", "PUT")) <= 2, "merged once, asked at most once again"
    files = repo.files_at(repo.resolve(repo.default_branch))
    assert repo.objects.blobs[files["shop/cart.py"][1]].decode() == FIXED_CART
