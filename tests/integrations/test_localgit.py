"""LocalGitHost: the user's working copy is never touched, CI runs isolated and bounded, paths stay inside."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.codehost import CIState, host_for_project
from integrations.errors import PermanentError
from integrations.localgit import LocalGitHost
from integrations.localgit.ci import OUTPUT_LIMIT
from integrations.models import LocalCheckRun
from tests.factories import ProjectFactory
from tests.integrations.conftest import FIX, git

BRANCH = "bugstack/fix-3-0badf00d"


@pytest.fixture
def host(local_project):
    return host_for_project(local_project)


def test_working_copy_and_index_are_left_as_the_user_had_them(host, seed_dir):
    (seed_dir / "README.md").write_text("# Shop (work in progress)\n")
    (seed_dir / "notes.txt").write_text("untracked\n")
    git(seed_dir, "add", "notes.txt")
    status_before = git(seed_dir, "status", "--porcelain")
    base = host.head("main")
    host.create_branch(BRANCH, base)
    sha = host.commit(BRANCH, FIX, "Fix")
    host.ci(sha)
    assert git(seed_dir, "status", "--porcelain") == status_before
    assert (seed_dir / "README.md").read_text() == "# Shop (work in progress)\n"
    assert (seed_dir / "shop/cart.py").read_text() != FIX["shop/cart.py"]
    assert git(seed_dir, "symbolic-ref", "--short", "HEAD") == "main"
    assert git(seed_dir, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_ci_without_a_test_command_reports_none(local_project, seed_dir):
    local_project.test_command = ""
    assert host_for_project(local_project).ci(git(seed_dir, "rev-parse", "HEAD")).state == CIState.NONE


def test_ci_that_runs_too_long_is_killed_and_reported(seed_dir, local_project):
    host = LocalGitHost(seed_dir, project=local_project, test_command="echo started; sleep 30", ci_timeout=1)
    result = host.ci(host.head("main"))
    assert result.state == CIState.FAILURE
    assert "timed out after 1 s" in result.failures[0].summary
    assert "started" in result.failures[0].text
    assert git(seed_dir, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_ci_keeps_the_last_64_kb_of_output(seed_dir, local_project):
    command = "python3 -c \"print('x' * 100000); print('the last line'); raise SystemExit(3)\""
    result = LocalGitHost(seed_dir, project=local_project, test_command=command).ci(
        git(seed_dir, "rev-parse", "HEAD")
    )
    failure = result.failures[0]
    assert failure.summary.endswith("exited with 3")
    assert failure.text.rstrip().endswith("the last line")
    assert OUTPUT_LIMIT <= len(failure.text.encode()) < OUTPUT_LIMIT + 100


def test_ci_never_sees_the_servers_secrets(seed_dir, local_project, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "server-secret-value")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-server")
    host = LocalGitHost(seed_dir, project=local_project, test_command="env; exit 1")
    text = host.ci(host.head("main")).failures[0].text
    assert "server-secret-value" not in text
    assert "sk-ant-server" not in text
    assert "CI=true" in text


@pytest.mark.parametrize("path", ["../outside.py", "/etc/passwd", ".git/config", "shop/../../x"])
def test_commit_refuses_paths_outside_the_repository(host, path):
    host.create_branch(BRANCH, host.head("main"))
    before = host.head(BRANCH)
    with pytest.raises(PermanentError, match="not a path inside the repository"):
        host.commit(BRANCH, {"shop/cart.py": "ok\n", path: "owned\n"}, "Escape")
    assert host.head(BRANCH) == before


@pytest.mark.parametrize("name", ["--upload-pack=evil", "bad..name", "has space"])
def test_branch_names_that_git_refuses_are_refused(host, name):
    with pytest.raises(PermanentError, match="not a valid branch name"):
        host.create_branch(name, host.head("main"))


def test_revisions_other_than_shas_are_refused(host):
    with pytest.raises(PermanentError, match="not a commit sha"):
        host.tree("--output=/tmp/x")


def test_a_directory_that_is_not_a_repository_is_a_permanent_error(account, tmp_path):
    project = ProjectFactory(account=account, code_host="local", local_repo_path=str(tmp_path))
    with pytest.raises(PermanentError, match="is not a git repository"):
        host_for_project(project)


def test_pull_requests_are_numbered_per_project(account, seed_dir, local_project):
    other = ProjectFactory(account=account, code_host="local", local_repo_path=str(seed_dir), name="Other")
    numbers = []
    for project, branch in ((local_project, "fix-a"), (local_project, "fix-b"), (other, "fix-c")):
        host = host_for_project(project)
        host.create_branch(branch, host.head("main"))
        host.commit(branch, {"README.md": f"{branch}\n"}, branch)
        numbers.append(host.open_pull_request(branch, branch, "").number)
    assert numbers == [1, 2, 1]


def test_merge_creates_a_merge_commit_with_both_parents(host, seed_dir):
    base = host.head("main")
    host.create_branch(BRANCH, base)
    tip = host.commit(BRANCH, FIX, "Fix")
    pr = host.open_pull_request(BRANCH, "Fix", "")
    merge = host.merge(pr, "merge")
    assert git(seed_dir, "rev-list", "--parents", "-n", "1", merge).split()[1:] == [base, tip]
    assert "Merge pull request #1" in git(seed_dir, "log", "-1", "--format=%s", merge)


def counting_host(local_project, seed_dir, counter):
    local_project.test_command = f"echo run >> {counter}; python3 check.py"
    local_project.save()
    return host_for_project(local_project)


def test_the_tests_run_once_per_commit(local_project, seed_dir, tmp_path):
    counter = tmp_path / "runs.txt"
    host = counting_host(local_project, seed_dir, counter)
    sha = host.head("main")
    first, second = host.ci(sha), host.ci(sha)
    assert first == second
    assert first.state == CIState.FAILURE
    assert counter.read_text().count("run") == 1
    stored = LocalCheckRun.objects.get(project=local_project, sha=sha)
    assert "ZeroDivisionError" in stored.output


def test_a_changed_test_command_runs_again(local_project, seed_dir, tmp_path):
    counter = tmp_path / "runs.txt"
    host = counting_host(local_project, seed_dir, counter)
    sha = host.head("main")
    host.ci(sha)
    local_project.test_command = f"echo run >> {counter}; true"
    assert host_for_project(local_project).ci(sha).state == CIState.SUCCESS
    assert counter.read_text().count("run") == 2


def test_tests_abandoned_by_a_dead_worker_are_taken_over(local_project, seed_dir, tmp_path):
    counter = tmp_path / "runs.txt"
    host = counting_host(local_project, seed_dir, counter)
    sha = host.head("main")
    LocalCheckRun.objects.create(
        project=local_project,
        sha=sha,
        command=local_project.test_command,
        started_at=timezone.now() - timedelta(seconds=host.ci_timeout + 120),
    )
    assert host.ci(sha).state == CIState.FAILURE
    assert counter.read_text().count("run") == 1
