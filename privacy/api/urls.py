"""Routes of the customer information API (mounted under /api/v1/ by backoffice/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, re_path

from chargers.api.views import CHARGE_POINT_ID_RE

from . import views

_BASE = rf"^chargers/(?P<charge_point_id>{CHARGE_POINT_ID_RE})/customer-information/"

urlpatterns: list[URLPattern | URLResolver] = [
    re_path(
        _BASE + "$",
        views.CustomerInformationViewSet.as_view({"get": "list", "post": "create"}),
        name="api-charger-customer-information",
    ),
    re_path(
        _BASE + r"(?P<request_id>[0-9]{1,9})/$",
        views.CustomerInformationViewSet.as_view({"get": "retrieve"}),
        name="api-charger-customer-information-detail",
    ),
]
