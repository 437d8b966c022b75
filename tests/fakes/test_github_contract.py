"""The GitHub fake answers plain PyGithub as GitHub's REST API does: shapes, values, pages and errors.

Only PyGithub is used here, never bugstack's code, so what passes here is what any client of the fake sees.
Reference: https://docs.github.com/en/rest
"""

from __future__ import annotations

import base64

import pytest
from github import Auth, Github, GithubException, InputGitTreeElement, UnknownObjectException

from tests.fakes.github import FakeGitHub

TOKEN = "ghp_contractToken0000000000000000000000000"
REPO = "acme/shop"
FILES = {
    "README.md": "# Shop\n",
    "shop/__init__.py": "",
    "shop/cart.py": "def total(items):\n    return sum(items)\n",
    "shop/tax/rates.py": "VAT = 0.2\n",
}


@pytest.fixture
def fake():
    with FakeGitHub(tokens={TOKEN: None}) as fake:
        fake.add_repo(REPO, files=FILES)
        yield fake


@pytest.fixture
def repo(fake):
    # No pacing: PyGithub spaces writes a second apart for github.com's sake.
    client = Github(
        auth=Auth.Token(TOKEN),
        base_url=fake.base_url,
        retry=None,
        per_page=5,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    return client.get_repo(REPO)


def branch_with_change(repo, name: str, text: str = "changed\n") -> str:
    """A branch off main with one commit changing README.md; its head sha."""
    main = repo.get_git_ref("heads/main").object.sha
    repo.create_git_ref(f"refs/heads/{name}", main)
    current = repo.get_contents("README.md", ref=name)
    return repo.update_file("README.md", f"Change on {name}", text, current.sha, branch=name)["commit"].sha


def error_of(call) -> GithubException:
    with pytest.raises(GithubException) as caught:
        call()
    return caught.value


# --- branches, commits, refs --------------------------------------------------------------------------


def test_a_branch_names_its_head_commit_with_the_git_commit_inside(fake, repo):
    branch = repo.get_branch("main")

    head = fake.head(REPO, "main")
    assert (branch.name, branch.commit.sha, branch.protected) == ("main", head, False)
    assert branch.commit.commit.message == "Initial commit"
    assert branch.commit.commit.tree.sha == fake.repo(REPO).objects.commits[head].tree
    assert branch.commit.commit.author.email == "fake@example.com"


def test_a_commit_lists_the_files_it_changed_with_their_patch(repo):
    sha = branch_with_change(repo, "docs", "# Shop\n\nSells things.\n")

    commit = repo.get_commit(sha)

    assert commit.sha == sha and commit.commit.message == "Change on docs"
    assert [p.sha for p in commit.parents] == [repo.get_branch("main").commit.sha]
    (changed,) = commit.files
    assert (changed.filename, changed.status, changed.additions, changed.deletions) == (
        "README.md",
        "modified",
        2,
        0,
    )
    assert "+Sells things." in changed.patch
    assert (commit.stats.additions, commit.stats.deletions, commit.stats.total) == (2, 0, 2)


def test_a_reference_is_read_created_and_moved_only_forward(repo):
    main = repo.get_git_ref("heads/main")
    created = repo.create_git_ref("refs/heads/feature", main.object.sha)
    assert (created.ref, created.object.sha, created.object.type) == (
        "refs/heads/feature",
        main.object.sha,
        "commit",
    )

    again = error_of(lambda: repo.create_git_ref("refs/heads/feature", main.object.sha))
    assert again.status == 422 and again.data["message"] == "Reference already exists"

    parent = repo.get_git_commit(main.object.sha)
    tree = repo.create_git_tree(
        [InputGitTreeElement("NOTES.md", "100644", "blob", content="notes\n")], base_tree=parent.tree
    )
    commit = repo.create_git_commit("Add notes", tree, [parent])
    created.edit(commit.sha)
    assert repo.get_git_ref("heads/feature").object.sha == commit.sha

    backwards = error_of(lambda: created.edit(main.object.sha))
    assert backwards.status == 422 and backwards.data["message"] == "Update is not a fast forward"


def test_unknown_branch_commit_and_path_are_not_found_with_githubs_bodies(repo):
    branch = error_of(lambda: repo.get_branch("nope"))
    assert isinstance(branch, UnknownObjectException)
    assert branch.data["message"] == "Branch not found"
    assert branch.data["documentation_url"].endswith("/branches/branches#get-a-branch")
    assert branch.data["status"] == "404"

    missing_sha = "0" * 40
    git_commit = error_of(lambda: repo.get_git_commit(missing_sha))
    assert git_commit.status == 404 and git_commit.data["message"] == "Not Found"
    # The commits API says which sha it could not find, and with 422 rather than 404, as GitHub does.
    commit = error_of(lambda: repo.get_commit(missing_sha))
    assert commit.status == 422 and commit.data["message"] == f"No commit found for SHA: {missing_sha}"

    path = error_of(lambda: repo.get_contents("shop/nothing.py"))
    assert path.status == 404 and path.data["message"] == "Not Found"
    assert path.data["documentation_url"].endswith("/repos/contents#get-repository-content")
    ref = error_of(lambda: repo.get_git_ref("heads/nope"))
    assert ref.status == 404


# --- contents ------------------------------------------------------------------------------------------


def test_a_file_comes_base64_encoded_in_lines_with_its_blob_sha(fake, repo):
    content = repo.get_contents("shop/cart.py")

    assert (content.type, content.encoding, content.name, content.path) == (
        "file",
        "base64",
        "cart.py",
        "shop/cart.py",
    )
    assert content.decoded_content.decode() == FILES["shop/cart.py"]
    assert content.size == len(FILES["shop/cart.py"])
    assert content.sha == fake.repo(REPO).files_at(fake.head(REPO, "main"))["shop/cart.py"][1]
    assert repo.get_git_blob(content.sha).content.replace("\n", "") == content.content.replace("\n", "")


def test_a_directory_lists_files_and_subdirectories_with_their_shas(fake, repo):
    listing = repo.get_contents("shop")

    assert [(item.type, item.name, item.path) for item in listing] == [
        ("file", "__init__.py", "shop/__init__.py"),
        ("file", "cart.py", "shop/cart.py"),
        ("dir", "tax", "shop/tax"),
    ]
    tax = listing[2]
    assert repo.get_git_tree(tax.sha).tree[0].path == "rates.py"
    assert [item.name for item in repo.get_contents("")] == ["README.md", "shop"]


def test_create_then_update_a_file_commits_each_change(fake, repo):
    created = repo.create_file("docs/usage.md", "Add usage", "Use it.\n", branch="main")
    assert created["content"].path == "docs/usage.md"
    assert created["commit"].sha == fake.head(REPO, "main")
    assert repo.get_contents("docs/usage.md").decoded_content == b"Use it.\n"

    updated = repo.update_file("docs/usage.md", "Reword usage", "Use it well.\n", created["content"].sha)
    assert updated["commit"].parents[0].sha == created["commit"].sha
    assert repo.get_commit(updated["commit"].sha).files[0].status == "modified"

    stale = error_of(
        lambda: repo.update_file("docs/usage.md", "Stale", "x\n", created["content"].sha, branch="main")
    )
    assert stale.status == 409
    without_sha = error_of(lambda: repo.create_file("docs/usage.md", "Again", "y\n"))
    assert without_sha.status == 422 and '"sha" wasn\'t supplied' in without_sha.data["message"]


# --- pull requests -------------------------------------------------------------------------------------


def test_a_pull_request_is_opened_found_by_its_head_and_refused_twice(repo):
    head = branch_with_change(repo, "fix-1")
    pull = repo.create_pull(base="main", head="fix-1", title="Fix one", body="Because.")

    assert (pull.number, pull.state, pull.head.ref, pull.head.sha, pull.base.ref) == (
        1,
        "open",
        "fix-1",
        head,
        "main",
    )
    assert (pull.mergeable, pull.mergeable_state, pull.merged, pull.draft) == (True, "clean", False, False)
    found = repo.get_pulls(state="open", head="acme:fix-1", base="main")
    assert [p.number for p in found] == [1]

    twice = error_of(lambda: repo.create_pull(base="main", head="fix-1", title="Again", body=""))
    assert twice.status == 422 and twice.data["message"] == "Validation Failed"
    assert twice.data["errors"] == [
        {
            "resource": "PullRequest",
            "code": "custom",
            "message": "A pull request already exists for acme:fix-1.",
        }
    ]
    assert twice.data["documentation_url"].endswith("/pulls/pulls#create-a-pull-request")


def test_pull_requests_are_listed_over_pages_sorted_and_filtered(repo):
    for n in range(1, 13):
        branch_with_change(repo, f"fix-{n}", f"change {n}\n")
        repo.create_pull(base="main", head=f"fix-{n}", title=f"Fix {n}", body="")
    repo.get_pull(3).edit(state="closed")

    newest_first = repo.get_pulls(state="all")
    assert newest_first.totalCount == 12  # read from the Link header's rel="last" page
    assert [p.number for p in newest_first] == list(range(12, 0, -1))  # three pages of five

    oldest_first = repo.get_pulls(state="all", sort="created", direction="asc")
    assert [p.number for p in oldest_first][:3] == [1, 2, 3]
    assert 3 not in [p.number for p in repo.get_pulls(state="open")]
    assert [p.number for p in repo.get_pulls(state="closed")] == [3]
    assert list(repo.get_pulls(state="all", head="acme:fix-99")) == []


def test_a_page_links_to_the_next_and_last_pages(fake, repo):
    for n in range(1, 8):
        branch_with_change(repo, f"page-{n}", f"page {n}\n")
        repo.create_pull(base="main", head=f"page-{n}", title=f"Page {n}", body="")

    second_page = repo.get_pulls(state="all").get_page(1)

    assert [p.number for p in second_page] == [2, 1]
    request = fake.requests_to("/pulls", "GET")[-1]
    assert (request.query["page"], request.query["per_page"]) == ("2", "5")


def test_a_pull_request_is_edited_and_closed_and_reopened(repo):
    branch_with_change(repo, "fix-edit")
    pull = repo.create_pull(base="main", head="fix-edit", title="Draft title", body="")

    pull.edit(title="Better title", body="Now explained.")
    assert (repo.get_pull(1).title, repo.get_pull(1).body) == ("Better title", "Now explained.")

    pull.edit(state="closed")
    closed = repo.get_pull(1)
    assert (closed.state, closed.merged, closed.closed_at is not None) == ("closed", False, True)
    pull.edit(state="open")
    assert repo.get_pull(1).state == "open"


def test_merging_moves_the_base_and_a_second_merge_is_refused(fake, repo):
    head = branch_with_change(repo, "fix-merge")
    pull = repo.create_pull(base="main", head="fix-merge", title="Merge me", body="")

    result = pull.merge(merge_method="squash", sha=head)

    assert (result.merged, result.message) == (True, "Pull Request successfully merged")
    assert result.sha == fake.head(REPO, "main")
    merged = repo.get_pull(1)
    assert (merged.state, merged.merged, merged.merge_commit_sha) == ("closed", True, result.sha)
    assert repo.get_contents("README.md").decoded_content == b"changed\n"
    again = error_of(lambda: pull.merge())
    assert again.status == 405 and again.data["message"] == "Pull Request is not mergeable"


def test_merging_a_head_that_moved_is_a_conflict_and_a_clash_is_not_mergeable(fake, repo):
    old_head = branch_with_change(repo, "fix-moved")
    pull = repo.create_pull(base="main", head="fix-moved", title="Moved", body="")
    fake.push(REPO, "fix-moved", {"shop/cart.py": "# pushed since CI ran\n"})

    moved = error_of(lambda: pull.merge(sha=old_head))
    assert moved.status == 409
    assert moved.data["message"] == "Head branch was modified. Review and try the merge again."

    fake.push(REPO, "main", {"README.md": "# Shop, edited on main\n"})
    clash = repo.get_pull(pull.number)
    assert (clash.mergeable, clash.mergeable_state) == (False, "dirty")
    refused = error_of(lambda: clash.merge())
    assert refused.status == 405 and refused.data["message"] == "Pull Request is not mergeable"
    assert fake.repo(REPO).pull(pull.number).state == "open"


# --- CI --------------------------------------------------------------------------------------------------


def test_the_combined_status_keeps_the_newest_status_of_each_context(fake, repo):
    sha = fake.head(REPO, "main")
    fake.set_status(REPO, sha, "pending", context="ci/tests")
    fake.set_status(REPO, sha, "failure", context="ci/tests", description="2 failed")
    fake.set_status(REPO, sha, "success", context="ci/lint")

    combined = repo.get_commit(sha).get_combined_status()

    assert (combined.state, combined.sha, combined.total_count) == ("failure", sha, 2)
    assert {(s.context, s.state, s.description) for s in combined.statuses} == {
        ("ci/tests", "failure", "2 failed"),
        ("ci/lint", "success", ""),
    }


def test_no_status_at_all_is_pending_with_a_count_of_zero(fake, repo):
    combined = repo.get_commit(fake.head(REPO, "main")).get_combined_status()

    assert (combined.state, combined.total_count, combined.statuses) == ("pending", 0, [])


def test_check_runs_are_read_across_pages_with_their_output(fake, repo):
    sha = fake.head(REPO, "main")
    for n in range(11):
        fake.add_check_run(REPO, sha, f"job-{n:02d}")
    fake.add_check_run(
        REPO, sha, "pytest", conclusion="failure", title="1 failed", summary="test_cart", text="assert 0"
    )

    runs = repo.get_commit(sha).get_check_runs()

    assert runs.totalCount == 12
    listed = list(runs)
    assert len(listed) == 12 and len(fake.requests_to("/check-runs", "GET")) >= 3
    failed = listed[-1]
    assert (failed.name, failed.status, failed.conclusion, failed.head_sha) == (
        "pytest",
        "completed",
        "failure",
        sha,
    )
    assert (failed.output.title, failed.output.summary, failed.output.text) == (
        "1 failed",
        "test_cart",
        "assert 0",
    )


def test_a_status_for_an_unknown_commit_is_refused(repo):
    missing = error_of(lambda: repo.get_commit("f" * 40).create_status("success"))
    assert missing.status == 422


def test_contents_answers_decode_as_github_encodes_them(repo):
    raw = repo.get_contents("shop/tax/rates.py").raw_data
    assert raw["content"].endswith("\n")
    assert base64.b64decode(raw["content"]) == FILES["shop/tax/rates.py"].encode()
    assert raw["_links"]["self"] == raw["url"]
