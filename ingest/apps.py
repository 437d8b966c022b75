from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "ingest"
    verbose_name = "Errors and events"

    def ready(self) -> None:
        # Connects the receivers that drop cached project keys when a key or its project changes.
        from ingest import auth  # noqa: F401
