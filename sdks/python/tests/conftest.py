from collections.abc import Iterator
from pathlib import Path

import bugstack_sdk
import pytest

from tests.sink import Sink, start_sink

TESTS_DIR = Path(__file__).resolve().parent


@pytest.fixture
def sink() -> Iterator[Sink]:
    sink = start_sink()
    yield sink
    sink.release.set()
    sink.server.shutdown()
    sink.server.server_close()


@pytest.fixture
def sdk(sink: Sink) -> Iterator[bugstack_sdk.Client]:
    """The SDK sending to the sink, with this test folder as the project root (so test code is in-app)."""
    client = bugstack_sdk.init(dsn=sink.dsn, project_root=str(TESTS_DIR), release="abc123")
    yield client
    bugstack_sdk.init(dsn=None, project_root=str(TESTS_DIR)).close(timeout=0)
    client.close(timeout=0)


@pytest.fixture(autouse=True)
def no_sdk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "BUGSTACK_DSN",
        "BUGSTACK_KEY",
        "BUGSTACK_ENDPOINT",
        "BUGSTACK_RELEASE",
        "BUGSTACK_ENVIRONMENT",
    ):
        monkeypatch.delenv(name, raising=False)
