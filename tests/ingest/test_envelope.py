"""Sentry envelopes as SDKs send them, each way one can be malformed, the limits; DSNs and X-Sentry-Auth."""

from __future__ import annotations

import contextlib
import sys
from datetime import UTC, datetime

import orjson
import pytest
import sentry_sdk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sentry_sdk.scope import Scope
from sentry_sdk.session import Session
from sentry_sdk.transport import Transport
from sentry_sdk.utils import event_from_exception

from ingest.envelope import (
    MAX_AUTH_HEADER_CHARS,
    Envelope,
    EnvelopeError,
    EnvelopeTooLarge,
    Item,
    dsn_project_id,
    dsn_public_key,
    parse_envelope,
    parse_sentry_auth,
)

LIMITS = {"max_items": 100, "max_item_bytes": 1024 * 1024}


def parse(body: bytes, **limits: int) -> Envelope:
    return parse_envelope(body, **{**LIMITS, **limits})


# --- The examples of the format's documentation (develop.sentry.dev/sdk/data-model/envelopes/) -------------

SPEC_HEADER = (
    b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc",'
    b'"dsn":"https://e12d836b15bb49d7bbf99e64295d995b:@sentry.io/42"}\n'
)
SPEC_TWO_ITEMS = (
    SPEC_HEADER
    + b'{"type":"attachment","length":10,"content_type":"text/plain","filename":"hello.txt"}\n'
    + b"\xef\xbb\xbfHello\r\n\n"
    + b'{"type":"event","length":41,"content_type":"application/json","filename":"application.log"}\n'
    + b'{"message":"hello world","level":"error"}\n'
)


@pytest.mark.parametrize("body", [SPEC_TWO_ITEMS, SPEC_TWO_ITEMS[:-1]], ids=["newline at end", "none"])
def test_the_documented_envelope_of_an_attachment_and_an_event(body):
    envelope = parse(body)

    assert envelope.headers == {
        "event_id": "9ec79c33ec9942ab8353589fcb2e04dc",
        "dsn": "https://e12d836b15bb49d7bbf99e64295d995b:@sentry.io/42",
    }
    attachment, event = envelope.items
    assert attachment.type == "attachment"
    assert attachment.headers["filename"] == "hello.txt"
    assert attachment.payload == b"\xef\xbb\xbfHello\r\n"  # the CRLF inside the length is the payload's
    assert event.type == "event"
    assert event.headers["content_type"] == "application/json"
    assert event.json() == {"message": "hello world", "level": "error"}


@pytest.mark.parametrize(
    "body",
    [
        b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n{"type":"attachment","length":0}\n\n'
        b'{"type":"attachment","length":0}\n\n',
        b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n{"type":"attachment","length":0}\n\n'
        b'{"type":"attachment","length":0}\n',
    ],
    ids=["newline at end", "none"],
)
def test_two_empty_attachments(body):
    envelope = parse(body)

    assert [(item.type, item.payload) for item in envelope.items] == [
        ("attachment", b""),
        ("attachment", b""),
    ]


@pytest.mark.parametrize(
    "body",
    [
        b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n{"type":"attachment"}\nhelloworld\n',
        b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n{"type":"attachment"}\nhelloworld',
    ],
    ids=["ended by a newline", "by the end"],
)
def test_a_payload_without_length_runs_to_the_end_of_its_line(body):
    assert parse(body).items == [
        Item(type="attachment", headers={"type": "attachment"}, payload=b"helloworld")
    ]


def test_an_empty_envelope_header_and_a_session_without_length():
    body = (
        b'{}\n{"type":"session"}\n{"started": "2020-02-07T14:16:00Z","attrs":{"release":"sentry-test@1.0.0"}}'
    )

    envelope = parse(body)

    assert envelope.headers == {}
    assert envelope.items[0].json() == {
        "started": "2020-02-07T14:16:00Z",
        "attrs": {"release": "sentry-test@1.0.0"},
    }


