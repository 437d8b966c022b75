"""Code host fixtures: a seeded repository on disk, the GitHub fake serving the same files, and a harness that
lets the contract suite do what people and CI do on either host."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from integrations.codehost import host_for_project
from integrations.localgit.ci import claim, record, run_tests
from integrations.models import Credential, LocalCheckRun
from tests.factories import CredentialFactory, ProjectFactory
from tests.fakes.github import FakeGitHub

TOKEN = "ghp_contracttoken0000000000000000000000"
REPOSITORY = "acme/shop"

SEED = {
    "README.md": "# Shop\n",
    "shop/__init__.py": "",
    "shop/cart.py": "def average(prices):\n    return sum(prices) / len(prices)\n",
    "shop/util.py": "def money(cents):\n    return f'{cents / 100:.2f}'\n",
    # The repository's own test, run as CI by the local host: it fails until average([]) is handled.
    "check.py": textwrap.dedent(
        """\
        import sys
        from shop.cart import average
        try:
            assert average([]) == 0
        except Exception as error:
            print(f"FAILED check_average_of_nothing: {type(error).__name__}: {error}")
            sys.exit(1)
        print("1 passed")
        """
    ),
}
FIX = {
    "shop/cart.py": "def average(prices):\n    return sum(prices) / len(prices) if prices else 0\n",
    "shop/util.py": "def money(cents):\n    return f'{cents / 100:,.2f}'\n",
}


def git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(path), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def commit_as_person(path: Path, message: str) -> None:
    git(path, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-q", "-m", message)


@pytest.fixture
def seed_dir(tmp_path) -> Path:
    """A git repository with the seed files committed on main, as a user would have it."""
    root = tmp_path / "shop-repo"
    for path, text in SEED.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    (root / "run.sh").write_text("#!/bin/sh\npython3 check.py\n")
    (root / "run.sh").chmod(0o755)
    (root / "tests").mkdir()
    (root / "tests" / "link").symlink_to("../.github")  # a symlink that leads where a fix may not write
    git(tmp_path, "init", "-q", "-b", "main", str(root))
    git(root, "add", "-A")
    commit_as_person(root, "Initial commit")
    return root


@pytest.fixture
def fake_github(seed_dir, settings):
    with FakeGitHub(tokens={TOKEN: None}) as fake:
        fake.add_repo(REPOSITORY, path=seed_dir)
        settings.BUGSTACK_GITHUB_API_URL = fake.base_url
        settings.BUGSTACK_GITHUB_PACING = False
        settings.BUGSTACK_GITHUB_TIMEOUT = 5
        settings.BUGSTACK_GITHUB_RETRIES = 3
        settings.BUGSTACK_GITHUB_MAX_WAIT = 5
        yield fake


@pytest.fixture
def github_project(account, fake_github):
    CredentialFactory(account=account, kind=Credential.Kind.GITHUB, secret=TOKEN)
    return ProjectFactory(account=account, code_host="github", repository=REPOSITORY, name="Shop on GitHub")


@pytest.fixture
def local_project(account, seed_dir):
    return ProjectFactory(
        account=account,
        code_host="local",
        repository="",
        local_repo_path=str(seed_dir),
        test_command="python3 check.py",
        name="Shop on disk",
    )


class GitHubHarness:
    """What people and GitHub Actions do, on the fake."""

    def __init__(self, project, fake: FakeGitHub) -> None:
        self.project, self.fake = project, fake
        self.host = host_for_project(project)

    def start_ci(self, sha: str) -> None:
        self.fake.add_check_run(REPOSITORY, sha, "tests", status="in_progress", conclusion=None)

    def finish_ci(self, sha: str) -> None:
        """Report the seed's check as the local host would run it: failing until the fix is in."""
        text = self.host.read("shop/cart.py", sha)
        if "if prices" in text:
            self.fake.add_check_run(REPOSITORY, sha, "tests", conclusion="success", summary="1 passed")
        else:
            self.fake.add_check_run(
                REPOSITORY,
                sha,
                "tests",
                conclusion="failure",
                title="1 failed",
                summary="check.py failed",
                text="FAILED check_average_of_nothing: ZeroDivisionError: division by zero",
            )

    def push_to_main(self, files: dict[str, str]) -> str:
        return self.fake.push(REPOSITORY, "main", files)

    def merge_as_person(self, number: int) -> None:
        self.fake.merge_pull(REPOSITORY, number)

    def close_as_person(self, number: int) -> None:
        self.fake.close_pull(REPOSITORY, number)

    def labels(self, number: int) -> list[str]:
        return self.fake.repo(REPOSITORY).pull(number).labels


class LocalHarness:
    """What people do with git directly; CI is the project's test command, run by the host itself."""

    def __init__(self, project, path: Path) -> None:
        self.project, self.path = project, path
        self.host = host_for_project(project)

    def start_ci(self, sha: str) -> None:
        """Another worker claims the commit's tests, as ``LocalGitHost.ci`` does."""
        claim(self.project, sha, self.project.test_command, self.host.ci_timeout)

    def finish_ci(self, sha: str) -> None:
        """That worker runs the tests and records the verdict; with none running, ``ci()`` runs them."""
        running = LocalCheckRun.objects.filter(project=self.project, sha=sha, state="running").first()
        if running:
            record(running, run_tests(self.host.git, sha, self.project.test_command, self.host.ci_timeout))

    def push_to_main(self, files: dict[str, str]) -> str:
        for name, text in files.items():
            (self.path / name).write_text(text)
        git(self.path, "add", *files)
        commit_as_person(self.path, "change")
        return git(self.path, "rev-parse", "HEAD")

    def merge_as_person(self, number: int) -> None:
        branch = self.project.local_pull_requests.get(number=number).branch
        git(
            self.path,
            "-c",
            "user.name=Dev",
            "-c",
            "user.email=dev@example.com",
            "merge",
            "-q",
            "--no-ff",
            branch,
        )

    def close_as_person(self, number: int) -> None:
        branch = self.project.local_pull_requests.get(number=number).branch
        git(self.path, "branch", "-D", branch)

    def labels(self, number: int) -> list[str]:
        return self.project.local_pull_requests.get(number=number).labels


@pytest.fixture(params=["github", "local"])
def harness(request, db):
    if request.param == "github":
        return GitHubHarness(
            request.getfixturevalue("github_project"), request.getfixturevalue("fake_github")
        )
    return LocalHarness(request.getfixturevalue("local_project"), request.getfixturevalue("seed_dir"))
