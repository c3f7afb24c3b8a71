"""Routes of the sessions API (mounted under /api/v1/ by backoffice/urls.py)."""

from __future__ import annotations

from django.urls import re_path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("transactions", views.TransactionViewSet, basename="api-transaction")

urlpatterns = [
    re_path(
        r"^transactions/(?P<pk>[^/]+)/meter-values/$",
        views.MeterValueViewSet.as_view({"get": "list"}),
        name="api-transaction-meter-values",
    ),
    re_path(
        r"^transactions/(?P<pk>[^/]+)/events/$",
        views.TransactionEventViewSet.as_view({"get": "list"}),
        name="api-transaction-events",
    ),
    *router.urls,
]
