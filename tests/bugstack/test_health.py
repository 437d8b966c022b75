"""``/healthz``: 200 while the database and the task broker answer, 503 otherwise, with the figures that say
which process to add (docs/scaling.md)."""

from __future__ import annotations

import json
import uuid

import pytest
from django_q.tasks import async_task

from ingest import spool
from tests.bugstack.test_settings import run_in_django
from tests.factories import ProjectKeyFactory
from tests.ingest.conftest import EVENTS_URL, python_event

pytestmark = pytest.mark.django_db


def test_health_reports_the_database_the_broker_and_what_waits(client, project, settings):
    settings.BUGSTACK_DIGEST = "loop"  # accepted events wait for a digest worker
    key = ProjectKeyFactory(project=project)
    for _ in range(3):
        body = json.dumps(python_event(event_id=uuid.uuid4().hex))
        sent = client.post(
            EVENTS_URL, body, "application/json", HTTP_AUTHORIZATION=f"Bearer {key.public_key}"
        )
        assert sent.status_code == 202
    async_task("math.floor", 1.5)
    (backlog,) = spool.files().values()  # the three events' lines, none digested

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": {"ok": True},
        "broker": {"kind": "orm", "ok": True, "queued": 1, "in_progress": 0},
        "ingest": {"backlog_bytes": backlog, "backlog_limit_bytes": settings.BUGSTACK_INGEST_BACKLOG_BYTES},
    }


# The health check of a process whose broker is a Redis nobody listens on (port 9, the discard port).
PROBE = """
from django.test import Client
response = Client().get("/healthz")
print(response.status_code, response.content.decode())
"""


def test_health_is_503_naming_the_broker_when_the_broker_cannot_be_reached(tmp_path):
    environment = {"DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}"}
    migrate = "from django.core.management import call_command; call_command('migrate', verbosity=0)"
    assert run_in_django(migrate, **environment).returncode == 0

    result = run_in_django(PROBE, **environment, BUGSTACK_BROKER="redis://127.0.0.1:9/0")

    status, body = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "503", result.stderr
    health = json.loads(body)
    assert health["status"] == "unavailable"
    assert health["database"] == {"ok": True}
    assert health["broker"] == {"kind": "redis", "ok": False, "detail": "the task broker cannot be reached"}
