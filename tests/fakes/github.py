"""A local fake of GitHub's REST API: the subset PyGithub calls to read code, commit, open, comment on and
merge pull requests and read CI status. Real HTTP, real state (git objects hash as git hashes them), served
under ``/api/v3`` as GitHub Enterprise serves it, so ``Github(base_url=fake.base_url)`` works unmodified.

Python API (tests and the end-to-end suite)::

    with FakeGitHub(tokens={"t0k": None}) as fake:          # None: the token may use every repository
        repo = fake.add_repo("acme/shop", path="demo/app")  # or files={"app.py": "..."}
        fake.base_url                                        # http://127.0.0.1:PORT/api/v3
        fake.fail("POST /pulls$", "lost_response")          # the fault plan (tests.fakes.faults):
        fake.fail("GET /contents/", "502", calls=[2, 3])     # per route and call count
        fake.hold("POST /pulls$"); fake.held("POST /pulls$").wait(5); fake.release()
        fake.inject("/git/trees", "502", times=1)           # the older shorthand: a path substring
        fake.set_status("acme/shop", sha, "failure", context="ci/test", description="2 failed")
        fake.add_check_run("acme/shop", sha, "pytest", conclusion="failure", summary="...", text="...")
        fake.merge_pull("acme/shop", 1)                      # a person merges (or close_pull)
        fake.push("acme/shop", "main", {"app.py": "..."})   # a person pushes a commit
        fake.repo("acme/shop").pull(1).comments              # its comments, as the API shows them
        fake.requests                                        # every request, as RecordedRequest

Standalone: ``python -m tests.fakes.github --port 8765 --repo owner/name=PATH [--token T] [--faults FILE]``.
Reference: https://docs.github.com/en/rest — error bodies carry ``message``, ``documentation_url`` and
``status`` (and ``errors`` on validation failures), as GitHub sends them.
"""

from __future__ import annotations

import argparse
import base64
import difflib
import hashlib
import json
import os
import posixpath
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes.faults import Answer, Rule, control, serve_with_faults, write_body
from tests.fakes.server import FakeServer

PREFIX = "/api/v3"
AUTHOR = {"name": "bugstack fake", "email": "fake@example.com"}
DOCS = "https://docs.github.com/rest"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    """An error answer; its ``documentation_url`` is the failing route's page unless one is given."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        documentation_url: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.documentation_url = documentation_url
        self.extra = extra
        self.headers = headers or {}

    def body(self, documentation_url: str = DOCS) -> dict[str, Any]:
        return {
            "message": self.message,
            **self.extra,
            "documentation_url": self.documentation_url or documentation_url,
            "status": str(self.status),
        }


def not_found(message: str = "Not Found") -> ApiError:
    return ApiError(404, message)


def unprocessable(message: str, resource: str = "") -> ApiError:
    error = {"resource": resource, "code": "custom", "message": message} if resource else {}
    return ApiError(422, "Validation Failed", errors=[error or {"message": message, "code": "custom"}])


# --- git objects ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TreeEntry:
    name: str
    mode: str  # "100644", "100755", "120000" (a symlink: the blob is its target) or "40000"
    sha: str

    @property
    def type(self) -> str:
        return "tree" if self.mode == "40000" else "blob"


@dataclass(frozen=True)
class Commit:
    sha: str
    tree: str
    parents: tuple[str, ...]
    message: str
    date: str


class ObjectStore:
    """Blobs, trees and commits keyed by the sha1 git would give them."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.trees: dict[str, tuple[TreeEntry, ...]] = {}
        self.commits: dict[str, Commit] = {}

    @staticmethod
    def hash(kind: str, data: bytes) -> str:
        return hashlib.sha1(f"{kind} {len(data)}\0".encode() + data).hexdigest()  # noqa: S324 - git's hash

    def put_blob(self, data: bytes) -> str:
        sha = self.hash("blob", data)
        self.blobs[sha] = data
        return sha

    def put_tree(self, entries: list[TreeEntry]) -> str:
        # git sorts tree entries by name, with trees compared as if their name ended in "/".
        ordered = tuple(sorted(entries, key=lambda e: e.name + ("/" if e.type == "tree" else "")))
        raw = b"".join(f"{e.mode} {e.name}\0".encode() + bytes.fromhex(e.sha) for e in ordered)
        sha = self.hash("tree", raw)
        self.trees[sha] = ordered
        return sha

    def put_commit(self, tree: str, parents: list[str], message: str) -> str:
        stamp = int(time.time())
        who = f"{AUTHOR['name']} <{AUTHOR['email']}> {stamp} +0000"
        header = f"tree {tree}\n" + "".join(f"parent {p}\n" for p in parents)
        raw = f"{header}author {who}\ncommitter {who}\n\n{message}".encode()
        sha = self.hash("commit", raw)
        date = datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.commits[sha] = Commit(sha, tree, tuple(parents), message, date)
        return sha

    def flatten(self, tree_sha: str, prefix: str = "") -> dict[str, tuple[str, str]]:
        """Every file below the tree: path → (mode, blob sha)."""
        files: dict[str, tuple[str, str]] = {}
        for entry in self.trees[tree_sha]:
            path = f"{prefix}{entry.name}"
            if entry.type == "tree":
                files.update(self.flatten(entry.sha, path + "/"))
            else:
                files[path] = (entry.mode, entry.sha)
        return files

    def build(self, files: dict[str, tuple[str, str]]) -> str:
        """The tree sha for a flat path → (mode, blob sha) mapping, writing the subtrees it needs."""
        here: list[TreeEntry] = []
        subdirs: dict[str, dict[str, tuple[str, str]]] = {}
        for path, (mode, sha) in files.items():
            head, _, rest = path.partition("/")
            if rest:
                subdirs.setdefault(head, {})[rest] = (mode, sha)
            else:
                here.append(TreeEntry(head, mode, sha))
        here += [TreeEntry(name, "40000", self.build(sub)) for name, sub in subdirs.items()]
        return self.put_tree(here)

    def ancestors(self, sha: str) -> set[str]:
        seen, todo = set(), [sha]
        while todo:
            current = todo.pop()
            if current not in seen and current in self.commits:
                seen.add(current)
                todo.extend(self.commits[current].parents)
        return seen


# --- repositories -----------------------------------------------------------------------------------------


@dataclass
class Pull:
    number: int
    title: str
    body: str
    head: str
    base: str
    head_sha: str
    base_sha: str
    state: str = "open"
    merged: bool = False
    merged_at: str | None = None
    closed_at: str | None = None
    merge_commit_sha: str | None = None
    labels: list[str] = field(default_factory=list)
    comments: list[dict] = field(default_factory=list)  # issue comments, oldest first, as the API shows them
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)


