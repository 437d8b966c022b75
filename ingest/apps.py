from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IngestConfig(AppConfig):
    name = "ingest"
    verbose_name = "Errors and events"

    def ready(self) -> None:
        # Connects the receivers that drop cached project keys when a key or its project changes.
        from ingest import auth  # noqa: F401

        post_migrate.connect(install_schedules, sender=self)


def install_schedules(**kwargs) -> None:
    """Digest every minute as well as when kicked: a kick lost with its web process strands nothing."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="bugstack: digest accepted events",
        defaults={
            "func": "ingest.tasks.digest",
            "repeats": -1,
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
        },
    )
