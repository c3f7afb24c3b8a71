"""Admin pages of the monitoring app (read mostly: the stations' own facts)."""

from __future__ import annotations

from django.contrib import admin

from .models import MonitoringSettings, StationFault, VariableMonitor


@admin.register(VariableMonitor)
class VariableMonitorAdmin(admin.ModelAdmin):
    list_display = ("charge_point", "monitor_id", "component", "variable", "type", "value", "severity", "source")
    list_filter = ("type", "source")
    search_fields = ("charge_point__charge_point_id", "component", "variable")


@admin.register(MonitoringSettings)
class MonitoringSettingsAdmin(admin.ModelAdmin):
    list_display = ("charge_point", "monitoring_base", "monitoring_level", "updated_at")


@admin.register(StationFault)
class StationFaultAdmin(admin.ModelAdmin):
    list_display = ("charge_point", "component", "variable", "tech_code", "raised_at", "cleared_at")
    list_filter = ("tech_code",)
    search_fields = ("charge_point__charge_point_id", "tech_code", "tech_info")