@dataclass
class CheckRun:
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    title: str
    summary: str
    text: str
    annotations: list[dict] = field(default_factory=list)
    details_url: str = ""


class Repo:
    def __init__(self, full_name: str, default_branch: str = "main") -> None:
        self.full_name = full_name
        self.owner, self.name = full_name.split("/")
        self.default_branch = default_branch
        self.objects = ObjectStore()
        self.refs: dict[str, str] = {}
        self.pulls: list[Pull] = []
        self.statuses: dict[str, list[dict]] = {}
        self.check_runs: list[CheckRun] = []

    def seed(self, files: dict[str, bytes], modes: dict[str, str] | None = None) -> str:
        modes = modes or {}
        flat = {
            path: (modes.get(path, "100644"), self.objects.put_blob(data)) for path, data in files.items()
        }
        sha = self.objects.put_commit(self.objects.build(flat), [], "Initial commit")
        self.refs[f"refs/heads/{self.default_branch}"] = sha
        return sha

    def resolve(self, ref: str) -> str:
        """A commit sha from a sha, a branch name or a full ref."""
        if ref in self.objects.commits:
            return ref
        for candidate in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}"):
            if candidate in self.refs:
                return self.refs[candidate]
        raise ApiError(422, f"No commit found for SHA: {ref}")

    def files_at(self, commit_sha: str) -> dict[str, tuple[str, str]]:
        return self.objects.flatten(self.objects.commits[commit_sha].tree)

    def commit_files(self, branch: str, files: dict[str, str | bytes], message: str) -> str:
        parent = self.refs[f"refs/heads/{branch}"]
        flat = self.files_at(parent)
        for path, content in files.items():
            mode = flat.get(path, ("100644", ""))[0]
            data = content.encode() if isinstance(content, str) else content
            flat[path] = (mode, self.objects.put_blob(data))
        sha = self.objects.put_commit(self.objects.build(flat), [parent], message)
        self.refs[f"refs/heads/{branch}"] = sha
        return sha

    def tree_at(self, commit_sha: str, path: str) -> tuple[TreeEntry, ...] | None:
        """The entries of the directory ``path`` ("" for the root) at a commit; None if it is no directory."""
        entries = self.objects.trees[self.objects.commits[commit_sha].tree]
        for name in filter(None, path.split("/")):
            found = next((e for e in entries if e.name == name and e.type == "tree"), None)
            if found is None:
                return None
            entries = self.objects.trees[found.sha]
        return entries

    def merge_base(self, a: str, b: str) -> str | None:
        common = self.objects.ancestors(a) & self.objects.ancestors(b)
        # The best common ancestor is one that is not an ancestor of another common one.
        for sha in common:
            if not any(sha != other and sha in self.objects.ancestors(other) for other in common):
                return sha
        return None

    def merged_files(self, base_sha: str, head_sha: str) -> dict[str, tuple[str, str]] | None:
        """A file-level three-way merge of head into base, or None when both changed a file differently."""
        ancestor = self.merge_base(base_sha, head_sha)
        old = self.files_at(ancestor) if ancestor else {}
        ours, theirs = self.files_at(base_sha), self.files_at(head_sha)
        result = dict(ours)
        for path in set(old) | set(ours) | set(theirs):
            o, a, b = old.get(path), ours.get(path), theirs.get(path)
            if b == o or a == b:
                continue
            if a != o:
                return None
            if b is None:
                result.pop(path, None)
            else:
                result[path] = b
        return result

    def pull(self, number: int) -> Pull:
        for pull in self.pulls:
            if pull.number == number:
                return pull
        raise not_found()

    def merge_pull(self, number: int, method: str = "merge", expected_sha: str | None = None) -> str:
        pull = self.pull(number)
        if pull.state != "open":
            raise ApiError(405, "Pull Request is not mergeable")
        head = self.refs.get(f"refs/heads/{pull.head}", pull.head_sha)
        if expected_sha and expected_sha != head:
            raise ApiError(409, "Head branch was modified. Review and try the merge again.")
        base = self.refs[f"refs/heads/{pull.base}"]
        merged = self.merged_files(base, head)
        if merged is None:
            raise ApiError(405, "Pull Request is not mergeable")
        tree = self.objects.build(merged)
        parents = [base, head] if method == "merge" else [base]
        message = f"Merge pull request #{number} from {self.owner}/{pull.head}\n\n{pull.title}"
        if method != "merge":
            message = f"{pull.title} (#{number})"
        sha = self.objects.put_commit(tree, parents, message)
        self.refs[f"refs/heads/{pull.base}"] = sha
        pull.state, pull.merged, pull.merged_at, pull.closed_at = "closed", True, now_iso(), now_iso()
        pull.updated_at = pull.closed_at
        pull.merge_commit_sha, pull.head_sha = sha, head
        return sha


