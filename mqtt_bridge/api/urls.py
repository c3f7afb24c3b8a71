"""Routes of the message log and MQTT charger profile APIs (mounted under /api/v1/ by backoffice/urls.py)."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("messages", views.MessageLogViewSet, basename="api-message")
router.register("mqtt-profiles", views.MqttChargerProfileViewSet, basename="api-mqtt-profile")

urlpatterns = router.urls
