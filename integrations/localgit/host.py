"""``LocalGitHost``: the code host interface on a git repository on this server.

Everything goes through plumbing (a private index file, ``commit-tree``, ``merge-tree``, compare-and-swap
``update-ref``) or a temporary worktree, so the repository's working copy and index are never touched. A
pull request is a branch plus a ``LocalPullRequest`` row, whose body carries the comments below the
description, as a pull request's page shows them. Moving the default branch does not update a
working copy that has it checked out: people see the merge with ``git status`` and take it with
``git reset --keep``.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import IntegrityError, transaction

from integrations.codehost import (
    CIResult,
    CIState,
    CodeHost,
    FileNotFound,
    PRState,
    PullRequest,
    comment_marker,
    decode_text,
)
from integrations.errors import PermanentError, TransientError
from integrations.localgit.ci import claim, record, result_of, run_tests
from integrations.localgit.git import ZERO, Git, GitFailed
from integrations.models import LocalCheckRun, LocalPullRequest

SYMLINK = "120000"  # git's file mode for a symbolic link
COMMENT_RULE = "\n\n---\n\n"  # sets each comment apart from the description and the one before


class LocalGitHost(CodeHost):
    def __init__(
        self,
        path: str | Path,
        project=None,
        default_branch: str | None = None,
        test_command: str | None = None,
        ci_timeout: float | None = None,
    ) -> None:
        self.git = Git(path)
        self.git.check_repository()
        self.project = project
        self.default_branch = (
            default_branch or getattr(project, "default_branch", "") or self.current_branch()
        )
        self.test_command = test_command if test_command is not None else getattr(project, "test_command", "")
        self.ci_timeout = ci_timeout or settings.BUGSTACK_LOCAL_CI_TIMEOUT

    def current_branch(self) -> str:
        return self.git.run("symbolic-ref", "--short", "HEAD")

    @contextlib.contextmanager
    def failures(self, action: str) -> Iterator[None]:
        try:
            yield
        except GitFailed as error:
            raise PermanentError(
                f"git could not {action} in {self.git.path}: {error.stderr.strip()}"
            ) from error

    # reading

    def head(self, branch: str) -> str:
        ref = self.git.branch_ref(branch)
        try:
            return self.git.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except GitFailed as error:
            raise PermanentError(f"Branch {branch!r} does not exist in {self.git.path}.") from error

    def tree(self, sha: str) -> list[str]:
        return sorted(path for path, _, _ in self.files(sha))

    def symlinks(self, sha: str) -> dict[str, str]:
        links = [(path, blob) for path, mode, blob in self.files(sha) if mode == SYMLINK]
        if not links:
            return {}
        with self.failures(f"read the symlinks at {sha[:12]}"):
            targets = self.git.run_bytes(
                "cat-file", "--batch", stdin="".join(f"{blob}\n" for _, blob in links).encode()
            )
        return dict(zip([path for path, _ in links], batch_contents(targets), strict=True))

    def files(self, sha: str) -> list[tuple[str, str, str]]:
        """(path, mode, blob sha) of every file at ``sha``."""
        commit = self.git.commit_sha(sha)
        with self.failures(f"list the files at {sha[:12]}"):
            listing = self.git.run_bytes("ls-tree", "-r", "-z", "--full-tree", commit)
        files = []
        for line in listing.split(b"\0"):
            meta, _, path = line.decode(errors="replace").partition("\t")
            mode, kind, blob = (meta.split(" ") + ["", "", ""])[:3]
            if kind == "blob":
                files.append((path, mode, blob))
        return files

    def entry(self, commit: str, path: str) -> tuple[str, str] | None:
        """(mode, blob sha) of ``path`` at ``commit``, or None if there is no such file."""
        listing = self.git.run_bytes("ls-tree", "-z", "--full-tree", commit, "--", path)
        for line in listing.split(b"\0"):
            meta, _, name = line.decode(errors="replace").partition("\t")
            mode, kind, blob = (meta.split(" ") + ["", "", ""])[:3]
            if name == path and kind == "blob":
                return mode, blob
        return None

    def read(self, path: str, sha: str) -> str:
        commit = self.git.commit_sha(sha)
        with self.failures(f"read {path} at {sha[:12]}"):
            found = self.entry(commit, path)
            if found is None:
                raise FileNotFound(f"{path} does not exist at {sha[:12]}")
            return decode_text(self.git.run_bytes("cat-file", "blob", found[1]), path)

    # writing

    def create_branch(self, name: str, sha: str) -> None:
        ref, commit = self.git.branch_ref(name), self.git.commit_sha(sha)
        if self.git.resolve(ref):
            return
        # The all-zero old value makes the update fail if someone created the branch meanwhile.
        if not self.git.succeeds("update-ref", ref, commit, ZERO) and not self.git.resolve(ref):
            raise PermanentError(f"Could not create branch {name} in {self.git.path}.")

    def commit(self, branch: str, files: dict[str, str], message: str) -> str:
        ref, parent = self.git.branch_ref(branch), self.head(branch)
        for path in files:
            check_path(path)
        with (
            self.failures(f"commit to {branch}"),
            tempfile.TemporaryDirectory(prefix="bugstack-index-") as scratch,
        ):
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            self.git.run("read-tree", parent, env=env)
            for path, text in files.items():
                blob = self.git.run("hash-object", "-w", "--no-filters", "--stdin", stdin=text)
                mode = (self.entry(parent, path) or ("100644", ""))[0]
                self.git.run("update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", env=env)
            tree = self.git.run("write-tree", env=env)
            sha = self.git.run("commit-tree", tree, "-p", parent, "-F", "-", stdin=message)
        self.move(ref, sha, parent, branch)
        return sha

    def move(self, ref: str, new: str, old: str, branch: str) -> None:
        """Compare-and-swap the branch: if it moved since we read it, nothing is overwritten."""
        if not self.git.succeeds("update-ref", "-m", "bugstack", ref, new, old):
            raise TransientError(f"Branch {branch} moved while bugstack was writing to it; try again.")

    # pull requests

    def records(self):
        if self.project is None:
            raise PermanentError("Pull requests on a local repository need the project they belong to.")
        return LocalPullRequest.objects.filter(project=self.project)

    def as_pull_request(self, record) -> PullRequest:
        url = f"{self.git.path.resolve().as_uri()}#pull-{record.number}"
        return PullRequest(
            number=record.number,
            url=url,
            branch=record.branch,
            head_sha=record.head_sha,
            state=PRState(record.state),
            merge_sha=record.merge_sha,
        )

    def refresh(self, record):
        """Notice what people did with git directly: a branch merged into the default branch, or deleted."""
        if record.state != record.State.OPEN:
            return record
        ref = self.git.branch_ref(record.branch)
        tip = self.git.resolve(ref)
        base = self.head(record.base_branch)
        if not tip:
            record.state = record.State.CLOSED
        elif self.git.is_ancestor(tip, base):
            merges = self.git.run("rev-list", "--reverse", "--ancestry-path", f"{tip}..{base}").split()
            record.state, record.merge_sha, record.head_sha = record.State.MERGED, (merges or [base])[0], tip
        elif tip != record.head_sha:
            record.head_sha = tip
        else:
            return record
        record.save(update_fields=["state", "merge_sha", "head_sha", "updated_at"])
        return record

    def find_pull_request(self, branch: str) -> PullRequest | None:
        record = self.records().filter(branch=branch).order_by("-number").first()
        return self.as_pull_request(self.refresh(record)) if record else None

    def get_pull_request(self, number: int) -> PullRequest:
        record = self.records().filter(number=number).first()
        if record is None:
            raise PermanentError(f"Pull request #{number} does not exist for {self.git.path}.")
        return self.as_pull_request(self.refresh(record))

    def open_pull_request(self, branch: str, title: str, body: str) -> PullRequest:
        head, base = self.head(branch), self.head(self.default_branch)
        if self.git.is_ancestor(head, base):
            raise PermanentError(
                f"No commits between {self.default_branch} and {branch}: nothing to propose."
            )
        for _ in range(5):
            existing = self.records().filter(branch=branch, state="open").first()
            if existing:
                return self.as_pull_request(existing)
            try:
                return self.as_pull_request(self.create_record(branch, title, body, head))
            except IntegrityError:
                continue  # another worker took the number or opened this branch's pull request; look again
        raise TransientError(f"Could not number a new pull request for {branch}; try again.")

    def create_record(self, branch: str, title: str, body: str, head: str):
        with transaction.atomic():
            last = self.records().order_by("-number").values_list("number", flat=True).first() or 0
            return LocalPullRequest.objects.create(
                project=self.project,
                number=last + 1,
                branch=branch,
                base_branch=self.default_branch,
                title=title[:300],
                body=body,
                head_sha=head,
            )

    def label_pull_request(self, pr: PullRequest, label: str) -> None:
        record = self.records().filter(number=pr.number).first()
        if record is None:
            raise PermanentError(f"Pull request #{pr.number} does not exist for {self.git.path}.")
        if label not in record.labels:
            record.labels = [*record.labels, label]
            record.save(update_fields=["labels", "updated_at"])

    def comment_on_pull_request(self, pr: PullRequest, key: str, text: str) -> None:
        marker = comment_marker(key)
        with transaction.atomic():
            record = self.records().select_for_update().filter(number=pr.number).first()
            if record is None:
                raise PermanentError(f"Pull request #{pr.number} does not exist for {self.git.path}.")
            if marker in record.body:
                return
            record.body = f"{record.body}{COMMENT_RULE}{marker}\n{text}"
            record.save(update_fields=["body", "updated_at"])

    def merge(self, pr: PullRequest, method: str) -> str:
        record = self.records().filter(number=pr.number).first()
        if record is None or self.refresh(record).state != record.State.OPEN:
            raise PermanentError(f"Pull request #{pr.number} is not open, so it cannot be merged.")
        tip, base = self.head(record.branch), self.head(record.base_branch)
        if pr.head_sha and tip != pr.head_sha:
            raise PermanentError(
                f"Branch {record.branch} moved since {pr.head_sha[:12]} was checked; not merging."
            )
        with self.failures(f"merge pull request #{pr.number}"):
            if method == "rebase":
                sha = self.replay(base, tip, record.number)
            else:
                tree = self.merged_tree(base, tip, record.number)
                parents = ["-p", base, "-p", tip] if method == "merge" else ["-p", base]
                message = (
                    f"Merge pull request #{record.number} from {record.branch}\n\n{record.title}"
                    if method == "merge"
                    else f"{record.title} (#{record.number})"
                )
                sha = self.git.run("commit-tree", tree, *parents, "-F", "-", stdin=message)
        self.move(self.git.branch_ref(record.base_branch), sha, base, record.base_branch)
        record.state, record.merge_sha, record.head_sha = record.State.MERGED, sha, tip
        record.save(update_fields=["state", "merge_sha", "head_sha", "updated_at"])
        return sha

    def merged_tree(self, base: str, tip: str, number: int) -> str:
        try:
            return self.git.run("merge-tree", "--write-tree", "--no-messages", base, tip).splitlines()[0]
        except GitFailed as error:
            if error.returncode == 1:
                raise self.conflict(number) from error
            raise

    def conflict(self, number: int) -> PermanentError:
        return PermanentError(
            f"Pull request #{number} cannot be merged: it conflicts with {self.default_branch}; "
            "resolve it by hand."
        )

    def replay(self, base: str, tip: str, number: int) -> str:
        """A rebase merge: the branch's commits cherry-picked onto the base in a temporary worktree."""
        with tempfile.TemporaryDirectory(prefix="bugstack-rebase-") as scratch:
            tree = str(Path(scratch) / "tree")
            self.git.run("worktree", "add", "--detach", tree, base)
            try:
                picker = Git(tree)
                try:
                    picker.run("cherry-pick", "--allow-empty", f"{base}..{tip}")
                except GitFailed as error:
                    picker.succeeds("cherry-pick", "--abort")
                    raise self.conflict(number) from error
                return picker.run("rev-parse", "HEAD")
            finally:
                self.git.run("worktree", "remove", "--force", tree)

    # CI

    def ci(self, sha: str) -> CIResult:
        """Run the test command at ``sha`` once; while another worker runs it the answer is pending."""
        commit = self.git.commit_sha(sha)
        command = self.test_command or ""
        if not command.strip():
            return CIResult(CIState.NONE)
        if self.project is None:
            return self.run_tests(commit, command)
        run, mine = claim(self.project, commit, command, self.ci_timeout)
        if not mine:
            return result_of(run)
        try:
            result = self.run_tests(commit, command)
        except BaseException:
            LocalCheckRun.objects.filter(pk=run.pk).delete()  # let the next call try again
            raise
        record(run, result)
        return result

    def run_tests(self, commit: str, command: str) -> CIResult:
        with self.failures(f"prepare a worktree at {commit[:12]}"):
            return run_tests(self.git, commit, command, self.ci_timeout)


def batch_contents(output: bytes) -> list[str]:
    """The objects' contents from ``git cat-file --batch``: a ``<sha> <type> <size>`` line, the bytes, a
    newline, for each."""
    contents, at = [], 0
    while at < len(output):
        header_end = output.index(b"\n", at)
        size = int(output[at:header_end].split(b" ")[2])
        contents.append(output[header_end + 1 : header_end + 1 + size].decode(errors="replace"))
        at = header_end + 1 + size + 1
    return contents


def check_path(path: str) -> None:
    parts = PurePosixPath(path).parts
    if not path or path.startswith("/") or ".." in parts or ".git" in parts or "\\" in path:
        raise PermanentError(f"{path!r} is not a path inside the repository.")
