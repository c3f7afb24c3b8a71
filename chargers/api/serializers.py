"""Serializers of the fleet API: explicit fields, one input serializer per write."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from chargers.commands import SUPPORTED_ACTIONS
from chargers.models import ChargePoint, Command, Connector, ConnectorStatusChange, IdTag
from gateway.models import ChargerCredential
from transactions.models import Transaction

# A command may wait at most a week for its charger.
MAX_EXPIRES_IN = 7 * 24 * 3600


def json_storable(value: Any) -> Any:
    """Refuse JSON that PostgreSQL cannot store (NUL characters, lone surrogates) with a 400."""
    try:
        text = json.dumps(value, ensure_ascii=False)
        text.encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError):
        raise serializers.ValidationError("must be JSON that can be stored (valid Unicode text)") from None
    if "\\u0000" in text or "\x00" in text:
        raise serializers.ValidationError("must not contain NUL characters")
    return value


class ConnectorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Connector
        fields = [
            "connector_id",
            "status",
            "error_code",
            "info",
            "vendor_id",
            "vendor_error_code",
            "charger_timestamp",
            "status_updated_at",
        ]
        read_only_fields = fields


class ConnectorStatusChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConnectorStatusChange
        fields = [
            "id",
            "status",
            "error_code",
            "info",
            "vendor_id",
            "vendor_error_code",
            "charger_timestamp",
            "received_at",
        ]
        read_only_fields = fields


class CurrentSessionSerializer(serializers.ModelSerializer):
    """A charging session still open on the charger (details at /transactions/{id}/)."""

    url = serializers.HyperlinkedIdentityField(view_name="api-transaction-detail")

    class Meta:
        model = Transaction
        fields = ["id", "url", "connector_id", "id_tag", "started_at", "meter_start"]
        read_only_fields = fields


_CHARGE_POINT_FIELDS = [
    "charge_point_id",
    "url",
    "registration_status",
    "online",
    "ocpp_version",
    "vendor",
    "model",
    "serial_number",
    "firmware_version",
    "heartbeat_interval",
    "last_seen_at",
    "last_heartbeat_at",
    "last_boot_at",
    "demo",
    "created_at",
]


class ChargePointSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-charger-detail", lookup_field="charge_point_id")

    class Meta:
        model = ChargePoint
        fields = _CHARGE_POINT_FIELDS
        read_only_fields = fields


class ChargePointDetailSerializer(ChargePointSerializer):
    connectors = ConnectorSerializer(many=True, read_only=True)
    current_sessions = CurrentSessionSerializer(many=True, read_only=True, source="active_transactions")

    class Meta:
        model = ChargePoint
        fields = [
            *_CHARGE_POINT_FIELDS,
            "charge_box_serial_number",
            "iccid",
            "imsi",
            "meter_type",
            "meter_serial_number",
            "dialect",
            "first_boot_at",
            "last_connected_at",
            "last_disconnected_at",
            "last_disconnect_reason",
            "updated_at",
            "connectors",
            "current_sessions",
        ]
        read_only_fields = fields


class CommandSerializer(serializers.ModelSerializer):
    """A command and its lifecycle: queued -> sent -> accepted/rejected/failed/timed_out, or expired/cancelled."""

    url = serializers.HyperlinkedIdentityField(view_name="api-command-detail")
    charge_point_id = serializers.CharField(source="charge_point.charge_point_id", read_only=True)
    request = serializers.JSONField(read_only=True, help_text="The OCPP request payload sent")
    response = serializers.JSONField(read_only=True, allow_null=True, help_text="The charger's CallResult payload")
    transaction = serializers.PrimaryKeyRelatedField(
        read_only=True, help_text="The session an accepted RemoteStartTransaction started, once it did"
    )

    class Meta:
        model = Command
        fields = [
            "id",
            "url",
            "charge_point_id",
            "action",
            "status",
            "message_id",
            "request",
            "response",
            "error_code",
            "error_description",
            "requested_by",
            "transaction",
            "created_at",
            "sent_at",
            "completed_at",
            "expires_at",
        ]
        read_only_fields = fields


class ExpiresInMixin(serializers.Serializer):
    expires_in = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_EXPIRES_IN,
        help_text="Seconds the command may wait for its charger before it expires (default: server setting)",
    )


@extend_schema_serializer(deprecate_fields=["charge_point"])
class CommandCreateSerializer(ExpiresInMixin):
    """A command to queue. The charger is ``charge_point_id``, as every response names it."""

    charge_point_id = serializers.SlugRelatedField(
        slug_field="charge_point_id",
        queryset=ChargePoint.objects.all(),
        required=False,
        help_text="Charge point id (required; `charge_point` is its deprecated spelling)",
    )
    # The name this endpoint took before it matched its responses: still read so existing
    # integrations keep working, marked deprecated in the schema. Removal is a breaking change.
    charge_point = serializers.SlugRelatedField(
        slug_field="charge_point_id",
        queryset=ChargePoint.objects.all(),
        required=False,
        help_text="Deprecated: use `charge_point_id`",
    )
    action = serializers.ChoiceField(choices=sorted(SUPPORTED_ACTIONS), help_text="OCPP 1.6 action")
    payload = serializers.DictField(
        required=False, default=dict, help_text="The OCPP request payload, as the 1.6 schema of the action has it"
    )

    def validate_payload(self, value: dict[str, Any]) -> dict[str, Any]:
        return json_storable(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        new, old = attrs.pop("charge_point_id", None), attrs.pop("charge_point", None)
        if new is None and old is None:
            raise serializers.ValidationError({"charge_point_id": ["This field is required."]})
        if new is not None and old is not None and new != old:
            raise serializers.ValidationError(
                {"charge_point": ["names another charge point than charge_point_id; send only charge_point_id"]}
            )
        attrs["charge_point"] = new or old
        return attrs


class RemoteStartSerializer(ExpiresInMixin):
    id_tag = serializers.CharField(max_length=20)
    connector_id = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    charging_profile = serializers.DictField(required=False, help_text="OCPP csChargingProfiles (TxProfile)")

    def validate_charging_profile(self, value: dict[str, Any]) -> dict[str, Any]:
        return json_storable(value)

    def to_payload(self) -> dict[str, Any]:
        data = self.validated_data
        payload: dict[str, Any] = {"idTag": data["id_tag"]}
        if "connector_id" in data:
            payload["connectorId"] = data["connector_id"]
        if "charging_profile" in data:
            payload["chargingProfile"] = data["charging_profile"]
        return payload


class RemoteStopSerializer(ExpiresInMixin):
    transaction_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1)

    def to_payload(self) -> dict[str, Any]:
        return {"transactionId": self.validated_data["transaction_id"]}


class ResetSerializer(ExpiresInMixin):
    type = serializers.ChoiceField(choices=["Soft", "Hard"], default="Soft")

    def to_payload(self) -> dict[str, Any]:
        return {"type": self.validated_data["type"]}


class UnlockSerializer(ExpiresInMixin):
    connector_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1)

    def to_payload(self) -> dict[str, Any]:
        return {"connectorId": self.validated_data["connector_id"]}


class AvailabilitySerializer(ExpiresInMixin):
    connector_id = serializers.IntegerField(min_value=0, max_value=2**31 - 1, help_text="0: the whole charger")
    type = serializers.ChoiceField(choices=["Operative", "Inoperative"])

    def to_payload(self) -> dict[str, Any]:
        return {"connectorId": self.validated_data["connector_id"], "type": self.validated_data["type"]}


TRIGGER_MESSAGES = [
    "BootNotification",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StatusNotification",
]


class TriggerSerializer(ExpiresInMixin):
    requested_message = serializers.ChoiceField(choices=TRIGGER_MESSAGES)
    connector_id = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"requestedMessage": self.validated_data["requested_message"]}
        if "connector_id" in self.validated_data:
            payload["connectorId"] = self.validated_data["connector_id"]
        return payload


class IdTagSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(
        slug_field="id_tag",
        queryset=IdTag.objects.all(),
        required=False,
        allow_null=True,
        help_text="The parent's id tag (a group: OCPP parentIdTag)",
    )

    class Meta:
        model = IdTag
        fields = ["id_tag", "status", "expiry_date", "parent", "note", "demo", "created_at", "updated_at"]
        # demo is set by demo_fleet_provision (make run's simulated fleet), not by API clients.
        read_only_fields = ["demo", "created_at", "updated_at"]

    def validate_id_tag(self, value: str) -> str:
        if "/" in value:
            raise serializers.ValidationError("must not contain '/' (it is used in URLs)")
        if value != value.strip() or not value:
            raise serializers.ValidationError("must not be blank or start or end with spaces")
        return value


class IdTagUpdateSerializer(IdTagSerializer):
    class Meta(IdTagSerializer.Meta):
        read_only_fields = ["id_tag", "demo", "created_at", "updated_at"]


class RegistrationSerializer(serializers.Serializer):
    """No input: the action's URL says what to do."""


class CredentialSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChargerCredential
        fields = ["charge_point_id", "enabled", "note", "created_at", "updated_at"]
        read_only_fields = fields


class CredentialSetSerializer(serializers.Serializer):
    password = serializers.CharField(
        required=False,
        min_length=16,
        max_length=40,
        trim_whitespace=False,
        write_only=True,
        help_text="The charger's AuthorizationKey (16..40 characters); omit to generate one",
    )
    enabled = serializers.BooleanField(default=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)


class CredentialSecretSerializer(CredentialSerializer):
    password = serializers.CharField(read_only=True, help_text="Shown this once: only a hash is stored")

    class Meta(CredentialSerializer.Meta):
        fields = [*CredentialSerializer.Meta.fields, "password"]
        read_only_fields = fields


class CredentialEnableSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
