"""An error posted over HTTP, through a real qcluster, to a pull request on the GitHub fake and beyond.

Every test runs the real stack: the ingest API on a live server, django-q2's ``qcluster`` in its own
process on the test database, PyGithub against the GitHub fake and the anthropic SDK against the Anthropic
fake. CI results reach the run through signed webhooks, as GitHub sends them.
"""

from __future__ import annotations

import copy
import itertools

import pytest

from bugstack.models import Project
from ingest.models import ErrorGroup
from integrations.models import Credential
from pipeline.models import FixRun
from pipeline.states import RunState
from tests.factories import ProjectKeyFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.github import FakeGitHub
from tests.pipeline.harness import Cluster, post_json, signed_webhook, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

S = RunState
REPO = "acme/shop"
TOKEN = "ghp_endToEndToken000000000000000000000000"
WEBHOOK_SECRET = "whsec-end-to-end"
TIMEOUT = 90

CART = """\
def average_price(items):
    total = sum(item["price"] for item in items)
    return total / len(items)
"""
CART_TEST = """\
from shop.cart import average_price


def test_average_price():
    assert average_price([{"price": 2}, {"price": 4}]) == 3
"""
REPOSITORY = {
    "shop/__init__.py": "",
    "shop/cart.py": CART,
    "tests/test_cart.py": CART_TEST,
    "README.md": "# Shop\n",
}
CRASH_LINE = "    return total / len(items)\n"
GUARD = "    if not items:\n        return 0\n" + CRASH_LINE
FIXED_CART = CART.replace(CRASH_LINE, GUARD)

GOOD_FIX = {
    "root_cause": "average_price divides by the number of items, which is zero for an empty cart.",
    "explanation": "Return 0 for an empty cart before dividing.",
    "confidence": 0.9,
    "edits": [{"path": "shop/cart.py", "search": CRASH_LINE, "replace": GUARD}],
}
WRONG_FIX = {
    "root_cause": "The total can be zero.",
    "explanation": "Guard on the total instead.",
    "confidence": 0.6,
    "edits": [
        {
            "path": "shop/cart.py",
            "search": CRASH_LINE,
            "replace": "    if not total:\n        return 0\n" + CRASH_LINE,
        }
    ],
}


def zero_division_event() -> dict:
    return {
        "platform": "python",
        "level": "error",
        "release": "1.0.0",
        "exception": {
            "values": [
                {
                    "type": "ZeroDivisionError",
                    "value": "division by zero",
                    "stacktrace": {
                        "frames": [
                            {
                                "filename": "flask/app.py",
                                "abs_path": "/usr/lib/python3.11/site-packages/flask/app.py",
                                "function": "dispatch_request",
                                "lineno": 880,
                                "in_app": False,
                                "context_line": "return self.ensure_sync(view)(**view_args)",
                            },
                            {
                                "filename": "shop/cart.py",
                                "abs_path": "/srv/app/shop/cart.py",
                                "function": "average_price",
                                "lineno": 3,
                                "in_app": True,
                                "context_line": CRASH_LINE.rstrip("\n"),
                                "pre_context": CART.splitlines()[:2],
                            },
                        ]
                    },
                }
            ]
        },
    }


def database_down_event() -> dict:
    event = zero_division_event()
    event["exception"]["values"][0].update(
        type="OperationalError",
        module="psycopg",
        value='connection to server at "db.internal" (10.0.0.5), port 5432 failed: Connection refused',
    )
    event["exception"]["values"][0]["stacktrace"]["frames"][-1].update(
        filename="psycopg/connection.py",
        abs_path="/usr/lib/python3.11/site-packages/psycopg/connection.py",
        function="connect",
        in_app=False,
        context_line="raise last_ex.with_traceback(None)",
    )
    return event


@pytest.fixture
def github():
    with FakeGitHub(tokens={TOKEN: None}) as fake:
        fake.add_repo(REPO, files=REPOSITORY)
        yield fake


@pytest.fixture
def anthropic():
    with FakeAnthropic() as fake:
        yield fake


