import logging
import subprocess
from pathlib import Path

import bugstack_sdk
import pytest
from bugstack_sdk.dsn import DsnError, from_endpoint, parse_dsn
from bugstack_sdk.options import build_options


def test_dsn_names_the_events_url_key_and_project() -> None:
    dsn = parse_dsn("https://0123abcd@bugs.example.com:8443/1")
    assert dsn.events_url == "https://bugs.example.com:8443/api/v1/events/"
    assert dsn.key == "0123abcd"
    assert dsn.project_id == "1"


def test_dsn_keeps_a_path_prefix_for_servers_behind_a_proxy() -> None:
    assert (
        parse_dsn("http://k@example.com/bugstack/12").events_url
        == "http://example.com/bugstack/api/v1/events/"
    )


def test_endpoint_and_key_work_without_a_dsn() -> None:
    dsn = from_endpoint("http://[::1]:8000/", "k1")
    assert (dsn.events_url, dsn.key) == ("http://[::1]:8000/api/v1/events/", "k1")


@pytest.mark.parametrize(
    ("dsn", "problem"),
    [
        ("http://example.com/1", "has no key"),
        ("http://k@example.com/", "has no project id"),
        ("ftp://k@example.com/1", "must start with http:// or https://"),
        ("http://k@example.com:99999/1", "invalid port"),
    ],
)
def test_a_malformed_dsn_says_what_is_wrong(dsn: str, problem: str) -> None:
    with pytest.raises(DsnError, match=problem):
        parse_dsn(dsn)


def test_init_with_a_malformed_dsn_logs_the_problem_and_leaves_the_app_running(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="bugstack_sdk"):
        client = bugstack_sdk.init(dsn="http://example.com/1")
    assert not client.enabled
    assert "bugstack is disabled: the DSN has no key" in caplog.text
    assert bugstack_sdk.capture_exception(ValueError("ignored")) is None


def test_a_key_without_an_endpoint_is_named(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="bugstack_sdk"):
        assert not bugstack_sdk.init(key="k1").enabled
    assert "the endpoint (BUGSTACK_ENDPOINT) is missing" in caplog.text


def test_configuration_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUGSTACK_DSN", "http://envkey@127.0.0.1:9/3")
    monkeypatch.setenv("BUGSTACK_ENVIRONMENT", "staging")
    monkeypatch.setenv("BUGSTACK_RELEASE", "v1.2.3")
    client = bugstack_sdk.init()
    try:
        assert client.options.dsn is not None and client.options.dsn.key == "envkey"
        assert (client.options.environment, client.options.release) == ("staging", "v1.2.3")
    finally:
        client.close(timeout=0)
        bugstack_sdk.init(dsn=None)


def test_without_any_dsn_the_sdk_is_off_and_capturing_is_a_no_op() -> None:
    client = bugstack_sdk.init()
    assert not client.enabled
    assert bugstack_sdk.capture_exception(RuntimeError("nowhere to send")) is None
    assert bugstack_sdk.flush(0.1) is True


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_the_release_is_the_commit_the_app_runs_from(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "app.py").write_text("print('shop')\n")
    git(tmp_path, "add", "app.py")
    git(tmp_path, "-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "-qm", "first")
    (tmp_path / "lib").mkdir()

    at_top = build_options("http://k@127.0.0.1:9/1", project_root=str(tmp_path))
    inside = build_options("http://k@127.0.0.1:9/1", project_root=str(tmp_path / "lib"))

    assert at_top.release == git(tmp_path, "rev-parse", "HEAD")
    assert inside.release is None, "a folder inside another project's repository has no release of its own"
