"""Serializers of the sessions API."""

from __future__ import annotations

from rest_framework import serializers

from fleet.selectors import session_duration_seconds, session_energy_wh
from transactions.models import MeterValue, Transaction


class TransactionSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-transaction-detail")
    charge_point_id = serializers.CharField(source="charge_point.charge_point_id", read_only=True)
    active = serializers.BooleanField(source="is_active", read_only=True)
    energy_wh = serializers.SerializerMethodField(
        help_text="Wh delivered: final once stopped, else from the latest energy register reading (null if none)"
    )
    energy_final = serializers.SerializerMethodField(help_text="True once the session stopped (meterStop known)")
    duration_seconds = serializers.SerializerMethodField(help_text="Start to stop, or to now while charging")
    meter_values_url = serializers.HyperlinkedIdentityField(view_name="api-transaction-meter-values")

    class Meta:
        model = Transaction
        fields = [
            "id",
            "url",
            "charge_point_id",
            "connector_id",
            "id_tag",
            "id_tag_status",
            "reservation_id",
            "active",
            "meter_start",
            "meter_stop",
            "energy_wh",
            "energy_final",
            "started_at",
            "stopped_at",
            "duration_seconds",
            "start_received_at",
            "stop_received_at",
            "stop_reason",
            "stop_id_tag",
            "meter_values_url",
        ]
        read_only_fields = fields

    def get_energy_wh(self, obj: Transaction) -> int | None:
        # The view reads sessions through fleet.selectors.with_latest_energy: no query per row.
        return session_energy_wh(obj)

    def get_energy_final(self, obj: Transaction) -> bool:
        return obj.meter_stop is not None

    def get_duration_seconds(self, obj: Transaction) -> int:
        return session_duration_seconds(obj)


class MeterValueSerializer(serializers.ModelSerializer):
    class Meta:
        model = MeterValue
        fields = [
            "id",
            "timestamp",
            "received_at",
            "connector_id",
            "measurand",
            "phase",
            "unit",
            "context",
            "location",
            "format",
            "value",
            "numeric_value",
        ]
        read_only_fields = fields
