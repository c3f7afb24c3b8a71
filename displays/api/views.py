"""/api/v1/chargers/{id}/display-messages/: a station's display messages; set, clear, read them again."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apikeys.viewsets import TextLookupMixin
from chargers.api.views import CHARGE_POINT_ID_PARAM, requested_by
from chargers.commands import CommandError, command_enqueue
from chargers.models import ChargePoint, Command
from displays.models import DisplayMessage
from displays.services import display_message_next_id, display_message_payload, display_report_next_id

from .serializers import DisplayMessageCreateSerializer, DisplayMessageSerializer

MESSAGE_ID_PARAM = OpenApiParameter("message_id", int, OpenApiParameter.PATH, description="The station's message id")
_COMMAND = ("chargers.view_chargepoint", "chargers.add_command")


def _queue(request: Request, charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> Command:
    try:
        return command_enqueue(
            charge_point=charge_point, action=action, payload=payload, requested_by=requested_by(request)
        )
    except CommandError as exc:
        errors: dict[str, list[str]] = {"non_field_errors": [exc.message]}
        for field, messages in exc.errors.items():
            errors.setdefault(field, []).extend(messages)
        raise ValidationError(errors) from None


class DisplayMessageViewSet(TextLookupMixin, viewsets.GenericViewSet):
    """The display messages of one 2.0.1 station (a 1.6 charger has none: its commands are refused, 400)."""

    serializer_class = DisplayMessageSerializer
    pagination_class = None
    read_permissions = ("chargers.view_chargepoint",)
    action_permissions = {"create": _COMMAND, "clear": _COMMAND, "refresh": _COMMAND}

    def _charge_point(self) -> ChargePoint:
        return get_object_or_404(ChargePoint, charge_point_id=self.kwargs["charge_point_id"])

    def get_queryset(self) -> QuerySet[DisplayMessage]:
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI document: no charger in the path
            return DisplayMessage.objects.none()
        return DisplayMessage.objects.filter(charge_point=self._charge_point())

    @extend_schema(
        summary="Display messages of a station",
        description="Every message we asked the station to show (SetDisplayMessage: `requested`, then `accepted` "
        "or `rejected` with the station's `answer`, e.g. NotSupportedPriority or UnknownTransaction), cleared "
        "ones (`cleared`), the ones it reported without our asking (`reported`) and those a complete report "
        "no longer holds (`removed`).",
        parameters=[CHARGE_POINT_ID_PARAM],
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.get_queryset(), many=True).data)

    @extend_schema(
        summary="Show a message on a station",
        description="Queues a SetDisplayMessage with a fresh message id (or `message_id` to replace one). "
        "Refused (400, with the reason) before it is queued: an end before the start, a `transaction_id` "
        "that is no active session of the station, content longer than the station's "
        "DisplayMessageCtrlr.PersonalMessageSize, a format or priority outside its SupportedFormats / "
        "SupportedPriorities (when its device model says). Needs the operator role.",
        request=DisplayMessageCreateSerializer,
        responses={202: DisplayMessageSerializer},
        parameters=[CHARGE_POINT_ID_PARAM],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        charge_point = self._charge_point()
        serializer = DisplayMessageCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = serializer.message(display_message_next_id(charge_point=charge_point))
        _queue(request, charge_point, "SetDisplayMessage", display_message_payload(message=message))
        row = DisplayMessage.objects.get(charge_point=charge_point, message_id=message.message_id)
        return Response(self.get_serializer(row).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Clear a display message",
        description="Queues a ClearDisplayMessage of the message; `cleared` once the station answers Accepted "
        "(or Unknown: it holds no such message). Needs the operator role.",
        request=None,
        responses={202: DisplayMessageSerializer},
        parameters=[CHARGE_POINT_ID_PARAM, MESSAGE_ID_PARAM],
    )
    def clear(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        row = get_object_or_404(self.get_queryset(), message_id=kwargs["message_id"])
        _queue(request, row.charge_point, "ClearDisplayMessage", {"id": row.message_id})
        return Response(self.get_serializer(row).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Read a station's display messages again",
        description="Queues a GetDisplayMessages of every message (a fresh requestId): the station's "
        "NotifyDisplayMessages parts are stored as reported, and the messages the complete report leaves out "
        "become `removed` (Unknown: it holds none). Answers the queued command's id and requestId. Needs the "
        "operator role.",
        request=None,
        responses={
            202: inline_serializer(
                "DisplayMessagesRefresh",
                {"command": serializers.IntegerField(), "request_id": serializers.IntegerField()},
            )
        },
        parameters=[CHARGE_POINT_ID_PARAM],
    )
    def refresh(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        charge_point = self._charge_point()
        request_id = display_report_next_id(charge_point=charge_point)
        command = _queue(request, charge_point, "GetDisplayMessages", {"requestId": request_id})
        return Response({"command": command.pk, "request_id": request_id}, status=status.HTTP_202_ACCEPTED)
