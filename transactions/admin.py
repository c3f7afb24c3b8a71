"""Admin for charging sessions and meter values."""

from __future__ import annotations

from django.contrib import admin

from chargers.admin import ReadOnlyMixin

from .models import MeterValue, Transaction


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "charge_point", "connector_id", "id_tag", "started_at", "stopped_at", "energy", "stop_reason"]
    list_filter = ["stop_reason", "id_tag_status", ("stopped_at", admin.EmptyFieldListFilter)]
    search_fields = ["=id", "charge_point__charge_point_id", "id_tag"]
    list_select_related = ["charge_point"]
    date_hierarchy = "started_at"

    @admin.display(description="Energy (Wh)")
    def energy(self, obj: Transaction) -> int | None:
        return obj.energy_wh


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
