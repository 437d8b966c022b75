"""Redaction, grouping and package paths on hostile text: right at 16 KiB and at 256 KiB alike.

Each input is built to defeat one pattern the way it was once defeated (a run the pattern would scan again
from every place it could start: "a:a:a…", "1.1.1…", "-eyJ-eyJ…", a long scheme before "://"). The
results are exact, and the same shape at both sizes; with a pattern that scans the run again from each
start the larger input alone takes minutes. The CPU these inputs cost is measured by
``bench/hostile_ingest.py``, not here.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ingest.fingerprint import normalise_function, normalise_path, parametrise_message
from ingest.paths import is_library_path, package_of
from ingest.redact import FILTERED, filter_query, filter_url, mask_text

SIZES = (16 * 1024, 256 * 1024)


def repeated(token: str, size: int) -> str:
    return token * (size // len(token))


# (what, token, the text built of it, what masking must leave)
MASKED: list[tuple[str, str, Callable[[str], str], Callable[[str], str]]] = [
    ("colons", "a:", lambda run: run + "@", lambda run: run + "@"),
    ("ats", "x@", lambda run: run, lambda run: run),
    (
        "scheme before credentials",
        "a.",
        lambda run: run + "://u:pw@h",
        lambda run: run + f"://u:{FILTERED}@h",
    ),
    ("long word before ://", "a", lambda run: run + "://u:pw@h", lambda run: run + f"://u:{FILTERED}@h"),
    ("credential look-alikes", "://x:y", lambda run: run + "@", lambda run: run[:-1] + f"{FILTERED}@"),
    ("JWT starts", "-eyJ", lambda run: run, lambda run: run),
    (
        "JWT starts, one real",
        "-eyJ",
        lambda run: run + "-eyJhbGci.eyJzdWIi.sig",
        lambda run: run + "-" + FILTERED,
    ),
    ("bearer", "bearer ", lambda run: run, lambda run: run),
    ("token, tab", "Token\t", lambda run: run + "abcdefghij", lambda run: run[:-6] + f"Token {FILTERED}"),
    ("spaced digits", "1 ", lambda run: run, lambda run: run),
    ("digits", "1", lambda run: run, lambda run: run),
    ("cards", "4111 1111 1111 1111, ", lambda run: run, lambda run: f"{FILTERED}, " * (len(run) // 21)),
    ("GitHub prefixes", "-ghp_", lambda run: run, lambda run: run),
    ("sk- prefixes", "sk-", lambda run: run, lambda run: FILTERED),  # one long key, all of it
    ("Slack prefixes", "-xoxb-", lambda run: run, lambda run: f"-{FILTERED}-"),
    ("AWS prefixes", "AKIA", lambda run: run, lambda run: run),
    ("named AWS secrets", "aws_secret_access_key ", lambda run: run, lambda run: run),
    ("hex", "a1", lambda run: run + "@", lambda run: run + "@"),
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("what", "token", "text", "masked"), MASKED, ids=[case[0] for case in MASKED])
def test_masking_hostile_runs_is_exact_at_any_size(what, token, text, masked, size):
    run = repeated(token, size)

    assert mask_text(text(run)) == masked(run)


@pytest.mark.parametrize("size", SIZES)
def test_query_strings_and_urls_of_hostile_runs_are_filtered_exactly(size):
    pairs = repeated("a=1&", size)

    assert filter_query(pairs + "token=s3cret") == pairs + f"token={FILTERED}"
    assert filter_url("https://shop.example.com/?" + pairs + "token=s3cret") == (
        "https://shop.example.com/?" + pairs + f"token={FILTERED}"
    )


# (what, token, what parametrising leaves of n tokens in a row, n a multiple of 8)
PARAMETRISED: list[tuple[str, str, Callable[[int], str]]] = [
    ("dotted numbers", "1.", lambda n: "<ip>." * (n // 4)),
    ("digits", "1", lambda n: "<num>"),
    ("spaced digits", "1 ", lambda n: " ".join(["<num>"] * n)),
    ("versions", "v1.", lambda n: "<num>." * n),
    ("dashes", "a-", lambda n: "a-" * n),
    ("dotted words before ://", "a.", lambda n: "<url>"),
    ("ats", "x@", lambda n: "x@" * n),
    ("email look-alikes", "a.a@", lambda n: "<email>@" * (n // 2)),
    ("hex", "a1", lambda n: "<hex>"),
    ("hex letters", "a", lambda n: "a" * n),
    ("quotes", "'", lambda n: "<quoted>" * (n // 2)),
    ("colons", "a:", lambda n: "<ip>:" * (n // 8)),
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("what", "token", "expected"), PARAMETRISED, ids=[case[0] for case in PARAMETRISED])
def test_parametrising_hostile_runs_is_exact_at_any_size(what, token, expected, size):
    n = size // 8 // len(token) * 8
    scheme = "://x" if what == "dotted words before ://" else ""

    assert parametrise_message(token * n + scheme) == expected(n)


@pytest.mark.parametrize("size", SIZES)
def test_paths_and_function_names_of_hostile_runs_normalise_exactly(size):
    gems = repeated("/gems/a-1", size)
    names = repeated("__1_1", size)

    assert normalise_path(gems + "/x.rb") == "a/x.rb"
    assert normalise_path("/srv/" + repeated("a/", size) + "x.py") == repeated("a/", size)[2:] + "x.py"
    assert normalise_function(names + "x") == names + "x"
    assert normalise_function(repeated("0x1f ", size)) == "<addr> " * (size // 5 - 1) + "<addr>"


@pytest.mark.parametrize("size", SIZES)
def test_package_layouts_read_hostile_paths_exactly(size):
    slashes = repeated("/", size)
    versions = repeated("a@v1.", size)

    assert package_of(slashes + "x.go") == ""
    assert package_of(slashes + "github.com/org/mod@v1.2.3/x.go") == "github.com/org/mod"
    assert package_of(versions + "x.go") == ""
    assert not is_library_path(slashes + "srv/app/main.go")
