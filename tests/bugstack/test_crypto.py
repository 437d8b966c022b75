import base64

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from bugstack.crypto import DecryptionError, generate_key_entry, keyring, parse_keys
from integrations.models import Credential
from tests.factories import AccountFactory

TOKEN = "ghp_S3cr3tT0kenValue1234567890abcdefABCD"
KEY_A = generate_key_entry("a")
KEY_B = generate_key_entry("b")


def raw_secret(credential: Credential) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM integrations_credential WHERE id = %s", [credential.pk])
        return cursor.fetchone()[0]


def reversible_encodings(text: str) -> list[str]:
    raw = text.encode()
    return [
        text,
        text[::-1],
        raw.hex(),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
        base64.b32encode(raw).decode(),
    ]


@pytest.mark.django_db
def test_the_database_row_holds_neither_the_plaintext_nor_an_encoding_of_it():
    credential = Credential.objects.create(account=AccountFactory(), kind="github", secret=TOKEN)

    stored = raw_secret(credential)

    assert stored.startswith(keyring().primary + "$")
    for encoding in reversible_encodings(TOKEN):
        assert encoding not in stored
    assert Credential.objects.get(pk=credential.pk).secret == TOKEN


@pytest.mark.django_db
def test_each_encryption_uses_a_fresh_nonce():
    account_one, account_two = AccountFactory(), AccountFactory()
    first = Credential.objects.create(account=account_one, kind="github", secret=TOKEN)
    second = Credential.objects.create(account=account_two, kind="github", secret=TOKEN)

    assert raw_secret(first) != raw_secret(second)


@pytest.mark.django_db
def test_a_ciphertext_moved_to_another_column_does_not_decrypt():
    ring = keyring()
    token = ring.encrypt(TOKEN, b"integrations_credential.secret")

    with pytest.raises(DecryptionError):
        ring.decrypt(token, b"some_other_table.secret")


@pytest.mark.django_db
def test_a_tampered_ciphertext_is_refused():
    credential = Credential.objects.create(account=AccountFactory(), kind="github", secret=TOKEN)
    stored = raw_secret(credential)
    flipped = stored[:-3] + ("A" if stored[-3] != "A" else "B") + stored[-2:]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE integrations_credential SET secret = %s WHERE id = %s", [flipped, credential.pk]
        )

    with pytest.raises(DecryptionError):
        Credential.objects.get(pk=credential.pk)


@pytest.mark.django_db
def test_rotation_re_encrypts_under_the_new_key_and_old_values_decrypt_until_then():
    with override_settings(BUGSTACK_ENCRYPTION_KEYS=[KEY_A]):
        credential = Credential.objects.create(account=AccountFactory(), kind="github", secret=TOKEN)
        assert raw_secret(credential).startswith("a$")

    with override_settings(BUGSTACK_ENCRYPTION_KEYS=[KEY_B, KEY_A]):
        # Before rotation: the old ciphertext still decrypts, new writes use the new key.
        assert Credential.objects.get(pk=credential.pk).secret == TOKEN
        assert raw_secret(credential).startswith("a$")

        call_command("rotate_encryption_key", stdout=open("/dev/null", "w"))  # noqa: SIM115

        assert raw_secret(credential).startswith("b$")

    with override_settings(BUGSTACK_ENCRYPTION_KEYS=[KEY_B]):
        assert Credential.objects.get(pk=credential.pk).secret == TOKEN

    with override_settings(BUGSTACK_ENCRYPTION_KEYS=[KEY_A]), pytest.raises(DecryptionError, match="'b'"):
        Credential.objects.get(pk=credential.pk)


@pytest.mark.parametrize(
    "entries, problem",
    [
        (["nokey"], "must read 'key_id:base64key'"),
        (["k:not base64!"], "not valid base64"),
        (["k:" + base64.b64encode(b"short").decode()], "5 bytes; AES-256 needs 32"),
        ([KEY_A, KEY_A], "twice"),
    ],
)
def test_malformed_keys_fail_with_a_message_naming_the_problem(entries, problem):
    with pytest.raises(ImproperlyConfigured, match=problem):
        parse_keys(entries)


def test_production_without_keys_fails_the_system_check():
    from bugstack.checks import check_encryption_keys

    with override_settings(BUGSTACK_ENCRYPTION_KEYS=[], DEBUG=False):
        errors = check_encryption_keys(None)
    assert [error.id for error in errors] == ["bugstack.E001"]
    assert "BUGSTACK_ENCRYPTION_KEYS is not set" in errors[0].msg
