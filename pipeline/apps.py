from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PipelineConfig(AppConfig):
    name = "pipeline"
    verbose_name = "Fix pipeline"

    def ready(self) -> None:
        from pipeline import receivers  # noqa: F401 - connects to code host events

        post_migrate.connect(install_schedules, sender=self)


def install_schedules(**kwargs) -> None:
    """The pipeline's periodic tasks, kept in django-q2's schedule table (created or updated on migrate)."""
    from django_q.models import Schedule

    schedules = [
        # Every 30 s: CI polls (fallback for webhooks), free PR slots, reviews, and stages nobody is doing.
        (
            "bugstack: poll fix runs",
            "pipeline.tasks.poll",
            {"schedule_type": Schedule.CRON, "cron": "* * * * * */30"},
        ),
        (
            "bugstack: reap stuck runs",
            "pipeline.tasks.reap",
            {"schedule_type": Schedule.MINUTES, "minutes": 5},
        ),
    ]
    for name, func, timing in schedules:
        Schedule.objects.update_or_create(name=name, defaults={"func": func, "repeats": -1, **timing})
