"""One pull request per error: a new run of a group whose pull request is still open pushes its attempt to
that pull request and says why in a comment, instead of opening another. On GitHub (PyGithub against the
fake) and on a local git repository whose tests are its CI; with the offline rules provider, and with
Anthropic and an OpenAI-compatible model through their fakes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from io import StringIO

import pytest
from django.core.management import call_command

from bugstack.models import Project
from integrations.codehost import host_for_project
from integrations.localgit.host import COMMENT_RULE
from integrations.models import Credential
from integrations.signals import code_host_event
from pipeline import pr, stages
from pipeline.models import FixRun
from pipeline.runs import start_manual_run, start_run
from pipeline.states import RunState
from pipeline.tasks import execute
from tests.factories import EventFactory, ProjectFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.github import FakeGitHub
from tests.fakes.openai import FakeOpenAI
from tests.pipeline.test_end_to_end import CRASH_LINE, GOOD_FIX, GUARD, REPO, TOKEN, zero_division_event

S = RunState

# The shop has a second bug its own test catches: ``cheapest`` picks the dearest item. CI fails on any fix
# of the crash until a person corrects ``cheapest`` on main.
CART = """\
def average_price(items):
    total = sum(item["price"] for item in items)
    return total / len(items)


def cheapest(items):
    return max(item["price"] for item in items)
"""
CART_CORRECTED = CART.replace("max(", "min(")
CART_TEST = """\
from shop.cart import average_price, cheapest


def test_average_price():
    assert average_price([{"price": 2}, {"price": 4}]) == 3


def test_cheapest():
    assert cheapest([{"price": 2}, {"price": 4}]) == 2
"""
FILES = {"shop/__init__.py": "", "shop/cart.py": CART, "tests/test_cart.py": CART_TEST}


def git(path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True, text=True).stdout


def as_person(path, *args: str) -> str:
    return git(path, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", *args)


class GitHubShop:
    """The shop on the GitHub fake; CI is reported as the shop's tests would report it."""

    def __init__(self, fake: FakeGitHub, **fields) -> None:
        self.fake = fake
        self.repo = fake.add_repo(REPO, files=FILES)
        self.project = ProjectFactory(repository=REPO, **fields)
        Credential.objects.create(account=self.project.account, kind="github", secret=TOKEN)

    def report_ci(self, sha: str) -> None:
        passed = "min(" in self.file(sha, "shop/cart.py")
        self.fake.add_check_run(
            REPO, sha, "pytest", conclusion="success" if passed else "failure", summary="tests/test_cart.py"
        )

    def file(self, ref: str, path: str) -> str:
        return self.repo.objects.blobs[self.repo.files_at(self.repo.resolve(ref))[path][1]].decode()

    def push_to_main(self, files: dict[str, str]) -> None:
        self.fake.push(REPO, "main", files)

    def commits_since(self, base: str, branch: str) -> int:
        return len(self.repo.objects.ancestors(self.repo.resolve(branch)) - self.repo.objects.ancestors(base))

    def pull_requests(self) -> list[tuple[int, str, str]]:
        return [(pull.number, pull.head, "merged" if pull.merged else pull.state) for pull in self.repo.pulls]

    def comments(self, number: int) -> list[str]:
        return [comment["body"] for comment in self.repo.pull(number).comments]

    def merge(self, number: int) -> None:
        self.fake.merge_pull(REPO, number)

    def close(self, number: int) -> None:
        self.fake.close_pull(REPO, number)


