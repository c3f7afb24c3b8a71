"""Views of the charger credentials API: the passwords and security profiles the gateways check.

Here, not in ``chargers.api``: credentials are the gateway's (``gateway.models``, ``gateway.services``),
and the domain's API imports no transport. The URLs are unchanged (``/api/v1/credentials/...``).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apikeys.viewsets import TextLookupMixin
from chargers.api.views import CHARGE_POINT_ID_RE, PATH_SEGMENT_PATTERN
from gateway.filtersets import ChargerCredentialFilterSet
from gateway.models import ChargerCredential
from gateway.services import credential_set_enabled, credential_set_password, credential_set_security_profile

from . import serializers as s

_CREDENTIAL_CID_PARAM = OpenApiParameter(
    "charge_point_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The charge point id (its HTTP Basic username); the charger need not have booted yet",
    pattern=PATH_SEGMENT_PATTERN,
)


@extend_schema_view(
    list=extend_schema(summary="List charger credentials", description="Needs the admin role. Never shows passwords."),
    retrieve=extend_schema(summary="A charger's credential", parameters=[_CREDENTIAL_CID_PARAM]),
)
class CredentialViewSet(TextLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
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
