"""Serializers of the message log and MQTT charger profile APIs."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from mqtt_bridge.models import MessageLog, MqttChargerProfile


class MessageLogSerializer(serializers.ModelSerializer):
    payload = serializers.JSONField(read_only=True, allow_null=True, help_text="The OCPP payload, when readable")

    class Meta:
        model = MessageLog
        fields = [
            "id",
            "created_at",
            "charge_point_id",
            "direction",
            "kind",
            "message_id",
            "action",
            "payload",
            "raw",
            "topic",
            "error_code",
            "error_description",
        ]
        read_only_fields = fields


class MqttChargerProfileSerializer(serializers.ModelSerializer):
    """A profile as the API shows and takes it; ``mqtt_bridge.profiles`` checks and saves it."""

    url = serializers.HyperlinkedIdentityField(view_name="api-mqtt-profile-detail", lookup_field="name")

    class Meta:
        model = MqttChargerProfile
        fields = [
            "url",
            "name",
            "uplink_template",
            "downlink_template",
            "ocpp_version",
            "reply_encoding",
            "accepts_calls",
            "ids_restart_at_boot",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["url", "created_at", "updated_at"]
        # Uniqueness is the service's to check, with a reason (and under its lock).
        extra_kwargs: dict[str, dict[str, Any]] = {"name": {"validators": []}, "uplink_template": {"validators": []}}
