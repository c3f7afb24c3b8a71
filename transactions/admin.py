"""Admin for charging sessions and meter values."""

from __future__ import annotations

from django.contrib import admin

from chargers.admin import ReadOnlyMixin

from .models import MeterValue, Transaction, TransactionEvent

_EVENT_FIELDS = (
    "seq_no",
    "event_type",
    "trigger_reason",
    "timestamp",
    "offline",
    "charging_state",
    "evse_id",
    "connector_id",
    "id_tag",
    "received_at",
)


class TransactionEventInline(ReadOnlyMixin, admin.TabularInline):
    model = TransactionEvent
    fields = _EVENT_FIELDS
    readonly_fields = _EVENT_FIELDS
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "charger_transaction_id",
        "charge_point",
        "evse_id",
        "connector_id",
        "id_tag",
        "started_at",
        "stopped_at",
        "energy",
        "charging_state",
        "stop_reason",
        "cost",
    ]
    list_filter = [
        "stop_reason",
        "id_tag_status",
        "id_token_type",
        "charging_state",
        "charge_point__ocpp_version",
        ("stopped_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["=id", "=charger_transaction_id", "charge_point__charge_point_id", "id_tag"]
    list_select_related = ["charge_point", "tariff"]
    date_hierarchy = "started_at"
    inlines = [TransactionEventInline]

    @admin.display(description="Energy (Wh)")
    def energy(self, obj: Transaction) -> int | None:
        return obj.energy_wh

    @admin.display(description="Cost")
    def cost(self, obj: Transaction) -> str:
        """The final cost (a session's running cost is on its dashboard page)."""
        return f"{obj.total_cost} {obj.currency}" if obj.total_cost is not None else ""


@admin.register(MeterValue)
class MeterValueAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "timestamp",
        "charge_point",
        "connector_id",
        "transaction",
        "measurand",
        "phase",
        "value",
        "unit",
        "context",
    ]
    list_filter = ["measurand", "context"]
    search_fields = ["charge_point__charge_point_id", "=transaction__id"]
    list_select_related = ["charge_point"]
    show_full_result_count = False  # COUNT(*) over millions of rows on every page is what makes admins slow


@admin.register(TransactionEvent)
class TransactionEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """What a 2.0.1 station said about a session, and what we answered: records, never edited."""

    list_display = ["transaction", "seq_no", "event_type", "trigger_reason", "timestamp", "offline", "received_at"]
    list_filter = ["event_type", "trigger_reason", "offline"]
    search_fields = [
        "=transaction__id",
        "=transaction__charger_transaction_id",
        "transaction__charge_point__charge_point_id",
    ]
    list_select_related = ["transaction"]
    date_hierarchy = "received_at"
    show_full_result_count = False