def github_project_key(**project_fields):
    """A key of a project on the GitHub fake's repository; its account holds the token and webhook secret."""
    fields = {"repository": REPO, "code_host": Project.CodeHost.GITHUB, **project_fields}
    key = ProjectKeyFactory(**{f"project__{name}": value for name, value in fields.items()})
    account = key.project.account
    Credential.objects.create(account=account, kind=Credential.Kind.GITHUB, secret=TOKEN)
    Credential.objects.create(account=account, kind=Credential.Kind.GITHUB_WEBHOOK, secret=WEBHOOK_SECRET)
    return key


@pytest.fixture
def key(db):
    return github_project_key()


@pytest.fixture
def cluster(request, live_server, github, anthropic):
    cluster = Cluster(
        {
            "BUGSTACK_BASE_URL": live_server.url,
            "BUGSTACK_GITHUB_API_URL": github.base_url,
            "BUGSTACK_GITHUB_PACING": "0",
            "ANTHROPIC_API_KEY": "sk-ant-end-to-end-test-key",
            "ANTHROPIC_BASE_URL": anthropic.base_url,
            "BUGSTACK_STAGE_LEASE_SECONDS": "3",
            "BUGSTACK_STUCK_SECONDS": "3",
            "BUGSTACK_TRANSIENT_BACKOFF_SECONDS": "0.1",
            "BUGSTACK_WORKERS": "2",
        },
        name=request.node.name,
    ).start()
    yield cluster
    cluster.stop()


deliveries = itertools.count(1)


class Story:
    """Drives one error through the system and reports on it when something is late."""

    def __init__(self, live_server, key, github, anthropic, cluster) -> None:
        self.url, self.key, self.github, self.anthropic, self.cluster = (
            live_server.url,
            key,
            github,
            anthropic,
            cluster,
        )

    def post(self, event: dict) -> None:
        status, body = post_json(
            f"{self.url}/api/v1/events/",
            copy.deepcopy(event),
            {"Authorization": f"Bearer {self.key.public_key}"},
        )
        assert status == 202, body

    def run(self) -> FixRun | None:
        return FixRun.objects.filter(project=self.key.project).order_by("pk").last()

    def wait_for_state(self, *states: str, timeout: float = TIMEOUT) -> FixRun:
        def reached():
            run = self.run()
            return run if run and run.state in states else None

        return wait_for(reached, timeout, self.describe)

    def describe(self) -> str:
        run = self.run()
        moves = list(run.transitions.values_list("from_state", "to_state", "detail")) if run else []
        state = f"run: {run and run.state} {run and run.reason}"
        return f"{state}\nmoves: {moves}\ncluster log:\n{self.cluster.log()}"

    def report_ci(self, sha: str, state: str, description: str = "") -> None:
        self.github.set_status(REPO, sha, state, context="ci/tests", description=description)
        payload = {"sha": sha, "state": state, "context": "ci/tests", "repository": {"full_name": REPO}}
        assert signed_webhook(
            f"{self.url}/integrations/github/webhook/",
            "status",
            payload,
            WEBHOOK_SECRET,
            f"d-{next(deliveries)}",
        ) in (200, 202, 204)

    def pull(self, number: int):
        return self.github.repo(REPO).pull(number)

    def file_on_branch(self, branch: str, path: str) -> str:
        repo = self.github.repo(REPO)
        blob_sha = repo.files_at(repo.resolve(branch))[path][1]
        return repo.objects.blobs[blob_sha].decode()


@pytest.fixture
def story(live_server, key, github, anthropic, cluster):
    return Story(live_server, key, github, anthropic, cluster)


def set_policy(project: Project, policy: str, threshold: float = 0.8) -> None:
    Project.objects.filter(pk=project.pk).update(auto_deploy=policy, confidence_threshold=threshold)


def test_an_error_becomes_a_pull_request_with_the_fix_and_manual_stops_at_review(story, github, anthropic):
    anthropic.queue_tool_input(GOOD_FIX)

    story.post(zero_division_event())
    run = story.wait_for_state(S.AWAITING_CI)

    pull = story.pull(run.pr_number)
    assert pull.head == run.branch == f"bugstack/fix-{run.group_id}-{run.group.fingerprint[:8]}"
    assert pull.title == "Fix ZeroDivisionError in average_price (shop/cart.py)"
    assert "division by zero" in pull.body and "Confidence" in pull.body
    assert story.file_on_branch(run.branch, "shop/cart.py") == FIXED_CART
    changed = [
        line for line in run.attempts.get().diff.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"
    ]
    assert changed == ["+    if not items:", "+        return 0"]

    story.report_ci(run.head_sha, "success")
    run = story.wait_for_state(S.AWAITING_REVIEW)
    assert story.pull(run.pr_number).state == "open"
    assert len(github.requests_to("/merge", "PUT")) == 0


