"""Routes of the operator alerts API (mounted under /api/v1/ by backoffice/urls.py)."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("alerts", views.AlertViewSet, basename="api-alert")

urlpatterns = router.urls
