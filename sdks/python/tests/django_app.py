"""A small real Django app for the SDK's tests: settings, views and URLs in one module."""

import bugstack_sdk
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import path

SETTINGS = {
    "DEBUG": False,
    "SECRET_KEY": "sdk-tests-only",
    "ALLOWED_HOSTS": ["testserver"],
    "ROOT_URLCONF": __name__,
    "MIDDLEWARE": ["tests.django_app.FailingMiddleware", "bugstack_sdk.django.BugstackMiddleware"],
    "INSTALLED_APPS": [],
    "DATABASES": {},
    "LOGGING_CONFIG": None,  # Django's own 500 logging stays out of the test output
}


class FailingMiddleware:
    """Raises before any view runs when asked to: an error the view middleware cannot see."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.headers.get("X-Break-Middleware"):
            raise ConnectionError("cache unreachable")
        return self.get_response(request)


def order_total(request: HttpRequest, order_id: int) -> HttpResponse:
    items: list[int] = []
    return JsonResponse({"order": order_id, "average": sum(items) / len(items)})


def missing(request: HttpRequest) -> HttpResponse:
    raise Http404("no such page")


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def handled(request: HttpRequest) -> HttpResponse:
    try:
        int("not a number")
    except ValueError:
        event_id = bugstack_sdk.capture_exception()
    return JsonResponse({"event_id": event_id})


def login(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("login backend down")


urlpatterns = [
    path("orders/<int:order_id>/total/", order_total),
    path("missing/", missing),
    path("forbidden/", forbidden),
    path("handled/", handled),
    path("login/", login),
]
