"""Serializers of the message log API."""

from __future__ import annotations

from rest_framework import serializers

from mqtt_bridge.models import MessageLog


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
