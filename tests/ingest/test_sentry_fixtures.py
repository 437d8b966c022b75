"""What real Sentry clients sent, replayed: each recorded body must make the group its sidecar names.

``fixtures/sentry/`` holds request bodies exactly as official Sentry clients sent them (``<name>.envelope`` or
``<name>.store``, decompressed), each beside ``<name>.json``: the client and its version, the endpoint, the
query string and headers it sent, the key it was given, and the group it must make (title, culprit, in-app
frame functions newest last), or ``null`` for an envelope that carries no event. A body is replayed as it
was sent, compressed again as its ``Content-Encoding`` says; only the project id in the path and the key (in
the query string and ``X-Sentry-Auth``) are the test's own. A browser's ``Origin`` is replayed too, from a
project that allows it.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import brotli
import pytest
import zstandard

from bugstack.models import Project
from ingest.models import ErrorGroup, Event

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sentry"
BODY_SUFFIXES = (".envelope", ".store")
# What the server reads of the recorded headers besides Content-Type; Transfer-Encoding and the browser's
# Sec-Fetch-* headers are kept in the sidecars as a record only.
REPLAYED_HEADERS = ("Content-Encoding", "X-Sentry-Auth", "Origin", "User-Agent")

# Recordings bugstack does not yet read as Sentry does: each is expected to fail until the bug is fixed.
KNOWN_BUGS: dict[str, str] = {}


@dataclass(frozen=True)
class Recording:
    """One recorded request and the group it must make."""

    name: str
    body: bytes
    endpoint: str
    query: str
    headers: dict[str, str]
    key: str
    expected: dict[str, Any] | None


def load(body_path: Path) -> Recording:
    sidecar = json.loads(body_path.with_suffix(".json").read_text())
    return Recording(
        name=body_path.stem,
        body=body_path.read_bytes(),
        endpoint=sidecar["endpoint"],
        query=sidecar["query"],
        headers=sidecar["headers"],
        key=sidecar["key"],
        expected=sidecar["expected"],
    )


def body_paths() -> list[Path]:
    return sorted(path for path in FIXTURES.iterdir() if path.suffix in BODY_SUFFIXES)


def recordings() -> list[Any]:
    """Every recording as a test parameter named after it; a known bug's is marked to fail."""
    params = []
    for path in body_paths():
        bug = KNOWN_BUGS.get(path.stem)
        marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
        params.append(pytest.param(load(path), id=path.stem, marks=marks))
    return params


def unchanged(body: bytes) -> bytes:
    return body


# Each Content-Encoding a recording may name, and how to compress its body again for the replay.
ENCODERS = {
    "": unchanged,
    "identity": unchanged,
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": zstandard.ZstdCompressor().compress,
}


def replay(client, recording: Recording, project_id: int, public_key: str):
    """POST the recorded body to the project's endpoint, with the recorded query and headers under our key."""
    query = recording.query.replace(recording.key, public_key)
    path = f"/api/{project_id}/{recording.endpoint}/" + (f"?{query}" if query else "")
    headers = {
        name: value.replace(recording.key, public_key)
        for name, value in recording.headers.items()
        if name in REPLAYED_HEADERS
    }
    body = ENCODERS[headers.get("Content-Encoding", "").strip().lower()](recording.body)
    meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    # A client that sends no Content-Type (@sentry/node) is replayed without one.
    content_type = recording.headers.get("Content-Type", "")
    return client.generic("POST", path, body, content_type=content_type, **meta)


def in_app_functions(event: Event) -> list[str]:
    """The functions of the frames the client marked in-app, in the newest exception, newest last."""
    stacktrace = event.data["exception"]["values"][-1].get("stacktrace") or {}
    return [frame.get("function") for frame in stacktrace.get("frames", []) if frame.get("in_app") is True]


def test_every_recorded_body_has_its_sidecar_and_every_sidecar_its_body():
    bodies = {path.stem for path in body_paths()}
    sidecars = {path.stem for path in FIXTURES.glob("*.json")}
    assert bodies and bodies == sidecars
    assert set(KNOWN_BUGS) <= bodies


@pytest.mark.parametrize("recording", recordings())
def test_a_recorded_client_payload_makes_the_group_sentry_would_show(client, key, recording: Recording):
    origin = recording.headers.get("Origin")
    if origin:
        Project.objects.filter(pk=key.project_id).update(allowed_origins=origin)

    response = replay(client, recording, key.project_id, key.public_key)

    assert response.status_code == 200, response.content
    if origin:
        assert response["Access-Control-Allow-Origin"] == origin  # the page's SDK may read the answer
    if recording.expected is None:
        assert response.json() == {}
        assert not ErrorGroup.objects.exists()
        return
    group = ErrorGroup.objects.get(project_id=key.project_id)
    event = Event.objects.get(group=group)
    assert response.json() == {"id": event.event_id.hex}
    assert group.title == recording.expected["title"]
    assert group.culprit == recording.expected["culprit"]
    assert in_app_functions(event) == recording.expected["in_app_functions"]
