"""Serializers of the sessions API."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from rest_framework import serializers

from transactions.models import MeterValue, Transaction

ENERGY_REGISTER = "Energy.Active.Import.Register"


def energy_wh(transaction: Transaction) -> int | None:
    """Energy delivered so far: meter stop (final), else the latest register reading, else unknown.

    The latest reading comes from the ``last_register``/``last_register_unit`` annotations of the
    view's queryset (one subquery in the same SELECT, not one query per session).
    """
    if transaction.meter_stop is not None:
        return transaction.meter_stop - transaction.meter_start
    reading = getattr(transaction, "last_register", None)
    if reading is None:
        return None
    factor = 1000 if getattr(transaction, "last_register_unit", "Wh") == "kWh" else 1
    return round(reading * factor) - transaction.meter_start


def duration_seconds(transaction: Transaction, now: datetime | None = None) -> int:
    """Charger-clock duration; for a session still open, until now."""
    end = transaction.stopped_at or now or timezone.now()
    return max(0, int((end - transaction.started_at).total_seconds()))


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
        return energy_wh(obj)

    def get_energy_final(self, obj: Transaction) -> bool:
        return obj.meter_stop is not None

    def get_duration_seconds(self, obj: Transaction) -> int:
        return duration_seconds(obj)


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
