"""Monitoring (block N): SetVariableMonitoring, SetMonitoringBase, SetMonitoringLevel, ClearVariableMonitoring,
GetMonitoringReport / NotifyMonitoringReport, NotifyEvent as the station's event history; and the device
model's limits on SetVariables (block B: mutability and characteristics).

The block's protocol side (``protocols.blocks``); the domain side is the ``monitoring`` app.

Handlers:
- NotifyMonitoringReport: each part (requestId, seqNo, tbc) kept with the monitors it lists
  (``monitoring.services.monitoring_report_part_record``); once a report of every monitor (a
  GetMonitoringReport without criteria nor componentVariable) is complete, monitors it did not list are
  forgotten. The part is still recorded as the core recorded it (a ChargerEvent NOTIFICATION).
- NotifyEvent: the core's rows (one ChargerEvent NOTIFY_EVENT per event), then faults: an event with a
  ``techCode`` (or the ``Problem`` variable set) opens one, a ``cleared`` event ends it.

Effects (after the core's):
- SetVariableMonitoring: every ``Accepted`` result with an ``id`` is a monitor of the station, with the value
  and transaction flag we asked for.
- ClearVariableMonitoring: ``Accepted`` and ``NotFound`` ids are no monitors of the station any more.
- SetMonitoringBase / SetMonitoringLevel ``Accepted``: the station's base / level.

Checks (before queuing; CommandError: the API's 400 names the item):
- SetVariables: a variable the station reported ``ReadOnly`` is refused; so is a value its characteristics
  rule out (dataType, minLimit, maxLimit, valuesList), where the device model knows them.
- SetVariableMonitoring: severity 0-9; no monitor on a variable the station says does not support
  monitoring; a Periodic / PeriodicClockAligned interval above 0; no two items with the same monitor id.
- SetMonitoringLevel: severity 0-9 (N05.FR.02: a station rejects any other).
- ClearVariableMonitoring: no id twice.
- GetMonitoringReport: its requestId not used by an open one (its parts are matched to it by that id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chargers.commands import CommandError
from chargers.device_model import (
    VariableKey,
    device_characteristics_of,
    device_value_problem,
    device_variables_find,
)
from chargers.models import ChargePoint, ChargerEvent, Command, DeviceVariable
from chargers.services import charger_event_record
from monitoring import services as monitoring
from monitoring.services import DeviceEventFact, MonitorKey, MonitorSpec

from ..blocks import Block
from ..payloads import timestamp as _timestamp
from . import handlers

#: Severities of OCPP 2.0.1 (0 Danger .. 9 Debug).
SEVERITIES = range(10)
PERIODIC = ("Periodic", "PeriodicClockAligned")


def _monitor_key(component: dict[str, Any], variable: dict[str, Any]) -> MonitorKey:
    evse = component.get("evse") or {}
    return MonitorKey(
        component=component["name"],
        variable=variable["name"],
        component_instance=component.get("instance", ""),
        variable_instance=variable.get("instance", ""),
        evse_id=evse.get("id"),
        connector_id=evse.get("connectorId"),
    )


def _variable_key(component: dict[str, Any], variable: dict[str, Any]) -> VariableKey:
    key = _monitor_key(component, variable)
    return VariableKey(
        component=key.component,
        variable=key.variable,
        component_instance=key.component_instance,
        variable_instance=key.variable_instance,
        evse_id=key.evse_id,
        connector_id=key.connector_id,
    )


def _name(component: dict[str, Any], variable: dict[str, Any]) -> str:
    evse = component.get("evse") or {}
    where = f" (EVSE {evse['id']})" if evse.get("id") is not None else ""
    return f"{component['name']}{where}.{variable['name']}"


def _folded(key: MonitorKey) -> tuple[Any, ...]:
    return (
        key.component.lower(),
        key.component_instance.lower(),
        key.evse_id,
        key.connector_id,
        key.variable.lower(),
        key.variable_instance.lower(),
    )


# --- handlers --------------------------------------------------------------------------------------


def _monitors(payload: dict[str, Any]) -> list[MonitorSpec]:
    return [
        MonitorSpec(
            monitor_id=monitor["id"],
            key=_monitor_key(item["component"], item["variable"]),
            type=monitor["type"],
            value=float(monitor["value"]),
            severity=monitor["severity"],
            transaction=monitor.get("transaction", False),
        )
        for item in payload.get("monitor", [])
        for monitor in item["variableMonitoring"]
    ]


def _full_report(cp: ChargePoint, request_id: int) -> bool:
    """Whether report ``request_id`` is the answer to a GetMonitoringReport of every monitor of ours."""
    asked = (
        Command.objects.filter(charge_point=cp, action="GetMonitoringReport", request__requestId=request_id)
        .order_by("-created_at")
        .values_list("request", flat=True)
        .first()
    )
    return asked is not None and not asked.get("monitoringCriteria") and not asked.get("componentVariable")


def notify_monitoring_report(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """One part of a monitoring report (N02): kept with its monitors; recorded as the core did."""
    generated_at = _timestamp(payload, "generatedAt")
    monitors = _monitors(payload)
    charger_event_record(
        charge_point=cp, kind=ChargerEvent.Kind.NOTIFICATION, status="NotifyMonitoringReport", detail=payload, now=now
    )
    monitoring.monitoring_report_part_record(
        charge_point=cp,
        request_id=payload["requestId"],
        seq_no=payload["seqNo"],
        tbc=payload.get("tbc", False),
        generated_at=generated_at,
        monitors=monitors,
        full=_full_report(cp, payload["requestId"]),
        now=now,
    )
    return {}


def notify_event(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The core's NotifyEvent (one NOTIFY_EVENT row per event), then the faults the events raise or clear."""
    reply = handlers.notify_event(cp, payload, now)
    facts = [
        DeviceEventFact(
            event_id=item["eventId"],
            key=_monitor_key(item["component"], item["variable"]),
            timestamp=_timestamp(item, "timestamp", f"eventData.{index}."),
            trigger=item.get("trigger", ""),
            actual_value=item.get("actualValue", ""),
            cleared=item.get("cleared", False),
            tech_code=item.get("techCode", ""),
            tech_info=item.get("techInfo", ""),
        )
        for index, item in enumerate(payload["eventData"])
    ]
    monitoring.faults_record(charge_point=cp, events=facts)
    return reply