@pytest.mark.parametrize("body", [b"{}", b"{}\n"])
def test_an_envelope_may_hold_no_items(body):
    assert parse(body) == Envelope(headers={}, items=[])


# --- Envelopes as the official SDKs send them ------------------------------------------------------------

DSN = "https://0123456789abcdef0123456789abcdef@bugstack.example.com/42"
BINARY_ATTACHMENT = b'\x00\x01\nline two\r\n\xff\xfe{"type":"event"}\n'


class CapturingTransport(Transport):
    """sentry-sdk's transport interface, keeping each envelope's bytes instead of sending them."""

    sent: list[bytes] = []

    def capture_envelope(self, envelope):
        self.sent.append(envelope.serialize())


@pytest.fixture(scope="module")
def python_sdk_envelopes() -> dict[str, bytes]:
    """What sentry-sdk 2 sends for an exception with a binary attachment, a transaction, and a session."""
    CapturingTransport.sent = []
    client = sentry_sdk.Client(
        dsn=DSN, transport=CapturingTransport, release="shop@1.0.0", default_integrations=False
    )
    scope = Scope()
    scope.add_attachment(bytes=BINARY_ATTACHMENT, filename="core.bin")
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        event, hint = event_from_exception(sys.exc_info(), client_options=client.options)
    client.capture_event(event, hint=hint, scope=scope)
    now = datetime.now(UTC).isoformat()
    transaction = {
        "type": "transaction",
        "transaction": "checkout",
        "start_timestamp": now,
        "timestamp": now,
        "spans": [],
        "contexts": {"trace": {"trace_id": "a" * 32, "span_id": "b" * 16, "op": "http.server"}},
    }
    client.capture_event(transaction, scope=Scope())
    session = Session(release="shop@1.0.0")
    session.close()
    client.capture_session(session)
    client.close()
    exception, transaction_sent, session_sent = CapturingTransport.sent
    return {"exception": exception, "transaction": transaction_sent, "session": session_sent}


def test_the_python_sdks_exception_envelope_with_a_binary_attachment(python_sdk_envelopes):
    envelope = parse(python_sdk_envelopes["exception"])

    assert len(envelope.headers["event_id"]) == 32
    assert envelope.headers["sent_at"].endswith("Z")
    event, attachment = envelope.items
    assert event.type == "event"
    assert event.json()["exception"]["values"][-1]["type"] == "ZeroDivisionError"
    assert event.json()["event_id"] == envelope.headers["event_id"]
    assert attachment.type == "attachment"
    assert attachment.headers["filename"] == "core.bin"
    assert attachment.payload == BINARY_ATTACHMENT


def test_the_python_sdks_transaction_and_session_envelopes(python_sdk_envelopes):
    transaction = parse(python_sdk_envelopes["transaction"])
    session = parse(python_sdk_envelopes["session"])

    assert [item.type for item in transaction.items] == ["transaction"]
    assert transaction.items[0].json()["transaction"] == "checkout"
    assert session.headers == {}
    assert [item.type for item in session.items] == ["session"]
    assert session.items[0].json()["attrs"] == {"release": "shop@1.0.0"}


# The shape the JavaScript browser SDK sends: the DSN in the header, JSON items without a length.
JAVASCRIPT_ENVELOPE = (
    b'{"event_id":"d6a2b6f0c0a94d0c9a0a1ad61b7b2e3c","sent_at":"2026-11-23T10:00:01.000Z",'
    b'"sdk":{"name":"sentry.javascript.browser","version":"8.40.0"},"dsn":"' + DSN.encode() + b'"}\n'
    b'{"type":"event"}\n'
    b'{"exception":{"values":[{"type":"TypeError","value":"x is undefined"}]},"platform":"javascript",'
    b'"event_id":"d6a2b6f0c0a94d0c9a0a1ad61b7b2e3c"}\n'
    b'{"type":"client_report"}\n'
    b'{"timestamp":1732356001,"discarded_events":[{"reason":"sample_rate","category":"transaction",'
    b'"quantity":2}]}'
)


