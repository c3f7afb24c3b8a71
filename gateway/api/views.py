"""Views of the charger credentials API: the passwords and security profiles the gateways check.

Here, not in ``chargers.api``: credentials are the gateway's (``gateway.models``, ``gateway.services``),
and the domain's API imports no transport. The URLs are unchanged (``/api/v1/credentials/...``).
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apikeys.viewsets import TextLookupMixin
from chargers.api.views import CHARGE_POINT_ID_RE, PATH_SEGMENT_PATTERN
from chargers.commands import CommandError
from chargers.models import ChargePoint
from gateway import rotation, upgrade
from gateway.filtersets import ChargerCredentialFilterSet
from gateway.models import ChargerCredential, CredentialRotation, SecurityProfileUpgrade, SecurityProfileUpgradeStep
from gateway.services import credential_set_enabled, credential_set_password, credential_set_security_profile

from . import serializers as s

_CREDENTIAL_CID_PARAM = OpenApiParameter(
    "charge_point_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The charge point id (its HTTP Basic username); the charger need not have booted yet",
    pattern=PATH_SEGMENT_PATTERN,
)


def _charge_point(charge_point_id: str) -> ChargePoint:
    charge_point = ChargePoint.objects.filter(charge_point_id=charge_point_id).first()
    if charge_point is None:
        raise NotFound(f"no charger {charge_point_id!r}: it must have booted before it can be sent commands")
    return charge_point


def _who(request: Request) -> str:
    return str(getattr(request.user, "username", "") or "")


_ROTATION_ACTIONS = ("gateway.view_chargercredential", "gateway.change_chargercredential", "chargers.add_command")


class CredentialRotationMixin:
    """``/credentials/{id}/``: ``rotate/``, ``rotations/``, ``security-profile-upgrade/``, its ``...upgrades/``."""

    @extend_schema(
        summary="Rotate a charger's password",
        description="Queues 1.6 ChangeConfiguration AuthorizationKey or 2.0.1 SetVariables "
        "SecurityCtrlr.BasicAuthPassword with the new password (given, or 32 generated characters). It becomes "
        "the only valid one when the charger answers Accepted (or RebootRequired); any other answer, a CallError "
        "or no answer leaves the old one valid. 400 with the reason when it cannot go. Needs the admin role.",
        request=s.RotateSerializer,
        parameters=[_CREDENTIAL_CID_PARAM],
        responses={202: s.RotationSerializer},
    )
    @action(detail=True, methods=["post"], url_path="rotate")
    def rotate(self, request: Request, charge_point_id: str) -> Response:
        serializer = s.RotateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        charge_point = _charge_point(charge_point_id)
        try:
            started = rotation.rotation_start(
                charge_point=charge_point,
                password=serializer.validated_data.get("password"),
                requested_by=_who(request),
            )
        except CommandError as exc:
            raise ValidationError(exc.errors or {"detail": [exc.message]}) from None
        started = CredentialRotation.objects.select_related("charge_point", "command").get(pk=started.pk)
        return Response(s.RotationSerializer(started).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="A charger's password rotations",
        parameters=[_CREDENTIAL_CID_PARAM],
        responses=s.RotationSerializer(many=True),
    )
    @action(detail=True, methods=["get"], url_path="rotations")
    def rotations(self, request: Request, charge_point_id: str) -> Response:
        charge_point = _charge_point(charge_point_id)
        rotation.rotations_settle(charge_point=charge_point)
        rows = CredentialRotation.objects.filter(charge_point=charge_point).select_related("charge_point", "command")
        return Response(s.RotationSerializer(rows[:50], many=True).data)

    @extend_schema(
        summary="Upgrade a charger's security profile",
        description="A guided operation (2.0.1 A05, 1.6 whitepaper): refused (400, with the reason) without a "
        "credential, for a downgrade, without the CSMS root in the charger's installed certificates, or (profile 3) "
        "without an active certificate from our CA. 1.6: ChangeConfiguration SecurityProfile; 2.0.1: "
        "SetNetworkProfile, SetVariables OCPPCommCtrlr.NetworkConfigurationPriority, Reset OnIdle, each after the "
        "previous one is Accepted. The charger's first handshake at the new profile completes it. "
        "Needs the admin role.",
        request=s.UpgradeStartSerializer,
        parameters=[_CREDENTIAL_CID_PARAM],
        responses={202: s.UpgradeSerializer},
    )
    @action(detail=True, methods=["post"], url_path="security-profile-upgrade")
    def security_profile_upgrade(self, request: Request, charge_point_id: str) -> Response:
        serializer = s.UpgradeStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        charge_point = _charge_point(charge_point_id)
        options = upgrade.UpgradeOptions(
            csms_url=data["csms_url"],
            configuration_slot=data.get("configuration_slot"),
            ocpp_interface=data["ocpp_interface"],
            message_timeout=data["message_timeout"],
        )
        try:
            started = upgrade.upgrade_start(
                charge_point=charge_point,
                to_profile=int(data["security_profile"]),
                options=options,
                requested_by=_who(request),
            )
        except CommandError as exc:
            raise ValidationError(exc.errors or {"detail": [exc.message]}) from None
        return Response(s.UpgradeSerializer(_upgrades().get(pk=started.pk)).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="A charger's security profile upgrades",
        parameters=[_CREDENTIAL_CID_PARAM],
        responses=s.UpgradeSerializer(many=True),
    )
    @action(detail=True, methods=["get"], url_path="security-profile-upgrades")
    def security_profile_upgrades(self, request: Request, charge_point_id: str) -> Response:
        charge_point = _charge_point(charge_point_id)
        upgrade.upgrades_settle(charge_point=charge_point)
        return Response(s.UpgradeSerializer(_upgrades().filter(charge_point=charge_point)[:20], many=True).data)


def _upgrades() -> QuerySet[SecurityProfileUpgrade]:
    return SecurityProfileUpgrade.objects.select_related("charge_point").prefetch_related(
        Prefetch("steps", queryset=SecurityProfileUpgradeStep.objects.select_related("command"))
    )


@extend_schema_view(
    list=extend_schema(summary="List charger credentials", description="Needs the admin role. Never shows passwords."),
    retrieve=extend_schema(summary="A charger's credential", parameters=[_CREDENTIAL_CID_PARAM]),
)
class CredentialViewSet(
    CredentialRotationMixin,
    TextLookupMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Charger credentials (security profile and password), checked by the OCPP gateways.

    Keyed by charge point id rather than nested under /chargers/: a charger needs its credential
    before it can connect (and so before it exists here).
    """

    queryset = ChargerCredential.objects.all()
    serializer_class = s.CredentialSerializer
    filterset_class = ChargerCredentialFilterSet
    lookup_field = "charge_point_id"
    lookup_value_regex = CHARGE_POINT_ID_RE
    read_permissions = ("gateway.view_chargercredential",)
    action_permissions = {
        "update": (
            "gateway.view_chargercredential",
            "gateway.add_chargercredential",
            "gateway.change_chargercredential",
        ),
        "partial_update": ("gateway.view_chargercredential", "gateway.change_chargercredential"),
        "rotate": _ROTATION_ACTIONS,
        "security_profile_upgrade": _ROTATION_ACTIONS,
    }

    @extend_schema(
        summary="Set a charger's password",
        description="Creates (201) or replaces (200) the credential. Without `password` a random one is "
        "generated; a given one must be 16 to 40 characters (OCPP's bounds). The password is in this response "
        "only: only its hash is stored. Needs the admin role.",
        request=s.CredentialSetSerializer,
        parameters=[_CREDENTIAL_CID_PARAM],
        responses={
            200: OpenApiResponse(s.CredentialSecretSerializer, description="Replaced"),
            201: OpenApiResponse(s.CredentialSecretSerializer, description="Created"),
        },
        examples=[
            OpenApiExample("Generate", value={"enabled": True, "note": "site Nord, bay 3"}, request_only=True),
            OpenApiExample(
                "Set",
                value={
                    "charge_point_id": "CP-0001",
                    "enabled": True,
                    "security_profile": 1,
                    "note": "site Nord, bay 3",
                    "created_at": "2026-11-23T10:00:00Z",
                    "updated_at": "2026-11-23T10:00:00Z",
                    "password": "q3Jx0lVfS1mM7bQz9yW2cA8e",
                },
                response_only=True,
            ),
        ],
    )
    def update(self, request: Request, charge_point_id: str) -> Response:
        serializer = s.CredentialSetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Read before the write only to pick the status code (RFC 9110: 201 when a PUT creates).
        # Two first PUTs racing may both answer 201; the row itself is one either way.
        existed = ChargerCredential.objects.filter(charge_point_id=charge_point_id).exists()
        try:
            credential, password = credential_set_password(charge_point_id=charge_point_id, **serializer.validated_data)
        except ValueError as exc:
            raise ValidationError({"charge_point_id": [str(exc)]}) from None
        # The password travels beside the row, never on it: the model has no such field (only its hash).
        body = {**s.CredentialSerializer(credential).data, "password": password}
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(body, status=code)

    @extend_schema(
        summary="Enable or disable a charger's credential, or change its security profile",
        description="A disabled credential refuses the charger's next connection; a new security profile "
        "applies from its next connection (our gateway may admit it from a cached login for up to "
        "CSMS_GATEWAY_AUTH_CACHE_SECONDS). Needs the admin role.",
        request=s.CredentialChangeSerializer,
        parameters=[_CREDENTIAL_CID_PARAM],
        responses={200: s.CredentialSerializer},
        examples=[
            OpenApiExample("Disable", value={"enabled": False}, request_only=True),
            OpenApiExample("Require mutual TLS", value={"security_profile": 3}, request_only=True),
        ],
    )
    def partial_update(self, request: Request, charge_point_id: str) -> Response:
        credential = self.get_object()
        serializer = s.CredentialChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = serializer.validated_data
        if "enabled" in changes:
            credential_set_enabled(charge_point_id=credential.charge_point_id, enabled=changes["enabled"])
        if "security_profile" in changes:
            credential_set_security_profile(
                charge_point_id=credential.charge_point_id, security_profile=changes["security_profile"]
            )
        credential.refresh_from_db()
        return Response(s.CredentialSerializer(credential).data)
