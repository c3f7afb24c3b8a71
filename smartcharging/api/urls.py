"""Routes of the smart charging API (mounted under /api/v1/ by backoffice/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, re_path

from chargers.api.views import CHARGE_POINT_ID_RE

from . import views

_CHARGER = rf"^chargers/(?P<charge_point_id>{CHARGE_POINT_ID_RE})"

urlpatterns: list[URLPattern | URLResolver] = [
    re_path(
        rf"{_CHARGER}/smart-charging/$",
        views.SmartChargingViewSet.as_view({"get": "retrieve"}),
        name="api-charger-smart-charging",
    ),
    re_path(
        rf"{_CHARGER}/charging-profiles/$",
        views.SmartChargingViewSet.as_view({"get": "profiles", "post": "set_profile"}),
        name="api-charger-charging-profiles",
    ),
    re_path(
        rf"{_CHARGER}/charging-profiles/clear/$",
        views.SmartChargingViewSet.as_view({"post": "clear"}),
        name="api-charger-charging-profiles-clear",
    ),
    re_path(
        rf"{_CHARGER}/charging-profiles/report/$",
        views.SmartChargingViewSet.as_view({"post": "report"}),
        name="api-charger-charging-profiles-report",
    ),
    re_path(
        rf"{_CHARGER}/composite-schedule/$",
        views.SmartChargingViewSet.as_view({"get": "composite", "post": "composite_ask"}),
        name="api-charger-composite-schedule",
    ),
]
