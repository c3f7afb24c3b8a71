"""End to end, OCPP 2.0.1 monitoring and the device model's limits: an ``ocpp.v201`` ChargePoint (defined
here, answering our commands) -> our gateway -> broker -> bridge -> Celery worker -> back, commands from the
API. The ``stack`` fixture (root conftest.py) runs a bridge and a worker on the test database."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result
from websockets.asyncio.client import connect

from apikeys.testing import ApiClientFactory
from chargers.models import ChargePoint as ChargePointRow
from chargers.models import Command, DeviceVariable
from conftest import Stack
from gateway import services
from gateway.tests.conftest import new_cid, stack_topics
from monitoring.models import MonitoringSettings, StationFault, VariableMonitor
from monitoring.selectors import reboot_pending

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OCPP201 = "ocpp2.0.1"
T0 = "2026-12-01T10:00:00Z"
T1 = "2026-12-01T10:05:00Z"
STATION = {"vendorName": "ACME", "model": "MON-1", "serialNumber": "SN-MON", "firmwareVersion": "1.0"}
TEMPERATURE: dict[str, Any] = {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Temperature"}}
POWER: dict[str, Any] = {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Power"}}


def wait_for(predicate: Callable[[], Any], timeout: float = 30) -> Any:
    """Poll ``predicate`` until it returns something truthy; closes the thread's DB connections."""
    deadline = time.monotonic() + timeout
    try:
        while not (result := predicate()):
            assert time.monotonic() < deadline, "condition not met in time"
            time.sleep(0.1)
        return result
    finally:
        connections.close_all()


async def await_for(predicate: Callable[[], Any], timeout: float = 30) -> Any:
    return await asyncio.to_thread(wait_for, predicate, timeout)


def _variable(
    component: dict[str, Any], variable: dict[str, Any], value: str, mutability: str, data_type: str, **more: Any
) -> dict[str, Any]:
    return {
        "component": component,
        "variable": variable,
        "variableAttribute": [{"type": "Actual", "value": value, "mutability": mutability}],
        "variableCharacteristics": {"dataType": data_type, "supportsMonitoring": more.pop("monitoring", True), **more},
    }


