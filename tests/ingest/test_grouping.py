"""Grouping, data-driven: each file in grouping/ is a pair of events that must share a group or not.

A file holds ``{"reason": why, "expect": "same" | "different", "a": event, "b": event}``; add a file to add
a case. Both events go through the real API, so normalisation and redaction are part of what is tested.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.fingerprint import (
    FINGERPRINT_VERSION,
    fingerprint,
    normalise_function,
    normalise_path,
    parametrise_message,
)
from ingest.models import ErrorGroup

CASES = sorted((Path(__file__).parent / "grouping").glob("*.json"))


@pytest.mark.django_db
@pytest.mark.parametrize("path", CASES, ids=[case.stem for case in CASES])
def test_grouping_pairs(path, post_event):
    case = json.loads(path.read_text())

    assert post_event(case["a"]).status_code == 202
    assert post_event(case["b"]).status_code == 202

    groups = ErrorGroup.objects.count()
    assert groups == (1 if case["expect"] == "same" else 2), case["reason"]
    assert set(ErrorGroup.objects.values_list("fingerprint_version", flat=True)) == {FINGERPRINT_VERSION}


def test_every_platform_has_same_and_different_cases():
    seen = {(path.stem.split("_")[0], json.loads(path.read_text())["expect"]) for path in CASES}

    for platform in ("python", "node", "ruby", "go"):
        assert {(platform, "same"), (platform, "different")} <= seen


def test_custom_fingerprint_default_expands_to_the_computed_hash():
    event = {"exception": {"values": [{"type": "E", "value": "boom"}]}}
    computed = fingerprint(event)

    assert (
        fingerprint({**event, "fingerprint": ["{{ default }}"]}) != computed
    )  # custom hashes are namespaced
    assert fingerprint({**event, "fingerprint": ["{{ default }}", "x"]}) == fingerprint(
        {"exception": {"values": [{"type": "Other"}]}, "fingerprint": [computed, "x"]}
    )


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("/app/shop/cart.py", "shop/cart.py"),
        ("/srv/shop/shop/cart.py", "shop/cart.py"),
        ("webpack:///./src/App.js", "src/App.js"),
        ("file:///home/ci/work/x.js", "x.js"),
        ("/usr/lib/python3.11/site-packages/django/db/utils.py", "django/db/utils.py"),
        ("/srv/app/node_modules/express/lib/router.js", "express/lib/router.js"),
        ("/usr/local/bundle/gems/rack-3.0.8/lib/rack.rb", "rack/lib/rack.rb"),
        ("C:\\inetpub\\app\\x.py", "inetpub/app/x.py"),
        ("shop/cart.pyc", "shop/cart.py"),
    ],
)
def test_paths_lose_deploy_prefixes(raw, normalised):
    assert normalise_path(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Object.<anonymous>", "<anon>"),
        ("<lambda>", "<anon>"),
        ("main.serve.func2.1", "main.serve.func"),
        ("block (4 levels) in call", "block in call"),
        ("_app_views_users_show_html_erb__3207_70312", "_app_views_users_show_html_erb"),
        ("handler at 0x7f3a2b", "handler at <addr>"),
    ],
)
def test_function_names_lose_noise(raw, normalised):
    assert normalise_function(raw) == normalised


@pytest.mark.parametrize(
    ("message", "parametrised"),
    [
        ("timeout after 30.5s", "timeout after <num>"),
        ("timeout after 12s", "timeout after <num>"),
        ("512MB of 1.5GiB in 200ms", "<num> of <num> in <num>"),
        ("10k rows, 3x slower, 1st try", "<num> rows, <num> slower, <num> try"),
        ("API v2 is gone, use v3", "API <num> is gone, use <num>"),
        ("order #42, id=123, offset -5", "order #<num>, id=<num>, offset <num>"),
        ("took 10µs", "took <num>"),
        ("requires node 18.17.0", "requires node <num>.<num>"),
    ],
)
def test_numbers_are_parametrised_with_what_is_glued_to_them(message, parametrised):
    assert parametrise_message(message) == parametrised


@pytest.mark.parametrize(
    "word", ["utf8", "sha256", "base64", "ipv4", "http2", "int64", "S3", "x86_64", "md5"]
)
def test_words_that_merely_end_in_digits_are_kept(word):
    assert parametrise_message(f"{word} failed") == f"{word} failed"


@pytest.mark.parametrize(
    ("message", "parametrised"),
    [
        ("Connection to 10.0.3.7:5432 timed out", "Connection to <ip> timed out"),
        ("fetch https://api.example.com/v1/x?a=1 failed", "fetch <url> failed"),
        ("mail to ada.lovelace+shop@example.co.uk bounced", "mail to <email> bounced"),
        ("order 550e8400-e29b-41d4-a716-446655440000 gone", "order <uuid> gone"),
        ("at 2024-01-05T10:11:12Z", "at <date>"),
        ("object at 0x7f3a2b1c4d50", "object at <addr>"),
        ("key 'sku-1' missing", "key <quoted> missing"),
        ("commit 3f9c2ab failed", "commit <hex> failed"),
    ],
)
def test_the_other_variable_parts_are_parametrised_as_before(message, parametrised):
    assert parametrise_message(message) == parametrised
