"""The message log and the dead letters in the admin: read-only, searchable by charger and message id."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import DeadLetter, MessageLog


@admin.register(MessageLog)
class MessageLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "charge_point_id", "direction", "kind", "action", "message_id", "error_code"]
    list_filter = ["direction", "kind", "action", "error_code"]
    search_fields = ["=charge_point_id", "=message_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    """Quarantined frames: read-only, so what a charger sent stays as it came."""

    list_display = ["created_at", "charge_point_id", "action", "message_id", "reason", "deliveries", "answered"]
    list_filter = ["reason", "answered", "action"]
    search_fields = ["=charge_point_id", "=message_id"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "created_at",
        "charge_point_id",
        "message_id",
        "action",
        "reason",
        "description",
        "deliveries",
        "answered",
        "raw",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
