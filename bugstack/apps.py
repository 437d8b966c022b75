from django.apps import AppConfig


class BugstackConfig(AppConfig):
    name = "bugstack"
    verbose_name = "Accounts and projects"

    def ready(self) -> None:
        from bugstack import checks  # noqa: F401 - registers the system checks
