"""GitHubHost against the fake: CI verdicts from statuses and check runs, retries, actionable errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
from github import Auth, Github

from integrations.codehost import CIState, host_for_project
from integrations.errors import PermanentError, TransientError
from integrations.models import Credential
from tests.factories import AccountFactory, CredentialFactory, ProjectFactory
from tests.integrations.conftest import FIX, REPOSITORY, TOKEN

BRANCH = "bugstack/fix-9-00c0ffee"


@pytest.fixture
def host(github_project):
    return host_for_project(github_project)


@pytest.fixture
def sha(fake_github):
    return fake_github.head(REPOSITORY, "main")


# --- CI: statuses and check runs merged into one verdict --------------------------------------------------

CI_CASES = {
    "nothing reported": ([], [], CIState.NONE),
    "status pending": ([("pending", "ci/build")], [], CIState.PENDING),
    "status success": ([("success", "ci/build")], [], CIState.SUCCESS),
    "status error": ([("error", "ci/build")], [], CIState.FAILURE),
    "check queued": ([], [("lint", "queued", None)], CIState.PENDING),
    "check in progress beside a passing status": (
        [("success", "ci/build")],
        [("tests", "in_progress", None)],
        CIState.PENDING,
    ),
    "checks neutral and skipped": (
        [],
        [("a", "completed", "neutral"), ("b", "completed", "skipped"), ("c", "completed", "success")],
        CIState.SUCCESS,
    ),
    "failure beats pending": (
        [("pending", "ci/build")],
        [("tests", "completed", "failure")],
        CIState.FAILURE,
    ),
    "cancelled": ([], [("tests", "completed", "cancelled")], CIState.FAILURE),
    "timed out": ([], [("tests", "completed", "timed_out")], CIState.FAILURE),
    "action required": ([], [("deploy", "completed", "action_required")], CIState.FAILURE),
}


@pytest.mark.parametrize(("statuses", "runs", "expected"), CI_CASES.values(), ids=CI_CASES.keys())
def test_ci_verdict(host, fake_github, sha, statuses, runs, expected):
    for state, context in statuses:
        fake_github.set_status(REPOSITORY, sha, state, context=context)
    for name, status, conclusion in runs:
        fake_github.add_check_run(REPOSITORY, sha, name, status=status, conclusion=conclusion)
    assert host.ci(sha).state == expected


def test_ci_goes_pending_then_failure_with_output_then_success(host, fake_github, sha):
    fake_github.add_check_run(REPOSITORY, sha, "tests", status="queued", conclusion=None)
    assert host.ci(sha).state == CIState.PENDING
    fake_github.add_check_run(
        REPOSITORY,
        sha,
        "tests",
        conclusion="failure",
        title="1 failed",
        summary="pytest -q",
        text="FAILED tests/test_cart.py::test_empty - ZeroDivisionError",
        annotations=[
            {
                "path": "shop/cart.py",
                "start_line": 2,
                "end_line": 2,
                "annotation_level": "failure",
                "message": "division by zero",
            }
        ],
    )
    fake_github.set_status(
        REPOSITORY,
        sha,
        "error",
        context="ci/lint",
        description="ruff found 2 errors",
        target_url="https://ci.example.com/1",
    )
    result = host.ci(sha)
    assert result.state == CIState.FAILURE
    by_name = {failure.name: failure for failure in result.failures}
    assert "ZeroDivisionError" in by_name["tests"].text
    assert "shop/cart.py:2: failure: division by zero" in by_name["tests"].text
    assert by_name["tests"].summary == "1 failed — pytest -q"
    assert (by_name["ci/lint"].summary, by_name["ci/lint"].url) == (
        "ruff found 2 errors",
        "https://ci.example.com/1",
    )
    fake_github.add_check_run(REPOSITORY, sha, "tests", conclusion="success")
    fake_github.set_status(REPOSITORY, sha, "success", context="ci/lint")
    assert host.ci(sha).state == CIState.SUCCESS


def test_many_check_runs_are_read_across_pages(host, fake_github, sha):
    for n in range(45):
        fake_github.add_check_run(REPOSITORY, sha, f"job-{n:02d}", conclusion="success")
    fake_github.add_check_run(REPOSITORY, sha, "job-zz-last", conclusion="failure")
    result = host.ci(sha)
    assert [failure.name for failure in result.failures] == ["job-zz-last"]


def test_a_truncated_tree_listing_is_completed_directory_by_directory(host, fake_github, sha):
    fake_github.tree_limit = 2
    assert host.tree(sha) == sorted(fake_github.repo(REPOSITORY).files_at(sha))
    assert len(fake_github.requests_to("/git/trees/")) > 1


# --- retries and faults -----------------------------------------------------------------------------------


def test_a_502_then_success_is_retried_invisibly(host, fake_github, sha):
    fake_github.inject("/git/trees/", "502", times=1)
    assert "shop/cart.py" in host.tree(sha)
    assert len(fake_github.requests_to("/git/trees/")) == 2


def test_a_rate_limit_answer_waits_for_the_reset_and_retries(host, fake_github, sha):
    fake_github.inject("/contents/", "rate_limit", times=1)
    assert host.read("README.md", sha) == "# Shop\n"
    assert len(fake_github.requests_to("/contents/")) == 2


def test_a_secondary_rate_limit_honours_retry_after(host, fake_github, sha):
    fake_github.inject("/git/refs", "secondary_rate_limit", times=1, method="POST")
    host.create_branch(BRANCH, sha)
    assert fake_github.head(REPOSITORY, BRANCH) == sha
    assert len(fake_github.requests_to("/git/refs", method="POST")) == 2


@pytest.mark.parametrize("fault", ["rate_limit", "secondary_rate_limit"])
def test_a_rate_limit_longer_than_the_bound_is_a_transient_error(
    github_project, fake_github, sha, settings, fault
):
    settings.BUGSTACK_GITHUB_MAX_WAIT = 0.5
    fake_github.inject("/contents/", fault, times=1)
    with pytest.raises(TransientError, match="rate limit") as caught:
        host_for_project(github_project).read("README.md", sha)
    assert caught.value.retry_after >= 1
    assert len(fake_github.requests_to("/contents/")) == 1


def test_a_slow_answer_times_out_and_is_retried(github_project, fake_github, sha, settings):
    settings.BUGSTACK_GITHUB_TIMEOUT = 1
    fake_github.inject("/git/trees/", "timeout", times=1, seconds=2)
    assert "README.md" in host_for_project(github_project).tree(sha)
    assert len(fake_github.requests_to("/git/trees/")) == 2


def test_a_server_that_never_answers_ends_in_a_transient_error(github_project, fake_github, sha, settings):
    settings.BUGSTACK_GITHUB_TIMEOUT = 1
    settings.BUGSTACK_GITHUB_RETRIES = 1
    fake_github.inject("/git/trees/", "timeout", times=5, seconds=2)
    with pytest.raises(TransientError, match="did not answer"):
        host_for_project(github_project).tree(sha)


def test_persistent_5xx_is_transient_after_bounded_retries(host, fake_github, sha):
    fake_github.inject("/git/trees/", "503", times=10)
    with pytest.raises(TransientError, match="HTTP 503") as caught:
        host.tree(sha)
    assert caught.value.permanent is False
    assert len(fake_github.requests_to("/git/trees/")) == 4  # the first try and three retries


def test_a_failed_ref_update_leaves_the_branch_as_it_was(host, fake_github, sha):
    host.create_branch(BRANCH, sha)
    fake_github.inject("/git/refs/heads/", "502", times=10, method="PATCH")
    with pytest.raises(TransientError):
        host.commit(BRANCH, FIX, "Fix")
    assert fake_github.head(REPOSITORY, BRANCH) == sha


def test_a_pull_request_whose_creation_answer_was_lost_is_not_opened_twice(host, fake_github, sha):
    host.create_branch(BRANCH, sha)
    host.commit(BRANCH, FIX, "Fix")
    fake_github.inject("/pulls", "lost_response", times=1, method="POST")
    pr = host.open_pull_request(BRANCH, "Fix", "body")
    assert pr.number == 1
    assert len(fake_github.repo(REPOSITORY).pulls) == 1
    assert len(fake_github.requests_to("/pulls", method="POST")) == 2


def test_a_merge_whose_answer_was_lost_reports_the_merge(host, fake_github, sha):
    host.create_branch(BRANCH, sha)
    host.commit(BRANCH, FIX, "Fix")
    pr = host.open_pull_request(BRANCH, "Fix", "body")
    fake_github.inject("/merge", "lost_response", times=1, method="PUT")
    merge_sha = host.merge(pr, "merge")
    assert merge_sha == fake_github.head(REPOSITORY, "main")
    assert len(fake_github.requests_to("/merge", method="PUT")) == 2


# --- permanent errors a person can act on -----------------------------------------------------------------


def test_a_bad_token_ends_with_an_actionable_message(account, fake_github, sha):
    CredentialFactory(account=account, kind=Credential.Kind.GITHUB, secret="ghp_revoked")
    project = ProjectFactory(account=account, code_host="github", repository=REPOSITORY)
    with pytest.raises(PermanentError, match="replace the GitHub credential") as caught:
        host_for_project(project).tree(sha)
    assert "Bad credentials" in str(caught.value)
    assert len(fake_github.requests) == 1  # a 401 is never retried


def test_a_read_only_token_is_told_it_lacks_contents_write(account, fake_github, sha):
    fake_github.tokens["ghp_readonly"] = None
    fake_github.read_only.add("ghp_readonly")
    CredentialFactory(account=account, kind=Credential.Kind.GITHUB, secret="ghp_readonly")
    project = ProjectFactory(account=account, code_host="github", repository=REPOSITORY)
    with pytest.raises(PermanentError, match="token lacks contents:write on acme/shop"):
        host_for_project(project).create_branch(BRANCH, sha)


def test_an_unknown_repository_names_the_repository(account, fake_github):
    CredentialFactory(account=account, kind=Credential.Kind.GITHUB, secret=TOKEN)
    project = ProjectFactory(account=account, code_host="github", repository="acme/nope")
    with pytest.raises(PermanentError, match="acme/nope"):
        host_for_project(project).head("main")


# --- credentials belong to one account --------------------------------------------------------------------


def test_a_project_never_uses_another_accounts_token(github_project, fake_github):
    stranger = AccountFactory(name="Stranger", slug="stranger")
    theirs = ProjectFactory(account=stranger, code_host="github", repository=REPOSITORY)
    with pytest.raises(PermanentError, match="Stranger has no GitHub token"):
        host_for_project(theirs)
    CredentialFactory(account=stranger, kind=Credential.Kind.GITHUB, secret="ghp_stranger")
    with pytest.raises(PermanentError, match="replace the GitHub credential"):
        host_for_project(theirs).head("main")
    assert {r.headers["Authorization"] for r in fake_github.requests} == {"token ghp_stranger"}


# --- what a fix costs in write calls (each paced 1 s on github.com) ---------------------------------------


def test_a_fix_costs_six_writes(host, fake_github, sha):
    host.create_branch(BRANCH, sha)
    host.commit(BRANCH, FIX, "Fix")
    pr = host.open_pull_request(BRANCH, "Fix", "body")
    host.label_pull_request(pr, "bugstack")
    writes = [r for r in fake_github.requests if r.method != "GET"]
    assert [(r.method, r.path.split("/", 4)[-1]) for r in writes] == [
        ("POST", "git/refs"),
        ("POST", "git/trees"),
        ("POST", "git/commits"),
        ("PATCH", f"git/refs/heads/{BRANCH}"),
        ("POST", "pulls"),
        ("POST", "issues/1/labels"),
    ]


def test_rewriting_an_executable_file_keeps_it_executable(host, fake_github, sha):
    host.create_branch(BRANCH, sha)
    new = host.commit(BRANCH, {"run.sh": "#!/bin/sh\nexit 0\n"}, "Simplify")
    repo = fake_github.repo(REPOSITORY)
    assert repo.files_at(new)["run.sh"][0] == "100755"


def test_blobs_hash_as_git_hashes_them(fake_github, seed_dir):
    tree = subprocess.run(
        ["git", "-C", str(seed_dir), "rev-parse", "HEAD^{tree}"], capture_output=True, text=True, check=True
    ).stdout.strip()
    repo = fake_github.repo(REPOSITORY)
    assert repo.objects.commits[fake_github.head(REPOSITORY, "main")].tree == tree


# --- the fake on its own ----------------------------------------------------------------------------------


def test_the_fake_runs_standalone_and_requires_its_token(seed_dir):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.github",
            "--port",
            "0",
            "--repo",
            f"{REPOSITORY}={seed_dir}",
            "--token",
            "t0k",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = process.stdout.readline().split(" at ")[-1].strip()
        client = Github(
            auth=Auth.Token("t0k"),
            base_url=base_url,
            retry=None,
            timeout=5,
            seconds_between_requests=0,
            seconds_between_writes=0,
        )
        assert client.get_repo(REPOSITORY).get_contents("README.md").decoded_content == b"# Shop\n"
        stranger = Github(base_url=base_url, retry=None, timeout=5, seconds_between_requests=0)
        with pytest.raises(Exception, match="401"):
            stranger.get_repo(REPOSITORY)
    finally:
        process.terminate()
        process.wait(timeout=10)