class LocalShop:
    """The shop as a git repository on disk; CI is its tests, run by the local host."""

    def __init__(self, path, **fields) -> None:
        self.path = path
        for name, text in FILES.items():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_text(text)
        git(path, "init", "-q", "-b", "main")
        git(path, "add", ".")
        as_person(path, "commit", "-qm", "Shop")
        self.project = ProjectFactory(
            code_host=Project.CodeHost.LOCAL,
            local_repo_path=str(path),
            repository="",
            test_command=f"{sys.executable} -m pytest -q -p no:cacheprovider",
            **fields,
        )

    def report_ci(self, sha: str) -> None:
        """Nothing to report: the local host runs the tests itself."""

    def file(self, ref: str, path: str) -> str:
        return git(self.path, "show", f"{ref}:{path}")

    def push_to_main(self, files: dict[str, str]) -> None:
        for name, text in files.items():
            (self.path / name).write_text(text)
        git(self.path, "add", ".")
        as_person(self.path, "commit", "-qm", "A person's change")

    def commits_since(self, base: str, branch: str) -> int:
        return int(git(self.path, "rev-list", "--count", f"{base}..{branch}"))

    def pull_requests(self) -> list[tuple[int, str, str]]:
        host = host_for_project(self.project)
        numbers = self.project.local_pull_requests.order_by("number").values_list("number", flat=True)
        return [
            (pull.number, pull.branch, pull.state) for pull in (host.get_pull_request(n) for n in numbers)
        ]

    def comments(self, number: int) -> list[str]:
        body = self.project.local_pull_requests.get(number=number).body
        return body.split(COMMENT_RULE)[1:]

    def merge(self, number: int) -> None:
        branch = self.project.local_pull_requests.get(number=number).branch
        as_person(self.path, "merge", "-q", "--no-ff", "-m", f"Merge {branch}", branch)

    def close(self, number: int) -> None:
        """Deleting the branch is how people close a pull request on a local repository."""
        git(self.path, "branch", "-D", self.project.local_pull_requests.get(number=number).branch)


@pytest.fixture(params=["github", "local"])
def make_shop(request, tmp_path, settings):
    """Builds the shop on each code host, with the project fields a test asks for."""
    settings.BUGSTACK_GITHUB_PACING = False
    settings.BUGSTACK_TRANSIENT_BACKOFF_SECONDS = 0.01
    if request.param == "local":
        yield lambda **fields: LocalShop(tmp_path / "shop", **fields)
        return
    with FakeGitHub(tokens={TOKEN: None}) as fake:
        settings.BUGSTACK_GITHUB_API_URL = fake.base_url
        yield lambda **fields: GitHubShop(fake, **fields)


class Fixes:
    """The fix provider: the offline rules, or a model's fake answering with the guard every time."""

    def __init__(self, queue_fix: Callable[[dict], None] | None) -> None:
        self.queue_fix = queue_fix

    def expect(self, count: int = 1) -> None:
        for _ in range(count if self.queue_fix else 0):
            self.queue_fix(GOOD_FIX)


@pytest.fixture(params=["rules", "anthropic", "openai"])
def fixes(request, settings, monkeypatch):
    settings.ANTHROPIC_API_KEY = ""
    if request.param == "rules":
        yield Fixes(None)
    elif request.param == "anthropic":
        with FakeAnthropic() as fake:
            settings.ANTHROPIC_API_KEY = "sk-ant-one-pull-request"
            monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
            yield Fixes(fake.queue_tool_input)
    else:
        with FakeOpenAI(api_key="sk-one-pull-request") as fake:
            settings.BUGSTACK_FIX_PROVIDER = "openai"
            settings.OPENAI_API_KEY = "sk-one-pull-request"
            monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
            yield Fixes(fake.queue_tool_arguments)


def advance(run: FixRun) -> FixRun:
    call_command("advance_runs", f"--run={run.pk}", stdout=StringIO())
    run.refresh_from_db()
    return run


def advance_through_ci(shop, run: FixRun) -> FixRun:
    """Take the run to its pull request, report CI on its commit, and on to where it stops."""
    run = advance(run)
    if run.state == S.AWAITING_CI:
        shop.report_ci(run.head_sha)
        run = advance(run)
    return run


def first_run(shop, fixes: Fixes) -> FixRun:
    fixes.expect()
    event = EventFactory(group__project=shop.project, data=zero_division_event())
    return advance_through_ci(shop, start_run(event.group, FixRun.Trigger.NEW_GROUP, event))


