"""Read-only admin of what stations told us about smart charging (the profiles are in the chargers admin)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import ChargingLimit, CompositeSchedule, EVChargingNeeds, EVChargingSchedule, ProfileReport


class ReadOnly(admin.ModelAdmin):
    # Stations' reports: what they said stays as they said it.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ProfileReport)
class ProfileReportAdmin(ReadOnly):
    list_display = ("charge_point", "request_id", "status", "parts", "profiles", "requested_at", "completed_at")
    list_filter = ("status",)
    search_fields = ("charge_point__charge_point_id",)


@admin.register(CompositeSchedule)
class CompositeScheduleAdmin(ReadOnly):
    list_display = ("charge_point", "evse_id", "schedule_start", "duration", "charging_rate_unit", "received_at")
    search_fields = ("charge_point__charge_point_id",)


@admin.register(ChargingLimit)
class ChargingLimitAdmin(ReadOnly):
    list_display = ("charge_point", "evse_id", "charging_limit_source", "is_grid_critical", "reported_at", "cleared_at")
    list_filter = ("charging_limit_source", "is_grid_critical")
    search_fields = ("charge_point__charge_point_id",)


@admin.register(EVChargingNeeds)
class EVChargingNeedsAdmin(ReadOnly):
    list_display = ("charge_point", "evse_id", "requested_energy_transfer", "departure_time", "status", "received_at")
    list_filter = ("requested_energy_transfer", "status")
    search_fields = ("charge_point__charge_point_id",)


@admin.register(EVChargingSchedule)
class EVChargingScheduleAdmin(ReadOnly):
    list_display = ("charge_point", "evse_id", "time_base", "received_at")
    search_fields = ("charge_point__charge_point_id",)
