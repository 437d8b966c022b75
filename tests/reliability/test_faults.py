"""The pipeline under the fakes' fault plans: every stage that calls out, driven as in production.

Runs go through the real stack as in ``tests/pipeline/test_end_to_end.py`` (ingest on a live server, a
``qcluster`` process, PyGithub and the anthropic SDK against the fakes). GitHub's faults hit reading files
(context), the branch, the commit and the pull request (PR open), statuses and check runs (CI wait) and the
merge: each is retried within the stage's budget and no side effect is ever made twice, even when GitHub did
the work and the answer was lost or the connection reset. A model outage parks the run in
``waiting_for_model`` and it goes on when the model answers again; a rejected key ends it at once.
"""

from __future__ import annotations

import re

import pytest

from bugstack.models import Project
from integrations.models import Credential
from pipeline.states import RunState
from tests.factories import ProjectFactory
from tests.fakes.github import FakeGitHub
from tests.pipeline import test_end_to_end
from tests.pipeline.harness import Cluster
from tests.pipeline.test_end_to_end import (
    GOOD_FIX,
    REPO,
    TOKEN,
    Story,
    set_policy,
    zero_division_event,
)
from tests.pipeline.test_orchestration import advance_all, run_for

pytestmark = pytest.mark.django_db(transaction=True)

S = RunState
MESSAGES = "POST /v1/messages"
# The model's faults ask for short waits: the SDK honours retry-after-ms, and a test should not sleep.
QUICK = 0.01


# The end-to-end suite's fakes and project: the GitHub fake holding the shop, the Anthropic fake, a key.
github = test_end_to_end.github
anthropic = test_end_to_end.anthropic
key = test_end_to_end.key


@pytest.fixture
def cluster(request, live_server, github, anthropic):
    cluster = Cluster(
        {
            "BUGSTACK_BASE_URL": live_server.url,
            "BUGSTACK_GITHUB_API_URL": github.base_url,
            "BUGSTACK_GITHUB_PACING": "0",
            "BUGSTACK_GITHUB_TIMEOUT": "2",
            "BUGSTACK_GITHUB_RETRIES": "1",
            "BUGSTACK_GITHUB_MAX_WAIT": "2",
            "ANTHROPIC_API_KEY": "sk-ant-faults-test-key",
            "ANTHROPIC_BASE_URL": anthropic.base_url,
            "BUGSTACK_STAGE_LEASE_SECONDS": "10",
            "BUGSTACK_STUCK_SECONDS": "10",
            "BUGSTACK_TRANSIENT_RETRIES": "2",
            "BUGSTACK_TRANSIENT_BACKOFF_SECONDS": "0.1",
            "BUGSTACK_WORKERS": "2",
        },
        name=request.node.name,
    ).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def story(live_server, key, github, anthropic, cluster):
    return Story(live_server, key, github, anthropic, cluster)


def commits_since(github: FakeGitHub, branch: str, base_sha: str) -> list[str]:
    """The commits of ``branch`` made after ``base_sha``."""
    repo = github.repo(REPO)
    return sorted(repo.objects.ancestors(repo.resolve(branch)) - repo.objects.ancestors(base_sha))


def moves(run) -> list[tuple[str, str]]:
    return list(run.transitions.values_list("from_state", "to_state"))


# --- GitHub: every stage retried, nothing twice -----------------------------------------------------------


def test_github_faults_at_every_stage_are_retried_and_no_side_effect_is_made_twice(
    story, key, github, anthropic
):
    set_policy(key.project, Project.AutoDeploy.CI_PASS)
    anthropic.queue_tool_input(GOOD_FIX)
    # context: reading the stack trace's file fails twice (the client's retry and the stage's)
    github.fail("GET /contents/shop/cart.py", "502", times=2)
    github.fail("GET /contents/shop/cart.py", "slow_body", calls=[3], seconds=0.5)
    # PR open: the branch is made but its answer lost; the ref update lands but the connection resets;
    # the pull request is opened but its answer lost, then its label times out once
    github.fail("POST /git/refs$", "lost_response")
    github.fail("PATCH /git/refs/heads/", "reset", after_work=True)
    github.fail("POST /pulls$", "lost_response")
    github.fail("POST /issues/\\d+/labels$", "timeout", seconds=3)
    # CI wait: statuses and check runs fail once each
    github.fail("GET /commits/[0-9a-f]+/status$", "503")
    github.fail("GET /commits/[0-9a-f]+/check-runs$", "secondary_rate_limit", retry_after=1)
    # merge: GitHub merges, then the connection resets before the answer
    github.fail("PUT /pulls/\\d+/merge$", "reset", after_work=True)

    story.post(zero_division_event())
    run = story.wait_for_state(S.AWAITING_CI)
    story.report_ci(run.head_sha, "success")
    run = story.wait_for_state(S.MERGED, S.FAILED)

    assert run.state == S.MERGED, story.describe()
    branches = [ref for ref in github.repo(REPO).refs if ref.startswith("refs/heads/bugstack/")]
    assert branches == [f"refs/heads/{run.branch}"], "one branch"
    assert commits_since(github, run.branch, run.base_sha) == [run.head_sha], "one commit of the fix"
    assert len(github.repo(REPO).pulls) == 1, "one pull request"
    main = github.repo(REPO)
    merges = [
        sha
        for sha in main.objects.ancestors(main.resolve("main"))
        if len(main.objects.commits[sha].parents) == 2
    ]
    assert len(merges) == 1, "one merge (a retried merge request is refused: already merged)"
    assert story.file_on_branch("main", "shop/cart.py").count("if not items:") == 1
    assert github.repo(REPO).pull(run.pr_number).merged
    fired = {rule.route: rule.fired for rule in github.faults.rules}
    assert all(fired.values()), f"every fault was met: {fired}"
    assert S.FAILED not in {to for _, to in moves(run)}