def test_failing_ci_feeds_a_retry_whose_passing_commit_is_merged_under_ci_pass(story, key, github, anthropic):
    set_policy(key.project, Project.AutoDeploy.CI_PASS)
    anthropic.queue_tool_input(WRONG_FIX)
    anthropic.queue_tool_input(GOOD_FIX)

    story.post(zero_division_event())
    first = story.wait_for_state(S.AWAITING_CI)
    story.report_ci(first.head_sha, "failure", "tests/test_cart.py::test_empty_cart FAILED")
    second = wait_for(
        lambda: (run := story.run()).state == S.AWAITING_CI and run.head_sha != first.head_sha and run,
        TIMEOUT,
        story.describe,
    )
    story.report_ci(second.head_sha, "success")
    run = story.wait_for_state(S.MERGED)

    assert run.pr_number == first.pr_number, "the retry pushes to the same pull request"
    assert len(github.requests_to("/pulls", "POST")) == 1
    assert story.pull(run.pr_number).merged
    assert story.file_on_branch("main", "shop/cart.py").count("if not items:") == 1
    prompts = [str(request["body"]) for request in anthropic.requests]
    assert "test_empty_cart FAILED" not in prompts[0]
    assert "test_empty_cart FAILED" in prompts[-1], "the retry is asked with the CI output"
    assert ErrorGroup.objects.get(pk=run.group_id).status == ErrorGroup.Status.FIXED
    assert [a.outcome for a in run.attempts.order_by("number")] == ["ci_failed", "ci_passed"]


def test_confidence_below_the_threshold_is_not_merged(story, key, github, anthropic):
    set_policy(key.project, Project.AutoDeploy.CONFIDENCE, threshold=0.99)
    anthropic.queue_tool_input(GOOD_FIX)

    story.post(zero_division_event())
    run = story.wait_for_state(S.AWAITING_CI)
    story.report_ci(run.head_sha, "success")
    run = story.wait_for_state(S.AWAITING_REVIEW)

    assert run.confidence < 0.99
    assert "below the threshold" in run.transitions.last().detail
    assert story.pull(run.pr_number).state == "open"
    assert len(github.requests_to("/merge", "PUT")) == 0


def test_an_out_of_scope_error_calls_neither_the_model_nor_the_code_host(story, github, anthropic):
    story.post(database_down_event())
    run = story.wait_for_state(S.OUT_OF_SCOPE, S.FAILED)

    assert run.state == S.OUT_OF_SCOPE
    assert run.category == "infrastructure"
    assert "db.internal" in run.reason
    assert github.requests == []
    assert anthropic.requests == []


def test_a_worker_killed_mid_stage_is_replaced_and_the_run_opens_exactly_one_pull_request(
    story, github, anthropic, cluster
):
    anthropic.queue_tool_input(GOOD_FIX)
    # The first attempt to open the pull request hangs; the worker is killed while it waits.
    github.inject("/pulls", "timeout", times=1, method="POST", seconds=30)

    story.post(zero_division_event())
    wait_for(lambda: github.requests_to("/pulls", "POST"), TIMEOUT, story.describe)
    cluster.kill()
    assert story.run().state == S.OPENING_PR
    cluster.start()
    run = story.wait_for_state(S.AWAITING_CI)

    branches = [ref for ref in github.repo(REPO).refs if ref.startswith("refs/heads/bugstack/")]
    assert branches == [f"refs/heads/{run.branch}"], "one branch"
    assert len(github.requests_to("/git/commits", "POST")) == 1, "one commit"
    assert len(github.repo(REPO).pulls) == 1, "one pull request"
    assert story.pull(run.pr_number).head == run.branch
