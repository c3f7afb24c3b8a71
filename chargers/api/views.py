"""Views of the fleet API: chargers, connectors, id tags, commands (the credentials API is gateway.api's).

Thin: each view picks a queryset, validates input with a serializer and calls a service.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from apikeys.models import APIToken
from apikeys.pagination import cursor_pagination
from apikeys.schema import ErrorSerializer
from apikeys.viewsets import TextLookupMixin
from chargers import ports
from chargers.commands import CommandError, command_cancel, command_enqueue
from chargers.filtersets import (
    ChargePointFilterSet,
    CommandFilterSet,
    ConnectorFilterSet,
    ConnectorStatusChangeFilterSet,
    DeviceVariableFilterSet,
    IdTagFilterSet,
)
from chargers.models import (
    ChargePoint,
    Command,
    Connector,
    ConnectorStatusChange,
    DeviceVariable,
    Evse,
    IdTag,
    RegistrationStatus,
    Reservation,
)
from chargers.services import IdTagError, charge_point_registration_set, id_tag_create, id_tag_delete, id_tag_update
from fleet.selectors import EvseView, charger_evses, with_evses_availability
from transactions.models import Transaction

from . import serializers as s

# Charge point ids may hold '-', '.', ':' and more, never '/' (an MQTT topic level). Anything else
# reaches the view, whose lookup answers 404 for what cannot exist.
CHARGE_POINT_ID_RE = r"[^/]+"
ID_TAG_RE = r"[^/]+"
PATH_SEGMENT_PATTERN = r"^[^/]+$"

CHARGE_POINT_ID_PARAM = OpenApiParameter(
    "charge_point_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The charge point's id (as in its URL)",
    pattern=PATH_SEGMENT_PATTERN,
    examples=[OpenApiExample("CP-0001", value="CP-0001")],
)


def requested_by(request: Request) -> str:
    """Who asked, as kept on the command: the user, and the token when one was used."""
    who = f"api:{request.user.get_username()}"
    if isinstance(request.auth, APIToken):
        who += f" (token {request.auth.name})"
    return who[:150]


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _command_error(exc: CommandError, *, snake_case: bool) -> ValidationError:
    """A CommandError as a 400 with field errors (OCPP field names become the API's when asked)."""
    errors: dict[str, Any] = {"non_field_errors": [exc.message]}
    for field, messages in exc.errors.items():
        key = _CAMEL.sub("_", field).lower() if snake_case else field
        errors.setdefault(key, []).extend(messages)
    return ValidationError(errors)


def enqueue(
    request: Request,
    *,
    charge_point: ChargePoint,
    command_request: ports.CommandRequest,
    expires_in: int | None,
    snake_case: bool,
) -> Response:
    """Queue a command through the service and answer 202 with where to follow it."""
    try:
        command = command_enqueue(
            charge_point=charge_point,
            action=command_request.action,
            payload=command_request.payload,
            requested_by=requested_by(request),
            expires_in=expires_in,
        )
    except CommandError as exc:
        raise _command_error(exc, snake_case=snake_case) from None
    command.charge_point = charge_point
    body = s.CommandSerializer(command, context={"request": request}).data
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


_COMMAND_EXAMPLE = {
    "id": 42,
    "url": "https://csms.example.com/api/v1/commands/42/",
    "charge_point_id": "CP-0001",
    "action": "Reset",
    "status": "queued",
    "message_id": "5c6b0a4e2f9d4e7e8a1b2c3d4e5f6a7b",
    "request": {"type": "Soft"},
    "response": None,
    "error_code": "",
    "error_description": "",
    "requested_by": "api:billing (token billing-prod)",
    "transaction": None,
    "created_at": "2026-11-23T10:00:00Z",
    "sent_at": None,
    "completed_at": None,
    "expires_at": "2026-11-23T11:00:00Z",
}
_ACCEPTED = OpenApiResponse(
    s.CommandSerializer,
    description="Queued: the command is sent when the charger is online and free. The `Location` header "
    "(and `url`) is the command, to follow its lifecycle.",
    examples=[OpenApiExample("Queued", value=_COMMAND_EXAMPLE, status_codes=["202"], response_only=True)],
)
_COMMAND_REFUSED = OpenApiResponse(
    description="Invalid input, or the command cannot work in the charger's state (rejected charger, no such "
    "active session, ...): messages per field, `non_field_errors` for the whole command.",
    response={"type": "object", "additionalProperties": {}},
    examples=[
        OpenApiExample(
            "No such session",
            value={
                "non_field_errors": ["transaction 7 is not an active session of CP-0001"],
                "transaction_id": ["no active session with this id on this charge point"],
            },
            status_codes=["400"],
            response_only=True,
        )
    ],
)


_CHARGER_EXAMPLE = {
    "charge_point_id": "CP-0001",
    "url": "https://csms.example.com/api/v1/chargers/CP-0001/",
    "registration_status": "Accepted",
    "online": True,
    "ocpp_version": "1.6",
    "vendor": "ACME",
    "model": "AC22",
    "serial_number": "A-1",
    "firmware_version": "1.2.0",
    "heartbeat_interval": 300,
    "last_seen_at": "2026-11-23T10:15:00Z",
    "last_heartbeat_at": "2026-11-23T10:14:00Z",
    "last_boot_at": "2026-11-20T08:00:00Z",
    "created_at": "2026-01-05T09:00:00Z",
    "charge_box_serial_number": "",
    "iccid": "",
    "imsi": "",
    "meter_type": "",
    "meter_serial_number": "",
    "dialect": "emqx",
    "transport": "mqtt",
    "first_boot_at": "2026-01-05T09:00:00Z",
    "last_connected_at": "2026-11-20T07:59:58Z",
    "last_disconnected_at": None,
    "last_disconnect_reason": "",
    "updated_at": "2026-11-23T10:15:00Z",
    "connectors": [
        {
            "connector_id": 1,
            "evse_id": 1,
            "status": "Charging",
            "error_code": "NoError",
            "info": "",
            "vendor_id": "",
            "vendor_error_code": "",
            "charger_timestamp": "2026-11-23T10:00:01Z",
            "status_updated_at": "2026-11-23T10:00:02Z",
        }
    ],
    "evses": [
        {
            "evse_id": 1,
            "availability": "Operative",
            "connectors": [
                {
                    "connector_id": 1,
                    "evse_id": 1,
                    "status": "Charging",
                    "error_code": "NoError",
                    "info": "",
                    "vendor_id": "",
                    "vendor_error_code": "",
                    "charger_timestamp": "2026-11-23T10:00:01Z",
                    "status_updated_at": "2026-11-23T10:00:02Z",
                }
            ],
        }
    ],
    "current_sessions": [
        {
            "id": 8,
            "url": "https://csms.example.com/api/v1/transactions/8/",
            "transaction_id": "8",
            "evse_id": 1,
            "connector_id": 1,
            "id_tag": "04A2B3C4",
            "started_at": "2026-11-23T10:00:00Z",
            "meter_start": 1000,
        }
    ],
}


def shortcut_schema(
    summary: str, ocpp_actions: str, request_serializer: type[serializers.Serializer], example: dict, notes: str = ""
) -> Any:
    """The schema of one shortcut: the same request body for every OCPP version; the charger's version
    builds the command (``ocpp_actions`` says what each version sends)."""
    return extend_schema(
        summary=summary,
        description=f"Queues {ocpp_actions} for this charger, as its OCPP version spells it (the same as "
        "POST /commands/ with that payload; the request body is the same for every version). "
        f"{notes}Needs the operator role.",
        request=request_serializer,
        responses={202: _ACCEPTED, 400: _COMMAND_REFUSED},
        examples=[OpenApiExample(summary, value=example, request_only=True)],
        tags=["commands"],
    )


_EVSE_NOTE = "For a 2.0.1 station `connector_id` is the EVSE id (1.6: the connector, each an EVSE of its own). "


@extend_schema_view(
    list=extend_schema(
        summary="List charge points",
        description="Filter by status, online, vendor, model, registration status, OCPP version; `search` "
        "matches part of the id.",
    ),
    retrieve=extend_schema(
        summary="A charge point, its connectors, EVSEs and current sessions",
        description="`connectors` is every connector (2.0.1 numbers them within their EVSE: see `evse_id`); "
        "`evses` the same connectors under their EVSEs, with each EVSE's availability.",
        parameters=[CHARGE_POINT_ID_PARAM],
        examples=[OpenApiExample("Charging", value=_CHARGER_EXAMPLE, response_only=True)],
    ),
)
class ChargePointViewSet(TextLookupMixin, viewsets.ReadOnlyModelViewSet):
    """Charge points, looked up by their charge point id."""

    queryset = ChargePoint.objects.all()
    serializer_class = s.ChargePointSerializer
    filterset_class = ChargePointFilterSet
    lookup_field = "charge_point_id"
    lookup_value_regex = CHARGE_POINT_ID_RE
    read_permissions = ("chargers.view_chargepoint",)
    _command = ("chargers.view_chargepoint", "chargers.add_command")
    action_permissions = {
        "accept": ("chargers.change_chargepoint",),
        "reject": ("chargers.change_chargepoint",),
        "remote_start": _command,
        "remote_stop": _command,
        "reset": _command,
        "unlock": _command,
        "availability": _command,
        "trigger": _command,
    }

    def get_queryset(self) -> QuerySet[ChargePoint]:
        queryset = super().get_queryset()
        if self.action == "list":
            return queryset
        active = Transaction.objects.filter(stopped_at__isnull=True).order_by("evse_id", "connector_id", "started_at")
        return with_evses_availability(queryset).prefetch_related(
            Prefetch("connectors", queryset=Connector.objects.order_by("evse_id", "connector_id")),
            Prefetch("transactions", queryset=active, to_attr="active_transactions"),
        )

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return s.ChargePointSerializer if self.action == "list" else s.ChargePointDetailSerializer

    def _registration(self, registration_status: str) -> Response:
        charge_point = charge_point_registration_set(charge_point=self.get_object(), status=registration_status)
        return Response(s.ChargePointDetailSerializer(charge_point, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Accept a charge point",
        description="Its next BootNotification is answered Accepted. Needs the admin role.",
        request=None,
        responses={200: s.ChargePointDetailSerializer},
        parameters=[CHARGE_POINT_ID_PARAM],
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, charge_point_id: str) -> Response:
        return self._registration(RegistrationStatus.ACCEPTED)

    @extend_schema(
        summary="Reject a charge point",
        description="Its next BootNotification is answered Rejected, and it gets no commands. Needs the admin role.",
        request=None,
        responses={200: s.ChargePointDetailSerializer},
        parameters=[CHARGE_POINT_ID_PARAM],
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, charge_point_id: str) -> Response:
        return self._registration(RegistrationStatus.REJECTED)

    def _shortcut(self, request: Request, serializer_class: type[s.ShortcutSerializer]) -> Response:
        """Validate the shortcut's fields, let the charger's version build the command, queue it."""
        charge_point = self.get_object()
        try:
            port = ports.port_of(charge_point)
        except LookupError as exc:  # a version no protocol package speaks: nothing to build it with
            raise ValidationError({"non_field_errors": [str(exc)]}) from None
        serializer = serializer_class(data=request.data, context={"port": port, "charge_point": charge_point})
        serializer.is_valid(raise_exception=True)
        try:
            # The version's builder may refuse too (2.0.1's stop needs a session the station names).
            command_request = serializer.command(port.shortcuts)
        except CommandError as exc:
            raise _command_error(exc, snake_case=True) from None
        return enqueue(
            request,
            charge_point=charge_point,
            command_request=command_request,
            expires_in=serializer.validated_data.get("expires_in"),
            snake_case=True,
        )

    @shortcut_schema(
        "Remote start",
        "a RemoteStartTransaction (1.6) or RequestStartTransaction (2.0.1, with a fresh remoteStartId; the "
        "session it causes names the command in `transaction` once it starts)",
        s.RemoteStartSerializer,
        {"id_tag": "04A2B3C4", "connector_id": 1},
        _EVSE_NOTE,
    )
    @action(detail=True, methods=["post"], url_path="remote-start")
    def remote_start(self, request: Request, charge_point_id: str) -> Response:
        return self._shortcut(request, s.RemoteStartSerializer)

    @shortcut_schema(
        "Remote stop",
        "a RemoteStopTransaction (1.6) or RequestStopTransaction (2.0.1, with the charger's own transactionId)",
        s.RemoteStopSerializer,
        {"transaction_id": 7},
        "`transaction_id` is the session's `id` (a number) or its `transaction_id` (a string, e.g. a 2.0.1 "
        "charger's own id). ",
    )
    @action(detail=True, methods=["post"], url_path="remote-stop")
    def remote_stop(self, request: Request, charge_point_id: str) -> Response:
        return self._shortcut(request, s.RemoteStopSerializer)

    @shortcut_schema("Reset", "a Reset (1.6 Soft/Hard; 2.0.1 OnIdle/Immediate)", s.ResetSerializer, {"type": "Soft"})
    @action(detail=True, methods=["post"])
    def reset(self, request: Request, charge_point_id: str) -> Response:
        return self._shortcut(request, s.ResetSerializer)

    @shortcut_schema("Unlock a connector", "an UnlockConnector", s.UnlockSerializer, {"connector_id": 1}, _EVSE_NOTE)
    @action(detail=True, methods=["post"])
    def unlock(self, request: Request, charge_point_id: str) -> Response:
        return self._shortcut(request, s.UnlockSerializer)

    @shortcut_schema(
        "Change availability",
        "a ChangeAvailability (of the whole charger for `connector_id` 0)",
        s.AvailabilitySerializer,
        {"connector_id": 0, "type": "Inoperative"},
        _EVSE_NOTE,
    )
    @action(detail=True, methods=["post"])
    def availability(self, request: Request, charge_point_id: str) -> Response:
        return self._shortcut(request, s.AvailabilitySerializer)

    @shortcut_schema(
        "Trigger a message",
        "a TriggerMessage (`requested_message`: one the charger's version can trigger)",
        s.TriggerSerializer,
        {"requested_message": "StatusNotification", "connector_id": 1},
        _EVSE_NOTE,
    )
    @action(detail=True, methods=["post"])
    def trigger(self, request: Request, charge_point_id: str) -> Response:
        return self._shortcut(request, s.TriggerSerializer)


CONNECTOR_ID_PARAM = OpenApiParameter(
    "connector_id",
    OpenApiTypes.INT,
    OpenApiParameter.PATH,
    description="0 is the charger as a whole. 2.0.1 numbers connectors within their EVSE: where two EVSEs have "
    "a connector of this number, say which with `evse_id`.",
)
EVSE_ID_QUERY_PARAM = OpenApiParameter(
    "evse_id",
    OpenApiTypes.INT,
    OpenApiParameter.QUERY,
    required=False,
    description="The connector's EVSE: needed only where its number repeats across EVSEs (2.0.1); a 1.6 "
    "connector is the EVSE of its own number",
)
EVSE_ID_PARAM = OpenApiParameter(
    "evse_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The EVSE's number; 0 is the station"
)
_MAX_ID = 2**31 - 1


def _charge_point(charge_point_id: str) -> ChargePoint:
    return get_object_or_404(ChargePoint.objects.only("pk"), charge_point_id=charge_point_id)


def _number(value: str) -> int | None:
    """A path or query number as OCPP has them (0 .. 2^31-1); None for anything else."""
    if value.isascii() and value.isdigit() and int(value) <= _MAX_ID:
        return int(value)
    return None


def connector_of(request: Request, *, charge_point_id: str, connector_id: str) -> Connector:
    """The connector a path names: by its number, and by ``?evse_id=`` where the number repeats (2.0.1).

    1.6 connectors are unique by number (each is an EVSE of its own), so every 1.6 URL stays as it was.
    A number on several EVSEs without ``evse_id`` is a 400 that lists them, never an arbitrary pick.
    """
    raw_evse = request.query_params.get("evse_id")
    evse_id = None
    if raw_evse is not None:
        evse_id = _number(raw_evse)
        if evse_id is None:
            raise ValidationError({"evse_id": [f"must be a whole number from 0 to {_MAX_ID}"]})
    number = _number(connector_id)
    if number is None:
        raise Http404
    connectors = Connector.objects.filter(charge_point__charge_point_id=charge_point_id, connector_id=number)
    if evse_id is not None:
        connectors = connectors.filter(evse_id=evse_id)
    found = list(connectors.order_by("evse_id")[:10])
    if not found:
        raise Http404
    if len(found) > 1:
        evses = ", ".join(str(c.evse_id) for c in found)
        raise ValidationError(
            {"evse_id": [f"connector {number} is on EVSEs {evses} of this charge point: say which with ?evse_id="]}
        )
    return found[0]


@extend_schema_view(
    list=extend_schema(
        summary="Connectors of a charge point",
        description="In EVSE, then connector order. Filter by `evse_id` (2.0.1 numbers connectors within their "
        "EVSE), connector id, status.",
        parameters=[CHARGE_POINT_ID_PARAM],
    ),
    retrieve=extend_schema(
        summary="A connector", parameters=[CHARGE_POINT_ID_PARAM, CONNECTOR_ID_PARAM, EVSE_ID_QUERY_PARAM]
    ),
)
class ConnectorViewSet(TextLookupMixin, viewsets.ReadOnlyModelViewSet):
    """The connectors of one charge point (a handful: not paginated)."""

    queryset = Connector.objects.none()  # the model, for the schema; get_queryset scopes it to the charger
    serializer_class = s.ConnectorSerializer
    pagination_class = None
    filterset_class = ConnectorFilterSet
    lookup_field = "connector_id"
    read_permissions = ("chargers.view_connector",)

    def get_queryset(self) -> QuerySet[Connector]:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        charge_point = _charge_point(self.kwargs["charge_point_id"])
        return Connector.objects.filter(charge_point=charge_point).order_by("evse_id", "connector_id")

    def get_object(self) -> Connector:
        connector = connector_of(
            self.request, charge_point_id=self.kwargs["charge_point_id"], connector_id=self.kwargs["connector_id"]
        )
        self.check_object_permissions(self.request, connector)
        return connector


@extend_schema_view(
    list=extend_schema(
        summary="Status history of a connector",
        description="Newest first, cursor-paginated (follow `next`).",
        parameters=[CHARGE_POINT_ID_PARAM, CONNECTOR_ID_PARAM, EVSE_ID_QUERY_PARAM],
    ),
)
class ConnectorStatusHistoryViewSet(TextLookupMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """One row per StatusNotification received for the connector."""

    queryset = ConnectorStatusChange.objects.none()
    serializer_class = s.ConnectorStatusChangeSerializer
    filterset_class = ConnectorStatusChangeFilterSet
    pagination_class = cursor_pagination("-received_at", "-id")
    read_permissions = ("chargers.view_connectorstatuschange",)

    def get_queryset(self) -> QuerySet[ConnectorStatusChange]:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        connector = connector_of(
            self.request, charge_point_id=self.kwargs["charge_point_id"], connector_id=self.kwargs["connector_id"]
        )
        return ConnectorStatusChange.objects.filter(connector=connector)


@extend_schema_view(
    list=extend_schema(
        summary="EVSEs of a charge point, with their connectors",
        description="EVSE 0 is the station. A 1.6 charger's connectors are EVSEs of their own (connector 2 is "
        "EVSE 2); a 2.0.1 station numbers its connectors within each EVSE.",
        parameters=[CHARGE_POINT_ID_PARAM],
    ),
    retrieve=extend_schema(summary="An EVSE and its connectors", parameters=[CHARGE_POINT_ID_PARAM, EVSE_ID_PARAM]),
)
class EvseViewSet(TextLookupMixin, viewsets.GenericViewSet):
    """The EVSEs of one charge point (a handful: not paginated), read through ``fleet.selectors``."""

    queryset = Evse.objects.none()
    serializer_class = s.EvseSerializer
    pagination_class = None
    filterset_class = None
    lookup_field = "evse_id"
    # The EVSE is the connectors' level: whoever may see connectors may see it.
    read_permissions = ("chargers.view_connector",)

    def _evses(self) -> list[EvseView]:
        return charger_evses(_charge_point(self.kwargs["charge_point_id"]))

    def list(self, request: Request, charge_point_id: str) -> Response:
        return Response(self.get_serializer(self._evses(), many=True).data)

    def retrieve(self, request: Request, charge_point_id: str, evse_id: str) -> Response:
        number = _number(evse_id)
        evse = next((evse for evse in self._evses() if evse.evse_id == number), None)
        if evse is None:
            raise Http404
        return Response(self.get_serializer(evse).data)


_VARIABLE_EXAMPLE = {
    "component": "OCPPCommCtrlr",
    "component_instance": "",
    "evse_id": None,
    "connector_id": None,
    "variable": "HeartbeatInterval",
    "variable_instance": "",
    "attribute_type": "Actual",
    "value": "300",
    "mutability": "ReadWrite",
    "persistent": True,
    "constant": False,
    "unit": "s",
    "data_type": "integer",
    "min_limit": None,
    "max_limit": None,
    "values_list": "",
    "supports_monitoring": False,
    "updated_at": "2026-11-23T10:00:00Z",
}


@extend_schema_view(
    list=extend_schema(
        summary="Device model of a charge point (OCPP 2.0.1 variables)",
        description="Every attribute of every variable the station reported (NotifyReport after GetBaseReport, "
        "GetVariables, accepted SetVariables), by component then variable. Read-only: change a value with a "
        "SetVariables command (POST /commands/). Filter by component, variable, their instances, `evse_id`, "
        "`connector_id`, `station` (station-wide components), attribute type, mutability, `search`. Empty for "
        "a 1.6 charger, which has configuration keys instead.",
        parameters=[CHARGE_POINT_ID_PARAM],
        examples=[OpenApiExample("Heartbeat interval", value=_VARIABLE_EXAMPLE, response_only=True)],
    ),
)
class DeviceVariableViewSet(TextLookupMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The device model of one 2.0.1 station: one row per (component, variable, attribute type)."""

    queryset = DeviceVariable.objects.none()
    serializer_class = s.DeviceVariableSerializer
    filterset_class = DeviceVariableFilterSet
    # The charger's own description of itself: whoever may see the charger may see it.
    read_permissions = ("chargers.view_chargepoint",)

    def get_queryset(self) -> QuerySet[DeviceVariable]:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        charge_point = _charge_point(self.kwargs["charge_point_id"])
        return DeviceVariable.objects.filter(charge_point=charge_point).order_by(
            "component",
            "component_instance",
            "evse_id",
            "connector_id",
            "variable",
            "variable_instance",
            "attribute_type",
            "id",
        )


_RESERVATION_EXAMPLE = {
    "reservation_id": 7,
    "evse_id": 1,
    "connector_id": 0,
    "connector_type": "",
    "id_tag": "04A2B3C4",
    "id_token_type": "ISO14443",
    "parent_id_tag": "FLEET-ACME",
    "parent_id_token_type": "Central",
    "expiry_date": "2026-11-23T11:00:00Z",
    "status": "accepted",
    "created_at": "2026-11-23T10:00:00Z",
    "updated_at": "2026-11-23T10:00:01Z",
}


@extend_schema_view(
    list=extend_schema(
        summary="Reservations of a charge point",
        description="The reservations asked of the charger (ReserveNow through POST /commands/), newest first: "
        "`requested` until it answers, then `accepted` or `rejected`; an accepted one ends `used` (a session "
        "started on it), `cancelled` (CancelReservation, or a 2.0.1 station's ReservationStatusUpdate Removed) "
        "or `expired` (its expiry passed, or the station said Expired). `evse_id` null: any EVSE (2.0.1 with "
        "no evseId, or with a `connector_type`; 1.6 connector 0); a 1.6 reservation's EVSE is its connector. "
        "`parent_id_tag` is 1.6's parentIdTag and 2.0.1's groupIdToken. Filter by `status`.",
        parameters=[CHARGE_POINT_ID_PARAM],
        examples=[OpenApiExample("EVSE 1 for a card", value=_RESERVATION_EXAMPLE, response_only=True)],
    ),
)
class ReservationViewSet(TextLookupMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The reservations of one charge point, both versions."""

    queryset = Reservation.objects.none()
    serializer_class = s.ReservationSerializer
    filterset_fields = ["status"]
    # Made and cancelled through commands: whoever may see the charger may see them.
    read_permissions = ("chargers.view_chargepoint",)

    def get_queryset(self) -> QuerySet[Reservation]:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        charge_point = _charge_point(self.kwargs["charge_point_id"])
        return Reservation.objects.filter(charge_point=charge_point).order_by("-created_at", "-id")


ID_TAG_PARAM = OpenApiParameter(
    "id_tag",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The id tag",
    pattern=PATH_SEGMENT_PATTERN,
    examples=[OpenApiExample("04A2B3C4", value="04A2B3C4")],
)
_ID_TAG_EXAMPLE = {
    "id_tag": "04A2B3C4",
    "status": "Accepted",
    "expiry_date": "2027-12-31T23:59:59Z",
    "parent": "FLEET-ACME",
    "note": "Driver 17",
}


@extend_schema_view(
    list=extend_schema(
        summary="List id tags",
        description="One list for both versions: `type` is the OCPP 2.0.1 IdTokenEnumType (a 2.0.1 station "
        "asks for a value and a type; 1.6 for the value only). A status 1.6 does not have reaches a 1.6 "
        "charger as Blocked.",
    ),
    retrieve=extend_schema(summary="An id tag", parameters=[ID_TAG_PARAM]),
    create=extend_schema(
        summary="Create an id tag",
        description="Needs the operator role. `parent` is the id tag string of the parent.",
        examples=[OpenApiExample("New card", value=_ID_TAG_EXAMPLE, request_only=True)],
    ),
    update=extend_schema(summary="Replace an id tag's status, expiry, parent, note", parameters=[ID_TAG_PARAM]),
    partial_update=extend_schema(
        summary="Change an id tag",
        parameters=[ID_TAG_PARAM],
        examples=[OpenApiExample("Block", value={"status": "Blocked"}, request_only=True)],
    ),
    destroy=extend_schema(
        summary="Delete an id tag", description="Its children lose their parent.", parameters=[ID_TAG_PARAM]
    ),
)
class IdTagViewSet(TextLookupMixin, viewsets.ModelViewSet):
    """The authorization list: RFID cards and app tokens, with status, expiry and parent."""

    queryset = IdTag.objects.select_related("parent")
    serializer_class = s.IdTagSerializer
    filterset_class = IdTagFilterSet
    lookup_field = "id_tag"
    lookup_value_regex = ID_TAG_RE
    read_permissions = ("chargers.view_idtag",)
    action_permissions = {
        "create": ("chargers.view_idtag", "chargers.add_idtag"),
        "update": ("chargers.view_idtag", "chargers.change_idtag"),
        "partial_update": ("chargers.view_idtag", "chargers.change_idtag"),
        "destroy": ("chargers.view_idtag", "chargers.delete_idtag"),
    }

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return s.IdTagUpdateSerializer if self.action in ("update", "partial_update") else s.IdTagSerializer

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        try:
            serializer.instance = id_tag_create(**serializer.validated_data)
        except IdTagError as exc:
            raise ValidationError({exc.field: [exc.message]}) from None

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        tag = serializer.instance
        assert isinstance(tag, IdTag)  # an update's serializer holds the looked-up tag
        try:
            serializer.instance = id_tag_update(tag=tag, **serializer.validated_data)
        except IdTagError as exc:
            raise ValidationError({exc.field: [exc.message]}) from None

    def perform_destroy(self, instance: IdTag) -> None:
        id_tag_delete(tag=instance)


COMMAND_ID_PARAM = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The command's id")


@extend_schema_view(
    list=extend_schema(
        summary="List commands",
        description="Newest first.",
        parameters=[
            OpenApiParameter(
                "charge_point",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                description="Deprecated: use `charge_point_id`",
                deprecated=True,
            )
        ],
    ),
    retrieve=extend_schema(summary="A command and its lifecycle", parameters=[COMMAND_ID_PARAM]),
)
class CommandViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Commands sent (or to send) to charge points: one outstanding per charger, the rest queued."""

    queryset = Command.objects.select_related("charge_point")
    serializer_class = s.CommandSerializer
    filterset_class = CommandFilterSet
    read_permissions = ("chargers.view_command",)
    action_permissions = {
        "create": ("chargers.view_command", "chargers.add_command"),
        "cancel": ("chargers.view_command", "chargers.change_command"),
    }

    @extend_schema(
        summary="Send a command to a charge point",
        description="Any CSMS-initiated action of the OCPP version the charger speaks (its `ocpp_version`: 1.6 "
        "or 2.0.1), its payload as that version's schema has it. The payload is validated against the "
        "schema and the charger's state, then queued; it is sent when the charger is online and has no "
        "other command outstanding. An action of another version, or a payload the schema refuses, is a "
        "400 naming the field (OCPP's spelling of it, e.g. `idToken.type`). Needs the operator role. The "
        "charger is `charge_point_id`, as in every response; `charge_point` is still read but deprecated.",
        request=s.CommandCreateSerializer,
        responses={202: _ACCEPTED, 400: _COMMAND_REFUSED},
        examples=[
            OpenApiExample(
                "Reset",
                value={
                    "charge_point_id": "CP-0001",
                    "action": "Reset",
                    "payload": {"type": "Soft"},
                    "expires_in": 3600,
                },
                request_only=True,
            ),
            OpenApiExample(
                "Read configuration (1.6)",
                value={
                    "charge_point_id": "CP-0001",
                    "action": "GetConfiguration",
                    "payload": {"key": ["HeartbeatInterval"]},
                },
                request_only=True,
            ),
            OpenApiExample(
                "Read variables (2.0.1)",
                value={
                    "charge_point_id": "CS-2001",
                    "action": "GetVariables",
                    "payload": {
                        "getVariableData": [
                            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
                        ]
                    },
                },
                request_only=True,
            ),
            OpenApiExample(
                "Start a session (2.0.1)",
                value={
                    "charge_point_id": "CS-2001",
                    "action": "RequestStartTransaction",
                    "payload": {
                        "idToken": {"idToken": "04A2B3C4", "type": "ISO14443"},
                        "remoteStartId": 17,
                        "evseId": 1,
                    },
                },
                request_only=True,
            ),
        ],
    )
    def create(self, request: Request) -> Response:
        serializer = s.CommandCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return enqueue(
            request,
            charge_point=data["charge_point"],
            command_request=serializer.command(),
            expires_in=data.get("expires_in"),
            snake_case=False,
        )

    @extend_schema(
        summary="Cancel a queued command",
        description="Only a command still queued can be cancelled (a sent one is already on its way). "
        "Needs the operator role.",
        request=None,
        parameters=[COMMAND_ID_PARAM],
        responses={
            200: s.CommandSerializer,
            409: OpenApiResponse(
                ErrorSerializer,
                description="The command is not queued any more.",
                examples=[
                    OpenApiExample(
                        "Already sent",
                        value={"detail": "only queued commands can be cancelled; this one is sent"},
                        status_codes=["409"],
                        response_only=True,
                    )
                ],
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        try:
            command = command_cancel(command=self.get_object())
        except CommandError as exc:
            return Response({"detail": exc.message}, status=status.HTTP_409_CONFLICT)
        command = self.get_queryset().get(pk=command.pk)
        return Response(self.get_serializer(command).data)
