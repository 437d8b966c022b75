"""The local code host's CI: the project's test command in a fresh temporary worktree at a commit."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from integrations.codehost import CIFailure, CIResult, CIState
from integrations.localgit.git import Git, GitFailed
from integrations.models import LocalCheckRun

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


def claim(project, sha: str, command: str, timeout: float) -> tuple[LocalCheckRun, bool]:
    """The commit's check run, and whether this worker must run the tests.

    The tests run once per commit and command: a second caller while they run gets the running record
    (pending), a later one the verdict. A run whose worker died (still running long past the timeout)
    is taken over, by compare-and-set so only one worker takes it.
    """
    now = timezone.now()
    run, created = LocalCheckRun.objects.get_or_create(
        project=project, sha=sha, defaults={"command": command, "started_at": now}
    )
    if created:
        return run, True
    abandoned = run.state == LocalCheckRun.State.RUNNING and run.started_at < now - timedelta(
        seconds=timeout + 60
    )
    if not abandoned and run.command == command:
        return run, False
    taken = LocalCheckRun.objects.filter(pk=run.pk, state=run.state, started_at=run.started_at).update(
        state=LocalCheckRun.State.RUNNING,
        command=command,
        started_at=now,
        finished_at=None,
        summary="",
        output="",
    )
    run.refresh_from_db()
    return run, bool(taken)


def record(run: LocalCheckRun, result: CIResult) -> None:
    failure = result.failures[0] if result.failures else CIFailure(name="test command")
    LocalCheckRun.objects.filter(pk=run.pk).update(
        state=result.state, summary=failure.summary[:500], output=failure.text, finished_at=timezone.now()
    )


def result_of(run: LocalCheckRun) -> CIResult:
    if run.state == LocalCheckRun.State.RUNNING:
        return CIResult(CIState.PENDING)
    if run.state == LocalCheckRun.State.SUCCESS:
        return CIResult(CIState.SUCCESS)
    return CIResult(CIState.FAILURE, (CIFailure(name="test command", summary=run.summary, text=run.output),))