def test_a_javascript_envelope_with_the_dsn_in_its_header():
    envelope = parse(JAVASCRIPT_ENVELOPE)

    assert dsn_public_key(envelope.headers["dsn"]) == "0123456789abcdef0123456789abcdef"
    assert envelope.headers["sdk"]["name"] == "sentry.javascript.browser"
    assert [item.type for item in envelope.items] == ["event", "client_report"]
    assert envelope.items[0].json()["exception"]["values"][0]["type"] == "TypeError"


# --- Lines ----------------------------------------------------------------------------------------------


def test_blank_lines_between_and_after_items_are_passed_over():
    body = b'{}\n\n{"type":"a","length":2}\nxy\n\n\n{"type":"b"}\nzz\n \n\n'

    assert [(item.type, item.payload) for item in parse(body).items] == [("a", b"xy"), ("b", b"zz")]


def test_a_payload_without_length_keeps_a_carriage_return_before_its_newline():
    body = b'{}\n{"type":"attachment"}\nhello\r\n'

    assert parse(body).items[0].payload == b"hello\r"


def test_an_empty_line_right_after_an_item_header_is_its_empty_payload():
    body = b'{}\n{"type":"a"}\n\n{"type":"b"}\nbb\n'

    assert [(item.type, item.payload) for item in parse(body).items] == [("a", b""), ("b", b"bb")]


def test_an_item_header_on_the_last_line_has_an_empty_payload():
    assert parse(b'{}\n{"type":"attachment"}').items[0].payload == b""
    assert parse(b'{}\n{"type":"attachment","length":0}').items[0].payload == b""


def test_unknown_item_types_and_header_keys_are_kept():
    body = b'{"x-custom":1}\n{"type":"profile_chunk","platform":"python","length":3}\nabc\n'

    envelope = parse(body)

    assert envelope.headers == {"x-custom": 1}
    assert envelope.items[0].headers == {"type": "profile_chunk", "platform": "python", "length": 3}


def test_nul_and_lone_surrogates_in_headers_are_replaced():
    envelope = parse(b'{"release":"a\\u0000b"}\n{"type":"attachment","filename":"c\\u0000d"}\nx')

    assert envelope.headers["release"] == "a\ufffdb"
    assert envelope.items[0].headers["filename"] == "c\ufffdd"


# --- Malformed envelopes: each refused with a message that says where and why ----------------------------

