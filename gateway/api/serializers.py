"""Serializers of the charger credentials API: explicit fields, the password shown once."""

from __future__ import annotations

from rest_framework import serializers

from gateway.models import ChargerCredential, SecurityProfile
from gateway.services import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

_PROFILE_HELP = (
    "OCPP security profile the charger must connect with: 0 none (unsafe), 1 Basic auth, "
    "2 TLS + Basic auth, 3 TLS with a client certificate whose CN is the charge point id"
)


class CredentialSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChargerCredential
        fields = ["charge_point_id", "enabled", "security_profile", "note", "created_at", "updated_at"]
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
