"""The client's address for login throttling: the connection's, or one header a trusted proxy sets."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """Return the address failed logins are counted against."""
    header = settings.BUGSTACK_CLIENT_IP_HEADER
    if header:
        meta_key = "HTTP_" + header.upper().replace("-", "_")
        # A proxy that appends (X-Forwarded-For) puts the address it saw last; entries before it are
        # whatever the client sent.
        candidate = request.META.get(meta_key, "").rsplit(",", 1)[-1].strip()
        if is_address(candidate):
            return candidate
    return request.META.get("REMOTE_ADDR", "")


def is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
