"""Monitoring and events of a simulated 2.0.1 station (block N): SetVariableMonitoring, SetMonitoringBase,
SetMonitoringLevel, ClearVariableMonitoring, GetMonitoringReport (NotifyMonitoringReport), and the
NotifyEvents its monitors raise: thresholds and deltas of numeric or boolean variables (an EVSE's Power
while it charges, its Problem when a fault comes and goes). Periodic monitors are not supported
(UnsupportedMonitorType), as on many stations.

Unless idle, a station now and then has a fault on an idle EVSE (rare: ``Options.fault_gap``): the
connector is Faulted, a NotifyEvent (hard-wired monitor of EVSE.Problem) carries a ChargeX MREC
``techCode``, and a minute or two later the clearing event and Available follow.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable
from typing import Any

from ocpp.routing import after, on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from gateway.sim_v201_base import StationBase
from gateway.sim_v201_model import (
    MONITORABLE,
    REPORT_ITEMS_PER_PART,
    ComponentKey,
    Monitor,
    VariableKey,
    component_json,
    component_key,
    preconfigured_monitors,
)

CRITERIA = {
    "ThresholdMonitoring": ("UpperThreshold", "LowerThreshold"),
    "DeltaMonitoring": ("Delta",),
    "PeriodicMonitoring": ("Periodic", "PeriodicClockAligned"),
}
SUPPORTED = ("UpperThreshold", "LowerThreshold", "Delta")
# ChargeX Minimum Required Error Codes a simulated fault reports (monitoring/mrec.py has their meanings).
FAULTS = (
    ("CX001", "connector lock motor did not reach its end position"),
    ("CX002", "residual current 32 mA AC on phase L2"),
    ("CX003", "internal temperature 78 C, derating"),
    ("CX014", "control pilot high level out of range"),
    ("CX023", "proximity pilot resistance out of range"),
)


def number(value: str) -> float | None:
    if value in ("true", "false"):
        return float(value == "true")
    try:
        return float(value)
    except ValueError:
        return None


class MonitoringBlock(StationBase):
    """Monitoring of a simulated station."""

    def active_monitors(self) -> list[Monitor]:
        """The monitors in force: preconfigured ones are off with a HardWiredOnly base."""
        hard_wired_only = self.state.variable("MonitoringCtrlr", "ActiveMonitoringBase").value == "HardWiredOnly"
        return [m for m in self.state.monitors.values() if not (hard_wired_only and m.kind == "Preconfigured")]

    # --- SetVariableMonitoring (N04) -----------------------------------------------------------------
    @on(Action.set_variable_monitoring)
    def on_set_variable_monitoring(self, set_monitoring_data: list[dict[str, Any]], **kwargs: Any) -> Any:
        self.check_items("MonitoringCtrlr", "SetVariableMonitoring", len(set_monitoring_data))
        results = []
        for item in set_monitoring_data:
            status, monitor_id = self.monitor_set(item)
            result = {
                "status": status,
                "type": item["type"],
                "severity": item["severity"],
                "component": item["component"],
                "variable": item["variable"],
                "id": monitor_id,
            }
            results.append(result)
        return call_result.SetVariableMonitoring(set_monitoring_result=results)

    def monitor_set(self, item: dict[str, Any]) -> tuple[str, int | None]:
        """One SetMonitoringData: its status and the monitor's id."""
        found, status = self.lookup(item["component"], item["variable"])
        if found is None:
            return status, None
        severity, kind, value = int(item["severity"]), str(item["type"]), float(item["value"])
        if not 0 <= severity <= 9 or (kind == "Delta" and value < 0):
            return "Rejected", None
        if found.data_type not in MONITORABLE or kind not in SUPPORTED:
            return "UnsupportedMonitorType", None
        if found.data_type == "boolean" and kind != "Delta":
            return "UnsupportedMonitorType", None
        component, variable = (
            component_key(item["component"]),
            (item["variable"]["name"], item["variable"].get("instance")),
        )
        wanted_id = item.get("id")
        if wanted_id is not None:
            existing = self.state.monitors.get(int(wanted_id))
            if existing is None or existing.kind == "HardWired":  # only a monitor that exists may be replaced
                return "Rejected", None
        for monitor in self.state.monitors.values():
            same = (monitor.component, monitor.variable, monitor.type, monitor.value, monitor.severity)
            if same == (component, variable, kind, value, severity) and monitor.id != wanted_id:
                return "Duplicate", monitor.id
        if wanted_id is None:
            wanted_id = self.state.next_monitor_id
            self.state.next_monitor_id += 1
        transaction = bool(item.get("transaction", False))
        self.state.monitors[int(wanted_id)] = Monitor(
            int(wanted_id), component, variable, kind, value, severity, transaction
        )
        return "Accepted", int(wanted_id)

    # --- SetMonitoringBase, SetMonitoringLevel, ClearVariableMonitoring (N03, N05, N06) ---------------
    @on(Action.set_monitoring_base)
    def on_set_monitoring_base(self, monitoring_base: str, **kwargs: Any) -> Any:
        if monitoring_base in ("FactoryDefault", "HardWiredOnly"):  # custom monitors go
            self.state.monitors = {i: m for i, m in self.state.monitors.items() if m.kind != "Custom"}
        if monitoring_base in ("All", "FactoryDefault"):  # preconfigured ones are back as they came
            self.state.monitors.update({i: m for i, m in preconfigured_monitors().items() if m.kind == "Preconfigured"})
        self.state.variable("MonitoringCtrlr", "ActiveMonitoringBase").value = monitoring_base
        return call_result.SetMonitoringBase(status="Accepted")

    @on(Action.set_monitoring_level)
    def on_set_monitoring_level(self, severity: int, **kwargs: Any) -> Any:
        if not 0 <= severity <= 9:
            return call_result.SetMonitoringLevel(status="Rejected")
        self.state.variable("MonitoringCtrlr", "ActiveMonitoringLevel").value = str(severity)
        return call_result.SetMonitoringLevel(status="Accepted")

    @on(Action.clear_variable_monitoring)
    def on_clear_variable_monitoring(self, id: list[int], **kwargs: Any) -> Any:  # noqa: A002 (OCPP's name)
        self.check_items("MonitoringCtrlr", "ClearVariableMonitoring", len(id))
        results = []
        for monitor_id in id:
            monitor = self.state.monitors.get(monitor_id)
            if monitor is None:
                status = "NotFound"
            elif monitor.kind == "HardWired":
                status = "Rejected"
            else:
                del self.state.monitors[monitor_id]
                status = "Accepted"
            results.append({"id": monitor_id, "status": status})
        return call_result.ClearVariableMonitoring(clear_monitoring_result=results)

    # --- GetMonitoringReport (N02) ------------------------------------------------------------------
    def monitoring_selection(
        self, component_variable: list[dict[str, Any]] | None, monitoring_criteria: list[str] | None
    ) -> list[Monitor]:
        types = {t for criterion in monitoring_criteria or CRITERIA for t in CRITERIA[criterion]}

        def named(monitor: Monitor) -> bool:
            for wanted in component_variable or []:
                variable = wanted.get("variable")
                if component_key(wanted["component"]) == monitor.component and (
                    variable is None or (variable["name"], variable.get("instance")) == monitor.variable
                ):
                    return True
            return not component_variable

        return [m for m in self.active_monitors() if m.type in types and named(m)]

    @on(Action.get_monitoring_report)
    def on_get_monitoring_report(
        self,
        request_id: int,
        component_variable: list[dict[str, Any]] | None = None,
        monitoring_criteria: list[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        found = self.monitoring_selection(component_variable, monitoring_criteria)
        return call_result.GetMonitoringReport(status="Accepted" if found else "EmptyResultSet")

    @after(Action.get_monitoring_report)
    async def after_get_monitoring_report(
        self,
        request_id: int,
        component_variable: list[dict[str, Any]] | None = None,
        monitoring_criteria: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        found = self.monitoring_selection(component_variable, monitoring_criteria)
        if found:
            await self.send_monitoring_report(request_id, found)

    async def send_monitoring_report(self, request_id: int, monitors: Iterable[Monitor]) -> None:
        """NotifyMonitoringReport: the monitors by variable, in parts (seqNo from 0, tbc but on the last)."""
        by_variable: dict[tuple[ComponentKey, VariableKey], list[Monitor]] = {}
        for monitor in monitors:
            by_variable.setdefault((monitor.component, monitor.variable), []).append(monitor)
        data = [
            {
                "component": component_json(component),
                "variable": {"name": variable[0], "instance": variable[1]},
                "variableMonitoring": [m.json() for m in found],
            }
            for (component, variable), found in by_variable.items()
        ]
        parts = [data[i : i + REPORT_ITEMS_PER_PART] for i in range(0, len(data), REPORT_ITEMS_PER_PART)]
        generated_at = self.now()
        for seq_no, part in enumerate(parts):
            await self.call(
                call.NotifyMonitoringReport(
                    request_id=request_id,
                    seq_no=seq_no,
                    generated_at=generated_at,
                    monitor=part,
                    tbc=seq_no < len(parts) - 1,
                )
            )

    # --- events (N07) -----------------------------------------------------------------------------------
    async def variable_changed(
        self,
        component: ComponentKey,
        variable: VariableKey,
        value: str,
        *,
        tech_code: str | None = None,
        tech_info: str | None = None,
    ) -> None:
        """Run the monitors of a variable whose value is now ``value``: a NotifyEvent for each that
        trips (or clears) at a severity the ActiveMonitoringLevel reports."""
        level = self.state.number("MonitoringCtrlr", "ActiveMonitoringLevel")
        if not self.state.flag("MonitoringCtrlr", "Enabled"):
            return
        reading = number(value)
        if reading is None:
            return
        evse_id = component[2]
        transaction_id = self.state.evses[evse_id].transaction_id if evse_id in self.state.evses else None
        events = []
        for monitor in self.active_monitors():
            if monitor.component != component or monitor.variable != variable or monitor.severity > level:
                continue
            if monitor.transaction and transaction_id is None:
                continue
            trigger, cleared = self.monitor_trips(monitor, reading)
            if trigger is None:
                continue
            event: dict[str, Any] = {
                "eventId": self.state.next_event_id,
                "timestamp": self.now(),
                "trigger": trigger,
                "actualValue": value,
                "cleared": cleared,
                "component": component_json(component),
                "variable": {"name": variable[0], "instance": variable[1]},
                "variableMonitoringId": monitor.id,
                "eventNotificationType": {
                    "HardWired": "HardWiredMonitor",
                    "Preconfigured": "PreconfiguredMonitor",
                    "Custom": "CustomMonitor",
                }[monitor.kind],
                "transactionId": transaction_id,
                "techCode": tech_code,
                "techInfo": tech_info,
            }
            self.state.next_event_id += 1
            events.append({key: value for key, value in event.items() if value is not None})
        if events:
            await self.call(call.NotifyEvent(generated_at=self.now(), seq_no=0, event_data=events))

    @staticmethod
    def monitor_trips(monitor: Monitor, reading: float) -> tuple[str | None, bool]:
        """Whether a new reading makes the monitor report: (trigger, cleared), or (None, False)."""
        if monitor.type == "Delta":
            if monitor.reference is None or abs(reading - monitor.reference) >= max(monitor.value, 1e-9):
                first = monitor.reference is None
                monitor.reference = reading
                if not first or reading:  # a boolean Delta (Problem) reports its first true
                    # Problem back to false is the clearing of the fault it reported.
                    return "Delta", monitor.variable[0] == "Problem" and not reading
            return None, False
        above = reading > monitor.value if monitor.type == "UpperThreshold" else reading < monitor.value
        if above != monitor.tripped:
            monitor.tripped = above
            return "Alerting", not above
        return None, False

    async def fault_loop(self) -> None:
        """Now and then (rarely) a fault on an idle EVSE, reported and cleared a while later."""
        while True:
            await asyncio.sleep(random.uniform(*self.options.fault_gap))
            idle = [
                e
                for e, evse in self.state.evses.items()
                if evse.available and evse.status == "Available" and evse.task is None and evse.reservation is None
            ]
            if idle:
                await self.fault(random.choice(idle), *random.choice(FAULTS))

    async def fault(self, evse_id: int, tech_code: str, tech_info: str) -> None:
        """A fault on an EVSE: Faulted, EVSE.Problem true (with ``tech_code``), cleared a while later."""
        evse = self.state.evses[evse_id]
        component, problem = ("EVSE", None, evse_id, None), ("Problem", None)
        evse.faulted, evse.status = True, "Faulted"
        try:
            await self.call(
                call.StatusNotification(
                    timestamp=self.now(), connector_status="Faulted", evse_id=evse_id, connector_id=1
                )
            )
            await self.variable_changed(component, problem, "true", tech_code=tech_code, tech_info=tech_info)
            await asyncio.sleep(random.uniform(*self.options.fault_length))
        finally:
            evse.faulted = False
            if evse.status == "Faulted":
                evse.status = "Available"
        await self.variable_changed(component, problem, "false", tech_code=tech_code)
        await self.call(
            call.StatusNotification(
                timestamp=self.now(), connector_status=self.state.availability(evse_id), evse_id=evse_id, connector_id=1
            )
        )
