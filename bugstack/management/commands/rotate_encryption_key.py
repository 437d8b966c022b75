"""Re-encrypt every encrypted column with the first key of BUGSTACK_ENCRYPTION_KEYS."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from bugstack.crypto import generate_key_entry, keyring
from bugstack.fields import EncryptedTextField


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret under the first BUGSTACK_ENCRYPTION_KEYS key. "
        "Put the new key first, run this, then drop the old key."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--generate", metavar="KEY_ID", help="Only print a new key entry to put first in the list."
        )

    def handle(self, *args, **options):
        if options["generate"]:
            self.stdout.write(generate_key_entry(options["generate"]))
            return
        ring = keyring()
        total = 0
        for model, field in encrypted_fields():
            total += self.rotate(model, field, ring)
        self.stdout.write(f"Re-encrypted {total} value(s) under key {ring.primary!r}.")

    def rotate(self, model, field, ring) -> int:
        table, column = model._meta.db_table, field.column
        quote = connection.ops.quote_name
        changed = 0
        with transaction.atomic():
            # Raw rows, so values already under the primary key are recognised without decrypting.
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {quote(model._meta.pk.column)}, {quote(column)} FROM {quote(table)}"  # noqa: S608
                )
                rows = cursor.fetchall()
            for pk, token in rows:
                if not token or ring.key_id_of(token) == ring.primary:
                    continue
                plaintext = ring.decrypt(token, field.associated_data())
                model._base_manager.filter(pk=pk).update(**{field.attname: plaintext})
                changed += 1
        return changed


def encrypted_fields():
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field