# --- effects ---------------------------------------------------------------------------------------


def _set_variable_monitoring(command: Command, response: dict[str, Any], now: datetime) -> None:
    """The accepted results are monitors; their value and transaction flag are the request's (the result
    names the variable, type and severity of each item, in the request's order as a rule: matched by
    those, by position when they do not tell)."""
    asked = command.request.get("setMonitoringData", [])
    by_identity: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for item in asked:
        identity = (*_folded(_monitor_key(item["component"], item["variable"])), item["type"], item["severity"])
        by_identity.setdefault(identity, []).append(item)
    accepted = []
    for index, result in enumerate(response.get("setMonitoringResult", [])):
        if result.get("status") != "Accepted" or result.get("id") is None:
            continue
        key = _monitor_key(result["component"], result["variable"])
        candidates = by_identity.get((*_folded(key), result["type"], result["severity"])) or []
        item = candidates.pop(0) if candidates else (asked[index] if index < len(asked) else None)
        if item is None:
            continue
        accepted.append(
            MonitorSpec(
                monitor_id=result["id"],
                key=key,
                type=result["type"],
                value=float(item["value"]),
                severity=result["severity"],
                transaction=item.get("transaction", False),
            )
        )
    monitoring.monitors_set_record(charge_point=command.charge_point, monitors=accepted, now=now)


def _clear_variable_monitoring(command: Command, response: dict[str, Any], now: datetime) -> None:
    gone = [
        result["id"]
        for result in response.get("clearMonitoringResult", [])
        if result.get("status") in ("Accepted", "NotFound")
    ]
    monitoring.monitors_clear_record(charge_point=command.charge_point, monitor_ids=gone)


def _set_monitoring_base(command: Command, response: dict[str, Any], now: datetime) -> None:
    if response.get("status") == "Accepted":
        monitoring.monitoring_base_record(
            charge_point=command.charge_point, monitoring_base=command.request["monitoringBase"], now=now
        )


def _set_monitoring_level(command: Command, response: dict[str, Any], now: datetime) -> None:
    if response.get("status") == "Accepted":
        monitoring.monitoring_level_record(
            charge_point=command.charge_point, severity=command.request["severity"], now=now
        )


# --- checks ----------------------------------------------------------------------------------------


