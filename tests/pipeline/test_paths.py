"""A proposal's paths are brought to one spelling inside the repository, or refused with the reason."""

import pytest

from pipeline.paths import MAX_PATH_CHARACTERS, UnsafePath, folded, normalise_path


@pytest.mark.parametrize(
    ("path", "normalised"),
    [
        ("tests/test_cart.py", "tests/test_cart.py"),
        ("./tests/test_cart.py", "tests/test_cart.py"),
        ("tests//test_cart.py", "tests/test_cart.py"),
        ("tests/./unit/./test_cart.py", "tests/unit/test_cart.py"),
        ("tests/unit/../test_cart.py", "tests/test_cart.py"),
        ("tests/test_cart.py/", "tests/test_cart.py"),
        ("tests/test_cafe\u0301.py", "tests/test_caf\u00e9.py"),  # decomposed é → composed (NFC)
        ("docs/notes~/draft.md", "docs/notes~/draft.md"),  # a ~ inside a name is just a character
    ],
)
def test_spellings_of_a_path_inside_the_repository_become_one(path, normalised):
    assert normalise_path(path) == normalised


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("", "is empty"),
        ("x" * (MAX_PATH_CHARACTERS + 1), f"is longer than {MAX_PATH_CHARACTERS} characters"),
        ("tests/test_x.py\0.yml", "contains a NUL byte"),
        ("tests/test_x.py\n", "contains the invisible or control character U+000A"),
        ("tests/\u200btest_x.py", "contains the invisible or control character U+200B"),
        ("tests/test_\u202eyp.x", "contains the invisible or control character U+202E"),
        ("tests\\test_x.py", "contains a backslash"),
        ("C:/repo/tests/test_x.py", "starts with a Windows drive"),
        ("c:tests/test_x.py", "starts with a Windows drive"),
        ("~/tests/test_x.py", "starts with `~`"),
        ("~root/tests/test_x.py", "starts with `~`"),
        ("/etc/passwd", "is absolute"),
        ("//server/share/test_x.py", "is absolute"),
        ("../test_x.py", "leaves the repository through `..`"),
        ("tests/../../test_x.py", "leaves the repository through `..`"),
        (".", "names the repository itself"),
        ("tests/..", "names the repository itself"),
        (".git/hooks/pre-commit", "is inside git's own .git directory"),
        ("vendor/.GIT/config", "is inside git's own .git directory"),
    ],
)
def test_a_path_that_cannot_name_a_file_in_the_repository_is_refused_with_the_reason(path, problem):
    with pytest.raises(UnsafePath) as refused:
        normalise_path(path)

    assert problem in str(refused.value)
    assert str(refused.value).startswith("the path '")


def test_the_refusal_shows_hidden_characters_and_never_a_whole_huge_path():
    with pytest.raises(UnsafePath) as nul:
        normalise_path("tests/a\0b")
    with pytest.raises(UnsafePath) as huge:
        normalise_path("a/" * 100_000)

    assert "'tests/a\\x00b'" in str(nul.value)
    assert len(str(huge.value)) < 300


def test_case_and_unicode_spellings_fold_to_one_key():
    assert folded(".GitHub/Workflows/CI.yml") == folded(".github/workflows/ci.yml")
    assert folded(normalise_path("Tests/Test_Caf\u0065\u0301.py")) == folded("tests/test_caf\u00e9.py")
