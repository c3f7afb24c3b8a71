"""Serializers of the operator alerts API: explicit fields."""

from __future__ import annotations

from rest_framework import serializers

from alerts.models import Alert


class AlertSerializer(serializers.ModelSerializer):
    charge_point_id = serializers.CharField(source="charge_point.charge_point_id", read_only=True, default=None)
    acknowledged_by = serializers.CharField(source="acknowledged_by.username", read_only=True, default=None)

    class Meta:
        model = Alert
        fields = [
            "id",
            "charge_point_id",
            "subject",
            "kind",
            "severity",
            "title",
            "detail",
            "count",
            "raised_at",
            "last_raised_at",
            "acknowledged_at",
            "acknowledged_by",
        ]
        read_only_fields = fields
