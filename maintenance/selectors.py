"""Reads of the firmware and logs model shared by the charger page's panel and the API."""

from __future__ import annotations

import dataclasses

from django.db.models import Prefetch, QuerySet

from chargers.models import ChargePoint

from .models import FirmwarePublication, FirmwareStatusChange, FirmwareUpdate, LogStatusChange, LogUpload

#: How many log uploads and publications the charger page shows (newest first); the API and the admin have all.
RECENT = 5


def firmware_updates(charge_point: ChargePoint) -> QuerySet[FirmwareUpdate]:
    """A charger's firmware updates, newest first, with their status changes and commands."""
    return (
        FirmwareUpdate.objects.filter(charge_point=charge_point)
        .select_related("command")
        .prefetch_related(Prefetch("changes", queryset=FirmwareStatusChange.objects.order_by("at", "id")))
    )


def log_uploads(charge_point: ChargePoint) -> QuerySet[LogUpload]:
    """A charger's log uploads, newest first, with their status changes and commands."""
    return (
        LogUpload.objects.filter(charge_point=charge_point)
        .select_related("command")
        .prefetch_related(Prefetch("changes", queryset=LogStatusChange.objects.order_by("at", "id")))
    )


def firmware_publications(charge_point: ChargePoint) -> QuerySet[FirmwarePublication]:
    return FirmwarePublication.objects.filter(charge_point=charge_point).select_related("command")


@dataclasses.dataclass(frozen=True)
class MaintenanceView:
    """The charger page's firmware and logs card."""

    #: The update running, else the last one (with its timeline).
    firmware: FirmwareUpdate | None
    logs: list[LogUpload]
    publications: list[FirmwarePublication]


def charger_maintenance(charge_point: ChargePoint) -> MaintenanceView:
    updates = firmware_updates(charge_point)
    current = updates.filter(finished_at__isnull=True).exclude(status="Requested").first() or updates.first()
    return MaintenanceView(
        firmware=current,
        logs=list(log_uploads(charge_point)[:RECENT]),
        publications=list(firmware_publications(charge_point)[:RECENT]),
    )
