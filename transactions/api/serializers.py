"""Serializers of the sessions API."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import serializers

from fleet.selectors import session_duration_seconds, session_energy_wh
from tariffs.selectors import session_cost
from transactions.models import MeterValue, Transaction, TransactionEvent


class TransactionSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-transaction-detail")
    charge_point_id = serializers.CharField(source="charge_point.charge_point_id", read_only=True)
    ocpp_version = serializers.CharField(
        source="charge_point.ocpp_version", read_only=True, help_text="The OCPP version its charger speaks"
    )
    transaction_id = serializers.CharField(
        read_only=True,
        help_text="The id the charger knows the session by: its own transactionId (2.0.1), or `id` as a string "
        "(1.6, whose transactionId is ours)",
    )
    active = serializers.BooleanField(source="is_active", read_only=True)
    energy_wh = serializers.SerializerMethodField(
        help_text="Wh delivered: final once stopped, else from the latest energy register reading (null if none)"
    )
    energy_final = serializers.SerializerMethodField(help_text="True once the session stopped (meterStop known)")
    duration_seconds = serializers.SerializerMethodField(help_text="Start to stop, or to now while charging")
    cost = serializers.SerializerMethodField(
        help_text="What it costs under its tariff, in `currency` (a decimal string): final once stopped "
        "(computed at the stop), else so far; null when no tariff priced it"
    )
    cost_final = serializers.SerializerMethodField(help_text="True once the cost is the final one")
    meter_values_url = serializers.HyperlinkedIdentityField(view_name="api-transaction-meter-values")
    events_url = serializers.HyperlinkedIdentityField(
        view_name="api-transaction-events", help_text="Its 2.0.1 TransactionEvents in seqNo order (none for 1.6)"
    )

    class Meta:
        model = Transaction
        fields = [
            "id",
            "url",
            "transaction_id",
            "charge_point_id",
            "ocpp_version",
            "evse_id",
            "connector_id",
            "id_tag",
            "id_token_type",
            "id_tag_status",
            "reservation_id",
            "remote_start_id",
            "active",
            "charging_state",
            "time_spent_charging",
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
            "tariff",
            "currency",
            "cost",
            "cost_final",
            "charging_seconds",
            "meter_values_url",
            "events_url",
        ]
        read_only_fields = fields

    def get_energy_wh(self, obj: Transaction) -> int | None:
        # The view reads sessions through fleet.selectors.with_latest_energy: no query per row.
        return session_energy_wh(obj)

    def get_cost(self, obj: Transaction) -> str | None:
        # The view reads the sessions with their tariffs (select_related): no query per row.
        cost = session_cost(obj, energy_wh=session_energy_wh(obj), now=timezone.now())
        return None if cost is None else str(cost)

    def get_cost_final(self, obj: Transaction) -> bool:
        return obj.total_cost is not None

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
            "signed",
        ]
        read_only_fields = fields


class TransactionEventSerializer(serializers.ModelSerializer):
    """One OCPP 2.0.1 TransactionEvent of the session, as the charger sent it and as we answered it."""

    payload = serializers.JSONField(read_only=True, help_text="The TransactionEvent request, as sent")
    reply = serializers.JSONField(
        read_only=True,
        help_text="What we answered (a replay gets the same); an Updated's running totalCost is not kept: it is "
        "the cost at the moment of answering",
    )

    class Meta:
        model = TransactionEvent
        fields = [
            "seq_no",
            "event_type",
            "trigger_reason",
            "timestamp",
            "offline",
            "charging_state",
            "evse_id",
            "connector_id",
            "id_tag",
            "id_token_type",
            "payload",
            "reply",
            "received_at",
        ]
        read_only_fields = fields
