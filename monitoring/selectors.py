"""Reads of a station's monitoring: its monitors and settings, its faults and event history (with the MREC
meaning of each ``techCode``), and the variables set with a ``RebootRequired`` answer that wait for a boot.

One read side for the dashboard panel and the API.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from chargers.models import ChargePoint, ChargerEvent, Command

from .models import MonitoringSettings, StationFault, VariableMonitor
from .mrec import ErrorCode, mrec_lookup

#: How many NotifyEvent events the history shows (newest first); the admin and the API have them all.
LATEST_EVENTS = 25


def _label(component: dict[str, Any], variable: dict[str, Any]) -> str:
    evse = component.get("evse") or {}
    where = ""
    if evse.get("id") is not None:
        where = f"@{evse['id']}" + (f"/{evse['connectorId']}" if evse.get("connectorId") is not None else "")
    name = component.get("name", "")
    if component.get("instance"):
        name += f"[{component['instance']}]"
    variable_name = variable.get("name", "")
    if variable.get("instance"):
        variable_name += f"[{variable['instance']}]"
    return f"{name}{where}.{variable_name}"


@dataclasses.dataclass(frozen=True)
class EventView:
    """One event of a NotifyEvent as the history shows it."""

    event_id: int | None
    timestamp: datetime | None
    variable: str
    trigger: str
    actual_value: str
    notification_type: str
    cleared: bool
    tech_code: str
    tech_info: str
    mrec: ErrorCode | None
    #: The monitor that triggered it (variableMonitoringId), if one did.
    monitor_id: int | None = None


@dataclasses.dataclass(frozen=True)
class FaultView:
    """An open or ended fault, with the MREC meaning of its code when it has one."""

    fault: StationFault
    mrec: ErrorCode | None

    @property
    def variable(self) -> str:
        fault = self.fault
        evse = {"id": fault.evse_id, "connectorId": fault.connector_id} if fault.evse_id is not None else None
        component = {"name": fault.component, "instance": fault.component_instance, "evse": evse}
        return _label(component, {"name": fault.variable, "instance": fault.variable_instance})


@dataclasses.dataclass(frozen=True)
class RebootPending:
    """A variable the station set with ``RebootRequired``: in effect after its next boot."""

    variable: str
    attribute_type: str
    value: str
    answered_at: datetime | None
    command_id: int


@dataclasses.dataclass(frozen=True)
class StationMonitoring:
    """Everything the monitoring panel and API show of one station."""

    monitors: list[VariableMonitor]
    settings: MonitoringSettings | None
    faults: list[FaultView]
    events: list[EventView]
    reboot_pending: list[RebootPending]

    @property
    def open_faults(self) -> list[FaultView]:
        return [view for view in self.faults if view.fault.cleared_at is None]


def station_events(*, charge_point: ChargePoint, limit: int = LATEST_EVENTS) -> list[EventView]:
    """The station's latest NotifyEvent events (as the core keeps them: ChargerEvent NOTIFY_EVENT)."""
    rows = ChargerEvent.objects.filter(charge_point=charge_point, kind=ChargerEvent.Kind.NOTIFY_EVENT)[:limit]
    views = []
    for row in rows:
        detail = row.detail or {}
        tech_code = str(detail.get("techCode", ""))
        views.append(
            EventView(
                event_id=detail.get("eventId"),
                timestamp=row.charger_timestamp,
                variable=_label(detail.get("component") or {}, detail.get("variable") or {}),
                trigger=str(detail.get("trigger", "")),
                actual_value=str(detail.get("actualValue", "")),
                notification_type=str(detail.get("eventNotificationType", "")),
                cleared=bool(detail.get("cleared", False)),
                tech_code=tech_code,
                tech_info=str(detail.get("techInfo", "")),
                mrec=mrec_lookup(tech_code) if tech_code else None,
                monitor_id=detail.get("variableMonitoringId"),
            )
        )
    return views


def station_faults(*, charge_point: ChargePoint, limit: int = LATEST_EVENTS) -> list[FaultView]:
    """The station's faults, newest first: every open one, then the latest ended ones."""
    open_faults = list(StationFault.objects.filter(charge_point=charge_point, cleared_at__isnull=True))
    ended = list(StationFault.objects.filter(charge_point=charge_point, cleared_at__isnull=False)[:limit])
    return [
        FaultView(fault, mrec_lookup(fault.tech_code) if fault.tech_code else None) for fault in open_faults + ended
    ]


def reboot_pending(*, charge_point: ChargePoint) -> list[RebootPending]:
    """The variables set with a ``RebootRequired`` answer since the station last booted (its next
    BootNotification ends the wait), newest answer first, each variable once."""
    commands = Command.objects.filter(
        charge_point=charge_point,
        action="SetVariables",
        status=Command.Status.ACCEPTED,
        response__setVariableResult__contains=[{"attributeStatus": "RebootRequired"}],
    )
    if charge_point.last_boot_at is not None:
        commands = commands.filter(completed_at__gt=charge_point.last_boot_at)
    seen: set[tuple[str, str]] = set()
    pending = []
    for command in commands.order_by("-completed_at", "-id"):
        asked = {
            (_label(item["component"], item["variable"]).lower(), item.get("attributeType", "Actual")): item
            for item in command.request.get("setVariableData", [])
        }
        for result in (command.response or {}).get("setVariableResult", []):
            if result.get("attributeStatus") != "RebootRequired":
                continue
            label = _label(result["component"], result["variable"])
            attribute_type = result.get("attributeType", "Actual")
            identity = (label.lower(), attribute_type)
            if identity in seen:
                continue
            seen.add(identity)
            item = asked.get(identity) or {}
            pending.append(
                RebootPending(
                    variable=label,
                    attribute_type=attribute_type,
                    value=str(item.get("attributeValue", "")),
                    answered_at=command.completed_at,
                    command_id=command.pk,
                )
            )
    return pending


def station_monitoring(*, charge_point: ChargePoint) -> StationMonitoring:
    """The monitoring panel's data of one station."""
    return StationMonitoring(
        monitors=list(VariableMonitor.objects.filter(charge_point=charge_point)),
        settings=MonitoringSettings.objects.filter(charge_point=charge_point).first(),
        faults=station_faults(charge_point=charge_point),
        events=station_events(charge_point=charge_point),
        reboot_pending=reboot_pending(charge_point=charge_point),
    )
