"""Routes of the periodic event streams API (mounted under /api/v1/ by backoffice/urls.py)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("event-streams", views.PeriodicEventStreamViewSet, basename="api-event-streams")

urlpatterns = router.urls