# --- the server -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # without the /api/v3 prefix
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class FakeGitHub(FakeServer):
    """The fake server. ``tokens`` maps a token to the repositories it may use (None: all); ``read_only``
    tokens get GitHub's 403 on writes. With no tokens at all, every request is accepted."""

    thread_name = "fake-github"

    def __init__(
        self,
        tokens: dict[str, set[str] | None] | None = None,
        read_only: set[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.tokens = tokens or {}
        self.read_only = read_only or set()
        self.repos: dict[str, Repo] = {}
        self.requests: list[RecordedRequest] = []
        self.tree_limit: int | None = None
        self.lock = threading.RLock()
        self._next_id = 1000
        super().__init__(host, port, self._handler_class())

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIX}"

    # seeding and helpers for tests ("as a person")

    def add_repo(
        self,
        full_name: str,
        path: str | Path | None = None,
        files: dict[str, str] | None = None,
        default_branch: str = "main",
    ) -> Repo:
        repo = Repo(full_name, default_branch)
        contents, modes = {}, {}
        if path is not None:
            root = Path(path)
            for file in sorted(root.rglob("*")):
                relative = file.relative_to(root)
                if ".git" in relative.parts:
                    continue
                if file.is_symlink():  # as git stores one: mode 120000, the target as the blob
                    contents[relative.as_posix()] = os.readlink(file).encode()
                    modes[relative.as_posix()] = "120000"
                elif file.is_file():
                    contents[relative.as_posix()] = file.read_bytes()
                    modes[relative.as_posix()] = "100755" if file.stat().st_mode & 0o111 else "100644"
        contents.update({p: text.encode() for p, text in (files or {}).items()})
        repo.seed(contents, modes)
        with self.lock:
            self.repos[full_name] = repo
        return repo

    def repo(self, full_name: str) -> Repo:
        return self.repos[full_name]

    def head(self, full_name: str, branch: str) -> str:
        return self.repos[full_name].refs[f"refs/heads/{branch}"]

    def push(
        self, full_name: str, branch: str, files: dict[str, str], message: str = "A person's change"
    ) -> str:
        with self.lock:
            return self.repos[full_name].commit_files(branch, files, message)

    def inject(
        self, pattern: str, kind: str, times: int = 1, method: str | None = None, seconds: float = 3
    ) -> Rule:
        """The next ``times`` requests whose path contains ``pattern`` fail with ``kind``: the fault plan
        (``fail``) with a plain substring for the route."""
        return self.fail(f"{method or '*'} {re.escape(pattern)}", kind, times=times, seconds=seconds)

    def set_status(
        self,
        full_name: str,
        sha: str,
        state: str,
        context: str = "ci",
        description: str = "",
        target_url: str = "",
    ) -> dict:
        with self.lock:
            return self._create_status(self.repos[full_name], sha, state, context, description, target_url)

    def add_check_run(
        self,
        full_name: str,
        sha: str,
        name: str,
        status: str = "completed",
        conclusion: str | None = "success",
        title: str = "",
        summary: str = "",
        text: str = "",
        annotations: list[dict] | None = None,
    ) -> CheckRun:
        with self.lock:
            self._next_id += 1
            run = CheckRun(
                self._next_id,
                name,
                sha,
                status,
                conclusion if status == "completed" else None,
                title,
                summary,
                text,
                annotations or [],
                f"http://127.0.0.1:{self.port}/{full_name}/runs/{self._next_id}",
            )
            self.repos[full_name].check_runs.append(run)
            return run

    def merge_pull(self, full_name: str, number: int, method: str = "merge") -> str:
        with self.lock:
            return self.repos[full_name].merge_pull(number, method)

    def close_pull(self, full_name: str, number: int) -> None:
        with self.lock:
            pull = self.repos[full_name].pull(number)
            pull.state, pull.closed_at = "closed", now_iso()
            pull.updated_at = pull.closed_at

    def requests_to(self, pattern: str, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if pattern in r.path and (method is None or r.method == method)]

    # request handling

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; with Nagle on, each answer waits for a delayed ACK.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                return

            def do_GET(self) -> None:
                fake._serve(self)

            do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if (answer := control(self.faults, handler.command, url.path, body)) is not None:
            self._respond(handler, answer)
            return
        path = url.path.removeprefix(PREFIX) if url.path.startswith(PREFIX) else url.path
        record = RecordedRequest(handler.command, path, query, dict(handler.headers.items()), body)
        with self.lock:
            self.requests.append(record)

        def work() -> Answer:
            if not url.path.startswith(PREFIX):
                return self._error_answer(not_found(), DOCS)
            with self.lock:
                try:
                    return self._route(handler.command, path, query, body, record.headers)
                except ApiError as error:
                    return self._error_answer(error, DOCS)

        serve_with_faults(
            self.faults,
            handler,
            handler.command,
            path,
            work,
            lambda rule: self._error_answer(fault_error(rule), DOCS),
            lambda answer, seconds: self._respond(handler, answer, seconds),
        )

    def _respond(self, handler: BaseHTTPRequestHandler, answer: Answer, seconds: float = 0) -> None:
        status, payload, headers = answer
        data = b"" if status == 204 else json.dumps(payload).encode()
        headers = dict(headers)
        try:
            handler.send_response(status, HTTPStatus(status).phrase)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(data)))
            handler.send_header("X-RateLimit-Limit", "5000")
            handler.send_header("X-RateLimit-Remaining", headers.pop("X-RateLimit-Remaining", "4999"))
            handler.send_header("X-GitHub-Request-Id", f"FAKE:{len(self.requests)}")
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            write_body(handler, self.faults, data, seconds)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left

    @staticmethod
    def _error_answer(error: ApiError, documentation_url: str) -> Answer:
        return error.status, error.body(documentation_url), error.headers

    def _authorize(self, headers: dict[str, str], full_name: str | None, write: bool) -> None:
        if not self.tokens:
            return
        auth = headers.get("Authorization", "")
        token = auth.partition(" ")[2].strip()
        if token not in self.tokens:
            raise ApiError(401, "Bad credentials")
        allowed = self.tokens[token]
        if full_name and allowed is not None and full_name not in allowed:
            raise not_found()  # GitHub hides repositories a token cannot see
        if write and token in self.read_only:
            raise ApiError(403, "Resource not accessible by personal access token")

    def _route(self, method: str, path: str, query: dict, body: Any, headers: dict) -> tuple[int, Any, dict]:
        match = re.match(r"^/repos/([^/]+)/([^/]+)(/.*)?$", path)
        if not match:
            self._authorize(headers, None, write=method != "GET")
            raise not_found()
        full_name = f"{match[1]}/{match[2]}"
        self._authorize(headers, full_name, write=method != "GET")
        repo = self.repos.get(full_name)
        if repo is None:
            raise not_found()
        rest = match[3] or ""
        for verb, pattern, action, docs in ROUTES:
            found = re.match(pattern, rest)
            if verb == method and found:
                try:
                    return action(self, repo, *[unquote(g) for g in found.groups()], query=query, body=body)
                except ApiError as error:
                    return self._error_answer(error, docs)
        raise not_found()

    # JSON shapes

    def url(self, repo: Repo, rest: str = "") -> str:
        return f"{self.base_url}/repos/{repo.full_name}{rest}"

    def html(self, repo: Repo, rest: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{repo.full_name}{rest}"

    def repo_json(self, repo: Repo) -> dict:
        return {
            "id": abs(hash(repo.full_name)) % 10**8,
            "name": repo.name,
            "full_name": repo.full_name,
            "owner": {"login": repo.owner, "type": "Organization"},
            "private": True,
            "default_branch": repo.default_branch,
            "url": self.url(repo),
            "html_url": self.html(repo),
            "permissions": {"admin": False, "push": True, "pull": True},
        }

    def ref_json(self, repo: Repo, ref: str) -> dict:
        sha = repo.refs[ref]
        return {
            "ref": ref,
            "node_id": ref,
            "url": self.url(repo, f"/git/refs/{ref.removeprefix('refs/')}"),
            "object": {"sha": sha, "type": "commit", "url": self.url(repo, f"/git/commits/{sha}")},
        }

    def commit_json(self, repo: Repo, sha: str) -> dict:
        commit = repo.objects.commits[sha]
        person = {**AUTHOR, "date": commit.date}
        return {
            "sha": sha,
            "node_id": sha,
            "url": self.url(repo, f"/git/commits/{sha}"),
            "html_url": self.html(repo, f"/commit/{sha}"),
            "author": person,
            "committer": person,
            "message": commit.message,
            "tree": {"sha": commit.tree, "url": self.url(repo, f"/git/trees/{commit.tree}")},
            "parents": [{"sha": p, "url": self.url(repo, f"/git/commits/{p}")} for p in commit.parents],
        }

    def user_json(self, login: str) -> dict:
        return {
            "login": login,
            "id": abs(hash(login)) % 10**7,
            "type": "Bot" if login.endswith("[bot]") else "User",
            "url": f"{self.base_url}/users/{login}",
            "html_url": f"http://127.0.0.1:{self.port}/{login}",
        }

    def repo_commit_json(self, repo: Repo, sha: str) -> dict:
        """A commit as the commits API shows it (``GET /repos/{owner}/{repo}/commits/{ref}``): the git
        commit inside, and the files it changed against its first parent."""
        commit = repo.objects.commits[sha]
        git = self.commit_json(repo, sha)
        parent = commit.parents[0] if commit.parents else None
        files = self.changed_files(repo, parent, sha)
        additions = sum(f["additions"] for f in files)
        deletions = sum(f["deletions"] for f in files)
        return {
            "url": self.url(repo, f"/commits/{sha}"),
            "sha": sha,
            "node_id": f"C_{sha[:20]}",
            "html_url": self.html(repo, f"/commit/{sha}"),
            "comments_url": self.url(repo, f"/commits/{sha}/comments"),
            "commit": {
                "url": git["url"],
                "author": git["author"],
                "committer": git["committer"],
                "message": git["message"],
                "tree": git["tree"],
                "comment_count": 0,
                "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
            },
            "author": None,  # the fake's author has no GitHub account
            "committer": None,
            "parents": [
                {
                    "sha": p,
                    "url": self.url(repo, f"/commits/{p}"),
                    "html_url": self.html(repo, f"/commit/{p}"),
                }
                for p in commit.parents
            ],
            "stats": {"total": additions + deletions, "additions": additions, "deletions": deletions},
            "files": files,
        }

    def changed_files(self, repo: Repo, before: str | None, after: str) -> list[dict]:
        old = repo.files_at(before) if before else {}
        new = repo.files_at(after)
        files = []
        for path in sorted(set(old) | set(new)):
            if old.get(path) == new.get(path):
                continue
            status = "added" if path not in old else "removed" if path not in new else "modified"
            a = repo.objects.blobs[old[path][1]].decode(errors="replace") if path in old else ""
            b = repo.objects.blobs[new[path][1]].decode(errors="replace") if path in new else ""
            hunks = list(difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=3))[2:]
            additions = sum(1 for line in hunks if line.startswith("+"))
            deletions = sum(1 for line in hunks if line.startswith("-"))
            blob = (new.get(path) or old[path])[1]
            files.append(
                {
                    "sha": blob,
                    "filename": path,
                    "status": status,
                    "additions": additions,
                    "deletions": deletions,
                    "changes": additions + deletions,
                    "blob_url": self.html(repo, f"/blob/{after}/{path}"),
                    "raw_url": self.html(repo, f"/raw/{after}/{path}"),
                    "contents_url": self.url(repo, f"/contents/{path}?ref={after}"),
                    "patch": "\n".join(hunks),
                }
            )
        return files

    def branch_json(self, repo: Repo, name: str) -> dict:
        return {
            "name": name,
            "commit": self.repo_commit_json(repo, repo.refs[f"refs/heads/{name}"]),
            "_links": {"self": self.url(repo, f"/branches/{name}"), "html": self.html(repo, f"/tree/{name}")},
            "protected": False,
            "protection": {"enabled": False, "required_status_checks": {"enforcement_level": "off"}},
            "protection_url": self.url(repo, f"/branches/{name}/protection"),
        }

    def content_json(self, repo: Repo, sha: str, path: str, blob: str, with_content: bool) -> dict:
        """A file as the contents API shows it; with its content as GitHub sends it: Base64 in lines of 60."""
        data = repo.objects.blobs[blob]
        links = self.content_links(repo, sha, path, f"/git/blobs/{blob}", "blob")
        answer = {
            "type": "file",
            "size": len(data),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": blob,
            **links,
        }
        if with_content:
            encoded = base64.b64encode(data).decode()
            lines = [encoded[i : i + 60] for i in range(0, len(encoded), 60)]
            answer |= {"encoding": "base64", "content": "".join(line + "\n" for line in lines)}
        return answer

    def entry_json(self, repo: Repo, sha: str, path: str, entry: TreeEntry) -> dict:
        """One item of a directory listing: no content, as GitHub lists them."""
        kind = {"40000": "dir", "120000": "symlink"}.get(entry.mode, "file")
        size = 0 if kind == "dir" else len(repo.objects.blobs[entry.sha])
        git_path = f"/git/{'trees' if kind == 'dir' else 'blobs'}/{entry.sha}"
        links = self.content_links(repo, sha, path, git_path, "tree" if kind == "dir" else "blob")
        if kind == "dir":
            links["download_url"] = None
        return {"type": kind, "size": size, "name": entry.name, "path": path, "sha": entry.sha, **links}

    def content_links(self, repo: Repo, sha: str, path: str, git_path: str, view: str) -> dict:
        url = self.url(repo, f"/contents/{path}?ref={sha}")
        git_url, html_url = self.url(repo, git_path), self.html(repo, f"/{view}/{sha}/{path}")
        return {
            "url": url,
            "git_url": git_url,
            "html_url": html_url,
            "download_url": self.html(repo, f"/raw/{sha}/{path}"),
            "_links": {"self": url, "git": git_url, "html": html_url},
        }

    def tree_json(self, repo: Repo, sha: str, recursive: bool) -> dict:
        entries = []

        def walk(tree_sha: str, prefix: str) -> None:
            for entry in repo.objects.trees[tree_sha]:
                item = {
                    "path": prefix + entry.name,
                    "mode": entry.mode.rjust(6, "0"),
                    "type": entry.type,
                    "sha": entry.sha,
                    "url": self.url(repo, f"/git/{entry.type}s/{entry.sha}"),
                }
                if entry.type == "blob":
                    item["size"] = len(repo.objects.blobs[entry.sha])
                entries.append(item)
                if recursive and entry.type == "tree":
                    walk(entry.sha, prefix + entry.name + "/")

        walk(sha, "")
        # GitHub cuts recursive listings (100,000 entries or 7 MB) and says so; tests lower the cut.
        truncated = recursive and self.tree_limit is not None and len(entries) > self.tree_limit
        if truncated:
            entries = entries[: self.tree_limit]
        return {
            "sha": sha,
            "url": self.url(repo, f"/git/trees/{sha}"),
            "tree": entries,
            "truncated": truncated,
        }

    def pull_json(self, repo: Repo, pull: Pull) -> dict:
        def side(ref: str, sha: str) -> dict:
            return {"label": f"{repo.owner}:{ref}", "ref": ref, "sha": sha, "repo": self.repo_json(repo)}

        head_sha = (
            repo.refs.get(f"refs/heads/{pull.head}", pull.head_sha) if pull.state == "open" else pull.head_sha
        )
        base_sha = repo.refs.get(f"refs/heads/{pull.base}", pull.base_sha)
        # GitHub computes mergeability in the background; the fake knows at once.
        mergeable = repo.merged_files(base_sha, head_sha) is not None if pull.state == "open" else None
        mergeable_state = {True: "clean", False: "dirty", None: "unknown"}[mergeable]
        return {
            "url": self.url(repo, f"/pulls/{pull.number}"),
            "id": pull.number + 5000,
            "node_id": f"PR_{pull.number}",
            "html_url": self.html(repo, f"/pull/{pull.number}"),
            "issue_url": self.url(repo, f"/issues/{pull.number}"),
            "number": pull.number,
            "state": pull.state,
            "title": pull.title,
            "body": pull.body,
            "user": self.user_json("bugstack-bot"),
            "labels": [{"name": name, "color": "ededed", "default": False} for name in pull.labels],
            "draft": False,
            "created_at": pull.created_at,
            "updated_at": pull.updated_at,
            "closed_at": pull.closed_at,
            "merged_at": pull.merged_at,
            "merged": pull.merged,
            "mergeable": mergeable,
            "mergeable_state": mergeable_state,
            "merged_by": self.user_json("a-person") if pull.merged else None,
            "merge_commit_sha": pull.merge_commit_sha,
            "head": side(pull.head, head_sha),
            "base": side(pull.base, base_sha),
        }

    def check_run_json(self, repo: Repo, run: CheckRun) -> dict:
        return {
            "id": run.id,
            "name": run.name,
            "head_sha": run.head_sha,
            "status": run.status,
            "conclusion": run.conclusion,
            "url": self.url(repo, f"/check-runs/{run.id}"),
            "html_url": run.details_url,
            "details_url": run.details_url,
            "output": {
                "title": run.title or None,
                "summary": run.summary or None,
                "text": run.text or None,
                "annotations_count": len(run.annotations),
                "annotations_url": self.url(repo, f"/check-runs/{run.id}/annotations"),
            },
        }

    def page(self, items: list, query: dict, base: str) -> tuple[list, dict]:
        """GitHub's pagination: ``per_page``/``page`` in, a ``Link`` header out."""
        per_page = max(1, min(100, int(query.get("per_page") or 30)))
        number = max(1, int(query.get("page") or 1))
        last = max(1, -(-len(items) // per_page))
        params = "&".join(f"{k}={v}" for k, v in query.items() if k not in ("page", "per_page"))
        joiner = "?" + (params + "&" if params else "")

        def link(page: int, rel: str) -> str:
            return f'<{base}{joiner}per_page={per_page}&page={page}>; rel="{rel}"'

        links = []
        if number > 1:
            links += [link(min(number - 1, last), "prev"), link(1, "first")]
        if number < last:
            links += [link(number + 1, "next"), link(last, "last")]
        headers = {"Link": ", ".join(links)} if links else {}
        return items[(number - 1) * per_page : number * per_page], headers

    def _create_status(
        self, repo: Repo, sha: str, state: str, context: str, description: str, url: str
    ) -> dict:
        if state not in ("error", "failure", "pending", "success"):
            raise unprocessable(f"state {state!r} is not one of error, failure, pending, success")
        self._next_id += 1
        status = {
            "id": self._next_id,
            "state": state,
            "context": context or "default",
            "description": description,
            "target_url": url or None,
            "created_at": now_iso(),
            "updated_at": now_iso(),
            "url": self.url(repo, f"/statuses/{sha}"),
        }
        repo.statuses.setdefault(sha, []).insert(0, status)
        return status


def fault_error(rule: Rule) -> ApiError:
    """GitHub's answer for a failing rule of the fault plan."""
    if rule.kind == "rate_limit":
        # Whole seconds, as GitHub sends them: two ahead, so the wait is over one second at any moment.
        reset = str(int(time.time()) + 2)
        headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset, "X-RateLimit-Resource": "core"}
        message = rule.message or "API rate limit exceeded for user ID 1."
        return ApiError(403, message, headers, DOCS + "/overview/rate-limits-for-the-rest-api")
    if rule.kind == "secondary_rate_limit":
        # https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits
        message = rule.message or (
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
            "If you reach out to GitHub Support for help, please include the request ID FAKE:0."
        )
        headers = {"Retry-After": str(max(0, round(rule.retry_after)))}
        return ApiError(403, message, headers, DOCS + "/overview/rate-limits-for-the-rest-api")
    if rule.kind == "429":
        headers = {"Retry-After": str(max(0, round(rule.retry_after)))}
        return ApiError(429, rule.message or "Too Many Requests", headers)
    if rule.kind == "timeout":
        return ApiError(504, rule.message or "We couldn't respond to your request in time. Sorry about that.")
    status = 502 if rule.kind == "lost_response" else int(rule.kind)
    return ApiError(status, rule.message or ("Server Error" if status >= 500 else HTTPStatus(status).phrase))


# --- routes: each takes (fake, repo, *path groups, query=, body=), returns (status, json, headers) ---------


def get_repo(fake: FakeGitHub, repo: Repo, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    return 200, fake.repo_json(repo), {}


def get_ref(fake: FakeGitHub, repo: Repo, ref: str, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    full = f"refs/{ref}"
    if full not in repo.refs:
        raise not_found()
    return 200, fake.ref_json(repo, full), {}


def create_ref(fake: FakeGitHub, repo: Repo, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    ref, sha = (body or {}).get("ref"), (body or {}).get("sha")
    if not isinstance(ref, str) or not ref.startswith("refs/") or ref.count("/") < 2:
        raise unprocessable("ref must be a fully qualified reference (refs/heads/...)")
    if sha not in repo.objects.commits:
        raise ApiError(422, "Object does not exist")
    if ref in repo.refs:
        raise ApiError(422, "Reference already exists")
    repo.refs[ref] = sha
    return 201, fake.ref_json(repo, ref), {}


def update_ref(fake: FakeGitHub, repo: Repo, ref: str, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    full, sha = f"refs/{ref}", (body or {}).get("sha")
    if full not in repo.refs:
        raise ApiError(422, "Reference does not exist")
    if sha not in repo.objects.commits:
        raise ApiError(422, "Object does not exist")
    if not body.get("force") and repo.refs[full] not in repo.objects.ancestors(sha):
        raise ApiError(422, "Update is not a fast forward")
    repo.refs[full] = sha
    return 200, fake.ref_json(repo, full), {}


def get_tree(fake: FakeGitHub, repo: Repo, ref: str, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    sha = ref
    if sha not in repo.objects.trees:
        try:
            sha = repo.objects.commits[repo.resolve(ref)].tree
        except ApiError:
            raise not_found() from None
    return 200, fake.tree_json(repo, sha, recursive=bool(query.get("recursive"))), {}


def create_tree(fake: FakeGitHub, repo: Repo, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    body = body or {}
    base = body.get("base_tree")
    if base and base not in repo.objects.trees:
        raise unprocessable("base_tree is not a valid tree")
    flat = repo.objects.flatten(base) if base else {}
    for item in body.get("tree") or []:
        path, mode = item.get("path"), item.get("mode", "100644")
        if not isinstance(path, str) or not path or path.startswith("/"):
            raise unprocessable("tree.path must be a relative path")
        if "content" in item:
            flat[path] = (mode, repo.objects.put_blob(str(item["content"]).encode()))
        elif item.get("sha") is None:
            flat.pop(path, None)
        elif item["sha"] in repo.objects.blobs:
            flat[path] = (mode, item["sha"])
        else:
            raise unprocessable(f"tree.sha {item['sha']} is not a valid blob")
    sha = repo.objects.build(flat)
    return 201, fake.tree_json(repo, sha, recursive=False), {}


def get_blob(fake: FakeGitHub, repo: Repo, sha: str, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    if sha not in repo.objects.blobs:
        raise not_found()
    data = repo.objects.blobs[sha]
    return (
        200,
        {
            "sha": sha,
            "size": len(data),
            "url": fake.url(repo, f"/git/blobs/{sha}"),
            "content": base64.b64encode(data).decode(),
            "encoding": "base64",
        },
        {},
    )


def create_blob(fake: FakeGitHub, repo: Repo, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    body = body or {}
    content = body.get("content")
    if not isinstance(content, str):
        raise unprocessable("content must be a string")
    data = base64.b64decode(content) if body.get("encoding") == "base64" else content.encode()
    sha = repo.objects.put_blob(data)
    return 201, {"sha": sha, "url": fake.url(repo, f"/git/blobs/{sha}")}, {}


def get_commit(fake: FakeGitHub, repo: Repo, sha: str, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    if sha not in repo.objects.commits:
        raise not_found()
    return 200, fake.commit_json(repo, sha), {}


def get_repo_commit(
    fake: FakeGitHub, repo: Repo, ref: str, *, query: dict, body: Any
) -> tuple[int, Any, dict]:
    try:
        sha = repo.resolve(ref)
    except ApiError:
        raise ApiError(422, f"No commit found for SHA: {ref}") from None
    return 200, fake.repo_commit_json(repo, sha), {}


def get_branch(fake: FakeGitHub, repo: Repo, name: str, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    if f"refs/heads/{name}" not in repo.refs:
        raise not_found("Branch not found")
    return 200, fake.branch_json(repo, name), {}


def create_commit(fake: FakeGitHub, repo: Repo, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    body = body or {}
    tree, parents = body.get("tree"), body.get("parents") or []
    if tree not in repo.objects.trees:
        raise unprocessable("tree is not a valid tree")
    if any(p not in repo.objects.commits for p in parents):
        raise unprocessable("parents must be existing commits")
    sha = repo.objects.put_commit(tree, list(parents), str(body.get("message") or ""))
    return 201, fake.commit_json(repo, sha), {}


def get_contents(fake: FakeGitHub, repo: Repo, path: str, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    ref = query.get("ref") or repo.default_branch
    try:
        sha = repo.resolve(ref)
    except ApiError:
        raise not_found(f"No commit found for the ref {ref}") from None
    files = repo.files_at(sha)
    path = path.strip("/")
    if path in files and files[path][0] == "120000":
        return 200, symlink_contents(fake, repo, sha, path, files), {}
    if path in files:
        return 200, fake.content_json(repo, sha, path, files[path][1], with_content=True), {}
    entries = repo.tree_at(sha, path)
    if entries is None:
        raise not_found()
    prefix = f"{path}/" if path else ""
    return 200, [fake.entry_json(repo, sha, prefix + entry.name, entry) for entry in entries], {}


def put_contents(fake: FakeGitHub, repo: Repo, path: str, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    """Create or update one file in a commit of its own (the contents API)."""
    body = body or {}
    message, content = body.get("message"), body.get("content")
    if not isinstance(message, str) or not isinstance(content, str):
        raise unprocessable("message and content are required")
    try:
        data = base64.b64decode(content, validate=True)
    except ValueError:
        raise unprocessable("content is not valid Base64") from None
    branch = body.get("branch") or repo.default_branch
    if f"refs/heads/{branch}" not in repo.refs:
        raise not_found(f"Branch {branch} not found")
    path = path.strip("/")
    current = repo.files_at(repo.refs[f"refs/heads/{branch}"]).get(path)
    if current and not body.get("sha"):
        raise ApiError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
    if body.get("sha") and (current is None or current[1] != body["sha"]):
        raise ApiError(409, f"{path} does not match {body['sha']}")
    commit = repo.commit_files(branch, {path: data}, message)
    blob = repo.files_at(commit)[path][1]
    answer = {
        "content": fake.content_json(repo, commit, path, blob, with_content=False),
        "commit": fake.commit_json(repo, commit),
    }
    return (200 if current else 201), answer, {}


def symlink_contents(fake: FakeGitHub, repo: Repo, sha: str, path: str, files: dict) -> dict:
    """GitHub answers for a symlink with the file it points to when that is a file in the repository, and
    otherwise with the link itself."""
    target = repo.objects.blobs[files[path][1]].decode()
    landed = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    if landed in files and files[landed][0] != "120000":
        _, answer, _ = get_contents(fake, repo, landed, query={"ref": sha}, body=None)
        return answer
    return {
        "type": "symlink",
        "target": target,
        "size": len(target),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": files[path][1],
        "url": fake.url(repo, f"/contents/{path}?ref={sha}"),
        "git_url": fake.url(repo, f"/git/blobs/{files[path][1]}"),
        "html_url": fake.html(repo, f"/blob/{sha}/{path}"),
        "download_url": None,
    }


PULL_SORTS = {
    "created": lambda pull: pull.created_at,
    "updated": lambda pull: pull.updated_at,
    "popularity": lambda pull: len(pull.comments),
    "long-running": lambda pull: pull.created_at,
}


def list_pulls(fake: FakeGitHub, repo: Repo, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    state, head, base = query.get("state", "open"), query.get("head"), query.get("base")
    sort = query.get("sort", "created")
    if state not in ("open", "closed", "all") or sort not in PULL_SORTS:
        raise unprocessable(f"state {state!r} or sort {sort!r} is not valid")
    # GitHub's default order: newest first when sorting by creation, oldest first otherwise.
    default = "desc" if sort == "created" else "asc"
    descending = query.get("direction", default) == "desc"
    # Ties (pull requests opened in the same second) keep the order in which they were opened.
    pulls = sorted(repo.pulls, key=lambda p: (PULL_SORTS[sort](p), p.number), reverse=descending)
    if state != "all":
        pulls = [p for p in pulls if p.state == state]
    if head:
        owner, _, branch = head.rpartition(":")
        pulls = [p for p in pulls if p.head == branch and owner in ("", repo.owner)]
    if base:
        pulls = [p for p in pulls if p.base == base]
    items, headers = fake.page(pulls, query, fake.url(repo, "/pulls"))
    return 200, [fake.pull_json(repo, p) for p in items], headers


def create_pull(fake: FakeGitHub, repo: Repo, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    body = body or {}
    head, base, title = body.get("head"), body.get("base"), body.get("title")
    if not isinstance(title, str) or not title:
        raise unprocessable("title is missing")
    head = str(head or "").rpartition(":")[2]
    for name, branch in (("head", head), ("base", base)):
        if f"refs/heads/{branch}" not in repo.refs:
            raise ApiError(
                422,
                "Validation Failed",
                errors=[{"resource": "PullRequest", "field": name, "code": "invalid"}],
            )
    if any(p.head == head and p.base == base and p.state == "open" for p in repo.pulls):
        raise unprocessable(f"A pull request already exists for {repo.owner}:{head}.", "PullRequest")
    head_sha, base_sha = repo.refs[f"refs/heads/{head}"], repo.refs[f"refs/heads/{base}"]
    if head_sha in repo.objects.ancestors(base_sha):
        raise unprocessable(f"No commits between {base} and {head}", "PullRequest")
    pull = Pull(len(repo.pulls) + 1, title, str(body.get("body") or ""), head, base, head_sha, base_sha)
    repo.pulls.append(pull)
    return 201, fake.pull_json(repo, pull), {}


def get_pull(fake: FakeGitHub, repo: Repo, number: str, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    return 200, fake.pull_json(repo, repo.pull(int(number))), {}


def update_pull(
    fake: FakeGitHub, repo: Repo, number: str, *, query: dict, body: Any
) -> tuple[int, Any, dict]:
    body = body or {}
    pull = repo.pull(int(number))
    state, base = body.get("state", pull.state), body.get("base", pull.base)
    if state not in ("open", "closed"):
        raise unprocessable("state must be open or closed", "PullRequest")
    if f"refs/heads/{base}" not in repo.refs:
        raise ApiError(
            422, "Validation Failed", errors=[{"resource": "PullRequest", "field": "base", "code": "invalid"}]
        )
    if pull.merged and state == "open":
        raise unprocessable("state cannot be changed. The pull request cannot be reopened.", "PullRequest")
    if state == "open" and pull.state == "closed":
        if any(p.head == pull.head and p.state == "open" for p in repo.pulls):
            raise unprocessable(f"A pull request already exists for {repo.owner}:{pull.head}.", "PullRequest")
        pull.closed_at = None
    elif state == "closed" and pull.state == "open":
        pull.closed_at = now_iso()
    pull.state, pull.base = state, base
    pull.title = str(body.get("title", pull.title))
    pull.body = str(body.get("body", pull.body) or "")
    pull.updated_at = now_iso()
    return 200, fake.pull_json(repo, pull), {}


def merge_pull(fake: FakeGitHub, repo: Repo, number: str, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    body = body or {}
    method = body.get("merge_method", "merge")
    if method not in ("merge", "squash", "rebase"):
        raise unprocessable("merge_method must be merge, squash or rebase")
    sha = repo.merge_pull(int(number), method, body.get("sha"))
    return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}, {}


def add_labels(fake: FakeGitHub, repo: Repo, number: str, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    names = body.get("labels") if isinstance(body, dict) else body
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise unprocessable("labels must be a list of names")
    pull = repo.pull(int(number))
    pull.labels += [name for name in names if name not in pull.labels]
    return 200, [{"name": name, "color": "ededed"} for name in pull.labels], {}


COMMENT_LIMIT = 65536  # characters: GitHub refuses a longer comment body


def list_comments(
    fake: FakeGitHub, repo: Repo, number: str, *, query: dict, body: Any
) -> tuple[int, Any, dict]:
    comments = repo.pull(int(number)).comments
    if since := query.get("since"):
        comments = [comment for comment in comments if comment["updated_at"] >= since]
    items, headers = fake.page(comments, query, fake.url(repo, f"/issues/{number}/comments"))
    return 200, items, headers


def create_comment(
    fake: FakeGitHub, repo: Repo, number: str, *, query: dict, body: Any
) -> tuple[int, Any, dict]:
    pull = repo.pull(int(number))
    text = body.get("body") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text:
        raise unprocessable("body is missing", "IssueComment")
    if len(text) > COMMENT_LIMIT:
        raise unprocessable(f"Body is too long (maximum is {COMMENT_LIMIT} characters)", "IssueComment")
    fake._next_id += 1
    at = now_iso()
    comment = {
        "id": fake._next_id,
        "node_id": f"IC_{fake._next_id}",
        "url": fake.url(repo, f"/issues/comments/{fake._next_id}"),
        "html_url": fake.html(repo, f"/pull/{pull.number}#issuecomment-{fake._next_id}"),
        "issue_url": fake.url(repo, f"/issues/{pull.number}"),
        "body": text,
        "user": fake.user_json("bugstack-bot"),
        "author_association": "CONTRIBUTOR",
        "created_at": at,
        "updated_at": at,
    }
    pull.comments.append(comment)
    pull.updated_at = at
    return 201, comment, {}


def create_status(fake: FakeGitHub, repo: Repo, sha: str, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    body = body or {}
    if sha not in repo.objects.commits:
        raise unprocessable(f"No commit found for SHA: {sha}")
    status = fake._create_status(
        repo,
        sha,
        str(body.get("state")),
        body.get("context") or "default",
        body.get("description") or "",
        body.get("target_url") or "",
    )
    return 201, status, {}


def combined_status(
    fake: FakeGitHub, repo: Repo, ref: str, *, query: dict, body: Any
) -> tuple[int, Any, dict]:
    sha = repo.resolve(ref)
    latest: dict[str, dict] = {}
    for status in repo.statuses.get(sha, []):  # newest first: the first per context wins
        latest.setdefault(status["context"], status)
    states = {s["state"] for s in latest.values()}
    # GitHub says "pending" when there is no status at all; callers must look at total_count.
    state = (
        "failure"
        if states & {"failure", "error"}
        else "pending"
        if "pending" in states or not states
        else "success"
    )
    return (
        200,
        {
            "state": state,
            "sha": sha,
            "total_count": len(latest),
            "statuses": list(latest.values()),
            "repository": fake.repo_json(repo),
            "commit_url": fake.url(repo, f"/commits/{sha}"),
            "url": fake.url(repo, f"/commits/{sha}/status"),
        },
        {},
    )


def list_check_runs(
    fake: FakeGitHub, repo: Repo, ref: str, *, query: dict, body: Any
) -> tuple[int, Any, dict]:
    sha = repo.resolve(ref)
    latest: dict[str, CheckRun] = {}
    for run in reversed(repo.check_runs):  # filter=latest: the newest run of each name
        if run.head_sha == sha:
            latest.setdefault(run.name, run)
    runs = sorted(latest.values(), key=lambda r: r.id)
    items, headers = fake.page(runs, query, fake.url(repo, f"/commits/{ref}/check-runs"))
    return (
        200,
        {"total_count": len(runs), "check_runs": [fake.check_run_json(repo, r) for r in items]},
        headers,
    )


def create_check_run(fake: FakeGitHub, repo: Repo, *, query: dict, body: Any) -> tuple[int, Any, dict]:
    body = body or {}
    output = body.get("output") or {}
    run = fake.add_check_run(
        repo.full_name,
        str(body.get("head_sha")),
        str(body.get("name")),
        body.get("status", "queued"),
        body.get("conclusion"),
        output.get("title") or "",
        output.get("summary") or "",
        output.get("text") or "",
        output.get("annotations"),
    )
    return 201, fake.check_run_json(repo, run), {}


def list_annotations(
    fake: FakeGitHub, repo: Repo, run_id: str, *, query: dict, body: Any
) -> tuple[int, Any, dict]:
    for run in repo.check_runs:
        if run.id == int(run_id):
            items, headers = fake.page(
                run.annotations, query, fake.url(repo, f"/check-runs/{run_id}/annotations")
            )
            return 200, items, headers
    raise not_found()


REST = "https://docs.github.com/rest"
ROUTES = [
    ("GET", r"^$", get_repo, f"{REST}/repos/repos#get-a-repository"),
    ("GET", r"^/branches/(.+)$", get_branch, f"{REST}/branches/branches#get-a-branch"),
    ("GET", r"^/commits/([^/]+)$", get_repo_commit, f"{REST}/commits/commits#get-a-commit"),
    ("GET", r"^/git/(?:ref|refs)/(.+)$", get_ref, f"{REST}/git/refs#get-a-reference"),
    ("POST", r"^/git/refs$", create_ref, f"{REST}/git/refs#create-a-reference"),
    ("PATCH", r"^/git/refs/(.+)$", update_ref, f"{REST}/git/refs#update-a-reference"),
    ("GET", r"^/git/trees/([^/]+)$", get_tree, f"{REST}/git/trees#get-a-tree"),
    ("POST", r"^/git/trees$", create_tree, f"{REST}/git/trees#create-a-tree"),
    ("GET", r"^/git/blobs/([0-9a-f]{40})$", get_blob, f"{REST}/git/blobs#get-a-blob"),
    ("POST", r"^/git/blobs$", create_blob, f"{REST}/git/blobs#create-a-blob"),
    ("GET", r"^/git/commits/([0-9a-f]{40})$", get_commit, f"{REST}/git/commits#get-a-commit-object"),
    ("POST", r"^/git/commits$", create_commit, f"{REST}/git/commits#create-a-commit"),
    ("GET", r"^/contents/?(.*)$", get_contents, f"{REST}/repos/contents#get-repository-content"),
    ("PUT", r"^/contents/(.+)$", put_contents, f"{REST}/repos/contents#create-or-update-file-contents"),
    ("GET", r"^/pulls$", list_pulls, f"{REST}/pulls/pulls#list-pull-requests"),
    ("POST", r"^/pulls$", create_pull, f"{REST}/pulls/pulls#create-a-pull-request"),
    ("GET", r"^/pulls/(\d+)$", get_pull, f"{REST}/pulls/pulls#get-a-pull-request"),
    ("PATCH", r"^/pulls/(\d+)$", update_pull, f"{REST}/pulls/pulls#update-a-pull-request"),
    ("PUT", r"^/pulls/(\d+)/merge$", merge_pull, f"{REST}/pulls/pulls#merge-a-pull-request"),
    ("POST", r"^/issues/(\d+)/labels$", add_labels, f"{REST}/issues/labels#add-labels-to-an-issue"),
    ("GET", r"^/issues/(\d+)/comments$", list_comments, f"{REST}/issues/comments#list-issue-comments"),
    ("POST", r"^/issues/(\d+)/comments$", create_comment, f"{REST}/issues/comments#create-an-issue-comment"),
    ("POST", r"^/statuses/([0-9a-f]{40})$", create_status, f"{REST}/commits/statuses#create-a-commit-status"),
    (
        "GET",
        r"^/commits/([^/]+)/status$",
        combined_status,
        f"{REST}/commits/statuses#get-the-combined-status-for-a-specific-reference",
    ),
    (
        "GET",
        r"^/commits/([^/]+)/check-runs$",
        list_check_runs,
        f"{REST}/checks/runs#list-check-runs-for-a-git-reference",
    ),
    ("POST", r"^/check-runs$", create_check_run, f"{REST}/checks/runs#create-a-check-run"),
    (
        "GET",
        r"^/check-runs/(\d+)/annotations$",
        list_annotations,
        f"{REST}/checks/runs#list-check-run-annotations",
    ),
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A local fake of GitHub's REST API, served under /api/v3.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--repo",
        action="append",
        default=[],
        metavar="OWNER/NAME=PATH",
        help="seed a repository from a directory (repeatable)",
    )
    parser.add_argument("--token", help="accept only this token (otherwise every request is accepted)")
    parser.add_argument("--faults", metavar="FILE", help="a JSON fault plan (see tests.fakes.faults)")
    args = parser.parse_args(argv)
    fake = FakeGitHub(tokens={args.token: None} if args.token else None, host=args.host, port=args.port)
    if args.faults:
        fake.faults.load_file(args.faults)
    for spec in args.repo:
        name, sep, path = spec.partition("=")
        if not sep or name.count("/") != 1 or not Path(path).is_dir():
            parser.error(f"--repo {spec!r}: use owner/name=PATH with PATH a directory")
        fake.add_repo(name, path=path)
    print(f"fake GitHub API at {fake.base_url}", flush=True)
    fake.serve_until_interrupted()


if __name__ == "__main__":
    main()
