"""The git command line, run against one repository without touching its working copy or index."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from integrations.errors import PermanentError

SHA = re.compile(r"^[0-9a-fA-F]{4,64}$")
ZERO = "0" * 40
IDENTITY = {
    "GIT_AUTHOR_NAME": "bugstack",
    "GIT_AUTHOR_EMAIL": "bugstack@localhost",
    "GIT_COMMITTER_NAME": "bugstack",
    "GIT_COMMITTER_EMAIL": "bugstack@localhost",
    "GIT_TERMINAL_PROMPT": "0",
}
GIT_TIMEOUT = 120


class GitFailed(Exception):
    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        super().__init__(f"git {' '.join(args)} failed ({returncode}): {stderr.strip()}")
        self.returncode = returncode
        self.stderr = stderr


class Git:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def run_bytes(self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
        try:
            done = subprocess.run(
                ["git", "-C", str(self.path), *args],
                input=stdin,
                capture_output=True,
                env={**os.environ, **IDENTITY, **(env or {})},
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except FileNotFoundError as error:
            raise PermanentError(
                "git is not installed on this server; the local code host needs it."
            ) from error
        if done.returncode != 0:
            raise GitFailed(list(args), done.returncode, done.stderr.decode(errors="replace"))
        return done.stdout

    def run(self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
        data = self.run_bytes(*args, stdin=stdin.encode() if stdin is not None else None, env=env)
        return data.decode(errors="replace").strip()

    def succeeds(self, *args: str) -> bool:
        try:
            self.run_bytes(*args)
        except GitFailed:
            return False
        return True

    def check_repository(self) -> None:
        if not self.path.is_dir() or not self.succeeds("rev-parse", "--git-dir"):
            raise PermanentError(
                f"{self.path} is not a git repository: set the project's local repository path."
            )

    def commit_sha(self, rev: str) -> str:
        """The full sha of a commit given by sha; anything else (options, ranges) is refused."""
        if not SHA.match(rev):
            raise PermanentError(f"{rev!r} is not a commit sha.")
        try:
            return self.run("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
        except GitFailed as error:
            raise PermanentError(f"Commit {rev} does not exist in {self.path}.") from error

    def branch_ref(self, name: str) -> str:
        if name.startswith("-") or not self.succeeds("check-ref-format", "--branch", name):
            raise PermanentError(f"{name!r} is not a valid branch name.")
        return f"refs/heads/{name}"

    def resolve(self, ref: str) -> str | None:
        """The sha ``ref`` points at, or None if there is no such ref."""
        try:
            return self.run("rev-parse", "--verify", "--quiet", ref)
        except GitFailed:
            return None

    def is_ancestor(self, older: str, newer: str) -> bool:
        return self.succeeds("merge-base", "--is-ancestor", older, newer)
