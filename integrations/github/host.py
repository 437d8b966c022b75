"""``GitHubHost``: the code host interface on GitHub's REST API through PyGithub.

Reads never clone: one recursive tree call, then file contents at a commit sha. A commit of several files is
one atomic ref update (Git Data API: tree with inline contents → commit → ref), so the branch never holds
half a fix. References: https://docs.github.com/en/rest/git · /rest/pulls · /rest/commits/statuses ·
/rest/checks/runs.
"""

from __future__ import annotations

import base64
from dataclasses import replace

from github import GithubException, InputGitTreeElement
from github.PullRequest import PullRequest as GithubPull

from integrations.codehost import (
    CIResult,
    CodeHost,
    FileNotFound,
    PRState,
    PullRequest,
    comment_marker,
    decode_text,
)
from integrations.errors import PermanentError
from integrations.github.ci import combine, failing_runs
from integrations.github.client import ClientConfig, make_client, translated

READ = "contents:read"
WRITE = "contents:write"
PULLS = "pull_requests:write"
CHECKS = "checks:read and statuses:read"
SYMLINK = "120000"  # git's file mode for a symbolic link


class GitHubHost(CodeHost):
    """One GitHub repository seen with one account's token."""

    def __init__(
        self, repository: str, token: str, default_branch: str = "main", config: ClientConfig | None = None
    ):
        self.repository = repository
        self.default_branch = default_branch
        config = config or ClientConfig.from_settings()
        self.client = make_client(token, config)
        self.repo = self.client.get_repo(repository)
        # For requests that must not be sent twice: GitHub has no idempotency key for them, and the client's
        # retries would repeat one whose answer was lost after the work was done. The stage's own retry
        # looks first instead.
        self.sent_once = make_client(token, replace(config, retries=0)).get_repo(repository)
        self.owner = repository.split("/")[0]
        self.listings: dict[str, list[tuple[str, str, str]]] = {}  # commit sha → its files (immutable)

    def call(self, action: str, needs: str = READ):
        return translated(self.repository, action, needs)

    # reading

    def head(self, branch: str) -> str:
        # https://docs.github.com/en/rest/git/refs#get-a-reference
        with self.call(f"read branch {branch}"):
            try:
                return self.repo.get_git_ref(f"heads/{branch}").object.sha
            except GithubException as error:
                if error.status == 404:
                    raise PermanentError(
                        f"Branch {branch!r} does not exist in {self.repository} "
                        "(or the token cannot see the repository)."
                    ) from error
                raise

    def tree(self, sha: str) -> list[str]:
        return sorted(path for path, _, _ in self.entries(sha))

    def symlinks(self, sha: str) -> dict[str, str]:
        # A symlink is a blob of mode 120000 whose content is its target:
        # https://docs.github.com/en/rest/git/blobs#get-a-blob
        links = {}
        for path, mode, blob in self.entries(sha):
            if mode == SYMLINK:
                with self.call(f"read the symlink {path} at {sha[:12]}"):
                    target = base64.b64decode(self.repo.get_git_blob(blob).content)
                links[path] = target.decode(errors="replace")
        return links

    def entries(self, sha: str) -> list[tuple[str, str, str]]:
        """(path, mode, blob sha) of every file at ``sha``; listed once, as both ``tree`` and ``symlinks``
        need it."""
        if sha not in self.listings:
            # https://docs.github.com/en/rest/git/trees#get-a-tree
            with self.call(f"list the files at {sha[:12]}"):
                listing = self.repo.get_git_tree(sha, recursive=True)
                if listing.raw_data.get("truncated"):
                    self.listings[sha] = self.walk_tree(listing.sha)
                else:
                    self.listings[sha] = [
                        (item.path, item.mode, item.sha) for item in listing.tree if item.type == "blob"
                    ]
        return self.listings[sha]

    def walk_tree(self, tree_sha: str, prefix: str = "") -> list[tuple[str, str, str]]:
        """List a tree too big for one recursive answer, one directory per call."""
        entries = []
        for item in self.repo.get_git_tree(tree_sha).tree:
            if item.type == "tree":
                entries += self.walk_tree(item.sha, f"{prefix}{item.path}/")
            elif item.type == "blob":
                entries.append((f"{prefix}{item.path}", item.mode, item.sha))
        return entries

    def read(self, path: str, sha: str) -> str:
        # https://docs.github.com/en/rest/repos/contents#get-repository-content
        with self.call(f"read {path} at {sha[:12]}"):
            try:
                content = self.repo.get_contents(path, ref=sha)
            except GithubException as error:
                if error.status == 404:
                    raise FileNotFound(f"{path} does not exist at {sha[:12]}") from error
                raise
            if isinstance(content, list) or content.type != "file":
                raise FileNotFound(f"{path} is not a file at {sha[:12]}")
            if content.encoding == "base64":
                return decode_text(content.decoded_content, path)
            # Files over 1 MB come without content; the blob API has it.
            blob = self.repo.get_git_blob(content.sha)
            return decode_text(base64.b64decode(blob.content), path)

    # writing

    def create_branch(self, name: str, sha: str) -> None:
        # https://docs.github.com/en/rest/git/refs#create-a-reference
        with self.call(f"create branch {name}", WRITE):
            try:
                self.repo.create_git_ref(f"refs/heads/{name}", sha)
            except GithubException as error:
                if error.status == 422 and "already exists" in str(error.data).lower():
                    return
                raise

    def commit(self, branch: str, files: dict[str, str], message: str) -> str:
        with self.call(f"commit to {branch}", WRITE):
            ref = self.repo.get_git_ref(f"heads/{branch}")
            parent = self.repo.get_git_commit(ref.object.sha)
            modes = self.file_modes(parent.tree.sha, files)
            elements = [
                InputGitTreeElement(path, modes.get(path, "100644"), "blob", content=text)
                for path, text in files.items()
            ]
            # https://docs.github.com/en/rest/git/trees#create-a-tree
            tree = self.repo.create_git_tree(elements, base_tree=parent.tree)
            # https://docs.github.com/en/rest/git/commits#create-a-commit
            commit = self.repo.create_git_commit(message, tree, [parent])
            # https://docs.github.com/en/rest/git/refs#update-a-reference — not forced: if the branch moved
            # meanwhile GitHub answers 422 and nothing is lost.
            ref.edit(commit.sha, force=False)
            return commit.sha

    def file_modes(self, tree_sha: str, files: dict[str, str]) -> dict[str, str]:
        """Keep an executable file executable when it is rewritten."""
        listing = self.repo.get_git_tree(tree_sha, recursive=True)
        return {item.path: item.mode for item in listing.tree if item.path in files}

    # pull requests

    def as_pull_request(self, pull: GithubPull) -> PullRequest:
        if pull.merged_at is not None:
            state = PRState.MERGED
        else:
            state = PRState.OPEN if pull.state == "open" else PRState.CLOSED
        return PullRequest(
            number=pull.number,
            url=pull.html_url,
            branch=pull.head.ref,
            head_sha=pull.head.sha,
            state=state,
            merge_sha=(pull.merge_commit_sha or "") if state == PRState.MERGED else "",
        )

    def find_pull_request(self, branch: str) -> PullRequest | None:
        # https://docs.github.com/en/rest/pulls/pulls#list-pull-requests (newest first)
        with self.call(f"look for a pull request from {branch}", PULLS):
            pulls = self.repo.get_pulls(
                state="all", head=f"{self.owner}:{branch}", sort="created", direction="desc"
            )
            for pull in pulls:
                return self.as_pull_request(pull)
            return None

    def open_pull_request(self, branch: str, title: str, body: str) -> PullRequest:
        # https://docs.github.com/en/rest/pulls/pulls#create-a-pull-request
        with self.call(f"open a pull request from {branch}", PULLS):
            try:
                pull = self.repo.create_pull(base=self.default_branch, head=branch, title=title, body=body)
            except GithubException as error:
                # A retried POST whose first answer was lost finds its own pull request already there.
                if error.status == 422 and "already exists" in str(error.data).lower():
                    existing = self.find_pull_request(branch)
                    if existing and existing.state == PRState.OPEN:
                        return existing
                raise
            return self.as_pull_request(pull)

    def get_pull_request(self, number: int) -> PullRequest:
        # https://docs.github.com/en/rest/pulls/pulls#get-a-pull-request
        with self.call(f"read pull request #{number}", PULLS):
            return self.as_pull_request(self.repo.get_pull(number))

    def label_pull_request(self, pr: PullRequest, label: str) -> None:
        # https://docs.github.com/en/rest/issues/labels#add-labels-to-an-issue
        with self.call(f"label pull request #{pr.number}", PULLS):
            self.repo.get_issue(pr.number).add_to_labels(label)

    def comment_on_pull_request(self, pr: PullRequest, key: str, text: str) -> None:
        marker = comment_marker(key)
        with self.call(f"comment on pull request #{pr.number}", PULLS):
            # https://docs.github.com/en/rest/issues/comments#list-issue-comments
            comments = self.repo.get_issue(pr.number).get_comments()
            if any(marker in (comment.body or "") for comment in comments):
                return
            # https://docs.github.com/en/rest/issues/comments#create-an-issue-comment
            self.sent_once.get_issue(pr.number).create_comment(f"{marker}\n{text}")

    def merge(self, pr: PullRequest, method: str) -> str:
        # https://docs.github.com/en/rest/pulls/pulls#merge-a-pull-request — with the head sha CI saw, so a
        # commit pushed since is never merged unchecked (GitHub answers 409).
        with self.call(f"merge pull request #{pr.number}", WRITE):
            pull = self.repo.get_pull(pr.number)
            try:
                return pull.merge(merge_method=method, sha=pr.head_sha or None).sha
            except GithubException as error:
                if error.status not in (405, 409):
                    raise
                # A retried merge whose first answer was lost finds the pull request merged: that is success.
                current = self.as_pull_request(self.repo.get_pull(pr.number))
                if current.state == PRState.MERGED:
                    return current.merge_sha
                reason = error.data.get("message") if isinstance(error.data, dict) else error
                raise PermanentError(
                    f"Pull request #{pr.number} on {self.repository} cannot be merged ({reason}); "
                    "resolve it on GitHub."
                ) from error

    # CI

    def ci(self, sha: str) -> CIResult:
        # https://docs.github.com/en/rest/commits/statuses#get-the-combined-status-for-a-specific-reference
        # https://docs.github.com/en/rest/checks/runs#list-check-runs-for-a-git-reference
        with self.call(f"read CI results for {sha[:12]}", CHECKS):
            commit = self.repo.get_commit(sha)
            combined = commit.get_combined_status()
            runs = list(commit.get_check_runs())
            annotations = {run.id: list(run.get_annotations()) for run in failing_runs(runs)}
            return combine(combined.statuses, runs, annotations)