def test_a_github_outage_past_the_stages_budget_ends_the_run_with_a_readable_reason(story, github, anthropic):
    github.fail("GET /contents/", "503", times=None)

    story.post(zero_division_event())
    run = story.wait_for_state(S.FAILED, S.GENERATING_FIX, S.FIX_FAILED)

    assert run.state == S.FAILED
    assert "GitHub failed (HTTP 503)" in run.reason and "shop/cart.py" in run.reason
    # the stage's budget: 1 + 2 tries, each with the client's one retry
    assert len(github.requests_to("/contents/shop/cart.py")) == 6
    assert anthropic.requests == [], "no model call without context"


# --- the model: an outage waits, a bad key fails ---------------------------------------------------------


def test_a_model_outage_parks_the_run_and_it_resumes_once_the_model_answers(story, github, anthropic):
    # 5xx, then rate limits, then connections reset, then overloaded for as long as the test says
    anthropic.fail(MESSAGES, "503", calls=range(1, 4), retry_after=QUICK)
    anthropic.fail(MESSAGES, "429", calls=range(4, 7), retry_after=QUICK)
    anthropic.fail(MESSAGES, "reset", calls=range(7, 10))
    outage = anthropic.fail(MESSAGES, "529", times=None, retry_after=QUICK)

    story.post(zero_division_event())
    run = story.wait_for_state(S.WAITING_FOR_MODEL, S.FAILED)

    assert run.state == S.WAITING_FOR_MODEL, story.describe()
    assert run.reason.startswith("Waiting for the model: The Anthropic API is busy or failing (529")
    assert "asked for again after" in run.reason
    assert run.get_state_display() == "Waiting for the model"
    assert len(anthropic.requests) == 12, "the SDK's 4 tries in each of the stage's 3"
    assert github.requests_to("/pulls", "POST") == []

    anthropic.faults.remove(outage)
    anthropic.queue_tool_input(GOOD_FIX)
    run = story.wait_for_state(S.AWAITING_CI, S.FAILED)

    assert run.state == S.AWAITING_CI, story.describe()
    assert run.reason == ""
    assert (S.WAITING_FOR_MODEL, S.GENERATING_FIX) in moves(run)
    assert S.FAILED not in {to for _, to in moves(run)}
    assert len(github.repo(REPO).pulls) == 1
    assert story.file_on_branch(run.branch, "shop/cart.py").count("if not items:") == 1


def test_a_rejected_model_key_fails_the_run_at_once_with_what_to_do(story, github, anthropic):
    anthropic.fail(MESSAGES, "401", times=None, message="invalid x-api-key")

    story.post(zero_division_event())
    run = story.wait_for_state(S.FAILED, S.WAITING_FOR_MODEL)

    assert run.state == S.FAILED
    assert "Anthropic rejected the API key (401: invalid x-api-key)" in run.reason
    assert "ANTHROPIC_API_KEY" in run.reason
    assert len(anthropic.requests) == 1, "a permanent error is not retried"


@pytest.mark.django_db
def test_a_model_that_answers_past_the_timeout_parks_the_run(settings, monkeypatch, github, anthropic):
    settings.BUGSTACK_GITHUB_API_URL = github.base_url
    settings.BUGSTACK_GITHUB_PACING = False
    settings.BUGSTACK_TRANSIENT_RETRIES = 1
    settings.BUGSTACK_TRANSIENT_BACKOFF_SECONDS = 0.01
    settings.BUGSTACK_ANTHROPIC_TIMEOUT = 0.3
    monkeypatch.setenv("ANTHROPIC_BASE_URL", anthropic.base_url)
    project = ProjectFactory(repository=REPO, code_host=Project.CodeHost.GITHUB)
    Credential.objects.create(account=project.account, kind=Credential.Kind.GITHUB, secret=TOKEN)
    Credential.objects.create(account=project.account, kind=Credential.Kind.ANTHROPIC, secret="sk-ant-k")
    anthropic.fail(MESSAGES, "timeout", times=None, seconds=1)
    run = run_for(project, zero_division_event())

    advance_all(run)

    run.refresh_from_db()
    assert run.state == S.WAITING_FOR_MODEL
    assert "Could not reach the Anthropic API" in run.reason and "timed out" in run.reason
    due = re.search(r"after (\S+ \S+) UTC", run.reason)
    assert due and run.lease_expires_at.strftime("%Y-%m-%d %H:%M:%S") == due[1]