MALFORMED = [
    (b"", "The envelope is empty: it must start with a header line (which may be {})."),
    (b"\n{}", "The envelope header (line 1) is not valid JSON: Input is a zero-length, empty document"),
    (b"not json\n", "The envelope header (line 1) is not valid JSON: invalid literal"),
    (b'["event"]\n', "The envelope header (line 1) must be a JSON object, not an array."),
    (b'"event"\n', "The envelope header (line 1) must be a JSON object, not a string."),
    (b'{"release":"caf\xe9"}\n', "The envelope header (line 1) is not UTF-8 (byte 16 of the line)."),
    (b"{}\r\n", "The envelope header (line 1) ends in \\r: lines end in \\n alone, not \\r\\n."),
    (b"{} \n", "The envelope header (line 1) ends in whitespace, which a header line must not."),
    (
        b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}\n",
        "(line 1) holds over 4252 objects and arrays for its size.",
    ),
    (b'{}\n{"length":2}\nab\n', 'Item 1 (line 2): the item header has no "type".'),
    (b'{}\n{"type":7}\nab\n', 'Item 1 (line 2): "type" must be a string, not a number.'),
    (b'{}\n{"type":null}\nab\n', 'Item 1 (line 2): the item header has no "type".'),
    (b'{}\n{"type":["event"]}\nab\n', 'Item 1 (line 2): "type" must be a string, not an array.'),
    (
        b'{}\n{"type":"event","length":-1}\nab\n',
        '"length" must be a whole number of bytes, 0 or more, not -1.',
    ),
    (
        b'{}\n{"type":"event","length":"2"}\nab\n',
        "\"length\" must be a whole number of bytes, 0 or more, not '2'.",
    ),
    (
        b'{}\n{"type":"event","length":2.0}\nab\n',
        '"length" must be a whole number of bytes, 0 or more, not 2.0.',
    ),
    (
        b'{}\n{"type":"event","length":true}\nab\n',
        '"length" must be a whole number of bytes, 0 or more, not True.',
    ),
    (
        b'{}\n{"type":"event","length":4}\nab\n',
        'Item 1 (line 2): "length" is 4 bytes, but only 3 bytes are left',
    ),
    (
        b'{}\n{"type":"event","length":9}\nab\n',
        'Item 1 (line 2): "length" is 9 bytes, but only 3 bytes are left',
    ),
    (
        b'{}\n{"type":"event","length":1}\nab\n',
        "Item 1 (line 2): its payload of 1 bytes (the header's \"length\") is followed by b'b', where",
    ),
    (b'{}\n{"type":"event","length":2}\nab\r\n', "is followed by b'\\r', where a newline must be"),
    (
        b'{}\n{"type":"event"\nab\n',
        "Item 1 (line 2): the item header is not valid JSON: unexpected end of data",
    ),
    (
        b'{}\n{"type":"ev\xffent"}\nab\n',
        "Item 1 (line 2): the item header is not UTF-8 (byte 12 of the line).",
    ),
    (b'{}\n{"type":"a"}\nx\n\n\n{"type":"b"} \nab\n', "Item 2 (line 6): the item header ends in whitespace"),
    (
        b'{}\n{"type":"a","length":3}\nx\ny\n{"type":"b"\n',
        "Item 2 (line 5): the item header is not valid JSON",
    ),
    (b'{}\n{"type":"a"}\nx\n[]\n', "Item 2 (line 4): the item header must be a JSON object, not an array."),
]


@pytest.mark.parametrize(("body", "message"), MALFORMED)
def test_a_malformed_envelope_is_refused_saying_where_and_why(body, message):
    with pytest.raises(EnvelopeError) as refused:
        parse(body)

    assert message in str(refused.value)
    assert type(refused.value) is EnvelopeError  # not too large: malformed


def test_a_payload_that_is_not_json_is_refused_only_when_read_as_json():
    item = parse(b'{}\n{"type":"event","length":9}\nnot json!').items[0]

    assert item.payload == b"not json!"
    with pytest.raises(EnvelopeError, match="The 'event' item: its payload is not valid JSON: "):
        item.json()


def test_a_json_payload_is_read_with_the_event_bodys_bounds():
    nested = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    item = Item(type="event", headers={"type": "event"}, payload=nested)

    with pytest.raises(EnvelopeError, match="objects and arrays for its size"):
        item.json()
    assert Item(type="event", headers={}, payload=b'{"m":"a\\u0000"}').json() == {"m": "a\ufffd"}


# --- Limits ---------------------------------------------------------------------------------------------


def items(count: int) -> bytes:
    return b"{}\n" + b'{"type":"session"}\n{}\n' * count


def test_up_to_max_items_are_read_and_one_more_is_too_large():
    assert len(parse(items(5), max_items=5).items) == 5

    with pytest.raises(EnvelopeTooLarge) as refused:
        parse(items(6), max_items=5)
    assert str(refused.value) == "The envelope holds more than 5 items, the most accepted."


def with_length(size: int) -> bytes:
    return b'{}\n{"type":"attachment","length":%d}\n' % size + b"x" * size


def without_length(size: int) -> bytes:
    return b'{}\n{"type":"attachment"}\n' + b"x" * size


@pytest.mark.parametrize("envelope_of", [with_length, without_length])
def test_a_payload_over_max_item_bytes_is_too_large(envelope_of):
    assert parse(envelope_of(10), max_item_bytes=10).items[0].payload == b"x" * 10

    with pytest.raises(EnvelopeTooLarge) as refused:
        parse(envelope_of(11), max_item_bytes=10)
    assert str(refused.value) == "Item 1 (line 2): its payload is 11 bytes, over the limit of 10 bytes."


