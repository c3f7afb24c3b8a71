"""Serializers of the periodic event streams API."""

from __future__ import annotations

from rest_framework import serializers

from ..models import PeriodicEventStream, StreamValue


class PeriodicEventStreamSerializer(serializers.ModelSerializer[PeriodicEventStream]):
    charge_point = serializers.CharField(source="charge_point.charge_point_id", read_only=True)

    class Meta:
        model = PeriodicEventStream
        fields = ["id", "charge_point", "stream_id", "variable_monitoring_id", "interval", "values", "status",
                  "opened_at", "closed_at", "last_value_at", "pending", "updated_at"]  # fmt: skip
        read_only_fields = fields


class StreamValueSerializer(serializers.ModelSerializer[StreamValue]):
    class Meta:
        model = StreamValue
        fields = ["timestamp", "value", "numeric_value", "received_at"]
        read_only_fields = fields


class StreamAdjustSerializer(serializers.Serializer[dict[str, int]]):
    """New parameters for an open stream: AdjustPeriodicEventStream (at least one of them)."""

    interval = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False,
                                        help_text="Seconds between the station's messages")  # fmt: skip
    values = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False,
                                      help_text="Values the station sends together")  # fmt: skip

    def validate(self, attrs: dict[str, int]) -> dict[str, int]:
        if not attrs:
            raise serializers.ValidationError("give interval, values or both")
        return attrs
