"""Flask: ``Bugstack(app)`` (or ``Bugstack().init_app(app)``) reports unhandled errors.

It listens to Flask's ``got_request_exception``, sent for exceptions no error handler took, and leaves
Flask's own handling (the 500 response, ``PROPAGATE_EXCEPTIONS``) as it is.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from flask import Flask, Request, got_request_exception, has_request_context
from flask import request as current_flask_request

import bugstack_sdk
from bugstack_sdk.options import Options
from bugstack_sdk.request import (
    MAX_BODY_BYTES,
    RequestData,
    decode_body,
    describe_request,
    register_request_source,
)


class Bugstack:
    def __init__(self, app: Flask | None = None, **options: Any) -> None:
        """``options`` go to ``bugstack_sdk.init``; without them an SDK already set up is kept."""
        self.options = options
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        if self.options or not bugstack_sdk.get_client().enabled:
            bugstack_sdk.init(**self.options)
        bugstack_sdk.get_client().framework = {"name": "flask", "version": _flask_version()}
        got_request_exception.connect(capture_request_exception, app, weak=False)
        app.extensions["bugstack"] = self


def capture_request_exception(sender: Flask, exception: BaseException, **kwargs: Any) -> None:
    client = bugstack_sdk.get_client()
    client.capture_exception(exception, request=_current_request_data(client.options, 500), mechanism="flask")


def request_data(request: Request, options: Options, status_code: int | None) -> RequestData | None:
    try:
        rule = request.url_rule
        return describe_request(
            options,
            method=request.method,
            route=rule.rule if rule else None,
            status_code=status_code,
            path=request.path,
            query_string=lambda: request.query_string.decode("latin-1"),
            headers=lambda: dict(request.headers),
            body=lambda: _body(request),
        )
    except Exception:  # a malformed request still gets its error reported
        return None


def _body(request: Request) -> Any:
    if request.content_length and request.content_length > MAX_BODY_BYTES:
        return f"[{request.content_length} bytes not captured]"
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.to_dict()  # fields only: uploaded files stay out
    return decode_body(request.get_data(cache=True), request.content_type or "")


def _current_request_data(options: Options, status_code: int | None = None) -> RequestData | None:
    if not has_request_context():
        return None
    return request_data(current_flask_request._get_current_object(), options, status_code)


def _flask_version() -> str:
    try:
        return version("flask")
    except PackageNotFoundError:
        return "unknown"


register_request_source(_current_request_data)