def test_a_length_past_the_end_is_malformed_even_if_over_the_item_limit():
    with pytest.raises(EnvelopeError) as refused:
        parse(b'{}\n{"type":"attachment","length":1000000000}\nabc', max_item_bytes=10)

    assert type(refused.value) is EnvelopeError
    assert "only 3 bytes are left" in str(refused.value)


def test_too_large_is_a_kind_of_envelope_error():
    assert issubclass(EnvelopeTooLarge, EnvelopeError)
    assert issubclass(EnvelopeError, ValueError)


# --- DSN ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dsn", "public_key", "project_id"),
    [
        (
            "https://0123456789abcdef0123456789abcdef@bugstack.example.com/42",
            "0123456789abcdef0123456789abcdef",
            "42",
        ),
        ("http://abc:secret@localhost:8000/7", "abc", "7"),
        ("https://e12d836b15bb49d7bbf99e64295d995b:@sentry.io/42", "e12d836b15bb49d7bbf99e64295d995b", "42"),
        ("https://abc@example.com/errors/ingest/1234", "abc", "1234"),
        (" https://abc@example.com/5 ", "abc", "5"),
    ],
)
def test_a_dsn_gives_its_public_key_and_project_id(dsn, public_key, project_id):
    assert dsn_public_key(dsn) == public_key
    assert dsn_project_id(dsn) == project_id


@pytest.mark.parametrize(
    "dsn",
    [
        "",
        "not a dsn",
        "ftp://abc@example.com/42",
        "https://example.com/42",  # no key
        "https://:secret@example.com/42",
        "https://abc@/42",  # no host
        "https://abc@example.com",  # no project
        "https://abc@example.com/",
        "https://abc@example.com/42/",
        "https://abc@example.com/project",
        "https://abc@example.com/٤٢",  # digits, but not ASCII ones
        "https://abc@example.com:99999/42",
        "https://abc@example.com:port/42",
        "https://abc@[::1/42",
        "https://abc@example.com/" + "1" * 2000,
    ],
)
def test_a_dsn_that_does_not_parse_gives_none(dsn):
    assert dsn_public_key(dsn) is None
    assert dsn_project_id(dsn) is None


@pytest.mark.parametrize("value", [None, 42, ["https://abc@example.com/1"]])
def test_a_dsn_that_is_not_a_string_gives_none(value):
    assert dsn_public_key(value) is None


# --- X-Sentry-Auth --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Sentry sentry_key=abc, sentry_version=7, sentry_client=sentry.python/2.0.0",
        "sentry_key=abc,sentry_version=7,sentry_client=sentry.python/2.0.0",
        "  Sentry   sentry_key = abc ,sentry_version= 7 ,  sentry_client =sentry.python/2.0.0  ",
        "sentry sentry_key=abc, sentry_version=7, sentry_client=sentry.python/2.0.0",
    ],
)
def test_the_auth_header_gives_its_fields(header):
    assert parse_sentry_auth(header) == {
        "sentry_key": "abc",
        "sentry_version": "7",
        "sentry_client": "sentry.python/2.0.0",
    }


def test_auth_fields_without_a_value_are_ignored_and_values_keep_their_equals_signs():
    assert parse_sentry_auth("Sentry sentry_key=abc, garbage, =x, sentry_secret=a=b, ,") == {
        "sentry_key": "abc",
        "sentry_secret": "a=b",
    }
    assert parse_sentry_auth("") == {}
    assert parse_sentry_auth("Sentry") == {}


def test_the_auth_header_is_read_only_up_to_its_limit_and_a_field_cut_there_is_dropped():
    head = "Sentry sentry_key=abc, sentry_version=7, "
    padding = "x_pad=" + "p" * (MAX_AUTH_HEADER_CHARS - len(head) - 20) + ", "
    header = head + padding + "sentry_client=" + "c" * 50

    fields = parse_sentry_auth(header)

    assert fields["sentry_key"] == "abc"
    assert "sentry_client" not in fields
    assert parse_sentry_auth("Sentry sentry_key=" + "k" * 10_000) == {}


