"""Websocket routes of the dashboard: one consumer per live page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.urls import path

from . import consumers

if TYPE_CHECKING:
    from channels.consumer import _ASGIApplicationProtocol
    from channels.routing import URLRouter, _ExtendedURLPattern


def websocket_path(route: str, consumer: _ASGIApplicationProtocol) -> _ExtendedURLPattern:
    """``django.urls.path`` with an ASGI consumer as its callback, the way Channels' URLRouter takes them.

    django-stubs types ``path`` for HTTP views only; this is the one place that says it is right here.
    """
    return cast("_ExtendedURLPattern", path(route, cast(Any, consumer)))


websocket_urlpatterns: list[_ExtendedURLPattern | URLRouter] = [
    websocket_path("ws/fleet/", consumers.FleetConsumer.as_asgi()),
    websocket_path("ws/chargers/<str:charge_point_id>/", consumers.ChargerConsumer.as_asgi()),
    websocket_path("ws/sessions/", consumers.SessionsConsumer.as_asgi()),
    websocket_path("ws/sessions/<int:pk>/", consumers.SessionConsumer.as_asgi()),
    websocket_path("ws/pending/", consumers.PendingConsumer.as_asgi()),
]
