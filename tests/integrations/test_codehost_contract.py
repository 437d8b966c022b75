"""The code host contract: the same behaviour from GitHub (through PyGithub and the fake) and a local git
repository, as the pipeline relies on it."""

from __future__ import annotations

import pytest

from integrations.codehost import BinaryFile, CIState, FileNotFound, PRState
from integrations.errors import PermanentError
from tests.integrations.conftest import FIX, SEED

BRANCH = "bugstack/fix-1-abcdef12"


def open_fix(harness):
    host = harness.host
    base = host.head("main")
    host.create_branch(BRANCH, base)
    sha = host.commit(BRANCH, FIX, "Fix average of an empty cart")
    return base, sha, host.open_pull_request(BRANCH, "Fix ZeroDivisionError in average", "Details")


def test_tree_lists_every_file_at_a_commit(harness):
    host = harness.host
    paths = host.tree(host.head("main"))
    assert set(SEED) | {"logo.png", "run.sh", "tests/link"} == set(paths)


def test_symlinks_are_told_with_their_targets(harness):
    host = harness.host
    assert host.symlinks(host.head("main")) == {"tests/link": "../.github"}


def test_read_returns_text_as_of_the_given_commit(harness):
    host = harness.host
    before = host.head("main")
    after = harness.push_to_main({"README.md": "# Shop, renamed\n"})
    assert host.read("README.md", before) == "# Shop\n"
    assert host.read("README.md", after) == "# Shop, renamed\n"
    assert host.read("shop/cart.py", after) == SEED["shop/cart.py"]


def test_missing_and_binary_files_are_told_apart(harness):
    host = harness.host
    sha = host.head("main")
    with pytest.raises(FileNotFound):
        host.read("shop/missing.py", sha)
    with pytest.raises(FileNotFound):
        host.read("shop", sha)
    with pytest.raises(BinaryFile):
        host.read("logo.png", sha)


def test_unknown_branch_is_a_permanent_error(harness):
    with pytest.raises(PermanentError, match="no-such-branch"):
        harness.host.head("no-such-branch")


def test_create_branch_leaves_an_existing_branch_alone(harness):
    host = harness.host
    base = host.head("main")
    host.create_branch(BRANCH, base)
    moved = host.commit(BRANCH, {"README.md": "changed\n"}, "change")
    host.create_branch(BRANCH, base)
    assert host.head(BRANCH) == moved
    assert host.head("main") == base


def test_commit_writes_two_files_in_one_commit_on_the_branch_only(harness):
    host = harness.host
    base, sha, _ = open_fix(harness)
    assert host.head(BRANCH) == sha != base
    for path, text in FIX.items():
        assert host.read(path, sha) == text
        assert host.read(path, base) == SEED[path]
    assert host.read("README.md", sha) == SEED["README.md"]
    assert host.head("main") == base
    assert sorted(host.tree(sha)) == sorted(host.tree(base))


def test_open_pull_request_then_find_it_by_branch(harness):
    host = harness.host
    _, sha, pr = open_fix(harness)
    assert (pr.number, pr.branch, pr.head_sha, pr.state) == (1, BRANCH, sha, PRState.OPEN)
    assert pr.url
    found = host.find_pull_request(BRANCH)
    assert (found.number, found.head_sha, found.state) == (1, sha, PRState.OPEN)
    assert host.find_pull_request("bugstack/other") is None


def test_opening_twice_returns_the_same_pull_request(harness):
    _, _, first = open_fix(harness)
    again = harness.host.open_pull_request(BRANCH, "Fix ZeroDivisionError in average", "Details")
    assert again.number == first.number
    assert harness.host.get_pull_request(first.number).state == PRState.OPEN


def test_pull_request_without_commits_is_refused(harness):
    host = harness.host
    host.create_branch(BRANCH, host.head("main"))
    with pytest.raises(PermanentError, match="No commits between"):
        host.open_pull_request(BRANCH, "Nothing", "")


def test_label_is_added_once(harness):
    _, _, pr = open_fix(harness)
    harness.host.label_pull_request(pr, "bugstack")
    harness.host.label_pull_request(pr, "bugstack")
    assert harness.labels(pr.number) == ["bugstack"]


def test_ci_fails_with_the_test_output_then_is_pending_then_passes_after_the_fix(harness):
    host = harness.host
    broken = host.head("main")
    host.create_branch(BRANCH, broken)
    harness.finish_ci(broken)
    result = host.ci(broken)
    assert result.state == CIState.FAILURE
    assert "ZeroDivisionError" in result.failures[0].text
    assert result.failures[0].name
    fixed = host.commit(BRANCH, FIX, "Fix average")
    harness.start_ci(fixed)
    assert host.ci(fixed).state == CIState.PENDING
    harness.finish_ci(fixed)
    assert host.ci(fixed).state == CIState.SUCCESS


def test_merge_puts_the_fix_on_the_default_branch(harness):
    host = harness.host
    base, sha, pr = open_fix(harness)
    merge_sha = host.merge(pr, "merge")
    assert host.head("main") == merge_sha not in (base, sha)
    assert host.read("shop/cart.py", merge_sha) == FIX["shop/cart.py"]
    merged = host.get_pull_request(pr.number)
    assert (merged.state, merged.merge_sha) == (PRState.MERGED, merge_sha)


@pytest.mark.parametrize("method", ["squash", "rebase"])
def test_squash_and_rebase_merges_keep_history_linear(harness, method):
    host = harness.host
    base, _, pr = open_fix(harness)
    merge_sha = host.merge(pr, method)
    assert host.read("shop/util.py", merge_sha) == FIX["shop/util.py"]
    assert host.get_pull_request(pr.number).state == PRState.MERGED


def test_merge_refuses_a_branch_that_moved_since_ci(harness):
    host = harness.host
    _, _, pr = open_fix(harness)
    host.commit(BRANCH, {"README.md": "unchecked\n"}, "pushed after CI")
    with pytest.raises(PermanentError):
        host.merge(pr, "merge")
    assert host.get_pull_request(pr.number).state == PRState.OPEN


def test_merge_conflict_is_a_permanent_error(harness):
    host = harness.host
    _, _, pr = open_fix(harness)
    harness.push_to_main({"shop/cart.py": "def average(prices):\n    return 0\n"})
    with pytest.raises(PermanentError, match="cannot be merged"):
        host.merge(pr, "merge")
    assert host.get_pull_request(pr.number).state == PRState.OPEN


def test_merge_or_close_by_a_person_is_seen(harness):
    host = harness.host
    _, _, pr = open_fix(harness)
    harness.merge_as_person(pr.number)
    assert host.get_pull_request(pr.number).state == PRState.MERGED
    assert host.find_pull_request(BRANCH).state == PRState.MERGED


def test_close_by_a_person_is_seen(harness):
    host = harness.host
    _, _, pr = open_fix(harness)
    harness.close_as_person(pr.number)
    assert host.get_pull_request(pr.number).state == PRState.CLOSED
