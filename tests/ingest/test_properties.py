"""Properties of grouping (``ingest.fingerprint``) and of normalising (``ingest.normalize``), for any input.

Grouping promises (DESIGN.md, "Grouping and dedup"): a fixed-length hash; line and column numbers never
count, nor frames outside the app when some are in it, nor the variable parts of a message; the exception's
type and the app's frames always do. Normalising promises: any payload that passes validation is prepared
(or refused with a ``SchemaError`` naming the field), within the caps of each field and of the event, and
without a sensitive key's value or a credential-looking string.
"""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ingest.fingerprint import collapse_whitespace, fingerprint, normalise_path, parametrise_message
from ingest.normalize import (
    COLUMN_LIMITS,
    MAX_EVENT_TEXT,
    MAX_ITEMS,
    MAX_KEY,
    MAX_MESSAGE,
    MAX_META,
    MAX_MODULES,
    MAX_STRING,
    TRUNCATED,
    prepare_event,
)
from ingest.redact import DENYLIST, FILTERED, mask_text
from ingest.schema import MAX_EXCEPTIONS, MAX_FRAMES, SchemaError, validate_payload

RECEIVED_AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PROPERTIES = settings(max_examples=150, deadline=None, derandomize=True, database=None)
# --- Strategies -----------------------------------------------------------------------------------------

words = st.text(string.ascii_lowercase, min_size=1, max_size=10)
identifiers = st.from_regex(r"[a-z_][a-z0-9_]{0,15}", fullmatch=True)
# Paths inside a repository: lower-case segments, none a directory grouping strips ("pkg/mod", "releases").
repository_paths = st.lists(
    words.filter(lambda word: word not in ("pkg", "mod")), min_size=1, max_size=4
).map(lambda segments: "/".join(segments) + ".py")
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    json_scalars | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)
line_numbers = st.none() | st.integers(min_value=0, max_value=2**31)
ANY_IN_APP = st.none() | st.booleans()


@st.composite
def frames(draw: st.DrawFn, in_app: st.SearchStrategy[bool | None] = ANY_IN_APP) -> dict:
    frame = {
        "filename": draw(repository_paths),
        "function": draw(identifiers),
        "in_app": draw(in_app),
        "context_line": draw(st.text(max_size=60)),
        "lineno": draw(line_numbers),
        "colno": draw(line_numbers),
    }
    return {name: value for name, value in frame.items() if value is not None}


