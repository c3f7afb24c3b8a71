"""Views of the operator alerts API: list (``?acknowledged=false`` for the open ones) and acknowledge."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.filtersets import AlertFilterSet
from alerts.models import Alert
from alerts.services import alert_acknowledge
from apikeys.viewsets import TextLookupMixin

from . import serializers as s


@extend_schema_view(
    list=extend_schema(
        summary="List operator alerts",
        description="Newest occurrence first; `acknowledged=false` lists the open ones. An alert counts the "
        "occurrences of the same kind for the same charger while it is unacknowledged.",
    ),
    retrieve=extend_schema(summary="An operator alert"),
)
class AlertViewSet(TextLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Operator alerts: critical security events, chargers or addresses locked out after failed logins."""

    queryset = Alert.objects.select_related("charge_point", "acknowledged_by").order_by("-last_raised_at", "-id")
    serializer_class = s.AlertSerializer
    filterset_class = AlertFilterSet
    # Every role reads alerts; operators and admins acknowledge them (apikeys.permissions.ROLES).
    read_permissions = ("alerts.view_alert",)
    action_permissions = {"acknowledge": ("alerts.view_alert", "alerts.change_alert")}

    @extend_schema(
        summary="Acknowledge an alert",
        description="Idempotent: acknowledging again keeps the first acknowledgement. The next occurrence of "
        "the same kind for the same charger opens a new alert.",
        request=None,
        responses={200: OpenApiResponse(s.AlertSerializer)},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        alert = alert_acknowledge(alert=self.get_object(), user=request.user)
        alert = self.get_queryset().get(pk=alert.pk)
        return Response(s.AlertSerializer(alert).data)
