"""Configuration mistakes fail at start-up, not at request time."""

from django.conf import settings
from django.core import checks
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

from bugstack.crypto import keyring


@register(Tags.security, deploy=False)
def check_encryption_keys(app_configs, **kwargs):
    try:
        keyring.cache_clear()
        keyring()
    except ImproperlyConfigured as exc:
        return [
            Error(
                str(exc),
                hint="Make one with `manage.py rotate_encryption_key --generate KEY_ID` and list it first.",
                id="bugstack.E001",
            )
        ]
    return []


@register()
def check_sync_tasks(app_configs, **kwargs):
    if settings.BUGSTACK_SYNC_TASKS and not settings.DEBUG:
        return [
            checks.Warning(
                "BUGSTACK_SYNC_TASKS=1 runs every pipeline stage inside the request that starts it.",
                hint="It is meant for tests: unset it and run `python manage.py qcluster`.",
                id="bugstack.W001",
            )
        ]
    return []


@register()
def check_web_server(app_configs, **kwargs):
    problems = []
    for name in ("BUGSTACK_WEB_WORKERS", "BUGSTACK_WEB_THREADS"):
        if getattr(settings, name) < 1:
            problems.append(Error(f"{name} must be at least 1.", id="bugstack.E002"))
    if settings.BUGSTACK_WEB_READ_TIMEOUT <= 0:
        problems.append(Error("BUGSTACK_WEB_READ_TIMEOUT must be more than 0 seconds.", id="bugstack.E002"))
    if settings.BUGSTACK_WEB_BUFFER_BYTES < settings.BUGSTACK_WEB_MAX_BODY_BYTES:
        problems.append(
            Error(
                f"BUGSTACK_WEB_BUFFER_BYTES must be at least {settings.BUGSTACK_WEB_MAX_BODY_BYTES}, "
                "the largest request body an endpoint accepts.",
                id="bugstack.E002",
            )
        )
    # granian takes the header timeout in whole milliseconds, from 1 to 60,000.
    if not 0.001 <= settings.BUGSTACK_WEB_HEADER_TIMEOUT <= 60:
        problems.append(
            Error("BUGSTACK_WEB_HEADER_TIMEOUT must be from 0.001 to 60 seconds.", id="bugstack.E002")
        )
    return problems
