"""Routes of the display messages API (mounted under /api/v1/ by backoffice/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, re_path

from chargers.api.views import CHARGE_POINT_ID_RE

from . import views

_BASE = rf"^chargers/(?P<charge_point_id>{CHARGE_POINT_ID_RE})/display-messages/"

urlpatterns: list[URLPattern | URLResolver] = [
    re_path(
        _BASE + "$",
        views.DisplayMessageViewSet.as_view({"get": "list", "post": "create"}),
        name="api-charger-display-messages",
    ),
    re_path(
        _BASE + "refresh/$",
        views.DisplayMessageViewSet.as_view({"post": "refresh"}),
        name="api-charger-display-messages-refresh",
    ),
    re_path(
        _BASE + r"(?P<message_id>[0-9]{1,9})/clear/$",
        views.DisplayMessageViewSet.as_view({"post": "clear"}),
        name="api-charger-display-message-clear",
    ),
]
