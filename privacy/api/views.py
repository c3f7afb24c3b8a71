"""/api/v1/chargers/{id}/customer-information/: ask a station for a customer's data or to clear it, and
read what it reported."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apikeys.viewsets import TextLookupMixin
from chargers.api.views import CHARGE_POINT_ID_PARAM, requested_by
from chargers.commands import CommandError, command_enqueue
from chargers.models import ChargePoint
from privacy.models import CustomerInformationRequest
from privacy.services import customer_information_next_id, customer_information_payload

from .serializers import CustomerInformationCreateSerializer, CustomerInformationSerializer

REQUEST_ID_PARAM = OpenApiParameter("request_id", int, OpenApiParameter.PATH, description="The request's requestId")


class CustomerInformationViewSet(TextLookupMixin, viewsets.GenericViewSet):
    """The customer information requests of one 2.0.1 station and the reports they brought."""

    serializer_class = CustomerInformationSerializer
    pagination_class = None
    read_permissions = ("chargers.view_chargepoint",)
    action_permissions = {"create": ("chargers.view_chargepoint", "chargers.add_command")}
    lookup_field = "request_id"

    def _charge_point(self) -> ChargePoint:
        return get_object_or_404(ChargePoint, charge_point_id=self.kwargs["charge_point_id"])

    def get_queryset(self) -> QuerySet[CustomerInformationRequest]:
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI document: no charger in the path
            return CustomerInformationRequest.objects.none()
        return CustomerInformationRequest.objects.filter(charge_point=self._charge_point())

    @extend_schema(
        summary="Customer information requests of a station",
        description="Newest first: each request (report and/or clear, the customer as named), the station's "
        "answer (`accepted`, `rejected`, `invalid`; `unsolicited`: parts under a requestId we never used), the "
        "report collected from its NotifyCustomerInformation parts in seqNo order (`complete` once the last "
        "came), and the SendLocalList that took a cleared id token out of its local list.",
        parameters=[CHARGE_POINT_ID_PARAM],
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.get_queryset(), many=True).data)

    @extend_schema(
        summary="One customer information request and its report",
        parameters=[CHARGE_POINT_ID_PARAM, REQUEST_ID_PARAM],
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        row = get_object_or_404(self.get_queryset(), request_id=kwargs["request_id"])
        return Response(self.get_serializer(row).data)

    @extend_schema(
        summary="Ask a station for a customer's data, or to clear it",
        description="Queues a CustomerInformation with a fresh requestId: `report` (N09), `clear` (N10) or "
        "both, the customer named by exactly one of `customer_identifier`, `id_token`, `customer_certificate` "
        "(else 400). After an accepted clear of an id token, a station with a local list gets a SendLocalList "
        "Differential removing it. Needs the operator role.",
        request=CustomerInformationCreateSerializer,
        responses={202: CustomerInformationSerializer},
        parameters=[CHARGE_POINT_ID_PARAM],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        charge_point = self._charge_point()
        serializer = CustomerInformationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        request_id = customer_information_next_id(charge_point=charge_point)
        payload = customer_information_payload(
            request_id=request_id,
            report=serializer.validated_data["report"],
            clear=serializer.validated_data["clear"],
            reference=serializer.reference(),
        )
        try:
            command_enqueue(
                charge_point=charge_point,
                action="CustomerInformation",
                payload=payload,
                requested_by=requested_by(request),
            )
        except CommandError as exc:
            errors: dict[str, list[str]] = {"non_field_errors": [exc.message]}
            for field, messages in exc.errors.items():
                errors.setdefault(field, []).extend(messages)
            raise ValidationError(errors) from None
        row = self.get_queryset().get(request_id=request_id)
        return Response(self.get_serializer(row).data, status=status.HTTP_202_ACCEPTED)