def _check_set_variables(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    """B05: a ReadOnly variable cannot be set, nor a value outside what the station says it takes."""
    items = payload["setVariableData"]
    keys = [(_variable_key(item["component"], item["variable"]), item.get("attributeType", "Actual")) for item in items]
    rows = device_variables_find(charge_point=charge_point, keys=keys)
    for index, (item, pair) in enumerate(zip(items, keys, strict=True)):
        name = _name(item["component"], item["variable"])
        row = rows.get(pair)
        if row is not None and row.mutability == DeviceVariable.Mutability.READ_ONLY:
            raise CommandError(
                f"setVariableData.{index}: {name} is ReadOnly on {charge_point}",
                {f"setVariableData.{index}": [f"{name} ({pair[1]}) is ReadOnly: the station does not take a value"]},
            )
        described = row if row is not None and row.data_type else None
        described = described or device_characteristics_of(charge_point=charge_point, key=pair[0])
        if described is None:
            continue
        problem = device_value_problem(row=described, value=item["attributeValue"])
        if problem is not None:
            raise CommandError(
                f"setVariableData.{index}: {name} ({described.data_type}): {problem}",
                {f"setVariableData.{index}.attributeValue": [problem]},
            )


def _severity(field: str, severity: int) -> None:
    if severity not in SEVERITIES:
        raise CommandError(
            f"{field}: severity {severity} is out of range (0 Danger .. 9 Debug)", {field: ["must be 0 to 9"]}
        )


def _check_set_variable_monitoring(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    items = payload["setMonitoringData"]
    ids: set[int] = set()
    for index, item in enumerate(items):
        name = _name(item["component"], item["variable"])
        _severity(f"setMonitoringData.{index}.severity", item["severity"])
        if item["type"] in PERIODIC and item["value"] <= 0:
            raise CommandError(
                f"setMonitoringData.{index}: a {item['type']} monitor of {name} needs an interval above 0 seconds",
                {f"setMonitoringData.{index}.value": ["the interval in seconds: above 0"]},
            )
        if (monitor_id := item.get("id")) is not None:
            if monitor_id in ids:
                raise CommandError(
                    f"setMonitoringData.{index}: monitor id {monitor_id} is in the request twice",
                    {f"setMonitoringData.{index}.id": ["each monitor once per request"]},
                )
            ids.add(monitor_id)
        described = device_characteristics_of(
            charge_point=charge_point, key=_variable_key(item["component"], item["variable"])
        )
        if described is not None and described.supports_monitoring is False:
            raise CommandError(
                f"setMonitoringData.{index}: {name} does not support monitoring on {charge_point}",
                {f"setMonitoringData.{index}": [f"the station reported {name} with supportsMonitoring false"]},
            )


def _check_set_monitoring_level(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    _severity("severity", payload["severity"])


def _check_get_monitoring_report(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    """The report's parts name its requestId: two open requests of one id would mix their reports."""
    request_id = payload["requestId"]
    taken = Command.objects.filter(
        charge_point=charge_point,
        action="GetMonitoringReport",
        status__in=[Command.Status.QUEUED, Command.Status.SENT],
        request__requestId=request_id,
    ).exists()
    if taken:
        raise CommandError(
            f"requestId {request_id} is already used by an open GetMonitoringReport to {charge_point}",
            {"requestId": ["already used by a queued or sent GetMonitoringReport to this station"]},
        )


def _check_clear_variable_monitoring(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    seen: set[int] = set()
    for index, monitor_id in enumerate(payload["id"]):
        if monitor_id in seen:
            raise CommandError(f"id.{index}: monitor {monitor_id} is listed twice", {f"id.{index}": ["listed twice"]})
        seen.add(monitor_id)


BLOCK = Block(
    "monitoring",
    handlers={"NotifyMonitoringReport": notify_monitoring_report, "NotifyEvent": notify_event},
    effects={
        "SetVariableMonitoring": _set_variable_monitoring,
        "ClearVariableMonitoring": _clear_variable_monitoring,
        "SetMonitoringBase": _set_monitoring_base,
        "SetMonitoringLevel": _set_monitoring_level,
    },
    checks={
        "SetVariables": _check_set_variables,
        "SetVariableMonitoring": _check_set_variable_monitoring,
        "SetMonitoringLevel": _check_set_monitoring_level,
        "ClearVariableMonitoring": _check_clear_variable_monitoring,
        "GetMonitoringReport": _check_get_monitoring_report,
    },
)