# --- Any input: an Envelope or an EnvelopeError, nothing else, within bounded work ---------------------

FUZZ_LIMITS = {"max_items": 8, "max_item_bytes": 512}
SAMPLES = [
    SPEC_TWO_ITEMS,
    JAVASCRIPT_ENVELOPE,
    b'{}\n{"type":"attachment","length":0}\n\n{"type":"session"}\n{"started":"2020-02-07T14:16:00Z"}',
    b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n{"type":"attachment"}\nhelloworld\n',
]
FUZZ_SETTINGS = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def read_or_refuse(body: bytes) -> None:
    """Parse ``body`` and read each item as JSON: only Envelope and EnvelopeError may come out."""
    try:
        envelope = parse_envelope(body, **FUZZ_LIMITS)
    except EnvelopeError:
        return
    assert isinstance(envelope.headers, dict)
    assert len(envelope.items) <= FUZZ_LIMITS["max_items"]
    assert sum(len(item.payload) for item in envelope.items) <= len(body)
    for item in envelope.items:
        assert isinstance(item.type, str)
        assert len(item.payload) <= FUZZ_LIMITS["max_item_bytes"]
        with contextlib.suppress(EnvelopeError):
            item.json()


@FUZZ_SETTINGS
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_give_an_envelope_or_an_envelope_error(body):
    read_or_refuse(body)


MUTATION_BYTES = st.sampled_from(
    [b"\n", b"\r", b" ", b"{", b"}", b'"', b":", b",", b"0", b"9", b"-", b"\xff", b"\x00"]
)


@st.composite
def mutated_envelopes(draw) -> bytes:
    body = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(body)))
        kind = draw(st.sampled_from(["insert", "replace", "delete", "truncate", "duplicate"]))
        if kind == "insert":
            body[at:at] = draw(MUTATION_BYTES | st.binary(min_size=1, max_size=8))
        elif kind == "replace" and at < len(body):
            body[at : at + 1] = draw(MUTATION_BYTES)
        elif kind == "delete":
            del body[at : at + draw(st.integers(1, 16))]
        elif kind == "truncate":
            del body[at:]
        elif kind == "duplicate":
            body[at:at] = body[at : at + draw(st.integers(1, 64))]
    return bytes(body)


@FUZZ_SETTINGS
@given(mutated_envelopes())
def test_mutated_envelopes_give_an_envelope_or_an_envelope_error(body):
    read_or_refuse(body)


# A NUL in a header string is read as U+FFFD, so it would not read back as written.
TYPE_CHARACTERS = st.characters(codec="utf-8", exclude_characters="\x00")
ITEM = st.tuples(
    st.text(TYPE_CHARACTERS, min_size=1, max_size=12),  # type
    st.binary(max_size=64),  # payload
    st.booleans(),  # with a length
    st.integers(0, 2),  # blank lines after it
)


@FUZZ_SETTINGS
@given(st.lists(ITEM, max_size=8), st.booleans())
def test_an_envelope_written_by_the_format_reads_back_as_written(items, newline_at_end):
    body = b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}'
    expected = []
    for item_type, payload, with_length, blank_lines in items:
        headers = {"type": item_type, "length": len(payload)} if with_length else {"type": item_type}
        payload = payload if with_length else payload.replace(b"\n", b"")
        body += b"\n" + orjson.dumps(headers) + b"\n" + payload + b"\n" * blank_lines
        expected.append(Item(type=item_type, headers=headers, payload=payload))
    body += b"\n" if newline_at_end else b""

    envelope = parse_envelope(body, max_items=8, max_item_bytes=64)

    assert envelope.headers == {"event_id": "9ec79c33ec9942ab8353589fcb2e04dc"}
    assert envelope.items == expected
