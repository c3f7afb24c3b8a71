"""Read-only admin of display messages: they change through commands and the stations' reports."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import DisplayMessage


@admin.register(DisplayMessage)
class DisplayMessageAdmin(admin.ModelAdmin):
    list_display = ("charge_point", "message_id", "priority", "state", "format", "status", "answer", "updated_at")
    list_filter = ("status", "priority")
    search_fields = ("charge_point__charge_point_id", "content")
    raw_id_fields = ("charge_point", "command")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
