"""Routes of the monitoring API (mounted under /api/v1/ by backoffice/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, re_path

from chargers.api.views import CHARGE_POINT_ID_RE

from . import views

_CHARGER = rf"^chargers/(?P<charge_point_id>{CHARGE_POINT_ID_RE})"

urlpatterns: list[URLPattern | URLResolver] = [
    re_path(
        rf"{_CHARGER}/monitors/$",
        views.MonitorViewSet.as_view({"get": "list", "post": "create"}),
        name="api-charger-monitors",
    ),
    re_path(
        rf"{_CHARGER}/monitors/(?P<monitor_id>[0-9]+)/$",
        views.MonitorViewSet.as_view({"delete": "destroy"}),
        name="api-charger-monitor",
    ),
    re_path(
        rf"{_CHARGER}/monitoring/$",
        views.MonitoringViewSet.as_view({"get": "retrieve"}),
        name="api-charger-monitoring",
    ),
    re_path(rf"{_CHARGER}/faults/$", views.FaultViewSet.as_view({"get": "list"}), name="api-charger-faults"),
]
