"""Routes of the fleet API (mounted under /api/v1/ by backoffice/urls.py)."""

from __future__ import annotations

from django.urls import re_path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("chargers", views.ChargePointViewSet, basename="api-charger")
router.register("id-tags", views.IdTagViewSet, basename="api-idtag")
router.register("commands", views.CommandViewSet, basename="api-command")

_CHARGER = rf"^chargers/(?P<charge_point_id>{views.CHARGE_POINT_ID_RE})/connectors/"
_EVSES = rf"^chargers/(?P<charge_point_id>{views.CHARGE_POINT_ID_RE})/evses/"
_VARIABLES = rf"^chargers/(?P<charge_point_id>{views.CHARGE_POINT_ID_RE})/variables/"
_RESERVATIONS = rf"^chargers/(?P<charge_point_id>{views.CHARGE_POINT_ID_RE})/reservations/"

urlpatterns = [
    re_path(
        _CHARGER + r"$",
        views.ConnectorViewSet.as_view({"get": "list"}),
        name="api-connector-list",
    ),
    re_path(
        _CHARGER + r"(?P<connector_id>[^/]+)/$",
        views.ConnectorViewSet.as_view({"get": "retrieve"}),
        name="api-connector-detail",
    ),
    re_path(
        _CHARGER + r"(?P<connector_id>[^/]+)/history/$",
        views.ConnectorStatusHistoryViewSet.as_view({"get": "list"}),
        name="api-connector-history",
    ),
    re_path(_EVSES + r"$", views.EvseViewSet.as_view({"get": "list"}), name="api-evse-list"),
    re_path(_EVSES + r"(?P<evse_id>[^/]+)/$", views.EvseViewSet.as_view({"get": "retrieve"}), name="api-evse-detail"),
    re_path(_VARIABLES + r"$", views.DeviceVariableViewSet.as_view({"get": "list"}), name="api-device-variable-list"),
    re_path(_RESERVATIONS + r"$", views.ReservationViewSet.as_view({"get": "list"}), name="api-reservation-list"),
    *router.urls,
]
