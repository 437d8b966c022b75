import importlib.metadata
from pathlib import Path
from typing import Any

import bugstack_sdk
import pytest
from bugstack_sdk.event import build_event, installed_modules
from bugstack_sdk.options import build_options

from tests.sink import Sink


def raised() -> ZeroDivisionError:
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError as exc:
        return exc
    raise AssertionError("unreachable")


def test_events_carry_installed_packages_and_their_versions(sdk: bugstack_sdk.Client, sink: Sink) -> None:
    bugstack_sdk.capture_exception(raised())
    sdk.flush(5)
    modules = sink.wait_for(1)[0].body["modules"]
    assert modules["flask"] == importlib.metadata.version("flask")
    assert modules["bugstack-sdk"] == bugstack_sdk.__version__


def test_installed_packages_are_read_once_per_process() -> None:
    options = build_options(dsn=None)
    first = build_event(raised(), options)
    second = build_event(raised(), options)
    assert first["modules"] is second["modules"]


def test_send_modules_off_leaves_them_out() -> None:
    event = build_event(raised(), build_options(dsn=None, send_modules=False))
    assert "modules" not in event


def test_a_package_named_like_a_secret_keeps_its_version(sink: Sink) -> None:
    def add_package(event: dict[str, Any]) -> dict[str, Any]:
        return {**event, "modules": {**event["modules"], "google-auth": "2.29.0"}}

    client = bugstack_sdk.init(dsn=sink.dsn, before_send=add_package)
    try:
        bugstack_sdk.capture_exception(raised())
        client.flush(5)
        modules = sink.wait_for(1)[0].body["modules"]
    finally:
        client.close(0)
    assert modules["google-auth"] == "2.29.0"


def write_distribution(site: Path, folder: str, metadata: str) -> None:
    (site / folder).mkdir()
    (site / folder / "METADATA").write_text(metadata)


def test_names_are_spelled_as_pip_does_and_broken_metadata_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_distribution(
        tmp_path, "My_Pkg.Name-1.2.dist-info", "Metadata-Version: 2.1\nName: My_Pkg.Name\nVersion: 1.2\n"
    )
    write_distribution(tmp_path, "broken-0.1.dist-info", "Metadata-Version: 2.1\nVersion: 0.1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = installed_modules.__wrapped__()  # a fresh read: the cached one predates this site
    assert modules["my-pkg-name"] == "1.2"
    assert "broken" not in modules
    assert all(isinstance(name, str) and name for name in modules)
    assert modules["flask"] == importlib.metadata.version("flask")
