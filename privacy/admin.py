"""Read-only admin of customer information requests and their report parts."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import CustomerInformationPart, CustomerInformationRequest


class PartInline(admin.TabularInline):
    model = CustomerInformationPart
    fields = ("seq_no", "data", "tbc", "generated_at", "received_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(CustomerInformationRequest)
class CustomerInformationRequestAdmin(admin.ModelAdmin):
    list_display = ("charge_point", "request_id", "report", "clear", "id_token", "customer_identifier", "status")
    list_filter = ("status", "report", "clear")
    search_fields = ("charge_point__charge_point_id", "id_token", "customer_identifier")
    raw_id_fields = ("charge_point", "command", "local_list_command")
    inlines = [PartInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
