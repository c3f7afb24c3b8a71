"""The message log in the admin: read-only, searchable by charger, message id and action."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import MessageLog


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
