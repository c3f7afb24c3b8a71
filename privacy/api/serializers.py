"""What the API shows of customer information requests, and what it takes to make one."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from chargers.models import IdTokenType
from privacy.models import CustomerInformationRequest
from privacy.services import CustomerReference, customer_information_report


class CustomerInformationSerializer(serializers.ModelSerializer[CustomerInformationRequest]):
    command = serializers.IntegerField(source="command_id", read_only=True, allow_null=True)
    local_list_command = serializers.IntegerField(source="local_list_command_id", read_only=True, allow_null=True)
    parts = serializers.SerializerMethodField(help_text="How many NotifyCustomerInformation parts came")
    reported_data = serializers.SerializerMethodField(help_text="The report: the parts' data in seqNo order")

    class Meta:
        model = CustomerInformationRequest
        fields = [
            "request_id",
            "report",
            "clear",
            "customer_identifier",
            "id_token",
            "id_token_type",
            "customer_certificate",
            "status",
            "status_info",
            "command",
            "local_list_command",
            "complete",
            "parts",
            "reported_data",
            "created_at",
            "updated_at",
        ]

    def get_parts(self, request: CustomerInformationRequest) -> int:
        return request.parts.count()

    def get_reported_data(self, request: CustomerInformationRequest) -> str:
        return customer_information_report(request=request)


class IdTokenSerializer(serializers.Serializer[dict[str, Any]]):
    id_token = serializers.CharField(max_length=36)
    type = serializers.ChoiceField(choices=IdTokenType.choices)


class CertificateHashSerializer(serializers.Serializer[dict[str, Any]]):
    hash_algorithm = serializers.ChoiceField(choices=["SHA256", "SHA384", "SHA512"])
    issuer_name_hash = serializers.CharField(max_length=128)
    issuer_key_hash = serializers.CharField(max_length=128)
    serial_number = serializers.CharField(max_length=40)


class CustomerInformationCreateSerializer(serializers.Serializer[dict[str, Any]]):
    """Ask a station for a customer's data (report), to delete it (clear), or both; the customer named one way."""

    report = serializers.BooleanField(default=False)
    clear = serializers.BooleanField(default=False)
    customer_identifier = serializers.CharField(max_length=64, required=False)
    id_token = IdTokenSerializer(required=False)
    customer_certificate = CertificateHashSerializer(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in ("customer_identifier", "id_token", "customer_certificate") if name in attrs]
        if len(given) != 1:
            message = "exactly one of customer_identifier, id_token, customer_certificate"
            fields: list[str] = list(given) or ["non_field_errors"]
            raise serializers.ValidationError({name: [message] for name in fields})
        if not attrs["report"] and not attrs["clear"]:
            raise serializers.ValidationError({"non_field_errors": ["report or clear must be true"]})
        return attrs

    def reference(self) -> CustomerReference:
        data = self.validated_data
        certificate = data.get("customer_certificate")
        token = data.get("id_token") or {}
        return CustomerReference(
            customer_identifier=data.get("customer_identifier", ""),
            id_token=token.get("id_token", ""),
            id_token_type=token.get("type", ""),
            certificate=None
            if certificate is None
            else {
                "hashAlgorithm": certificate["hash_algorithm"],
                "issuerNameHash": certificate["issuer_name_hash"],
                "issuerKeyHash": certificate["issuer_key_hash"],
                "serialNumber": certificate["serial_number"],
            },
        )
