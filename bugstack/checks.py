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
