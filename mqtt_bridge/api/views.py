"""Views of the message log API: every frame in and out, read-only."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets

from apikeys.pagination import cursor_pagination
from mqtt_bridge.models import MessageLog

from .filters import MessageLogFilter
from .serializers import MessageLogSerializer


@extend_schema_view(
    list=extend_schema(
        summary="The message log",
        description="Every OCPP frame received and sent (unreadable ones included), newest first, "
        "cursor-paginated (follow `next`). Filter by charger, action, direction, kind and time.",
    ),
    retrieve=extend_schema(
        summary="One logged message",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Log entry id")],
    ),
)
class MessageLogViewSet(viewsets.ReadOnlyModelViewSet):
    """What travelled between the chargers and us."""

    queryset = MessageLog.objects.all()
    serializer_class = MessageLogSerializer
    filterset_class = MessageLogFilter
    pagination_class = cursor_pagination("-created_at", "-id")
    read_permissions = ("mqtt_bridge.view_messagelog",)
