"""Read-only admin of the periodic event streams: what stations said (Adjust goes to the station, by the API)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import PeriodicEventStream, StreamValue


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PeriodicEventStream)
class PeriodicEventStreamAdmin(ReadOnly):
    list_display = ["charge_point", "stream_id", "variable_monitoring_id", "status", "interval", "values",
                    "last_value_at", "pending"]  # fmt: skip
    list_filter = ["status"]
    search_fields = ["charge_point__charge_point_id"]


@admin.register(StreamValue)
class StreamValueAdmin(ReadOnly):
    list_display = ["stream", "timestamp", "value", "numeric_value", "received_at"]
    search_fields = ["stream__charge_point__charge_point_id"]
    list_select_related = ["stream"]
