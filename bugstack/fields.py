"""Model fields shared by the apps."""

from __future__ import annotations

from django.db import models

from bugstack.crypto import keyring


class EncryptedTextField(models.TextField):
    """Text stored encrypted with AES-256-GCM; the table and column are the associated data.

    Python code sees plaintext; the database only ever sees ``key_id$ciphertext``.
    Not usable in lookups: a random nonce makes every ciphertext different.
    """

    def associated_data(self) -> bytes:
        return f"{self.model._meta.db_table}.{self.column}".encode()

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return keyring().encrypt(value, self.associated_data())

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return keyring().decrypt(value, self.associated_data())

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            raise TypeError(f"{self.__class__.__name__} supports no lookup but isnull")
        return super().get_lookup(lookup_name)
