"""The monitoring API: a station's monitors (list, set one, clear one) and its faults.

Setting and clearing build the 2.0.1 command (SetVariableMonitoring, ClearVariableMonitoring) and queue it
like POST /commands/ does (the same checks: a 400 names what the station cannot take); the monitor list
changes when the station answers.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from apikeys.viewsets import TextLookupMixin
from chargers import ports
from chargers.api.serializers import CommandSerializer
from chargers.api.views import CHARGE_POINT_ID_PARAM, enqueue
from chargers.models import ChargePoint
from monitoring.models import StationFault, VariableMonitor
from monitoring.selectors import station_monitoring

from .serializers import FaultSerializer, MonitoringSerializer, MonitorSerializer, MonitorSetSerializer

_COMMAND = ("chargers.view_chargepoint", "chargers.add_command")
_QUEUED = OpenApiResponse(
    CommandSerializer,
    description="Queued: the command is sent when the charger is online and free; `url` is the command, to "
    "follow its lifecycle.",
)
_REFUSED = OpenApiResponse(
    description="Invalid input, or a command the station cannot take (its version, its device model): "
    "messages per field, `non_field_errors` for the whole command.",
    response={"type": "object", "additionalProperties": {}},
)


def _charge_point(charge_point_id: str) -> ChargePoint:
    return get_object_or_404(ChargePoint, charge_point_id=charge_point_id)


@extend_schema_view(
    list=extend_schema(
        summary="Monitors of a charge point (OCPP 2.0.1)",
        description="The monitors the station has as far as we know: those we set and it accepted "
        "(SetVariableMonitoring, `source` csms) and those it reported (NotifyMonitoringReport after "
        "GetMonitoringReport, `source` station), by component and variable.",
        parameters=[CHARGE_POINT_ID_PARAM],
    ),
    create=extend_schema(
        summary="Set a monitor",
        description="Queues a SetVariableMonitoring of one monitor (`id` replaces that monitor). Refused (400) "
        "for a severity outside 0-9, a Periodic interval of 0, or a variable the station reported with "
        "supportsMonitoring false. The monitor is listed once the station accepts it.",
        parameters=[CHARGE_POINT_ID_PARAM],
        request=MonitorSetSerializer,
        responses={202: _QUEUED, 400: _REFUSED},
        examples=[
            OpenApiExample(
                "Over 60 °C",
                value={
                    "component": "EVSE",
                    "evse_id": 1,
                    "variable": "Temperature",
                    "type": "UpperThreshold",
                    "value": 60,
                    "severity": 2,
                },
                request_only=True,
            )
        ],
    ),
    destroy=extend_schema(
        summary="Clear a monitor",
        description="Queues a ClearVariableMonitoring of the monitor `monitor_id`; it leaves the list when the "
        "station answers Accepted (or NotFound).",
        parameters=[CHARGE_POINT_ID_PARAM],
        responses={202: _QUEUED, 400: _REFUSED},
    ),
)
class MonitorViewSet(TextLookupMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The monitors of one 2.0.1 station."""

    queryset = VariableMonitor.objects.none()
    serializer_class = MonitorSerializer
    pagination_class = None
    lookup_field = "monitor_id"
    lookup_value_regex = r"[0-9]+"
    read_permissions = ("chargers.view_chargepoint",)
    action_permissions = {"create": _COMMAND, "destroy": _COMMAND}

    def get_queryset(self) -> QuerySet[VariableMonitor]:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return VariableMonitor.objects.filter(charge_point=_charge_point(self.kwargs["charge_point_id"]))

    def get_serializer_class(self) -> Any:
        return MonitorSetSerializer if self.action == "create" else MonitorSerializer

    def create(self, request: Request, charge_point_id: str) -> Response:
        charge_point = _charge_point(charge_point_id)
        serializer = MonitorSetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return enqueue(
            request,
            charge_point=charge_point,
            command_request=ports.CommandRequest("SetVariableMonitoring", serializer.payload()),
            expires_in=serializer.validated_data.get("expires_in"),
            snake_case=False,
        )

    def destroy(self, request: Request, charge_point_id: str, monitor_id: str) -> Response:
        charge_point = _charge_point(charge_point_id)
        return enqueue(
            request,
            charge_point=charge_point,
            command_request=ports.CommandRequest("ClearVariableMonitoring", {"id": [int(monitor_id)]}),
            expires_in=None,
            snake_case=False,
        )


@extend_schema_view(
    list=extend_schema(
        summary="Faults of a charge point (OCPP 2.0.1 NotifyEvent)",
        description="The problems the station raised in NotifyEvent (a `techCode`, or its Problem variable "
        "set), newest first; `cleared_at` is set once a cleared event ended it. A ChargeX Minimum Required "
        "Error Code (CX001...) comes with its `name` and `meaning`; any other code is as reported. Filter "
        "with `open=true` for the open ones.",
        parameters=[
            CHARGE_POINT_ID_PARAM,
            OpenApiParameter("open", OpenApiTypes.BOOL, description="Only the faults not cleared yet"),
        ],
    ),
)
class FaultViewSet(TextLookupMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The faults of one 2.0.1 station."""

    queryset = StationFault.objects.none()
    serializer_class = FaultSerializer
    read_permissions = ("chargers.view_chargepoint",)

    def get_queryset(self) -> QuerySet[StationFault]:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        faults = StationFault.objects.filter(charge_point=_charge_point(self.kwargs["charge_point_id"]))
        if self.request.query_params.get("open") in ("true", "1"):
            faults = faults.filter(cleared_at__isnull=True)
        return faults


class MonitoringViewSet(TextLookupMixin, viewsets.GenericViewSet):
    """A station's monitoring at a glance."""

    serializer_class = MonitoringSerializer
    read_permissions = ("chargers.view_chargepoint",)

    @extend_schema(
        summary="Monitoring of a charge point (OCPP 2.0.1)",
        description="The station's monitoring base and level as it accepted them (SetMonitoringBase, "
        "SetMonitoringLevel; null: never set by us), how many faults are open, and the variables it set with "
        "a `RebootRequired` answer since its last boot (in effect after its next one).",
        parameters=[CHARGE_POINT_ID_PARAM],
    )
    def retrieve(self, request: Request, charge_point_id: str) -> Response:
        monitoring = station_monitoring(charge_point=_charge_point(charge_point_id))
        settings = monitoring.settings
        data = {
            "monitoring_base": settings.monitoring_base if settings and settings.monitoring_base else None,
            "monitoring_level": settings.monitoring_level if settings else None,
            "open_faults": len(monitoring.open_faults),
            "monitors": len(monitoring.monitors),
            "reboot_pending": monitoring.reboot_pending,
        }
        return Response(self.get_serializer(data).data)
