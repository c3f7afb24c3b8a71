"""Admin for tariffs and groups of chargers."""

from __future__ import annotations

from django.contrib import admin

from .models import ChargerGroup, ChargerGroupMember, Tariff


class ChargerGroupMemberInline(admin.TabularInline):
    model = ChargerGroupMember
    extra = 0
    autocomplete_fields = ["charge_point"]


@admin.register(ChargerGroup)
class ChargerGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "created_at"]
    search_fields = ["name"]
    inlines = [ChargerGroupMemberInline]


@admin.register(Tariff)
class TariffAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "scope",
        "charge_point",
        "group",
        "currency",
        "energy_price",
        "time_price",
        "session_fee",
        "valid_from",
        "valid_to",
    ]
    list_filter = ["currency", "group"]
    search_fields = ["name", "charge_point__charge_point_id", "group__name"]
    autocomplete_fields = ["charge_point", "group"]
    list_select_related = ["charge_point", "group"]
