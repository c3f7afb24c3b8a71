"""Admin for operator alerts: look, acknowledge; alerts are raised by the system, never by hand."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Alert
from .services import alert_acknowledge


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["last_raised_at", "severity", "kind", "charge_point", "subject", "count", "acknowledged_at"]
    list_filter = ["severity", "kind", ("acknowledged_at", admin.EmptyFieldListFilter)]
    search_fields = ["charge_point__charge_point_id", "subject", "kind", "title"]
    readonly_fields = [
        "charge_point",
        "subject",
        "kind",
        "severity",
        "title",
        "detail",
        "count",
        "raised_at",
        "last_raised_at",
        "acknowledged_at",
        "acknowledged_by",
    ]
    actions = ["acknowledge"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Acknowledge selected alerts")
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        for alert in queryset.filter(acknowledged_at__isnull=True):
            alert_acknowledge(alert=alert, user=request.user)
        messages.success(request, "Acknowledged.")
