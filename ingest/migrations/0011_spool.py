"""Accepted events wait in the spool (``ingest.spool``) instead of the incoming table: those still waiting
in the table are written to a spool file before it goes, so digest finds them there."""

from django.db import migrations, models


def spool_waiting_events(apps, schema_editor):
    from django.conf import settings

    from ingest import spool
    from ingest.normalize import derive

    IncomingEvent = apps.get_model("ingest", "IncomingEvent")
    waiting = IncomingEvent.objects.using(schema_editor.connection.alias).order_by("pk")
    if not waiting.exists():
        return
    writer = spool.Writer(settings.BUGSTACK_SPOOL_DIR)
    try:
        for incoming in waiting.iterator(chunk_size=500):
            writer.append(spool.line(incoming.project_id, incoming.received_at, derive(incoming.data)))
    finally:
        writer.close()


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0010_dropped_items"),
    ]

    operations = [
        migrations.CreateModel(
            name="SpoolFile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=255, unique=True)),
                ("offset", models.BigIntegerField(default=0, help_text="Bytes of the file digested.")),
                (
                    "digested_at",
                    models.DateTimeField(blank=True, help_text="When digest last read from it.", null=True),
                ),
            ],
            options={"verbose_name": "spool file"},
        ),
        migrations.RunPython(spool_waiting_events, migrations.RunPython.noop, elidable=True),
        migrations.DeleteModel(name="IncomingEvent"),
    ]
