"""The project's URLs plus views that fail on purpose, for the error page tests."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def bad_request(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("secret-detail-400")


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("secret-detail-403")


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret-detail-500")


urlpatterns = [
    path("fail/400/", bad_request),
    path("fail/403/", forbidden),
    path("fail/500/", broken),
    path("", include("backoffice.urls")),
]