def fix_failed_with_its_pull_request_open(shop, fixes: Fixes) -> FixRun:
    """The first run's fix fails CI (the other bug): it ends ``fix_failed``, its pull request left open."""
    run = first_run(shop, fixes)
    assert run.state == S.FIX_FAILED and "left open for people" in run.reason
    return run


@pytest.mark.django_db
def test_a_new_run_updates_the_groups_open_pull_request_instead_of_opening_another(make_shop, fixes):
    shop = make_shop(max_ci_retries=0)
    first = fix_failed_with_its_pull_request_open(shop, fixes)
    shop.push_to_main({"shop/cart.py": CART_CORRECTED})  # a person fixes the other bug on main

    fixes.expect()
    second = advance_through_ci(shop, start_manual_run(first.group))  # "try a fix"

    assert shop.pull_requests() == [(first.pr_number, first.branch, "open")], "one pull request"
    assert (second.pr_number, second.pr_url, second.branch) == (first.pr_number, first.pr_url, first.branch)
    assert shop.commits_since(first.base_sha, first.branch) == 2, "the new attempt on top of the first"
    assert shop.file(first.branch, "shop/cart.py") == CART_CORRECTED.replace(CRASH_LINE, GUARD)
    assert second.state == S.AWAITING_REVIEW, "its CI passed: both bugs fixed on the branch"
    assert second.pr_opened_at is None, "it opened no pull request"

    [comment] = shop.comments(first.pr_number)
    attempt = second.attempts.get()
    assert f"run #{second.pk}" in comment and f"run #{first.pk}'s" in comment
    assert "Started by a person" in comment and "fix failed" in comment
    assert pr.fence(pr.clip(attempt.explanation)) in comment, "the model's words are fenced"
    assert pr.fence("ZeroDivisionError: division by zero") in comment

    first.refresh_from_db()
    assert first.state == S.FIX_FAILED, "a run that ended keeps the state it ended in"
    assert first.superseded_by == second
    assert first.reason.endswith(
        f"Superseded by run #{second.pk}, which updated the pull request (#{first.pr_number})."
    )


@pytest.mark.django_db
@pytest.mark.parametrize("people", ["merge", "close"])
def test_a_group_whose_pull_request_was_merged_or_closed_gets_a_new_one(make_shop, fixes, people):
    shop = make_shop()
    shop.push_to_main({"shop/cart.py": CART_CORRECTED})
    first = first_run(shop, fixes)
    assert first.state == S.AWAITING_REVIEW
    getattr(shop, people)(first.pr_number)
    # The code host's news (a webhook) wakes the run resting between review polls.
    code_host_event.send(sender=None, project_ids=[shop.project.pk], pr_number=first.pr_number)
    first = advance(first)
    assert first.state == (S.MERGED if people == "merge" else S.CLOSED)
    if people == "merge":
        # A later change brings the crash back: the regression's run finds it in the code again.
        shop.push_to_main({"shop/cart.py": CART_CORRECTED})

    fixes.expect()
    trigger = FixRun.Trigger.REGRESSION if people == "merge" else FixRun.Trigger.MANUAL
    second = advance_through_ci(shop, start_run(first.group, trigger))

    assert second.state == S.AWAITING_REVIEW
    assert second.pr_number != first.pr_number
    assert second.branch == pr.run_branch_name(second), "a branch without the earlier pull request's commits"
    assert shop.pull_requests() == [
        (first.pr_number, first.branch, "merged" if people == "merge" else "closed"),
        (second.pr_number, second.branch, "open"),
    ]
    assert shop.commits_since(second.base_sha, second.branch) == 1
    assert shop.comments(first.pr_number) == shop.comments(second.pr_number) == []
    first.refresh_from_db()
    assert first.superseded_by is None


