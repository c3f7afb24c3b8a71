"""Views of the tariffs API: tariffs, groups of chargers, and which tariff applies to a charger."""

from __future__ import annotations

from typing import Any

from django.db.models import ProtectedError, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from chargers.models import ChargePoint
from tariffs.models import ChargerGroup, Tariff
from tariffs.selectors import tariff_applicable
from tariffs.services import charger_group_members_set

from .serializers import ChargerGroupSerializer, TariffSerializer

_EDIT = {
    "create": ("tariffs.view_tariff", "tariffs.add_tariff"),
    "update": ("tariffs.view_tariff", "tariffs.change_tariff"),
    "partial_update": ("tariffs.view_tariff", "tariffs.change_tariff"),
    "destroy": ("tariffs.view_tariff", "tariffs.delete_tariff"),
}


@extend_schema_view(
    list=extend_schema(summary="List tariffs", description="Chargers' own, groups' and the defaults."),
    create=extend_schema(
        summary="Create a tariff",
        description="Prices per kWh, per hour charging and per session, in an ISO 4217 currency; for one "
        "charger (`charge_point_id`), a group (`group`) or, with neither, the default. A session is priced by "
        "the tariff valid at its start (the charger's own, else its group's, else the default) to its end.",
    ),
    retrieve=extend_schema(summary="A tariff"),
    update=extend_schema(summary="Replace a tariff", description="Sessions already priced by it keep their cost."),
    partial_update=extend_schema(summary="Change a tariff (e.g. end it with `valid_to`)"),
    destroy=extend_schema(
        summary="Delete a tariff",
        description="Refused (400) once a session was priced by it: end it with `valid_to` instead.",
    ),
)
class TariffViewSet(viewsets.ModelViewSet):
    """Tariffs: what a session costs."""

    queryset = Tariff.objects.select_related("charge_point").order_by("name", "id")
    serializer_class = TariffSerializer
    read_permissions = ("tariffs.view_tariff",)
    action_permissions = _EDIT

    def perform_destroy(self, instance: Tariff) -> None:
        try:
            instance.delete()
        except ProtectedError:
            raise ValidationError(
                {"detail": ["sessions were priced by this tariff: end it with valid_to instead of deleting it"]}
            ) from None


@extend_schema_view(
    list=extend_schema(summary="List groups of chargers (for tariffs)"),
    create=extend_schema(summary="Create a group of chargers, with its members"),
    retrieve=extend_schema(summary="A group of chargers and its members"),
    update=extend_schema(summary="Replace a group of chargers (its members too)"),
    partial_update=extend_schema(summary="Change a group of chargers (`charge_point_ids` replaces its members)"),
    destroy=extend_schema(
        summary="Delete a group of chargers",
        description="Its tariffs go with it; refused (400) once one of them priced a session.",
    ),
)
class ChargerGroupViewSet(viewsets.ModelViewSet):
    """Groups of chargers that share a tariff; a charger is in one at most."""

    queryset = ChargerGroup.objects.prefetch_related("members__charge_point").order_by("name")
    serializer_class = ChargerGroupSerializer
    read_permissions = ("tariffs.view_chargergroup",)
    action_permissions = {
        "create": ("tariffs.view_chargergroup", "tariffs.add_chargergroup"),
        "update": ("tariffs.view_chargergroup", "tariffs.change_chargergroup"),
        "partial_update": ("tariffs.view_chargergroup", "tariffs.change_chargergroup"),
        "destroy": ("tariffs.view_chargergroup", "tariffs.delete_chargergroup"),
    }

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        self._save(serializer)

    def perform_destroy(self, instance: ChargerGroup) -> None:
        try:
            instance.delete()
        except ProtectedError:
            raise ValidationError(
                {"detail": ["sessions were priced by a tariff of this group: end its tariffs with valid_to instead"]}
            ) from None

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        self._save(serializer)

    def _save(self, serializer: serializers.BaseSerializer) -> None:
        members = serializer.validated_data.pop("charge_point_ids", None)
        group = serializer.save()
        if members is not None:
            charger_group_members_set(group=group, charge_points=members)
        # Read again: the representation lists the members just set.
        serializer.instance = self.get_queryset().get(pk=group.pk)


class ChargerTariffViewSet(viewsets.GenericViewSet):
    """The tariff a session starting now on a charger would be priced by."""

    queryset = ChargePoint.objects.all()
    serializer_class = TariffSerializer
    read_permissions = ("tariffs.view_tariff", "chargers.view_chargepoint")

    def get_queryset(self) -> QuerySet[ChargePoint]:
        return self.queryset

    @extend_schema(
        summary="The tariff that applies to a charger now",
        responses={200: TariffSerializer, 404: OpenApiResponse(description="No such charger, or no tariff applies")},
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        charge_point = get_object_or_404(ChargePoint, charge_point_id=kwargs["charge_point_id"])
        tariff = tariff_applicable(charge_point=charge_point, at=timezone.now())
        if tariff is None:
            return Response({"detail": "no tariff applies to this charger"}, status=404)
        return Response(TariffSerializer(tariff, context={"request": request}).data)
