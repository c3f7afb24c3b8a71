"""Routes of the certificates API (mounted under /api/v1/ by backoffice/urls.py)."""

from __future__ import annotations

from django.urls import re_path

from chargers.api.views import CHARGE_POINT_ID_RE

from . import views

urlpatterns = [
    re_path(
        rf"^chargers/(?P<charge_point_id>{CHARGE_POINT_ID_RE})/certificates/$",
        views.ChargerCertificatesViewSet.as_view({"get": "retrieve"}),
        name="api-charger-certificates",
    ),
]