@pytest.mark.django_db
def test_a_stage_stopped_after_the_push_and_the_comment_neither_pushes_nor_comments_again(make_shop):
    shop = make_shop(max_ci_retries=0)
    first = fix_failed_with_its_pull_request_open(shop, Fixes(None))
    shop.push_to_main({"shop/cart.py": CART_CORRECTED})
    second = start_manual_run(first.group)
    for state in (S.TRIAGING, S.BUILDING_CONTEXT, S.GENERATING_FIX):
        execute(second.pk, state)

    # The stage's outside work, whose outcome is never recorded: as if its worker died right after.
    undone = stages.open_pr(FixRun.objects.get(pk=second.pk))
    assert undone.state == S.AWAITING_CI and FixRun.objects.get(pk=second.pk).state == S.OPENING_PR
    assert execute(second.pk, S.OPENING_PR) == S.AWAITING_CI

    second.refresh_from_db()
    assert second.head_sha == undone.fields["head_sha"]
    assert shop.commits_since(first.base_sha, first.branch) == 2
    assert len(shop.comments(first.pr_number)) == 1


@pytest.mark.django_db
def test_a_comment_whose_answer_was_lost_is_found_by_the_retry_not_posted_twice(settings):
    settings.BUGSTACK_GITHUB_PACING = False
    settings.BUGSTACK_TRANSIENT_BACKOFF_SECONDS = 0.01
    with FakeGitHub(tokens={TOKEN: None}) as fake:
        settings.BUGSTACK_GITHUB_API_URL = fake.base_url
        shop = GitHubShop(fake, max_ci_retries=0)
        first = fix_failed_with_its_pull_request_open(shop, Fixes(None))
        shop.push_to_main({"shop/cart.py": CART_CORRECTED})
        fake.fail(r"POST /issues/\d+/comments$", "lost_response")

        second = advance(start_manual_run(first.group))

        assert second.state == S.AWAITING_CI and second.pr_number == first.pr_number
        assert len(fake.requests_to("/comments", "POST")) == 1, "the lost POST is not sent again"
        assert len(shop.comments(first.pr_number)) == 1


@pytest.mark.django_db
def test_a_holder_still_going_ends_closed_when_its_pull_request_is_taken_over(settings):
    settings.BUGSTACK_GITHUB_PACING = False
    with FakeGitHub(tokens={TOKEN: None}) as fake:
        settings.BUGSTACK_GITHUB_API_URL = fake.base_url
        shop = GitHubShop(fake)
        shop.push_to_main({"shop/cart.py": CART_CORRECTED})
        first = first_run(shop, Fixes(None))
        assert first.state == S.AWAITING_REVIEW

        second = advance(start_run(first.group, FixRun.Trigger.MANUAL))

    first.refresh_from_db()
    assert second.pr_number == first.pr_number and len(shop.pull_requests()) == 1
    assert first.state == S.CLOSED and first.superseded_by == second
    why = f"Superseded by run #{second.pk}, which updated the pull request (#{first.pr_number})."
    assert first.reason == why
    assert first.transitions.last().to_state == S.CLOSED


@pytest.mark.django_db
def test_updating_the_groups_pull_request_does_not_wait_for_a_free_slot(settings):
    settings.BUGSTACK_GITHUB_PACING = False
    with FakeGitHub(tokens={TOKEN: None}) as fake:
        settings.BUGSTACK_GITHUB_API_URL = fake.base_url
        shop = GitHubShop(fake, max_ci_retries=0, max_open_prs=1)
        first = fix_failed_with_its_pull_request_open(shop, Fixes(None))
        shop.push_to_main({"shop/cart.py": CART_CORRECTED})
        # Another error's run holds the project's only slot for a new pull request.
        other = EventFactory(group__project=shop.project).group
        FixRun.objects.create(project=shop.project, group=other, state=S.AWAITING_REVIEW, pr_number=99)

        second = advance(start_manual_run(first.group))

    assert second.state == S.AWAITING_CI and second.pr_number == first.pr_number
    assert S.WAITING_FOR_SLOT not in second.transitions.values_list("to_state", flat=True)
