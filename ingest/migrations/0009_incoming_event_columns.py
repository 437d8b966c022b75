"""Incoming events carry their columns and their group's: digest copies them to events in the database."""

import uuid

from django.db import migrations, models
from django.utils import timezone

# PostgreSQL compresses each waiting payload as accept inserts it; lz4 costs a fraction of pglz's CPU
# (as for events' payloads in 0004). Only where the server has it.
USE_LZ4 = """
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)
    ) THEN
        ALTER TABLE ingest_incomingevent ALTER COLUMN data SET COMPRESSION lz4;
    END IF;
END
$$;
"""
USE_DEFAULT = """
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression') THEN
        ALTER TABLE ingest_incomingevent ALTER COLUMN data SET COMPRESSION DEFAULT;
    END IF;
END
$$;
"""


def compress_with_lz4(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(USE_LZ4)


def compress_by_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(USE_DEFAULT)


def derive_waiting_events(apps, schema_editor):
    """Events accepted before this migration and not digested yet get their columns from their data."""
    from ingest.normalize import derive

    IncomingEvent = apps.get_model("ingest", "IncomingEvent")
    columns = [
        "event_id", "timestamp", "platform", "level", "environment", "release", "server_name",
        "exception_type", "message", "fingerprint", "fingerprint_version", "title", "culprit",
    ]  # fmt: skip
    waiting = IncomingEvent.objects.using(schema_editor.connection.alias).order_by("pk")
    for incoming in waiting.iterator(chunk_size=500):
        event = derive(incoming.data)
        for column in columns:
            setattr(incoming, column, getattr(event, column))
        incoming.save(update_fields=columns)


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0008_incoming_events"),
    ]

    operations = [
        migrations.AddField(
            model_name="incomingevent",
            name="event_id",
            field=models.UUIDField(default=uuid.uuid4),
        ),
        migrations.AddField(
            model_name="incomingevent",
            name="timestamp",
            field=models.DateTimeField(default=timezone.now),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="incomingevent", name="platform", field=models.CharField(blank=True, max_length=20)
        ),
        migrations.AddField(
            model_name="incomingevent", name="level", field=models.CharField(default="error", max_length=10)
        ),
        migrations.AddField(
            model_name="incomingevent", name="environment", field=models.CharField(blank=True, max_length=100)
        ),
        migrations.AddField(
            model_name="incomingevent", name="release", field=models.CharField(blank=True, max_length=200)
        ),
        migrations.AddField(
            model_name="incomingevent", name="server_name", field=models.CharField(blank=True, max_length=200)
        ),
        migrations.AddField(
            model_name="incomingevent",
            name="exception_type",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(model_name="incomingevent", name="message", field=models.TextField(blank=True)),
        migrations.AddField(
            model_name="incomingevent",
            name="fingerprint",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="incomingevent",
            name="fingerprint_version",
            field=models.SmallIntegerField(default=1),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="incomingevent",
            name="title",
            field=models.CharField(default="", max_length=500),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="incomingevent", name="culprit", field=models.CharField(blank=True, max_length=500)
        ),
        migrations.AlterField(
            model_name="incomingevent",
            name="received_at",
            field=models.DateTimeField(default=timezone.now, help_text="When accept took it."),
        ),
        migrations.AlterField(
            model_name="incomingevent",
            name="data",
            field=models.JSONField(help_text="The normalised, redacted payload."),
        ),
        migrations.RunPython(derive_waiting_events, migrations.RunPython.noop),
        migrations.RunPython(compress_with_lz4, compress_by_default),
    ]
