"""Serializers of the charger credentials API: explicit fields, the password shown once."""

from __future__ import annotations

from rest_framework import serializers

from gateway.models import (
    ChargerCredential,
    CredentialRotation,
    SecurityProfile,
    SecurityProfileUpgrade,
    SecurityProfileUpgradeStep,
)
from gateway.services import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

_PROFILE_HELP = (
    "OCPP security profile the charger must connect with: 0 none (unsafe), 1 Basic auth, "
    "2 TLS + Basic auth, 3 TLS with a client certificate whose CN is the charge point id"
)


class CredentialSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChargerCredential
        fields = [
            "charge_point_id",
            "enabled",
            "security_profile",
            "note",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CredentialSetSerializer(serializers.Serializer):
    password = serializers.CharField(
        required=False,
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
        trim_whitespace=False,
        write_only=True,
        help_text="The charger's AuthorizationKey (16..40 characters); omit to generate one",
    )
    enabled = serializers.BooleanField(default=True)
    security_profile = serializers.ChoiceField(
        choices=SecurityProfile.choices, required=False, help_text=f"{_PROFILE_HELP}; omitted: unchanged (1 if new)"
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)


class CredentialSecretSerializer(CredentialSerializer):
    password = serializers.CharField(read_only=True, help_text="Shown this once: only a hash is stored")

    class Meta(CredentialSerializer.Meta):
        fields = [*CredentialSerializer.Meta.fields, "password"]
        read_only_fields = fields


class CredentialChangeSerializer(serializers.Serializer):
    """Enable or disable a credential, change its security profile, or both (at least one of them)."""

    enabled = serializers.BooleanField(required=False)
    security_profile = serializers.ChoiceField(choices=SecurityProfile.choices, required=False, help_text=_PROFILE_HELP)

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        if not attrs:
            raise serializers.ValidationError("give enabled, security_profile or both")
        return attrs


class RotateSerializer(serializers.Serializer):
    password = serializers.CharField(
        required=False,
        trim_whitespace=False,
        write_only=True,
        help_text="The new password (16..40 letters, digits and *-_=:+|@.); omit to generate one. Never shown "
        "again: only its hash is kept, and the command's copy is masked once answered",
    )


class RotationSerializer(serializers.ModelSerializer):
    charge_point_id = serializers.CharField(source="charge_point.charge_point_id", read_only=True)
    command_id = serializers.IntegerField(read_only=True, allow_null=True)
    command_status = serializers.CharField(source="command.status", read_only=True, default=None)

    class Meta:
        model = CredentialRotation
        fields = [
            "id",
            "charge_point_id",
            "status",
            "reason",
            "command_id",
            "command_status",
            "requested_by",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields


class UpgradeStartSerializer(serializers.Serializer):
    security_profile = serializers.ChoiceField(choices=[2, 3], help_text="The profile to go to: 2 or 3")
    csms_url = serializers.CharField(
        required=False, default="", max_length=512, help_text="2.0.1: the wss:// URL of the new network profile"
    )
    configuration_slot = serializers.IntegerField(
        required=False, min_value=0, help_text="2.0.1: the network profile slot (default: the first free one)"
    )
    ocpp_interface = serializers.ChoiceField(
        choices=[f"{kind}{n}" for kind in ("Wired", "Wireless") for n in range(4)], default="Wired0"
    )
    message_timeout = serializers.IntegerField(default=30, min_value=1, max_value=3600)


class UpgradeStepSerializer(serializers.ModelSerializer):
    command_id = serializers.IntegerField(read_only=True, allow_null=True)
    command_status = serializers.CharField(source="command.status", read_only=True, default=None)

    class Meta:
        model = SecurityProfileUpgradeStep
        fields = [
            "position",
            "action",
            "status",
            "answer",
            "command_id",
            "command_status",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields


class UpgradeSerializer(serializers.ModelSerializer):
    charge_point_id = serializers.CharField(source="charge_point.charge_point_id", read_only=True)
    steps = UpgradeStepSerializer(many=True, read_only=True)
    planned_steps = serializers.SerializerMethodField()

    class Meta:
        model = SecurityProfileUpgrade
        fields = [
            "id",
            "charge_point_id",
            "from_profile",
            "to_profile",
            "status",
            "reason",
            "planned_steps",
            "steps",
            "requested_by",
            "created_at",
            "updated_at",
            "completed_at",
        ]
        read_only_fields = fields

    def get_planned_steps(self, upgrade: SecurityProfileUpgrade) -> list[str]:
        return [str(step["action"]) for step in upgrade.plan.get("steps", [])]
