"""Django: add ``"bugstack_sdk.django.BugstackMiddleware"`` to MIDDLEWARE and call ``bugstack_sdk.init()``.

The middleware notes an unhandled view exception and reports it with the status of the response Django
made of it; the ``got_request_exception`` signal reports errors raised outside views (in other
middleware). Django's own handling (its 500 page, ``handler500``, logging) is left untouched.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import django
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, HttpResponse, RawPostDataException
from django.http.multipartparser import MultiPartParserError

import bugstack_sdk
from bugstack_sdk.options import Options
from bugstack_sdk.request import (
    RequestData,
    current_request,
    decode_body,
    describe_request,
    register_request_source,
)

# Django answers these with a 4xx of its own: they are the client's mistake, not the app's error.
CLIENT_ERRORS = (Http404, PermissionDenied, BadRequest, SuspiciousOperation, MultiPartParserError)
PENDING_ATTR = "_bugstack_exception"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class BugstackMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        bugstack_sdk.get_client().framework = {"name": "django", "version": django.get_version()}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_request.set(request)
        try:
            response = self.get_response(request)
        except Exception:  # DEBUG_PROPAGATE_EXCEPTIONS: Django re-raises instead of answering 500
            report_pending(request, 500)
            raise
        finally:
            current_request.reset(token)
        report_pending(request, response.status_code)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if not isinstance(exception, CLIENT_ERRORS):
            setattr(request, PENDING_ATTR, exception)


def report_pending(request: HttpRequest, status_code: int) -> None:
    exc = getattr(request, PENDING_ATTR, None)
    if exc is not None:
        delattr(request, PENDING_ATTR)
        client = bugstack_sdk.get_client()
        client.capture_exception(
            exc, request=request_data(request, client.options, status_code), mechanism="django"
        )


def capture_signalled_exception(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    exc = sys.exc_info()[1]
    if exc is None or (request is not None and getattr(request, PENDING_ATTR, None) is exc):
        return  # the middleware reports it once the response status is known
    client = bugstack_sdk.get_client()
    data = request_data(request, client.options, 500) if request is not None else None
    client.capture_exception(exc, request=data, mechanism="django")


def request_data(request: HttpRequest, options: Options, status_code: int | None) -> RequestData | None:
    try:
        match = request.resolver_match
        return describe_request(
            options,
            method=request.method or "",
            route=match.route if match else None,
            status_code=status_code,
            path=request.path,
            query_string=lambda: request.META.get("QUERY_STRING", ""),
            headers=lambda: dict(request.headers),
            body=lambda: _body(request),
        )
    except Exception:  # a half-built request (bad host, broken stream) still gets its error reported
        return None


def _body(request: HttpRequest) -> Any:
    if request.content_type in FORM_TYPES:
        return request.POST.dict()  # fields only: uploaded files stay out
    try:
        return decode_body(request.body, request.content_type or "")
    except RawPostDataException:
        return "[body read as a stream by the app; not captured]"


def _current_request_data(options: Options) -> RequestData | None:
    request = current_request.get()
    if not isinstance(request, HttpRequest):
        return None
    return request_data(request, options, None)


got_request_exception.connect(capture_signalled_exception, dispatch_uid="bugstack_sdk")
register_request_source(_current_request_data)
