"""The installed packages an event was sent with: kept as their own field, bounded, and checked."""

from __future__ import annotations

import pytest

from ingest.models import Event
from ingest.normalize import MAX_MODULE_TEXT, MAX_MODULES, TRUNCATED
from tests.ingest.conftest import python_event

pytestmark = pytest.mark.django_db


def test_installed_packages_are_stored_as_their_own_field(post_event):
    modules = {"flask": "3.0.3", "django": "5.0.6", "google-auth": "2.29.0"}

    response = post_event(python_event(modules=modules))

    assert response.status_code == 202
    data = Event.objects.get().data
    assert data["modules"] == modules  # a package named like a secret keeps its version
    assert "modules" not in data.get("extra", {})


def test_no_more_packages_are_kept_than_the_bound(post_event):
    modules = {f"package-{n}": "1.0" for n in range(MAX_MODULES + 500)}

    response = post_event(python_event(modules=modules))

    assert response.status_code == 202
    data = Event.objects.get().data
    assert list(data["modules"]) == list(modules)[:MAX_MODULES]
    assert data["_meta"]["modules"] == {"": {"len": MAX_MODULES + 500}}


def test_long_names_and_versions_are_capped(post_event):
    response = post_event(python_event(modules={"n" * 500: "1.0", "flask": "3." * 300}))

    assert response.status_code == 202
    modules = Event.objects.get().data["modules"]
    assert ("n" * (MAX_MODULE_TEXT - len(TRUNCATED)) + TRUNCATED) in modules
    assert modules["flask"].endswith(TRUNCATED)
    assert all(len(text) <= MAX_MODULE_TEXT for pair in modules.items() for text in pair)


@pytest.mark.parametrize(
    ("modules", "field"),
    [({"flask": 3}, "modules.flask"), ({"flask": None}, "modules.flask"), (["flask"], "modules")],
)
def test_packages_of_the_wrong_type_are_refused_with_the_field_named(post_event, modules, field):
    response = post_event(python_event(modules=modules))

    assert response.status_code == 400
    assert response.json()["field"] == field
    assert not Event.objects.exists()
