"""Admin for the fleet: what an operator looks at first, and the decisions they take."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from transactions.models import Transaction

from . import ports
from .commands import CommandError, command_cancel, command_enqueue
from .models import (
    ChargePoint,
    ChargerEvent,
    ChargingProfile,
    Command,
    ConfigurationKey,
    Connector,
    ConnectorStatusChange,
    DeviceVariable,
    Evse,
    IdTag,
    RegistrationStatus,
    Reservation,
)
from .services import charge_point_registration_set


class ReadOnlyMixin:
    """Records of what happened: visible, never edited by hand."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# Shown and read-only alike: one tuple each (django-stubs types ``fields`` and ``readonly_fields``
# differently, so one cannot be assigned the other).
_CONNECTOR_FIELDS = (
    "evse_id",
    "connector_id",
    "status",
    "error_code",
    "info",
    "vendor_error_code",
    "charger_timestamp",
    "status_updated_at",
)
_SESSION_FIELDS = (
    "id",
    "charger_transaction_id",
    "evse_id",
    "connector_id",
    "id_tag",
    "started_at",
    "stopped_at",
    "meter_start",
    "meter_stop",
    "stop_reason",
)
_STATUS_FIELDS = ("received_at", "status", "error_code", "info", "vendor_error_code", "charger_timestamp")


class ConnectorInline(ReadOnlyMixin, admin.TabularInline):
    model = Connector
    fields = _CONNECTOR_FIELDS
    readonly_fields = _CONNECTOR_FIELDS
    extra = 0
    can_delete = False
    show_change_link = True


class EvseInline(ReadOnlyMixin, admin.TabularInline):
    model = Evse
    fields = ("evse_id", "availability", "created_at")
    readonly_fields = ("evse_id", "availability", "created_at")
    extra = 0
    can_delete = False


class RecentTransactionInline(ReadOnlyMixin, admin.TabularInline):
    model = Transaction
    verbose_name_plural = "Recent sessions (last 10)"
    fields = _SESSION_FIELDS
    readonly_fields = _SESSION_FIELDS
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Transaction]:
        queryset = super().get_queryset(request)
        # An inline cannot be sliced; restrict it to the ten newest ids instead.
        parent_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
        recent = (
            Transaction.objects.filter(charge_point_id=parent_id)
            .order_by("-started_at")
            .values_list("id", flat=True)[:10]
        )
        return queryset.filter(id__in=list(recent))


