"""Serializers of the charger credentials API: explicit fields, the password shown once."""

from __future__ import annotations

from rest_framework import serializers

from gateway.models import ChargerCredential


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
