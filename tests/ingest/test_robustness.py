"""No input ever produces a 500: every field of a real event replaced by every other JSON type."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.ingest.conftest import python_event

ODD_VALUES: list[Any] = [
    None,
    True,
    -1,
    2**70,
    1.5e300,
    "",
    "x" * 3000,
    "\u0000\ud83d",
    [],
    [None],
    {},
    {"": {}},
]


def paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every path to a node of a JSON document."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


def replaced(document: Any, path: tuple, value: Any) -> Any:
    document = copy.deepcopy(document)
    node = document
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return document


SAMPLE = python_event(
    event_id="0" * 32, fingerprint=["{{ default }}", "checkout"], user={"id": 7}, extra={"a": 1}
)
MUTATIONS = [(path, value) for path in list(paths(SAMPLE))[1:] for value in ODD_VALUES]


@pytest.mark.django_db
def test_every_field_of_any_type_is_answered_with_202_or_a_400_naming_it(post_event):
    answers: dict[int, int] = {}
    for number, (path, value) in enumerate(MUTATIONS):
        event = replaced(SAMPLE, path, value)
        event["event_id"] = f"{number:032x}" if path != ("event_id",) else event["event_id"]
        response = post_event(body=json.dumps(event).encode())

        assert response.status_code in (202, 400), (path, value, response.content[:300])
        if response.status_code == 400:
            assert response.json()["detail"]
        answers[response.status_code] = answers.get(response.status_code, 0) + 1
    assert answers[202] and answers[400]