@admin.register(ChargePoint)
class ChargePointAdmin(admin.ModelAdmin):
    list_display = [
        "charge_point_id",
        "registration_status",
        "online",
        "ocpp_version",
        "vendor",
        "model",
        "firmware_version",
        "last_seen_at",
        "last_boot_at",
        "demo",
    ]
    list_filter = ["registration_status", "online", "demo", "vendor", "model", "ocpp_version"]
    search_fields = ["charge_point_id", "serial_number", "charge_box_serial_number", "iccid", "imsi"]
    readonly_fields = [
        "first_boot_at",
        "last_boot_at",
        "last_heartbeat_at",
        "last_seen_at",
        "online",
        "last_connected_at",
        "last_disconnected_at",
        "last_disconnect_reason",
        "created_at",
        "updated_at",
    ]
    inlines = [EvseInline, ConnectorInline, RecentTransactionInline]
    actions = ["accept", "reject", "soft_reset", "hard_reset", "get_configuration", "clear_cache", "trigger_status"]

    @admin.action(description="Accept the selected charge points (at their next boot)")
    def accept(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> None:
        self._decide(request, queryset, RegistrationStatus.ACCEPTED)

    @admin.action(description="Reject the selected charge points (at their next boot)")
    def reject(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> None:
        self._decide(request, queryset, RegistrationStatus.REJECTED)

    # Each action is a shortcut; the charger's version spells the command (ports.Shortcuts).
    @admin.action(description="Send: soft reset")
    def soft_reset(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> None:
        self._command(request, queryset, lambda shortcuts: shortcuts.reset(hard=False))

    @admin.action(description="Send: hard reset")
    def hard_reset(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> None:
        self._command(request, queryset, lambda shortcuts: shortcuts.reset(hard=True))

    @admin.action(description="Send: read the configuration (all keys)")
    def get_configuration(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> None:
        self._command(request, queryset, lambda shortcuts: shortcuts.configuration_read())

    @admin.action(description="Send: clear the authorization cache")
    def clear_cache(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> None:
        self._command(request, queryset, lambda shortcuts: shortcuts.clear_cache())

    @admin.action(description="Send: trigger a StatusNotification")
    def trigger_status(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> None:
        # StatusNotification: a trigger message of 1.6 and 2.0.1 alike.
        self._command(request, queryset, lambda shortcuts: shortcuts.trigger(message="StatusNotification"))

    def _command(
        self,
        request: HttpRequest,
        queryset: QuerySet[ChargePoint],
        build: Callable[[ports.Shortcuts], ports.CommandRequest],
    ) -> None:
        queued: Counter[str] = Counter()
        for charge_point in queryset:
            try:
                command = build(ports.port_of(charge_point).shortcuts)
                command_enqueue(
                    charge_point=charge_point,
                    action=command.action,
                    payload=command.payload,
                    requested_by=request.user.get_username(),
                )
                queued[command.action] += 1
            except LookupError as exc:  # a version no protocol package speaks
                self.message_user(request, f"{charge_point}: {exc}", messages.ERROR)
            except CommandError as exc:
                self.message_user(request, f"{charge_point}: {exc.message}", messages.ERROR)
        # One line per action: chargers of two versions may spell one shortcut two ways.
        for action, count in queued.items():
            self.message_user(request, f"{action} queued for {count} charge point(s).", messages.SUCCESS)

    def _decide(self, request: HttpRequest, queryset: QuerySet[ChargePoint], status: str) -> None:
        for charge_point in queryset:
            charge_point_registration_set(charge_point=charge_point, status=status)
        self.message_user(request, f"{queryset.count()} charge point(s) set to {status}.", messages.SUCCESS)


class StatusHistoryInline(ReadOnlyMixin, admin.TabularInline):
    model = ConnectorStatusChange
    fields = _STATUS_FIELDS
    readonly_fields = _STATUS_FIELDS
    extra = 0
    can_delete = False


@admin.register(Connector)
class ConnectorAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["__str__", "evse_id", "connector_id", "status", "error_code", "status_updated_at"]
    list_filter = ["status", "error_code", "charge_point__ocpp_version"]
    search_fields = ["charge_point__charge_point_id"]
    list_select_related = ["charge_point"]
    inlines = [StatusHistoryInline]


@admin.register(IdTag)
class IdTagAdmin(admin.ModelAdmin):
    list_display = ["id_tag", "type", "status", "expiry_date", "parent", "note", "demo"]
    list_filter = ["status", "type", "demo"]
    search_fields = ["id_tag", "note"]
    autocomplete_fields = ["parent"]
    list_select_related = ["parent"]


@admin.register(ChargerEvent)
class ChargerEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["received_at", "charge_point", "kind", "status", "charger_timestamp"]
    list_filter = ["kind"]
    search_fields = ["charge_point__charge_point_id", "status"]
    list_select_related = ["charge_point"]
    date_hierarchy = "received_at"


@admin.register(Command)
class CommandAdmin(ReadOnlyMixin, admin.ModelAdmin):
    actions = ["cancel"]

    list_display = ["created_at", "charge_point", "action", "status", "requested_by", "sent_at", "completed_at"]
    list_filter = ["status", "action"]
    search_fields = ["charge_point__charge_point_id", "message_id"]
    list_select_related = ["charge_point"]
    date_hierarchy = "created_at"

    @admin.action(description="Cancel the selected queued commands")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Command]) -> None:
        for command in queryset:
            try:
                command_cancel(command=command)
            except CommandError as exc:
                self.message_user(request, f"{command}: {exc.message}", messages.WARNING)


@admin.register(ConfigurationKey)
class ConfigurationKeyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["charge_point", "key", "value", "readonly", "updated_at"]
    search_fields = ["charge_point__charge_point_id", "key"]
    list_select_related = ["charge_point"]


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "reservation_id",
        "charge_point",
        "evse_id",
        "connector_id",
        "connector_type",
        "id_tag",
        "parent_id_tag",
        "expiry_date",
        "status",
    ]
    list_filter = ["status"]
    search_fields = ["charge_point__charge_point_id", "id_tag", "parent_id_tag"]
    list_select_related = ["charge_point"]


@admin.register(ChargingProfile)
class ChargingProfileAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["profile_id", "charge_point", "connector_id", "purpose", "stack_level", "active", "created_at"]
    list_filter = ["active", "purpose"]
    search_fields = ["charge_point__charge_point_id"]
    list_select_related = ["charge_point"]


@admin.register(Evse)
class EvseAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """EVSEs are the charger's facts (made by its StatusNotifications, set by accepted ChangeAvailability)."""

    list_display = ["__str__", "charge_point", "evse_id", "availability", "created_at"]
    list_filter = ["availability", "charge_point__ocpp_version"]
    search_fields = ["charge_point__charge_point_id"]
    list_select_related = ["charge_point"]


@admin.register(DeviceVariable)
class DeviceVariableAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """A 2.0.1 station's device model as it reported it; changed only through SetVariables commands."""

    list_display = [
        "charge_point",
        "component",
        "component_instance",
        "evse_id",
        "connector_id",
        "variable",
        "variable_instance",
        "attribute_type",
        "value",
        "mutability",
        "updated_at",
    ]
    list_filter = ["mutability", "attribute_type", "data_type"]
    search_fields = ["charge_point__charge_point_id", "component", "variable"]
    list_select_related = ["charge_point"]