def event(*values: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A normalised event (what ``fingerprint`` reads) with these exceptions, causes first."""
    return {"exception": {"values": list(values)}, **fields}


def exception(type_: str, frames: list[dict] | None = None, value: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"type": type_}
    if value is not None:
        result["value"] = value
    if frames is not None:
        result["stacktrace"] = {"frames": frames}
    return result


# --- Grouping -------------------------------------------------------------------------------------------


@PROPERTIES
@given(
    st.lists(
        st.builds(exception, st.text(max_size=30), st.none() | st.lists(frames(), max_size=5), st.text()),
        min_size=1,
        max_size=3,
    ),
    st.none() | st.lists(st.text(max_size=20) | st.integers(), max_size=3),
)
def test_the_fingerprint_is_always_64_hex_characters(values, custom):
    found = fingerprint(event(*values, fingerprint=custom))
    assert len(found) == 64
    assert set(found) <= set(string.hexdigits.lower())


@PROPERTIES
@given(st.text(max_size=30), st.lists(frames(), min_size=1, max_size=6), st.data())
def test_line_and_column_numbers_never_count(type_, stack, data):
    moved = [
        {**frame, "lineno": data.draw(line_numbers), "colno": data.draw(line_numbers)} for frame in stack
    ]
    assert fingerprint(event(exception(type_, moved))) == fingerprint(event(exception(type_, stack)))


@PROPERTIES
@given(
    st.text(max_size=30),
    st.lists(frames(in_app=st.just(True)), min_size=1, max_size=4),
    st.lists(frames(in_app=st.sampled_from([False, None])), max_size=4),
    st.lists(frames(in_app=st.sampled_from([False, None])), max_size=4),
    st.randoms(use_true_random=False),
)
def test_frames_outside_the_app_never_count_once_one_is_in_it(type_, app, library, other_library, random):
    one, another = app + library, app + other_library
    random.shuffle(one)
    random.shuffle(another)
    # Shuffled as a whole, then the app's frames put back in their order: only the library frames moved.
    order = iter(app)
    one = [next(order) if frame.get("in_app") is True else frame for frame in one]
    order = iter(app)
    another = [next(order) if frame.get("in_app") is True else frame for frame in another]
    assert fingerprint(event(exception(type_, one))) == fingerprint(event(exception(type_, another)))


@PROPERTIES
@given(st.text(max_size=30), st.text(max_size=30), st.lists(frames(), max_size=4), st.text(max_size=40))
def test_the_exception_type_always_counts(type_, other_type, stack, message):
    assume(type_ != other_type and (type_ or "Error") != (other_type or "Error"))
    assert fingerprint(event(exception(type_, stack, message))) != fingerprint(
        event(exception(other_type, stack, message))
    )


@PROPERTIES
@given(st.text(max_size=30), st.lists(frames(in_app=st.just(True)), min_size=1, max_size=4), st.data())
def test_the_function_and_source_line_of_an_app_frame_always_count(type_, stack, data):
    index = data.draw(st.integers(0, len(stack) - 1))
    renamed = [*stack]
    renamed[index] = {**stack[index], "function": stack[index]["function"] + "_other"}
    assert fingerprint(event(exception(type_, renamed))) != fingerprint(event(exception(type_, stack)))
    line = data.draw(st.text(min_size=1, max_size=60))
    assume(collapse_whitespace(line) != collapse_whitespace(stack[index]["context_line"]))
    edited = [*stack]
    edited[index] = {**stack[index], "context_line": line}
    assert fingerprint(event(exception(type_, edited))) != fingerprint(event(exception(type_, stack)))


DEPLOY_PREFIXES = st.sampled_from(
    [
        "/app/",
        "/code/",
        "/usr/src/app/",
        "/srv/shop/",
        "/opt/service/",
        "/var/www/shop/",
        "/home/deploy/shop/",
        "webpack:///./",
        "app:///",
        "file:///app/",
        "C:\\",
        "/var/www/releases/20240101/",
        "/venv/lib/python3.11/site-packages/",
        "./",
    ]
)


@PROPERTIES
@given(DEPLOY_PREFIXES, repository_paths, st.booleans())
def test_where_the_code_is_deployed_never_counts(prefix, path, compiled):
    deployed = prefix + (path.replace("/", "\\") if prefix.startswith("C:") else path)
    assert normalise_path(deployed + ("c" if compiled else "")) == path


# The variable parts of a message (DESIGN.md), each kind with what it is replaced by.
VARIABLE_PARTS = {
    "number": st.integers().map(str) | st.floats(0, 1e6).map(lambda number: f"{number:.2f}"),
    "duration": st.integers(0, 10**6)
    .map(str)
    .flatmap(lambda n: st.sampled_from([n + "ms", n + "s", n + "MB"])),
    "hex id": st.from_regex(r"[0-9a-f]{6,40}", fullmatch=True).filter(
        lambda text: any(c.isdigit() for c in text) and any(c.isalpha() for c in text)
    ),
    "uuid": st.uuids().map(str),
    "ip": st.ip_addresses(v=4).map(str),
    "email": st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,8})?@[a-z]{1,8}\.(com|org|io)", fullmatch=True),
    "url": st.from_regex(r"https?://[a-z]{1,10}\.(com|io)(/[a-z0-9]{1,8}){0,3}", fullmatch=True),
    "quoted": st.text(string.ascii_letters + string.digits + " ", max_size=20).map(lambda text: f"'{text}'"),
    "timestamp": st.datetimes().map(lambda moment: moment.isoformat(timespec="seconds")),
    "address": st.integers(0, 2**48).map(hex),
}


@st.composite
def message_templates(draw: st.DrawFn) -> list[str]:
    """Words and kinds of variable part, in order: ``["timeout", "after", "{duration}", …]``."""
    parts = st.one_of(words, st.sampled_from([f"{{{kind}}}" for kind in VARIABLE_PARTS]))
    return draw(st.lists(parts, min_size=1, max_size=8))


@PROPERTIES
@given(message_templates(), st.data())
def test_the_variable_parts_of_a_message_never_count(template, data):
    def message() -> str:
        return " ".join(
            data.draw(VARIABLE_PARTS[part[1:-1]]) if part.startswith("{") else part for part in template
        )

    one, another = message(), message()
    assert parametrise_message(one) == parametrise_message(another)
    assert fingerprint(event(exception("Error", value=one))) == fingerprint(
        event(exception("Error", value=another))
    )


@PROPERTIES
@given(st.text(max_size=200))
def test_a_parametrised_message_has_nothing_left_to_replace(message):
    once = parametrise_message(message)
    assert parametrise_message(once) == once


@PROPERTIES
@given(
    st.lists(st.text(max_size=20), min_size=1, max_size=3),
    st.builds(exception, st.text(max_size=20), st.none(), st.text(max_size=20)),
    st.builds(exception, st.text(max_size=20), st.none(), st.text(max_size=20)),
)
def test_a_custom_fingerprint_replaces_the_computed_one(parts, one, another):
    assume("{{" not in "".join(parts))
    assert fingerprint(event(one, fingerprint=parts)) == fingerprint(event(another, fingerprint=parts))
    with_default = [*parts, "{{ default }}"]
    assert (
        fingerprint(event(one, fingerprint=with_default))
        == fingerprint(event(another, fingerprint=with_default))
    ) == (fingerprint(event(one)) == fingerprint(event(another)))


# --- Normalising ----------------------------------------------------------------------------------------


def wire_frames() -> st.SearchStrategy[dict]:
    """Frames as SDKs send them: the protocol's fields, each sometimes another JSON value."""
    text_or_junk = st.text(max_size=80) | json_values
    return st.fixed_dictionaries(
        {},
        optional={
            "filename": text_or_junk,
            "abs_path": st.text(max_size=80),
            "function": text_or_junk,
            "module": st.text(max_size=40),
            "lineno": line_numbers | json_values,
            "colno": line_numbers,
            "in_app": ANY_IN_APP,
            "context_line": st.text(max_size=120),
            "pre_context": st.lists(st.none() | st.text(max_size=60), max_size=8),
            "post_context": st.lists(st.none() | st.text(max_size=60), max_size=8),
            "vars": st.dictionaries(st.text(max_size=20), json_values, max_size=6),
        },
    )


wire_exceptions = st.fixed_dictionaries(
    {},
    optional={
        "type": st.text(max_size=60),
        "value": st.text(max_size=300) | json_values,
        "module": st.text(max_size=40),
        "mechanism": st.dictionaries(st.text(max_size=12), json_values, max_size=4),
        "stacktrace": st.fixed_dictionaries({"frames": st.lists(wire_frames(), max_size=8)}),
    },
)
payloads = st.fixed_dictionaries(
    {"exception": st.fixed_dictionaries({"values": st.lists(wire_exceptions, min_size=1, max_size=3)})},
    optional={
        "event_id": st.uuids().map(lambda u: u.hex) | st.text(max_size=40),
        "timestamp": st.text(max_size=30) | st.integers() | st.floats(allow_nan=False, allow_infinity=False),
        "platform": st.text(max_size=12) | st.sampled_from(["python", "node", "Go", "rb"]),
        "level": st.text(max_size=12),
        "environment": st.text(max_size=150),
        "release": st.text(max_size=250),
        "server_name": st.text(max_size=250),
        "message": st.text(max_size=300) | st.dictionaries(st.text(max_size=10), json_values, max_size=4),
        "request": st.dictionaries(
            st.sampled_from(["method", "url", "query_string", "headers", "cookies", "data", "env", "route"]),
            json_values,
        ),
        "contexts": st.dictionaries(st.text(max_size=12), json_values, max_size=4),
        "user": st.dictionaries(st.text(max_size=12), json_values, max_size=4),
        "tags": st.dictionaries(st.text(max_size=12), json_values, max_size=4)
        | st.lists(json_values, max_size=4),
        "extra": st.dictionaries(st.text(max_size=12), json_values, max_size=6),
        "fingerprint": st.lists(st.text(max_size=20) | st.integers(), max_size=4),
        "modules": st.dictionaries(st.text(max_size=20), st.text(max_size=20), max_size=5),
        "breadcrumbs": json_values,
    },
)


def prepared(payload: Any):
    """The payload prepared, or None when it is refused as not the protocol (which must say where)."""
    try:
        return prepare_event(validate_payload(payload), RECEIVED_AT)
    except SchemaError as error:
        assert str(error)
        return None


@PROPERTIES
@given(payloads)
def test_any_payload_that_passes_validation_is_prepared(payload):
    event = prepared(payload)
    if event is not None:
        assert_within_caps(event)
        json.dumps(event.data)  # storable as it is


@PROPERTIES
@given(json_values)
def test_any_json_value_is_prepared_or_refused_by_name(payload):
    event = prepared(payload)
    if event is not None:
        assert_within_caps(event)


def assert_within_caps(event) -> None:
    data = event.data
    values = data["exception"]["values"]
    assert 1 <= len(values) <= MAX_EXCEPTIONS
    for value in values:
        assert len((value.get("stacktrace") or {}).get("frames") or []) <= MAX_FRAMES
    for column, limit in COLUMN_LIMITS.items():
        assert len(getattr(event, column)) <= limit
    assert len(event.title) <= 500 and len(event.culprit) <= 500
    assert len(data.get("modules") or {}) <= MAX_MODULES
    assert len(data.get("_meta", {})) <= MAX_META + 1  # and how many more were cut
    text = 0
    for path, key, value in walk({name: value for name, value in data.items() if name != "_meta"}):
        assert len(key) <= MAX_KEY, path
        if isinstance(value, str):
            limit = MAX_MESSAGE if key in ("value", "message") else MAX_STRING
            assert len(value) <= limit, path
            text += len(value) + len(key)
        elif isinstance(value, list | dict) and path[:1] != ("modules",) and "frames" not in path:
            assert len(value) <= MAX_ITEMS + 1, path  # and the marker of what was cut
    # The event's text past its cap by at most the last field read and the markers of what was cut.
    assert text <= MAX_EVENT_TEXT + MAX_MESSAGE + MAX_META * (MAX_KEY + len(TRUNCATED))


def walk(value: Any, path: tuple = (), key: str = ""):
    """Every value in ``value`` with its path and the key it is under."""
    yield path, key, value
    if isinstance(value, dict):
        for name, item in value.items():
            yield from walk(item, (*path, name), str(name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, (*path, index), key)


# --- Redaction while normalising ------------------------------------------------------------------------


def luhn_completed(digits: str) -> str:
    """``digits`` followed by the check digit that makes the number Luhn-valid."""
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return digits + str(-total % 10)


alphanumeric = string.ascii_letters + string.digits
SECRETS = st.one_of(
    st.text(alphanumeric, min_size=36, max_size=40).map(lambda tail: "ghp_" + tail),
    st.text(alphanumeric, min_size=30, max_size=40).map(lambda tail: "github_pat_" + tail),
    st.text(alphanumeric + "_-", min_size=24, max_size=40).map(lambda tail: "sk-ant-" + tail),
    st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=16).map(lambda tail: "AKIA" + tail),
    st.text(alphanumeric, min_size=16, max_size=30).map(lambda tail: "sk_live_" + tail),
    st.text(alphanumeric, min_size=24, max_size=30).map(lambda tail: "whsec_" + tail),
    st.text(alphanumeric, min_size=12, max_size=30).map(lambda tail: "xoxb-" + tail),
    st.tuples(*[st.text(alphanumeric + "_-", min_size=8, max_size=30)] * 2).map(
        lambda parts: f"eyJhbGciOiJIUzI1NiJ9.{parts[0]}.{parts[1]}"
    ),
    st.text(string.digits, min_size=15, max_size=15).map(luhn_completed),
)
# Text around a secret, set apart from it as text sets words apart.
SURROUNDINGS = st.text(string.ascii_letters + " .,:;()", max_size=30)
sensitive_keys = st.tuples(
    st.sampled_from(DENYLIST), st.text(string.ascii_letters, max_size=6), st.sampled_from(["", "-", "_"])
).map(
    lambda parts: (
        (parts[1] + parts[2] + parts[0]).title() if parts[2] == "-" else parts[1] + parts[2] + parts[0]
    )
)


@st.composite
def sentences(draw: st.DrawFn, secret: str) -> str:
    before, after = draw(SURROUNDINGS), draw(SURROUNDINGS)
    return f"{before} {secret} {after}".strip()


@PROPERTIES
@given(SECRETS, st.data())
def test_secret_looking_strings_never_reach_the_event(secret, data):
    said = data.draw(sentences(secret))
    credentials = f"https://deploy:{secret}@git.example.com/shop.git"
    payload = {
        "message": said,
        "exception": {
            "values": [
                {
                    "type": "Error",
                    "value": said,
                    "stacktrace": {
                        "frames": [{"filename": "app.py", "context_line": said, "vars": {"line": said}}]
                    },
                }
            ]
        },
        "request": {"url": credentials, "headers": {"Referer": said}, "data": {"comment": said}},
        "tags": {"note": said},
        "extra": {"log": [said], "remote": credentials},
        "contexts": {"app": {"said": said}},
    }
    stored = json.dumps(prepared(payload).data, ensure_ascii=False)
    assert secret not in stored


@PROPERTIES
@given(
    sensitive_keys, st.text(min_size=1, max_size=40), st.sampled_from(["headers", "data", "env", "cookies"])
)
def test_the_value_of_a_sensitive_key_never_reaches_the_event(key, value, where):
    assume(value.strip() and value not in FILTERED)
    payload = {
        "exception": {
            "values": [
                {"type": "Error", "stacktrace": {"frames": [{"filename": "app.py", "vars": {key: value}}]}}
            ]
        },
        "request": {where: {key: value}},
        "tags": {key: value},
        "user": {key: value},
        "extra": {key: value, "nested": {"deeper": {key: value}}},
        "contexts": {"runtime": {key: value}},
        key: value,
    }
    data = prepared(payload).data
    for path, name, found in walk(data):
        if name == key and isinstance(found, str):
            assert found == FILTERED, path


@PROPERTIES
@given(st.text(max_size=200), SECRETS)
def test_masking_a_masked_text_changes_nothing(text, secret):
    masked = mask_text(f"{text} {secret} {text}")
    assert mask_text(masked) == masked


@PROPERTIES
@given(
    st.text(string.digits, min_size=15, max_size=15).map(luhn_completed),
    st.sampled_from(["", " ", "-"]),
    st.integers(0, 99),
    st.integers(0, 99),
)
def test_a_card_number_beside_other_numbers_never_reaches_the_event(digits, separator, before, after):
    card = separator.join(digits[i : i + 4] for i in range(0, 16, 4))
    said = f"order {before} paid with {card} {after} items"
    error = {"values": [{"type": "PaymentError", "value": said}]}
    stored = json.dumps(prepared({"exception": error, "message": said, "extra": {"log": said}}).data)
    assert digits not in stored.replace(" ", "").replace("-", "")


@PROPERTIES
@given(sensitive_keys, st.text(min_size=1, max_size=40))
def test_the_value_of_a_sensitive_name_in_name_value_pairs_never_reaches_the_event(name, value):
    # Sentry's protocol sends headers, query strings and tags as lists of [name, value] pairs too.
    assume(value.strip() and value not in FILTERED)
    pairs = [[name, value], ["Accept", "text/html"]]
    payload = {
        "exception": {"values": [{"type": "Error", "value": "refused"}]},
        "request": {"headers": pairs, "query_string": pairs},
        "tags": pairs,
    }
    data = prepared(payload).data
    for found in (data["request"]["headers"], data["request"]["query_string"], data["tags"]):
        assert found[0][1] == FILTERED
        assert found[1] == ["Accept", "text/html"]
