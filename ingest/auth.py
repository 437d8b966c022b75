"""Who is sending: project keys (looked up once, then cached) and the per-key rate limit."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from bugstack.models import Project, ProjectKey
from ingest.redact import denylist

KEY_FORMAT = re.compile(r"^[0-9a-f]{32}$")
_MISSING = object()


@dataclass(frozen=True)
class IngestKey:
    """What ingest needs to know about a key and its project, cached so a request costs no lookup."""

    key_id: int
    project_id: int
    is_active: bool
    rate_limit_per_minute: int | None
    redact_terms: tuple[str, ...]
    allowed_origins: frozenset[str] = frozenset()
    keep_client_ip: bool = False

    def allows_origin(self, origin: str) -> bool:
        return origin_allowed(self.allowed_origins, origin)


def origin_allowed(origins: frozenset[str], origin: str) -> bool:
    """Whether a browser's ``Origin`` is among a project's allowed origins (``*``: any)."""
    return "*" in origins or origin.lower().rstrip("/") in origins


# Each process also keeps the keys it looked up for a few seconds, in front of the shared cache: nearly
# every request then costs a dict lookup instead of a cache read (a network round trip with Redis, an
# unpickling even in memory). A key changed in this process is forgotten here at once; one changed in
# another process is seen here within RECENT_SECONDS.
RECENT_SECONDS = 5
RECENT_MAX = 1024
_recent: dict[str, tuple[float, IngestKey | None]] = {}


def key_cache_name(public_key: str) -> str:
    return f"ingest:key:{public_key}"


def lookup_key(public_key: str) -> IngestKey | None:
    """The key's ingest view, or None for a key that does not exist (also cached, briefly)."""
    now = time.monotonic()
    recent = _recent.get(public_key)
    if recent is not None and recent[0] > now:
        return recent[1]
    found = cached_key(public_key)
    if len(_recent) >= RECENT_MAX:
        _recent.clear()
    _recent[public_key] = (now + min(RECENT_SECONDS, settings.BUGSTACK_KEY_CACHE_SECONDS), found)
    return found


def cached_key(public_key: str) -> IngestKey | None:
    """The key's ingest view from the shared cache, or from the database (then cached)."""
    name = key_cache_name(public_key)
    found = cache.get(name, _MISSING)
    if found is not _MISSING:
        return found
    try:
        key = ProjectKey.objects.get_by_public_key(public_key)
    except ProjectKey.DoesNotExist:
        found = None
    else:
        found = IngestKey(
            key_id=key.pk,
            project_id=key.project_id,
            is_active=key.is_active,
            rate_limit_per_minute=key.project.rate_limit_per_minute,
            redact_terms=denylist(key.project.extra_redact_keys),
            allowed_origins=key.project.origins,
            keep_client_ip=key.project.keep_client_ip,
        )
    cache.set(name, found, settings.BUGSTACK_KEY_CACHE_SECONDS)
    return found


def forget_key(public_key: str) -> None:
    _recent.pop(public_key, None)
    cache.delete(key_cache_name(public_key))


def forget_all_keys() -> None:
    """Forget every key this process remembers (the shared cache is left as it is)."""
    _recent.clear()


@receiver(post_save, sender=ProjectKey)
@receiver(post_delete, sender=ProjectKey)
def forget_changed_key(sender, instance: ProjectKey, **kwargs) -> None:
    forget_key(instance.public_key)


@receiver(post_save, sender=Project)
def forget_project_keys(sender, instance: Project, created: bool, **kwargs) -> None:
    # Rate limit and redaction keys are cached with each key of the project.
    if not created:
        public_keys = list(instance.keys.values_list("public_key", flat=True))
        for public_key in public_keys:
            _recent.pop(public_key, None)
        cache.delete_many([key_cache_name(k) for k in public_keys])


def key_from_headers(meta: dict) -> str:
    authorization = meta.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return meta.get("HTTP_X_BUGSTACK_KEY", "").strip()


def active_key(public_key: str | None, how_to_send: str) -> IngestKey:
    """The active key sent, or the DRF error every ingest endpoint answers: 401 naming ``how_to_send``
    when none was sent, 401 for an unknown or inactive one."""
    public_key = (public_key or "").strip().lower()
    if not public_key:
        raise exceptions.NotAuthenticated(f"No project key: {how_to_send}.")
    key = lookup_key(public_key) if KEY_FORMAT.match(public_key) else None
    if key is None:
        raise exceptions.AuthenticationFailed("Unknown project key.")
    if not key.is_active:
        raise exceptions.AuthenticationFailed("This project key is inactive; use the project's current key.")
    return key


class ProjectKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <key>`` or ``X-Bugstack-Key: <key>``; ``request.auth`` is the ``IngestKey``."""

    def authenticate(self, request) -> tuple[None, IngestKey]:
        how = "send 'Authorization: Bearer <key>' or 'X-Bugstack-Key: <key>'"
        return None, active_key(key_from_headers(request.META), how)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="bugstack"'


def rate_limit_wait(key: IngestKey) -> int | None:
    """Counts one event against the key's per-minute limit (fixed one-minute windows): None while under it,
    else the seconds until the next window."""
    if not key.rate_limit_per_minute:
        return None
    now = time.time()
    window = f"ingest:rate:{key.key_id}:{int(now // 60)}"
    cache.add(window, 0, timeout=120)
    try:
        count = cache.incr(window)
    except ValueError:  # the window expired between add and incr
        cache.set(window, 1, timeout=120)
        count = 1
    return None if count <= key.rate_limit_per_minute else math.ceil(60 - now % 60)