class Station(ChargePoint):
    """A 2.0.1 station with a small device model and monitors, answering as the spec's happy path does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.next_monitor_id = 100

    @on("GetBaseReport")
    def on_get_base_report(self, request_id: int, report_base: str, **_: Any) -> call_result.GetBaseReport:
        return call_result.GetBaseReport(status="Accepted")

    @after("GetBaseReport")
    async def after_get_base_report(self, request_id: int, **_: Any) -> None:
        report = [
            _variable({"name": "OCPPCommCtrlr"}, {"name": "HeartbeatInterval"}, "300", "ReadWrite", "integer",
                      minLimit=1, maxLimit=86400, unit="s"),
            _variable({"name": "SecurityCtrlr"}, {"name": "Identity"}, "MON", "ReadOnly", "string"),
            _variable({"name": "MonitoringCtrlr"}, {"name": "ItemsPerMessage", "instance": "ClearVariableMonitoring"},
                      "2", "ReadOnly", "integer"),
            _variable(TEMPERATURE["component"], TEMPERATURE["variable"], "25", "ReadOnly", "decimal"),
            _variable(POWER["component"], POWER["variable"], "0", "ReadOnly", "decimal", monitoring=False),
        ]  # fmt: skip
        await self.call(call.NotifyReport(request_id=request_id, generated_at=T0, seq_no=0, report_data=report))

    @on("SetVariables")
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> call_result.SetVariables:
        self.requests.append(("SetVariables", {"items": set_variable_data}))
        return call_result.SetVariables(
            set_variable_result=[
                {
                    "attributeStatus": "RebootRequired",
                    "component": {"name": item["component"]["name"]},
                    "variable": {"name": item["variable"]["name"]},
                }
                for item in set_variable_data
            ]
        )

    @on("SetVariableMonitoring")
    def on_set_variable_monitoring(self, set_monitoring_data: list[dict[str, Any]], **_: Any) -> Any:
        self.requests.append(("SetVariableMonitoring", {"items": set_monitoring_data}))
        results = []
        for item in set_monitoring_data:
            self.next_monitor_id += 1
            results.append(
                {
                    "id": self.next_monitor_id,
                    "status": "Accepted",
                    "type": item["type"],
                    "severity": item["severity"],
                    "component": {"name": item["component"]["name"], "evse": {"id": item["component"]["evse"]["id"]}},
                    "variable": {"name": item["variable"]["name"]},
                }
            )
        return call_result.SetVariableMonitoring(set_monitoring_result=results)

    @on("SetMonitoringLevel")
    def on_set_monitoring_level(self, severity: int, **_: Any) -> call_result.SetMonitoringLevel:
        return call_result.SetMonitoringLevel(status="Accepted")

    @on("GetMonitoringReport")
    def on_get_monitoring_report(self, request_id: int, **_: Any) -> call_result.GetMonitoringReport:
        return call_result.GetMonitoringReport(status="Accepted")

    @after("GetMonitoringReport")
    async def after_get_monitoring_report(self, request_id: int, **_: Any) -> None:
        # Two parts: the hard-wired monitors, then the one the CSMS set.
        parts = [
            [{**POWER, "variableMonitoring": [
                {"id": 1, "transaction": False, "value": 0, "type": "Delta", "severity": 8},
                {"id": 2, "transaction": False, "value": 22000, "type": "UpperThreshold", "severity": 3},
                {"id": 3, "transaction": False, "value": 900, "type": "Periodic", "severity": 9},
            ]}],
            [{**TEMPERATURE, "variableMonitoring": [
                {"id": 101, "transaction": False, "value": 60, "type": "UpperThreshold", "severity": 2},
            ]}],
        ]  # fmt: skip
        for seq_no, part in enumerate(parts):
            await self.call(
                call.NotifyMonitoringReport(
                    request_id=request_id, seq_no=seq_no, generated_at=T0, tbc=seq_no == 0, monitor=part
                )
            )

    @on("ClearVariableMonitoring")
    def on_clear_variable_monitoring(self, id: list[int], **_: Any) -> call_result.ClearVariableMonitoring:
        self.requests.append(("ClearVariableMonitoring", {"id": id}))
        return call_result.ClearVariableMonitoring(
            clear_monitoring_result=[{"status": "Accepted", "id": monitor_id} for monitor_id in id]
        )


def credentials(cid: str) -> dict[str, str]:
    _, password = services.credential_set_password(charge_point_id=cid)
    token = base64.b64encode(f"{cid}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_TC_N_08_TC_N_16_TC_N_47_TC_N_18_TC_N_21_TC_B_09_monitoring_through_our_gateway(
    stack: Stack, start_gateway: Any, api_client: ApiClientFactory
) -> None:
    """The device model read at boot; a monitor set from the API (and one refused); a read-only and an
    out-of-range SetVariables refused, an accepted one RebootRequired until the next boot; the level; a
    report of every monitor in two parts; monitors cleared in parts of ItemsPerMessage; a fault raised
    with an MREC code and cleared."""
    gw = start_gateway(**stack_topics())
    cid = new_cid("v201mon")
    headers = credentials(cid)
    client = api_client("operator")

    def post(url: str, body: dict[str, Any]) -> Any:
        return client.post(url, body, format="json")

    def command(action: str, payload: dict[str, Any]) -> Any:
        return post("/api/v1/commands/", {"charge_point_id": cid, "action": action, "payload": payload})

    def monitors() -> list[int]:
        return sorted(
            VariableMonitor.objects.filter(charge_point__charge_point_id=cid).values_list("monitor_id", flat=True)
        )

    async def run(action: Callable[[], Any]) -> Any:
        return await asyncio.to_thread(action)

    async def scenario() -> None:
        async with connect(f"{gw.url}/{cid}", subprotocols=[OCPP201], additional_headers=headers) as ws:  # type: ignore[list-item]
            station = Station(cid, ws, response_timeout=30)
            receiver = asyncio.create_task(station.start())
            boot = await station.call(call.BootNotification(charging_station=STATION, reason="PowerUp"))
            assert boot.status == "Accepted"
            await await_for(lambda: DeviceVariable.objects.filter(charge_point__charge_point_id=cid).count() == 5)

            # TC_N_08: a monitor from the API; the station accepts it as #101.
            response = await run(lambda: post(f"/api/v1/chargers/{cid}/monitors/", {
                "component": "EVSE", "evse_id": 1, "variable": "Temperature", "type": "UpperThreshold",
                "value": 60, "severity": 2,
            }))  # fmt: skip
            assert response.status_code == 202, response.content
            await await_for(lambda: monitors() == [101])
            # Power does not support monitoring (its report said so): refused before it goes.
            refused = await run(lambda: post(f"/api/v1/chargers/{cid}/monitors/", {
                "component": "EVSE", "evse_id": 1, "variable": "Power", "type": "Delta", "value": 1, "severity": 5,
            }))  # fmt: skip
            assert refused.status_code == 400 and "does not support monitoring" in refused.content.decode()

            # TC_B_09: read-only and out-of-range values are refused; the accepted one waits for a reboot.
            identity = {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "Identity"}}
            heartbeat = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
            read_only = await run(
                lambda: command("SetVariables", {"setVariableData": [{"attributeValue": "X", **identity}]})
            )
            assert read_only.status_code == 400 and "ReadOnly" in read_only.content.decode()
            too_low = await run(
                lambda: command("SetVariables", {"setVariableData": [{"attributeValue": "0", **heartbeat}]})
            )
            assert too_low.status_code == 400 and "below the minimum" in too_low.content.decode()
            taken = await run(
                lambda: command("SetVariables", {"setVariableData": [{"attributeValue": "120", **heartbeat}]})
            )
            assert taken.status_code == 202
            row = await run(lambda: ChargePointRow.objects.get(charge_point_id=cid))
            pending = await await_for(lambda: reboot_pending(charge_point=row))
            assert [(p.variable, p.value) for p in pending] == [("OCPPCommCtrlr.HeartbeatInterval", "120")]

            # TC_N_16: the monitoring level.
            assert (await run(lambda: command("SetMonitoringLevel", {"severity": 3}))).status_code == 202
            await await_for(
                lambda: MonitoringSettings.objects.filter(
                    charge_point__charge_point_id=cid, monitoring_level=3
                ).exists()
            )

            # TC_N_47: every monitor, reported in two parts.
            assert (await run(lambda: command("GetMonitoringReport", {"requestId": 5}))).status_code == 202
            await await_for(lambda: monitors() == [1, 2, 3, 101])

            # TC_N_18: three ids, the station takes two per ClearVariableMonitoring: two requests.
            assert (await run(lambda: command("ClearVariableMonitoring", {"id": [1, 2, 3]}))).status_code == 202
            await await_for(lambda: monitors() == [101])
            clears = [args["id"] for name, args in station.requests if name == "ClearVariableMonitoring"]
            assert clears == [[1, 2], [3]]

            # TC_N_21: a hard-wired fault with an MREC code, then cleared.
            problem = {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Problem"}}
            raised = {"eventId": 9, "timestamp": T0, "trigger": "Alerting", "actualValue": "true", "techCode": "CX002",
                      "techInfo": "RCD 30 mA", "eventNotificationType": "HardWiredNotification", **problem}  # fmt: skip
            assert await station.call(call.NotifyEvent(generated_at=T0, seq_no=0, event_data=[raised])) is not None
            fault = await await_for(lambda: StationFault.objects.filter(charge_point__charge_point_id=cid).first())
            assert (fault.tech_code, fault.cleared_at) == ("CX002", None)
            cleared = {**raised, "timestamp": T1, "actualValue": "false", "cleared": True}
            await station.call(call.NotifyEvent(generated_at=T1, seq_no=0, event_data=[cleared]))
            await await_for(
                lambda: StationFault.objects.filter(
                    charge_point__charge_point_id=cid, cleared_at__isnull=False
                ).exists()
            )

            # The reboot: the variable set with RebootRequired no longer waits.
            await station.call(call.BootNotification(charging_station=STATION, reason="RemoteReset"))
            await await_for(lambda: not reboot_pending(charge_point=ChargePointRow.objects.get(charge_point_id=cid)))
            receiver.cancel()

    asyncio.run(scenario())
    sent = Command.objects.filter(charge_point__charge_point_id=cid, action="SetVariableMonitoring")
    assert [c.status for c in sent] == ["accepted"]
    monitor = VariableMonitor.objects.get(charge_point__charge_point_id=cid, monitor_id=101)
    assert (monitor.value, monitor.severity, monitor.source) == (60, 2, "csms")
