"""Websocket routes of the dashboard: one consumer per live page."""

from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/fleet/", consumers.FleetConsumer.as_asgi()),
    path("ws/chargers/<str:charge_point_id>/", consumers.ChargerConsumer.as_asgi()),
    path("ws/sessions/", consumers.SessionsConsumer.as_asgi()),
    path("ws/sessions/<int:pk>/", consumers.SessionConsumer.as_asgi()),
    path("ws/pending/", consumers.PendingConsumer.as_asgi()),
]
