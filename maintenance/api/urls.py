"""Routes of the firmware and logs API (mounted under /api/v1/ by backoffice/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, re_path

from chargers.api.views import CHARGE_POINT_ID_RE

from . import views

_CHARGER = rf"^chargers/(?P<charge_point_id>{CHARGE_POINT_ID_RE})"
_ID = r"(?P<request_id>-?[0-9]+)"


def _routes(segment: str, viewset: type[views._ChargerRequests], name: str) -> list[URLPattern]:
    return [
        re_path(
            rf"{_CHARGER}/{segment}/$", viewset.as_view({"get": "list", "post": "create"}), name=f"api-{name}-list"
        ),
        re_path(rf"{_CHARGER}/{segment}/{_ID}/$", viewset.as_view({"get": "retrieve"}), name=f"api-{name}-detail"),
    ]


urlpatterns: list[URLPattern | URLResolver] = [
    *_routes("firmware-updates", views.FirmwareUpdateViewSet, "firmware-updates"),
    *_routes("log-uploads", views.LogUploadViewSet, "log-uploads"),
    *_routes("firmware-publications", views.FirmwarePublicationViewSet, "firmware-publications"),
    re_path(
        rf"{_CHARGER}/firmware-publications/{_ID}/unpublish/$",
        views.FirmwarePublicationViewSet.as_view({"post": "unpublish"}),
        name="api-firmware-publications-unpublish",
    ),
]
