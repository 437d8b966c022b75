"""AES-256-GCM for secrets at rest, with key ids so keys can be rotated.

A stored value reads ``<key id>$<base64url(nonce || ciphertext+tag)>``. The first key of
``BUGSTACK_ENCRYPTION_KEYS`` encrypts; every listed key decrypts, so a new key is put first, then
``manage.py rotate_encryption_key`` re-encrypts, then the old key is dropped from the list.
Associated data binds a ciphertext to its table and column: a value copied into another column
does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

NONCE_BYTES = 12
SEPARATOR = "$"


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key."""


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes]
    primary: str

    def encrypt(self, plaintext: str, associated_data: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.primary]).encrypt(nonce, plaintext.encode(), associated_data)
        return f"{self.primary}{SEPARATOR}{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, associated_data: bytes) -> str:
        key_id, _, body = token.partition(SEPARATOR)
        if key_id not in self.keys:
            raise DecryptionError(f"value was encrypted with key {key_id!r}, which is not configured")
        try:
            raw = base64.urlsafe_b64decode(body)
            opened = AESGCM(self.keys[key_id]).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated_data)
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise DecryptionError(f"value under key {key_id!r} failed authentication") from exc
        return opened.decode()

    def key_id_of(self, token: str) -> str:
        return token.partition(SEPARATOR)[0]


def parse_keys(entries: list[str]) -> dict[str, bytes]:
    """Parse ``id:base64key`` entries, keeping their order (the first is the primary)."""
    keys: dict[str, bytes] = {}
    for entry in entries:
        key_id, sep, encoded = entry.strip().partition(":")
        if not sep or not key_id or SEPARATOR in key_id:
            raise ImproperlyConfigured(
                f"BUGSTACK_ENCRYPTION_KEYS entry {key_id or entry!r} must read 'key_id:base64key'."
            )
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise ImproperlyConfigured(
                f"BUGSTACK_ENCRYPTION_KEYS key {key_id!r} is not valid base64."
            ) from exc
        if len(key) != 32:
            raise ImproperlyConfigured(
                f"BUGSTACK_ENCRYPTION_KEYS key {key_id!r} is {len(key)} bytes; AES-256 needs 32."
            )
        if key_id in keys:
            raise ImproperlyConfigured(f"BUGSTACK_ENCRYPTION_KEYS lists key id {key_id!r} twice.")
        keys[key_id] = key
    return keys


@cache
def keyring() -> Keyring:
    """The configured keyring; with DEBUG and no keys, a development key derived from SECRET_KEY."""
    keys = parse_keys(settings.BUGSTACK_ENCRYPTION_KEYS)
    if not keys:
        if not settings.DEBUG:
            raise ImproperlyConfigured("BUGSTACK_ENCRYPTION_KEYS is not set; secrets cannot be stored.")
        keys = {"dev": hashlib.sha256(b"bugstack-dev-key:" + settings.SECRET_KEY.encode()).digest()}
    return Keyring(keys=keys, primary=next(iter(keys)))


def generate_key_entry(key_id: str) -> str:
    """A fresh ``id:base64key`` entry for BUGSTACK_ENCRYPTION_KEYS."""
    return f"{key_id}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


@receiver(setting_changed)
def _forget_keyring(setting: str, **kwargs) -> None:
    if setting in {"BUGSTACK_ENCRYPTION_KEYS", "SECRET_KEY", "DEBUG"}:
        keyring.cache_clear()
