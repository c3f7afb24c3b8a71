"""Views of the fleet API: chargers, connectors, id tags, commands (the credentials API is gateway.api's).

Thin: each view picks a queryset, validates input with a serializer and calls a service.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Prefetch, QuerySet
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
from chargers.filtersets import ChargePointFilterSet, CommandFilterSet, ConnectorStatusChangeFilterSet, IdTagFilterSet
from chargers.models import ChargePoint, Command, Connector, ConnectorStatusChange, IdTag, RegistrationStatus
from chargers.services import IdTagError, charge_point_registration_set, id_tag_create, id_tag_delete, id_tag_update
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
    "first_boot_at": "2026-01-05T09:00:00Z",
    "last_connected_at": "2026-11-20T07:59:58Z",
    "last_disconnected_at": None,
    "last_disconnect_reason": "",
    "updated_at": "2026-11-23T10:15:00Z",
    "connectors": [
        {
            "connector_id": 1,
            "status": "Charging",
            "error_code": "NoError",
            "info": "",
            "vendor_id": "",
            "vendor_error_code": "",
            "charger_timestamp": "2026-11-23T10:00:01Z",
            "status_updated_at": "2026-11-23T10:00:02Z",
        }
    ],
    "current_sessions": [
        {
            "id": 8,
            "url": "https://csms.example.com/api/v1/transactions/8/",
            "connector_id": 1,
            "id_tag": "04A2B3C4",
            "started_at": "2026-11-23T10:00:00Z",
            "meter_start": 1000,
        }
    ],
}


def shortcut_schema(
    summary: str, ocpp_action: str, request_serializer: type[serializers.Serializer], example: dict
) -> Any:
    return extend_schema(
        summary=summary,
        description=f"Queues an OCPP `{ocpp_action}` for this charger (same as POST /commands/). "
        "Needs the operator role.",
        request=request_serializer,
        responses={202: _ACCEPTED, 400: _COMMAND_REFUSED},
        examples=[OpenApiExample(ocpp_action, value=example, request_only=True)],
        tags=["commands"],
    )


@extend_schema_view(
    list=extend_schema(
        summary="List charge points",
        description="Filter by status, online, vendor, model, registration status; `search` matches part of the id.",
    ),
    retrieve=extend_schema(
        summary="A charge point, its connectors and current sessions",
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
        active = Transaction.objects.filter(stopped_at__isnull=True).order_by("connector_id", "started_at")
        return queryset.prefetch_related(
            "connectors", Prefetch("transactions", queryset=active, to_attr="active_transactions")
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
        serializer = serializer_class(data=request.data, context={"port": port})
        serializer.is_valid(raise_exception=True)
        return enqueue(
            request,
            charge_point=charge_point,
            command_request=serializer.command(port.shortcuts),
            expires_in=serializer.validated_data.get("expires_in"),
            snake_case=True,
        )

    @shortcut_schema(
        "Remote start", "RemoteStartTransaction", s.RemoteStartSerializer, {"id_tag": "04A2B3C4", "connector_id": 1}
    )
    @action(detail=True, methods=["post"], url_path="remote-start")
    def remote_start(self, request: Request, charge_point_id: str) -> Response:
        return self._shortcut(request, s.RemoteStartSerializer)

    @shortcut_schema("Remote stop", "RemoteStopTransaction", s.RemoteStopSerializer, {"transaction_id": 7})
    @action(detail=True, methods=["post"], url_path="remote-stop")
    def remote_stop(self, request: Request, charge_point_id: str) -> Response:
        return self._shortcut(request, s.RemoteStopSerializer)

    @shortcut_schema("Reset", "Reset", s.ResetSerializer, {"type": "Soft"})
    @action(detail=True, methods=["post"])
    def reset(self, request: Request, charge_point_id: str) -> Response:
        return self._shortcut(request, s.ResetSerializer)

    @shortcut_schema("Unlock a connector", "UnlockConnector", s.UnlockSerializer, {"connector_id": 1})
    @action(detail=True, methods=["post"])
    def unlock(self, request: Request, charge_point_id: str) -> Response:
        return self._shortcut(request, s.UnlockSerializer)

    @shortcut_schema(
        "Change availability",
        "ChangeAvailability",
        s.AvailabilitySerializer,
        {"connector_id": 0, "type": "Inoperative"},
    )
    @action(detail=True, methods=["post"])
    def availability(self, request: Request, charge_point_id: str) -> Response:
        return self._shortcut(request, s.AvailabilitySerializer)

    @shortcut_schema(
        "Trigger a message",
        "TriggerMessage",
        s.TriggerSerializer,
        {"requested_message": "StatusNotification", "connector_id": 1},
    )
    @action(detail=True, methods=["post"])
    def trigger(self, request: Request, charge_point_id: str) -> Response:
        return self._shortcut(request, s.TriggerSerializer)


CONNECTOR_ID_PARAM = OpenApiParameter(
    "connector_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="0 is the charger as a whole"
)


@extend_schema_view(
    list=extend_schema(summary="Connectors of a charge point", parameters=[CHARGE_POINT_ID_PARAM]),
    retrieve=extend_schema(summary="A connector", parameters=[CHARGE_POINT_ID_PARAM, CONNECTOR_ID_PARAM]),
)
class ConnectorViewSet(TextLookupMixin, viewsets.ReadOnlyModelViewSet):
    """The connectors of one charge point (a handful: not paginated)."""

    queryset = Connector.objects.none()  # the model, for the schema; get_queryset scopes it to the charger
    serializer_class = s.ConnectorSerializer
    pagination_class = None
    filterset_class = None
    lookup_field = "connector_id"
    read_permissions = ("chargers.view_connector",)

    def get_queryset(self) -> QuerySet[Connector]:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        charge_point = get_object_or_404(ChargePoint.objects.only("pk"), charge_point_id=self.kwargs["charge_point_id"])
        return Connector.objects.filter(charge_point=charge_point).order_by("connector_id")


@extend_schema_view(
    list=extend_schema(
        summary="Status history of a connector",
        description="Newest first, cursor-paginated (follow `next`).",
        parameters=[CHARGE_POINT_ID_PARAM, CONNECTOR_ID_PARAM],
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
        connector = get_object_or_404(
            Connector.objects.only("pk"),
            charge_point__charge_point_id=self.kwargs["charge_point_id"],
            connector_id=self.kwargs["connector_id"],
        )
        return ConnectorStatusChange.objects.filter(connector=connector)


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
    list=extend_schema(summary="List id tags"),
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
        description="Any OCPP 1.6 CSMS-initiated action, its payload as the OCPP schema has it. The payload is "
        "validated against the schema and the charger's state, then queued; it is sent when the charger is "
        "online and has no other command outstanding. Needs the operator role. The charger is "
        "`charge_point_id`, as in every response; `charge_point` is still read but deprecated.",
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
                "Read configuration",
                value={
                    "charge_point_id": "CP-0001",
                    "action": "GetConfiguration",
                    "payload": {"key": ["HeartbeatInterval"]},
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
