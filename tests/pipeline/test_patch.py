"""Applying search/replace edits to context files and showing the result as a unified diff."""

import pytest

from integrations.providers import Edit, NewFile
from pipeline.patch import (
    PatchError,
    add_new_files,
    added_bytes,
    apply_edits,
    changed_line_count,
    unified_diff,
)

CATALOG = """\
def average_rating(product):
    ratings = [review.stars for review in product.reviews]
    return sum(ratings) / len(ratings)


def best(products):
    return max(products, key=average_rating)
"""
GUARDED = CATALOG.replace(
    "    return sum(ratings) / len(ratings)\n",
    "    if not ratings:\n        return 0\n    return sum(ratings) / len(ratings)\n",
)


def test_exact_match_is_replaced():
    edit = Edit(
        "shop/catalog.py",
        "    return sum(ratings) / len(ratings)\n",
        "    if not ratings:\n        return 0\n    return sum(ratings) / len(ratings)\n",
    )

    assert apply_edits({"shop/catalog.py": CATALOG}, [edit]) == {"shop/catalog.py": GUARDED}


def test_wrongly_indented_search_still_matches_and_the_replacement_is_reindented():
    edit = Edit(
        "shop/catalog.py",
        "return sum(ratings) / len(ratings)",
        "if not ratings:\n    return 0\nreturn sum(ratings) / len(ratings)",
    )

    assert apply_edits({"shop/catalog.py": CATALOG}, [edit])["shop/catalog.py"] == GUARDED


def test_edits_apply_in_order_and_other_files_are_untouched():
    files = {"shop/catalog.py": CATALOG, "shop/app.py": "print('hi')\n"}
    edits = [
        Edit("shop/catalog.py", "def best", "def top"),
        Edit("shop/catalog.py", "def top(products)", "def top(items)"),
    ]

    after = apply_edits(files, edits)

    assert "def top(items):" in after["shop/catalog.py"]
    assert after["shop/app.py"] == files["shop/app.py"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            Edit("shop/catalog.py", "return ratings[0]", "x"),
            "edit 1 (shop/catalog.py): the search block 'return ratings[0]' matches nowhere",
        ),
        (
            Edit("shop/catalog.py", "    return ", "x"),
            "'return' matches 2 places; include more surrounding lines",
        ),
        (Edit("shop/other.py", "a", "b"), "edit 1 (shop/other.py): the file is not among the context files"),
        (Edit("shop/catalog.py", "  \n", "b"), "the search block is empty"),
    ],
    ids=["nowhere", "twice", "not-in-context", "empty"],
)
def test_a_bad_search_block_is_an_error_naming_it(edit, message):
    with pytest.raises(PatchError) as caught:
        apply_edits({"shop/catalog.py": CATALOG}, [edit])

    assert message in str(caught.value)


def test_new_files_are_added_but_never_overwrite():
    files = add_new_files({"a.py": "x = 1\n"}, [NewFile("tests/test_a.py", "def test_a(): pass")])
    assert files["tests/test_a.py"] == "def test_a(): pass\n"

    with pytest.raises(PatchError, match="new file a.py: a file with that path already exists"):
        add_new_files(files, [NewFile("a.py", "")])


def test_unified_diff_of_a_change_and_a_new_file():
    before = {"shop/catalog.py": CATALOG}
    after = {"shop/catalog.py": GUARDED, "tests/test_catalog.py": "def test_x():\n    pass\n"}

    diff = unified_diff(before, after)

    assert diff == (
        "--- a/shop/catalog.py\n"
        "+++ b/shop/catalog.py\n"
        "@@ -1,5 +1,7 @@\n"
        " def average_rating(product):\n"
        "     ratings = [review.stars for review in product.reviews]\n"
        "+    if not ratings:\n"
        "+        return 0\n"
        "     return sum(ratings) / len(ratings)\n"
        " \n"
        " \n"
        "--- /dev/null\n"
        "+++ b/tests/test_catalog.py\n"
        "@@ -0,0 +1,2 @@\n"
        "+def test_x():\n"
        "+    pass\n"
    )
    assert changed_line_count(diff) == 4


def test_changed_lines_counts_content_that_looks_like_a_header():
    diff = unified_diff({"a.sql": "-- old\nselect 1;\n"}, {"a.sql": "-- new\nselect 1;\n"})

    assert changed_line_count(diff) == 2


def test_added_bytes_count_each_added_or_changed_line_whole_with_its_line_break():
    diff = unified_diff({"a.py": "x = 1\ny = 2\n"}, {"a.py": "x = 1\ny = 3\nz = 'é'\n"})

    assert added_bytes(diff) == len("y = 3\n") + len("z = 'é'\n".encode())


def test_paths_are_normalised_where_the_proposal_is_applied():
    edit = Edit(
        "./shop//catalog.py",
        "    return sum(ratings) / len(ratings)\n",
        "    if not ratings:\n        return 0\n    return sum(ratings) / len(ratings)\n",
    )

    edited = apply_edits({"shop/catalog.py": CATALOG}, [edit])
    added = add_new_files(edited, [NewFile("./tests/./test_catalog.py", "def test_x(): pass\n")])

    assert added == {"shop/catalog.py": GUARDED, "tests/test_catalog.py": "def test_x(): pass\n"}
    with pytest.raises(
        PatchError, match="new file tests/test_catalog.py: a file with that path already exists"
    ):
        add_new_files(added, [NewFile("tests//test_catalog.py", "")])


@pytest.mark.parametrize(
    ("apply", "message"),
    [
        (
            lambda: apply_edits({"shop/catalog.py": CATALOG}, [Edit("shop/../../etc/passwd", "a", "b")]),
            "edit 1: the path 'shop/../../etc/passwd' leaves the repository through `..`",
        ),
        (
            lambda: add_new_files({}, [NewFile("/tmp/tests/test_x.py", "")]),
            "new file: the path '/tmp/tests/test_x.py' is absolute, so it leaves the repository",
        ),
    ],
    ids=["edit", "new-file"],
)
def test_a_path_outside_the_repository_is_an_error_naming_it(apply, message):
    with pytest.raises(PatchError) as caught:
        apply()

    assert str(caught.value) == message
