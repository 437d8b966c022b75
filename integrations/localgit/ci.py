"""The local code host's CI: the project's test command in a fresh temporary worktree at a commit."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from integrations.codehost import CIFailure, CIResult, CIState
from integrations.localgit.git import Git, GitFailed

OUTPUT_LIMIT = 64 * 1024
# The test command runs code a fix changed, so it gets none of the server's secrets (keys, database URL).
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TERM", "TMPDIR", "USER", "SHELL", "VIRTUAL_ENV")


def test_env() -> dict[str, str]:
    env = {name: os.environ[name] for name in PASSED_ENV if name in os.environ}
    return {**env, "CI": "true"}


def tail(path: Path, limit: int = OUTPUT_LIMIT) -> str:
    with path.open("rb") as output:
        output.seek(0, os.SEEK_END)
        size = output.tell()
        output.seek(max(0, size - limit))
        text = output.read().decode(errors="replace")
    return text if size <= limit else f"[… first {size - limit} bytes cut …]\n{text}"


def run_command(command: str, cwd: Path, output: Path, timeout: float) -> int | None:
    """The command's exit status, or None when it ran out of time (then its whole process group is killed)."""
    with output.open("wb") as sink:
        # The test command is project configuration set by the account's admins, and may use shell syntax.
        process = subprocess.Popen(  # noqa: S602 - see above
            command,
            shell=True,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=test_env(),
            start_new_session=True,
        )
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return None


def run_tests(git: Git, sha: str, command: str, timeout: float) -> CIResult:
    """Run ``command`` in a temporary worktree at ``sha``; the repository's own working copy is never used."""
    if not command.strip():
        return CIResult(CIState.NONE)
    scratch = Path(tempfile.mkdtemp(prefix="bugstack-ci-"))
    tree, output = scratch / "tree", scratch / "output.log"
    try:
        git.run("worktree", "add", "--detach", str(tree), sha)
        status = run_command(command, tree, output, timeout)
    finally:
        try:
            git.run("worktree", "remove", "--force", str(tree))
        except GitFailed:
            git.run("worktree", "prune")
    try:
        text = tail(output)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if status == 0:
        return CIResult(CIState.SUCCESS)
    summary = (
        f"`{command}` timed out after {timeout:g} s"
        if status is None
        else f"`{command}` exited with {status}"
    )
    return CIResult(CIState.FAILURE, (CIFailure(name="test command", summary=summary, text=text),))
