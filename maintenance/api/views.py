"""The firmware and logs API: a charger's firmware updates, log uploads and (2.0.1) publications; POST asks
for a new one (the charger's version builds the command with a fresh requestId, ``maintenance.services``)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apikeys.viewsets import TextLookupMixin
from chargers.api.views import CHARGE_POINT_ID_PARAM, requested_by
from chargers.commands import CommandError
from chargers.models import ChargePoint
from maintenance import selectors, services
from maintenance.models import FirmwarePublication, FirmwareUpdate, LogUpload

from . import serializers as s

REQUEST_ID_PARAM = OpenApiParameter("request_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The requestId")
_REFUSED = {"type": "object", "additionalProperties": {}}


def _refused(exc: CommandError) -> ValidationError:
    """A refusal of the charger's version as a 400: the reason, and the payload's fields it is about."""
    errors: dict[str, Any] = {"non_field_errors": [exc.message]}
    for field, messages in exc.errors.items():
        errors.setdefault(field, []).extend(messages)
    return ValidationError(errors)


class _ChargerRequests(TextLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Requests of one charger, by requestId."""

    lookup_field = "request_id"
    lookup_value_regex = r"-?[0-9]+"
    read_permissions = ("chargers.view_chargepoint",)
    _command = ("chargers.view_chargepoint", "chargers.add_command")
    action_permissions = {"create": _command, "unpublish": _command}

    def charge_point(self) -> ChargePoint:
        return get_object_or_404(ChargePoint, charge_point_id=self.kwargs["charge_point_id"])

    def _accepted(self, row: Any) -> Response:
        row = self.get_queryset().get(pk=row.pk)
        return Response(self.get_serializer(row).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(summary="Firmware updates of a charge point", parameters=[CHARGE_POINT_ID_PARAM]),
    retrieve=extend_schema(
        summary="A firmware update with its status timeline", parameters=[CHARGE_POINT_ID_PARAM, REQUEST_ID_PARAM]
    ),
)
class FirmwareUpdateViewSet(_ChargerRequests):
    serializer_class = s.FirmwareUpdateSerializer

    def get_queryset(self) -> QuerySet[FirmwareUpdate]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no charger
            return FirmwareUpdate.objects.none()
        return selectors.firmware_updates(self.charge_point()).select_related("charge_point")

    @extend_schema(
        summary="Update a charge point's firmware",
        description="Queues a 1.6 UpdateFirmware (SignedUpdateFirmware when a `signing_certificate` and "
        "`signature` are given) or a 2.0.1 UpdateFirmware (signed with them if given), with a fresh requestId. "
        "Its answer and the charger's FirmwareStatusNotifications make the `status` and its `changes`. "
        "400: a location that is no URL, a signing certificate that is no PEM certificate, a certificate "
        "without a signature, an install time in a 1.6 unsigned update. Needs the operator role.",
        request=s.FirmwareUpdateRequestSerializer,
        responses={202: s.FirmwareUpdateSerializer, 400: _REFUSED},
        parameters=[CHARGE_POINT_ID_PARAM],
    )
    def create(self, request: Request, charge_point_id: str) -> Response:
        data = _valid(s.FirmwareUpdateRequestSerializer, request)
        try:
            update = services.firmware_update_request(
                charge_point=self.charge_point(), requested_by=requested_by(request), **data
            )
        except CommandError as exc:
            raise _refused(exc) from None
        return self._accepted(update)


@extend_schema_view(
    list=extend_schema(summary="Log uploads of a charge point", parameters=[CHARGE_POINT_ID_PARAM]),
    retrieve=extend_schema(
        summary="A log upload with its status timeline", parameters=[CHARGE_POINT_ID_PARAM, REQUEST_ID_PARAM]
    ),
)
class LogUploadViewSet(_ChargerRequests):
    serializer_class = s.LogUploadSerializer

    def get_queryset(self) -> QuerySet[LogUpload]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no charger
            return LogUpload.objects.none()
        return selectors.log_uploads(self.charge_point()).select_related("charge_point")

    @extend_schema(
        summary="Ask a charge point to upload a log",
        description="Queues a GetLog (`log_type` DiagnosticsLog or SecurityLog) with a fresh requestId; a 1.6 "
        "charger's diagnostics log is a GetDiagnostics unless `action` is GetLog. Its answer (with the file "
        "name) and the LogStatusNotifications (1.6: DiagnosticsStatusNotifications) make the `status`. "
        "Needs the operator role.",
        request=s.LogUploadRequestSerializer,
        responses={202: s.LogUploadSerializer, 400: _REFUSED},
        parameters=[CHARGE_POINT_ID_PARAM],
    )
    def create(self, request: Request, charge_point_id: str) -> Response:
        data = _valid(s.LogUploadRequestSerializer, request)
        try:
            upload = services.log_upload_request(
                charge_point=self.charge_point(), requested_by=requested_by(request), **data
            )
        except CommandError as exc:
            raise _refused(exc) from None
        return self._accepted(upload)


@extend_schema_view(
    list=extend_schema(summary="Firmware a Local Controller publishes (2.0.1)", parameters=[CHARGE_POINT_ID_PARAM]),
    retrieve=extend_schema(summary="A firmware publication", parameters=[CHARGE_POINT_ID_PARAM, REQUEST_ID_PARAM]),
)
class FirmwarePublicationViewSet(_ChargerRequests):
    serializer_class = s.FirmwarePublicationSerializer

    def get_queryset(self) -> QuerySet[FirmwarePublication]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no charger
            return FirmwarePublication.objects.none()
        return selectors.firmware_publications(self.charge_point()).select_related("charge_point")

    @extend_schema(
        summary="Publish a firmware to a Local Controller's stations (2.0.1 PublishFirmware)",
        description="Queues a PublishFirmware with a fresh requestId; PublishFirmwareStatusNotifications make "
        "the `status` (Published with the `published_locations`). Needs the operator role.",
        request=s.PublishRequestSerializer,
        responses={202: s.FirmwarePublicationSerializer, 400: _REFUSED},
        parameters=[CHARGE_POINT_ID_PARAM],
    )
    def create(self, request: Request, charge_point_id: str) -> Response:
        data = _valid(s.PublishRequestSerializer, request)
        try:
            publication = services.firmware_publish_request(
                charge_point=self.charge_point(), requested_by=requested_by(request), **data
            )
        except CommandError as exc:
            raise _refused(exc) from None
        return self._accepted(publication)

    @extend_schema(
        summary="Unpublish a firmware (2.0.1 UnpublishFirmware)",
        description="Queues an UnpublishFirmware of the publication's checksum; `Unpublished` when the Local "
        "Controller answers so. Needs the operator role.",
        request=None,
        responses={202: s.FirmwarePublicationSerializer, 400: _REFUSED},
        parameters=[CHARGE_POINT_ID_PARAM, REQUEST_ID_PARAM],
    )
    @action(detail=True, methods=["post"])
    def unpublish(self, request: Request, charge_point_id: str, request_id: str) -> Response:
        publication = self.get_object()
        try:
            services.firmware_unpublish_request(publication=publication, requested_by=requested_by(request))
        except CommandError as exc:
            raise _refused(exc) from None
        return self._accepted(publication)


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
