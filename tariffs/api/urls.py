"""Routes of the tariffs and cost API (mounted under /api/v1/ by backoffice/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, re_path
from rest_framework.routers import DefaultRouter

from chargers.api.views import CHARGE_POINT_ID_RE

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("tariffs", views.TariffViewSet, basename="api-tariff")
router.register("tariff-groups", views.ChargerGroupViewSet, basename="api-tariff-group")

urlpatterns: list[URLPattern | URLResolver] = [
    re_path(
        rf"^chargers/(?P<charge_point_id>{CHARGE_POINT_ID_RE})/tariff/$",
        views.ChargerTariffViewSet.as_view({"get": "retrieve"}),
        name="api-charger-tariff",
    ),
    *router.urls,
]
