"""The simulated OCPP 2.0.1 station against a small CSMS of the test's own (the ``ocpp`` package's
``ocpp.v201.ChargePoint`` on a websockets server): it boots, reports its device model in parts,
authorizes, runs sessions in seqNo order and answers the CSMS's commands; and simulate_fleet --v201 runs
such stations. The backoffice's own 2.0.1 handlers are not involved (an end-to-end test runs the
station through the real gateway).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import ssl
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from django.core.management import CommandError, call_command
from ocpp.charge_point import snake_to_camel_case
from ocpp.exceptions import OccurrenceConstraintViolationError, SecurityError
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from certificates.services import certificate_hash_data
from gateway.sim_certificates import hash_data
from gateway.simulator import ID_TAGS, FleetStats, Options, now_iso
from gateway.simulator_v201 import SUBPROTOCOL, StationState, run_station
from gateway.tests.certificates import Authority
from gateway.tests.test_simulator import sign_csr
from monitoring import mrec

PASSWORD = "a-station-password-0123"


class Csms(ChargePoint):
    """The CSMS end of one connection: answers what the station sends, records every Call raw."""

    def __init__(self, cid: str, ws: ServerConnection, server: CsmsServer) -> None:
        super().__init__(cid, ws)
        self.server = server
        self.ws = ws

    async def route_message(self, raw_msg: str) -> None:
        message = json.loads(raw_msg)
        if message[0] == 2:
            self.server.calls.put_nowait((message[2], message[3]))
        await super().route_message(raw_msg)

    @on(Action.boot_notification)
    def on_boot(self, **kwargs: Any) -> Any:
        status = self.server.boot_answers.pop(0) if self.server.boot_answers else "Accepted"
        return call_result.BootNotification(current_time=now_iso(), interval=self.server.interval, status=status)

    @on(Action.heartbeat)
    def on_heartbeat(self, **kwargs: Any) -> Any:
        if self.server.refuse_heartbeat:
            self.server.refuse_heartbeat = False
            raise SecurityError(description="not accepted")  # what a CSMS answers a charger it holds Pending
        return call_result.Heartbeat(current_time=now_iso())

    @on(Action.status_notification)
    def on_status(self, **kwargs: Any) -> Any:
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, **kwargs: Any) -> Any:
        return call_result.Authorize(id_token_info={"status": self.server.token_status})

    @on(Action.transaction_event)
    def on_transaction_event(self, id_token: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        info = None if id_token is None else {"status": self.server.token_status}
        return call_result.TransactionEvent(id_token_info=info)

    @on(Action.meter_values)
    def on_meter_values(self, **kwargs: Any) -> Any:
        return call_result.MeterValues()

    @on(Action.notify_report)
    def on_notify_report(self, **kwargs: Any) -> Any:
        return call_result.NotifyReport()

    @on(Action.firmware_status_notification)
    def on_firmware_status(self, **kwargs: Any) -> Any:
        return call_result.FirmwareStatusNotification()

    @on(Action.sign_certificate)
    def on_sign_certificate(self, **kwargs: Any) -> Any:
        return call_result.SignCertificate(status="Accepted")

    @on(Action.security_event_notification)
    def on_security_event(self, **kwargs: Any) -> Any:
        return call_result.SecurityEventNotification()

    @on(Action.log_status_notification)
    def on_log_status(self, **kwargs: Any) -> Any:
        return call_result.LogStatusNotification()

    @on(Action.publish_firmware_status_notification)
    def on_publish_status(self, **kwargs: Any) -> Any:
        return call_result.PublishFirmwareStatusNotification()

    @on(Action.notify_monitoring_report)
    def on_notify_monitoring_report(self, **kwargs: Any) -> Any:
        return call_result.NotifyMonitoringReport()

    @on(Action.notify_event)
    def on_notify_event(self, **kwargs: Any) -> Any:
        return call_result.NotifyEvent()

    @on(Action.report_charging_profiles)
    def on_report_charging_profiles(self, **kwargs: Any) -> Any:
        return call_result.ReportChargingProfiles()

    @on(Action.notify_display_messages)
    def on_notify_display_messages(self, **kwargs: Any) -> Any:
        return call_result.NotifyDisplayMessages()

    @on(Action.notify_customer_information)
    def on_notify_customer_information(self, **kwargs: Any) -> Any:
        return call_result.NotifyCustomerInformation()


class CsmsServer:
    """A websockets server speaking ocpp2.0.1; what the stations sent, and the CSMS of each connection."""

    def __init__(self) -> None:
        self.calls: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.connections: asyncio.Queue[Csms] = asyncio.Queue()
        self.handshakes: list[tuple[str, str | None, str | None]] = []  # (cid, subprotocol, Authorization)
        self.boot_answers: list[str] = []
        self.interval = 300
        self.token_status = "Accepted"
        self.refuse_heartbeat = False
        self.url = ""

    async def handler(self, ws: ServerConnection) -> None:
        cid = ws.request.path.rsplit("/", 1)[-1] if ws.request else ""
        self.handshakes.append((cid, ws.subprotocol, ws.request.headers.get("Authorization") if ws.request else None))
        csms = Csms(cid, ws, self)
        self.connections.put_nowait(csms)
        with contextlib.suppress(ConnectionClosed):
            await csms.start()

    async def take(self, action: str, timeout: float = 15.0) -> dict[str, Any]:
        """The payload of the next Call ``action`` (the ones before it are skipped)."""
        return (await self.until(lambda a, p: a == action, timeout))[-1][1]

    async def until(self, done: Any, timeout: float = 15.0) -> list[tuple[str, dict[str, Any]]]:
        """Every Call up to and including the first for which ``done(action, payload)`` is true."""
        seen = []
        async with asyncio.timeout(timeout):
            while True:
                action, payload = await self.calls.get()
                seen.append((action, payload))
                if done(action, payload):
                    return seen


@contextlib.asynccontextmanager
async def station(
    options: dict[str, Any] | None = None,
    preset: dict[tuple[str, str], str] | None = None,
    only_evse_1: bool = False,
    **csms: Any,
) -> AsyncIterator[tuple[CsmsServer, str, StationState, FleetStats]]:
    """A CSMS server (``csms``: its answers) and one simulated station connected to it (``preset``:
    device model values; ``only_evse_1``: EVSE 2 Inoperative, so sessions run on EVSE 1 only)."""
    server = CsmsServer()
    for name, value in csms.items():
        setattr(server, name, value)
    cid = f"st201-{uuid.uuid4().hex[:8]}"
    async with serve(server.handler, "127.0.0.1", 0, subprotocols=[SUBPROTOCOL]) as ws_server:
        port = next(iter(ws_server.sockets)).getsockname()[1]
        url = f"ws://127.0.0.1:{port}/ocpp"
        settings = Options(**{"url": url, "password": PASSWORD, "idle": True, **(options or {})})
        state = StationState.new(cid, settings)
        for (component, name), value in (preset or {}).items():
            state.variable(component, name).value = value
        state.evses[2].available = not only_evse_1
        stop = asyncio.Event()
        stats = FleetStats()
        task = asyncio.create_task(run_station(cid, settings, stats, stop, state=state))
        try:
            yield server, cid, state, stats
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)


async def booted(server: CsmsServer) -> Csms:
    """The CSMS of the station's connection, once it has booted and reported both connectors."""
    csms = await asyncio.wait_for(server.connections.get(), 15)
    await server.take("BootNotification")
    calls = await server.until(lambda a, p: a == "StatusNotification" and p["evseId"] == 2)
    assert [(p["evseId"], p["connectorId"]) for a, p in calls if a == "StatusNotification"] == [(1, 1), (2, 1)]
    return csms


def component(name: str, evse: int | None = None, connector: int | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"name": name}
    if evse is not None:
        found["evse"] = {"id": evse} if connector is None else {"id": evse, "connectorId": connector}
    return found


def test_station_boots_after_pending_with_basic_auth_and_reports_its_connectors() -> None:
    async def scenario() -> None:
        # Pending, retry after 1 s; then Accepted, heartbeat every 1 s
        async with station(boot_answers=["Pending"], interval=1) as (server, cid, state, stats):
            first = await server.take("BootNotification")
            assert first["reason"] == "PowerUp"
            assert first["chargingStation"] == {
                "model": "SimStation-2x22",
                "vendorName": "CSMS-Sim",
                "serialNumber": f"SN-{cid}"[:25],
                "firmwareVersion": "1.0.0",
            }
            # Pending: nothing but BootNotification until it is accepted (B02)
            calls = await server.until(lambda a, p: a == "BootNotification")
            assert [a for a, p in calls] == ["BootNotification"] and calls[0][1]["reason"] == "PowerUp"
            calls = await server.until(lambda a, p: a == "Heartbeat")
            statuses = [p for a, p in calls if a == "StatusNotification"]
            assert [(p["evseId"], p["connectorId"], p["connectorStatus"]) for p in statuses] == [
                (1, 1, "Available"),
                (2, 1, "Available"),
            ]
            assert state.accepted and state.heartbeat_interval == 1
            token = base64.b64encode(f"{cid}:{PASSWORD}".encode()).decode()
            assert server.handshakes == [(cid, "ocpp2.0.1", f"Basic {token}")]
            assert stats.connects == 1

    asyncio.run(scenario())


def test_a_pending_station_boots_at_once_when_triggered() -> None:
    async def scenario() -> None:
        # Pending: its own retry is an hour away
        async with station(boot_answers=["Pending"], interval=3600) as (server, cid, state, stats):
            csms = await asyncio.wait_for(server.connections.get(), 15)
            await server.take("BootNotification")
            response = await csms.call(call.TriggerMessage(requested_message="BootNotification"))
            assert response.status == "Accepted"
            assert (await server.take("BootNotification"))["reason"] == "Triggered"
            await server.take("StatusNotification")
            # Accepted now: a second trigger is refused (F06)
            response = await csms.call(call.TriggerMessage(requested_message="BootNotification"))
            assert response.status == "Rejected"

    asyncio.run(scenario())


def test_station_reports_its_device_model_in_parts() -> None:
    async def scenario() -> None:
        async with station() as (server, cid, state, stats):
            csms = await booted(server)
            response = await csms.call(call.GetBaseReport(request_id=5, report_base="FullInventory"))
            assert response.status == "Accepted"
            parts = [p for a, p in await server.until(lambda a, p: a == "NotifyReport" and not p.get("tbc"))]
            assert len(parts) >= 2
            assert [p["seqNo"] for p in parts] == list(range(len(parts)))
            assert [p["tbc"] for p in parts] == [True] * (len(parts) - 1) + [False]
            assert {p["requestId"] for p in parts} == {5}
            report = {
                (
                    d["component"]["name"],
                    json.dumps(d["component"].get("evse")),
                    d["variable"]["name"],
                    d["variable"].get("instance"),
                ): d
                for p in parts
                for d in p["reportData"]
            }
            heartbeat = report[("OCPPCommCtrlr", "null", "HeartbeatInterval", None)]
            assert heartbeat["variableAttribute"] == [
                {"type": "Actual", "value": "300", "mutability": "ReadWrite", "persistent": True, "constant": False}
            ]
            assert heartbeat["variableCharacteristics"]["dataType"] == "integer"
            items = report[("DeviceDataCtrlr", "null", "ItemsPerMessage", "GetVariables")]
            assert items["variableAttribute"][0]["value"] == "4"
            password = report[("SecurityCtrlr", "null", "BasicAuthPassword", None)]["variableAttribute"][0]
            assert password["mutability"] == "WriteOnly" and "value" not in password
            for evse in (1, 2):
                assert ("EVSE", json.dumps({"id": evse}), "Power", None) in report
                connector = json.dumps({"id": evse, "connectorId": 1})
                assert (
                    report[("Connector", connector, "AvailabilityState", None)]["variableAttribute"][0]["value"]
                    == "Available"
                )
            for controller in ("ChargingStation", "AuthCtrlr", "TxCtrlr", "SampledDataCtrlr", "SecurityCtrlr"):
                assert any(key[0] == controller for key in report)

            response = await csms.call(call.GetBaseReport(request_id=6, report_base="ConfigurationInventory"))
            assert response.status == "Accepted"
            parts = [p for a, p in await server.until(lambda a, p: a == "NotifyReport" and not p.get("tbc"))]
            mutability = {d["variableAttribute"][0]["mutability"] for p in parts for d in p["reportData"]}
            assert mutability == {"ReadWrite", "WriteOnly"}

            wanted = [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]
            response = await csms.call(call.GetReport(request_id=7, component_variable=wanted))
            assert response.status == "Accepted"
            part = await server.take("NotifyReport")
            assert (part["requestId"], part["seqNo"], part["tbc"]) == (7, 0, False)
            assert [d["variable"]["name"] for d in part["reportData"]] == ["HeartbeatInterval"]

            response = await csms.call(call.GetReport(request_id=8, component_criteria=["Enabled"]))
            assert response.status == "Accepted"
            parts = [p for a, p in await server.until(lambda a, p: a == "NotifyReport" and not p.get("tbc"))]
            assert {d["component"]["name"] for p in parts for d in p["reportData"]} == {
                "AuthCtrlr",
                "AuthCacheCtrlr",
                "LocalAuthListCtrlr",
                "SampledDataCtrlr",
                "AlignedDataCtrlr",
                "ReservationCtrlr",
                "MonitoringCtrlr",
                "SmartChargingCtrlr",
                "DisplayMessageCtrlr",
            }
            response = await csms.call(call.GetReport(request_id=9, component_criteria=["Problem"]))
            assert response.status == "EmptyResultSet"

    asyncio.run(scenario())


def test_station_answers_get_and_set_variables() -> None:
    async def scenario() -> None:
        async with station() as (server, cid, state, stats):
            csms = await booted(server)
            heartbeat = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
            response = await csms.call(
                call.GetVariables(
                    get_variable_data=[
                        heartbeat,
                        {"component": {"name": "Nope"}, "variable": {"name": "HeartbeatInterval"}},
                        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "Nope"}},
                        {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}},
                    ]
                )
            )
            results = response.get_variable_result
            assert [r["attribute_status"] for r in results] == [
                "Accepted",
                "UnknownComponent",
                "UnknownVariable",
                "Rejected",
            ]
            assert results[0]["attribute_value"] == "300" and "attribute_value" not in results[3]
            response = await csms.call(
                call.GetVariables(
                    get_variable_data=[
                        {**heartbeat, "attributeType": "Target"},
                        {"component": component("EVSE", 2), "variable": {"name": "Power"}},
                        {"component": component("Connector", 1, 1), "variable": {"name": "ConnectorType"}},
                        {"component": component("EVSE", 3), "variable": {"name": "Power"}},
                    ]
                )
            )
            results = response.get_variable_result
            assert [r["attribute_status"] for r in results] == [
                "NotSupportedAttributeType",
                "Accepted",
                "Accepted",
                "UnknownComponent",
            ]
            assert results[1]["component"] == {"name": "EVSE", "evse": {"id": 2}}
            assert results[2]["attribute_value"] == "cType2"
            # More than ItemsPerMessage[GetVariables] (4) in one request: the CSMS must split them.
            with pytest.raises(OccurrenceConstraintViolationError):
                await csms.call(call.GetVariables(get_variable_data=[heartbeat] * 5), suppress=False)

            response = await csms.call(
                call.SetVariables(
                    set_variable_data=[
                        {**heartbeat, "attributeValue": "120"},
                        {
                            "component": {"name": "ChargingStation"},
                            "variable": {"name": "Model"},
                            "attributeValue": "x",
                        },
                        {
                            "component": {"name": "SampledDataCtrlr"},
                            "variable": {"name": "TxUpdatedInterval"},
                            "attributeValue": "often",
                        },
                        {
                            "component": {"name": "OCPPCommCtrlr"},
                            "variable": {"name": "WebSocketPingInterval"},
                            "attributeValue": "30",
                        },
                    ]
                )
            )
            assert [r["attribute_status"] for r in response.set_variable_result] == [
                "Accepted",
                "Rejected",
                "Rejected",
                "RebootRequired",
            ]
            assert state.heartbeat_interval == 120
            response = await csms.call(call.GetVariables(get_variable_data=[heartbeat]))
            assert response.get_variable_result[0]["attribute_value"] == "120"

    asyncio.run(scenario())


def transaction_of(calls: list[tuple[str, dict[str, Any]]], transaction_id: str) -> list[dict[str, Any]]:
    return [p for a, p in calls if a == "TransactionEvent" and p["transactionInfo"]["transactionId"] == transaction_id]


def energy(event: dict[str, Any]) -> float:
    (value,) = [
        v["value"] for v in event["meterValue"][0]["sampledValue"] if v["measurand"] == "Energy.Active.Import.Register"
    ]
    return float(value)


SESSIONS = {"session_gap": (0.1, 0.3), "session_length": (3.5, 3.5), "meter_interval": (1.0, 1.0), "idle": False}


@pytest.mark.parametrize("start_point", ["PowerPathClosed", "EVConnected"])
def test_station_authorizes_and_runs_a_session_in_seq_no_order(start_point: str) -> None:
    async def scenario() -> None:
        preset = {("TxCtrlr", "TxStartPoint"): start_point}
        async with station(SESSIONS, preset, only_evse_1=True) as (server, cid, state, stats):
            await booted(server)
            calls = await server.until(lambda a, p: a == "TransactionEvent" and p["eventType"] == "Ended", 30)
            ended = calls[-1][1]
            transaction_id = ended["transactionInfo"]["transactionId"]
            assert str(uuid.UUID(transaction_id)) == transaction_id
            events = transaction_of(calls, transaction_id)
            assert all(e["evse"] == {"id": 1, "connectorId": 1} for e in events)
            assert [e["seqNo"] for e in events] == list(range(len(events)))
            assert [e["eventType"] for e in events] == ["Started"] + ["Updated"] * (len(events) - 2) + ["Ended"]
            started = events[0]
            (begin,) = started["meterValue"][0]["sampledValue"]
            assert (begin["context"], begin["unitOfMeasure"]) == ("Transaction.Begin", {"unit": "Wh"})
            authorize = next(p for a, p in calls if a == "Authorize")
            assert authorize["idToken"]["type"] == "ISO14443" and authorize["idToken"]["idToken"] in ID_TAGS
            if start_point == "EVConnected":  # the cable opens the transaction, the card follows
                assert started["triggerReason"] == "CablePluggedIn" and "idToken" not in started
                assert started["transactionInfo"]["chargingState"] == "EVConnected"
                authorized = events[1]
                assert (authorized["triggerReason"], authorized["idToken"]) == ("Authorized", authorize["idToken"])
            else:
                assert started["triggerReason"] == "Authorized" and started["idToken"] == authorize["idToken"]
                assert calls.index(("Authorize", authorize)) < calls.index(("TransactionEvent", started))
            periodic = [e for e in events if e["triggerReason"] == "MeterValuePeriodic"]
            assert periodic, events
            measurands = {v["measurand"] for v in periodic[0]["meterValue"][0]["sampledValue"]}
            assert measurands == {"Energy.Active.Import.Register", "Power.Active.Import", "SoC"}
            readings = [energy(e) for e in events if "meterValue" in e]
            assert readings == sorted(readings) and readings[-1] > readings[0]
            assert ended["transactionInfo"]["stoppedReason"] in ("Local", "EVDisconnected")
            before = calls[: calls.index(("TransactionEvent", started))]
            assert [p["connectorStatus"] for a, p in before if a == "StatusNotification"][-1] == "Occupied"
            after = await server.take("StatusNotification")
            assert (after["evseId"], after["connectorStatus"]) == (1, "Available")

    asyncio.run(scenario())


def test_a_refused_card_opens_no_transaction() -> None:
    async def scenario() -> None:
        preset = {("TxCtrlr", "TxStartPoint"): "PowerPathClosed"}
        async with station(SESSIONS, preset, token_status="Invalid") as (server, cid, state, stats):
            await booted(server)
            await server.take("Authorize")
            calls = await server.until(lambda a, p: a == "StatusNotification" and p["connectorStatus"] == "Available")
            assert "TransactionEvent" not in [a for a, p in calls]

    asyncio.run(scenario())


def test_remote_start_carries_its_remote_start_id_into_the_started_event() -> None:
    async def scenario() -> None:
        # no periodic Updated events in the way
        async with station(preset={("SampledDataCtrlr", "TxUpdatedInterval"): "3600"}) as (server, cid, state, stats):
            csms = await booted(server)
            token = {"idToken": "REMOTE-4711", "type": "Central"}
            response = await csms.call(call.RequestStartTransaction(id_token=token, remote_start_id=4711, evse_id=2))
            assert response.status == "Accepted"
            started = await server.take("TransactionEvent")
            assert (started["eventType"], started["triggerReason"], started["seqNo"]) == ("Started", "RemoteStart", 0)
            assert started["transactionInfo"]["remoteStartId"] == 4711
            assert (started["evse"], started["idToken"]) == ({"id": 2, "connectorId": 1}, token)
            transaction_id = started["transactionInfo"]["transactionId"]

            response = await csms.call(call.RequestStartTransaction(id_token=token, remote_start_id=4712, evse_id=2))
            assert response.status == "Rejected"  # EVSE 2 is busy
            response = await csms.call(call.GetTransactionStatus(transaction_id=transaction_id))
            assert (response.messages_in_queue, response.ongoing_indicator) == (False, True)
            response = await csms.call(call.UnlockConnector(evse_id=2, connector_id=1))
            assert response.status == "OngoingAuthorizedTransaction"
            response = await csms.call(call.TriggerMessage(requested_message="TransactionEvent", evse={"id": 2}))
            assert response.status == "Accepted"
            triggered = await server.take("TransactionEvent")
            assert triggered["triggerReason"] == "Trigger"
            response = await csms.call(call.TriggerMessage(requested_message="TransactionEvent", evse={"id": 1}))
            assert response.status == "Rejected"  # no transaction on EVSE 1

            response = await csms.call(call.RequestStopTransaction(transaction_id=transaction_id))
            assert response.status == "Accepted"
            calls = await server.until(lambda a, p: a == "TransactionEvent" and p["eventType"] == "Ended")
            ended = calls[-1][1]
            assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("RemoteStop", "Remote")
            events = [started, triggered, *transaction_of(calls, transaction_id)]
            assert [e["seqNo"] for e in events] == list(range(len(events)))
            response = await csms.call(call.GetTransactionStatus(transaction_id=transaction_id))
            assert response.ongoing_indicator is False
            response = await csms.call(call.RequestStopTransaction(transaction_id=transaction_id))
            assert response.status == "Rejected"

    asyncio.run(scenario())


COMMANDS: list[tuple[Any, dict[str, Any], str | None]] = [
    # (request, expected answer fields, the Call the station sends after answering)
    (call.UnlockConnector(evse_id=1, connector_id=1), {"status": "Unlocked"}, None),
    (call.UnlockConnector(evse_id=3, connector_id=1), {"status": "UnknownConnector"}, None),
    (call.TriggerMessage(requested_message="Heartbeat"), {"status": "Accepted"}, "Heartbeat"),
    (
        call.TriggerMessage(requested_message="StatusNotification", evse={"id": 1, "connectorId": 1}),
        {"status": "Accepted"},
        "StatusNotification",
    ),
    (call.TriggerMessage(requested_message="MeterValues", evse={"id": 2}), {"status": "Accepted"}, "MeterValues"),
    (
        call.TriggerMessage(requested_message="FirmwareStatusNotification"),
        {"status": "Accepted"},
        "FirmwareStatusNotification",
    ),
    (call.TriggerMessage(requested_message="SignV2GCertificate"), {"status": "NotImplemented"}, None),
    (call.TriggerMessage(requested_message="Heartbeat", evse={"id": 9}), {"status": "Rejected"}, None),
    (
        call.ChangeAvailability(operational_status="Inoperative", evse={"id": 2}),
        {"status": "Accepted"},
        "StatusNotification",
    ),
    (call.ChangeAvailability(operational_status="Operative"), {"status": "Accepted"}, "StatusNotification"),
    (call.ChangeAvailability(operational_status="Inoperative", evse={"id": 7}), {"status": "Rejected"}, None),
    (call.ClearCache(), {"status": "Accepted"}, None),
    (
        call.SendLocalList(
            version_number=3,
            update_type="Full",
            local_authorization_list=[
                {"idToken": {"idToken": "LOCAL1", "type": "ISO14443"}, "idTokenInfo": {"status": "Accepted"}}
            ],
        ),
        {"status": "Accepted"},
        None,
    ),
    (call.GetLocalListVersion(), {"version_number": 3}, None),
    (call.SendLocalList(version_number=2, update_type="Differential"), {"status": "VersionMismatch"}, None),
    (call.GetTransactionStatus(), {"messages_in_queue": False, "ongoing_indicator": None}, None),
    (call.DataTransfer(vendor_id="other"), {"status": "UnknownVendorId"}, None),
    (call.DataTransfer(vendor_id="CSMS-Sim", data="ping"), {"status": "Accepted", "data": "ping"}, None),
    (call.Reset(type="Immediate", evse_id=5), {"status": "Rejected"}, None),
]


def test_station_answers_remote_commands_and_reboots_on_reset() -> None:
    async def scenario() -> None:
        async with station() as (server, cid, state, stats):
            csms = await booted(server)
            for request, expected, follows in COMMANDS:
                response = await csms.call(request)
                assert response is not None, request
                for key, value in expected.items():
                    assert getattr(response, key) == value, (request, response)
                if follows is not None:
                    payload = await server.take(follows)
                    if isinstance(request, call.ChangeAvailability):
                        wanted = "Unavailable" if request.operational_status == "Inoperative" else "Available"
                        assert payload["connectorStatus"] == wanted
                    if follows == "MeterValues":
                        assert payload["evseId"] == 2
                        assert payload["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
            assert state.local_list == {"LOCAL1": {"status": "Accepted"}}

            response = await csms.call(call.Reset(type="Immediate"))
            assert response.status == "Accepted"
            # The reboot: the station reconnects and boots again, saying why.
            rebooted = await asyncio.wait_for(server.connections.get(), 20)
            assert rebooted is not csms
            assert (await server.take("BootNotification"))["reason"] == "RemoteReset"
            assert stats.connects == 2

    asyncio.run(scenario())


def test_a_reconnected_station_resumes_without_booting_unless_refused() -> None:
    async def scenario() -> None:
        async with station() as (server, cid, state, stats):
            csms = await booted(server)
            await csms.ws.close()
            csms = await asyncio.wait_for(server.connections.get(), 20)
            calls = await server.until(lambda a, p: a == "StatusNotification" and p["evseId"] == 2)
            assert [a for a, p in calls] == ["Heartbeat", "StatusNotification", "StatusNotification"]

            # A CSMS that no longer holds the station Accepted answers SecurityError: it boots after all.
            server.refuse_heartbeat = True
            await csms.ws.close()
            await asyncio.wait_for(server.connections.get(), 20)
            calls = await server.until(lambda a, p: a == "BootNotification")
            assert [a for a, p in calls] == ["Heartbeat", "BootNotification"]
            assert calls[-1][1]["reason"] == "Unknown"
            assert stats.connects == 3

    asyncio.run(scenario())


def test_idle_evses_send_clock_aligned_meter_values() -> None:
    async def scenario() -> None:
        preset = {("AlignedDataCtrlr", "Interval"): "1"}
        async with station({"idle": False, "session_gap": (3600.0, 3600.0)}, preset) as (server, cid, state, stats):
            await booted(server)
            values = [await server.take("MeterValues") for _ in range(2)]
            assert {v["evseId"] for v in values} == {1, 2}
            (sampled,) = values[0]["meterValue"][0]["sampledValue"]
            assert (sampled["measurand"], sampled["context"]) == ("Energy.Active.Import.Register", "Sample.Clock")

    asyncio.run(scenario())


def test_simulate_fleet_runs_the_2_0_1_stations_it_is_asked_for() -> None:
    async def scenario() -> None:
        server = CsmsServer()
        async with serve(server.handler, "127.0.0.1", 0, subprotocols=[SUBPROTOCOL]) as ws_server:
            port = next(iter(ws_server.sockets)).getsockname()[1]
            arguments = "simulate_fleet --chargers 0 --v201 2 --v201-prefix fleet201- --no-provision --idle".split()
            fleet = await asyncio.create_subprocess_exec(
                sys.executable,
                "manage.py",
                *arguments,
                "--url",
                f"ws://127.0.0.1:{port}/ocpp",
                env={**os.environ, "CSMS_GATEWAY_ALLOW_ANONYMOUS": "true"},
            )
            try:
                boots = [await server.take("BootNotification", 60) for _ in range(2)]
            finally:
                fleet.terminate()
                await fleet.wait()
            assert {b["reason"] for b in boots} == {"PowerUp"}
            assert sorted(cid for cid, subprotocol, auth in server.handshakes) == ["fleet201-001", "fleet201-002"]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "arguments",
    [
        ["--chargers", "0"],
        ["--chargers", "1", "--v201", "-1"],
        ["--chargers", "2", "--v201", "2", "--v201-prefix", "sim-"],  # both sim-001, sim-002
    ],
)
def test_simulate_fleet_refuses_an_empty_or_clashing_fleet(arguments: list[str]) -> None:
    with pytest.raises(CommandError):
        call_command("simulate_fleet", *arguments, "--no-provision")


# --- blocks A and M: certificates, the CSR flow, network profiles ------------------------------------------

FAST = {"status_step": 0.05}


def test_TC_M_station_keeps_a_certificate_inventory_and_signs_a_csr_when_triggered(tmp_path: Path) -> None:
    """M03-M05 (Get/Install/DeleteCertificate, hash data as the CSMS computes them) and A02/A03 (TriggerMessage
    SignChargingStationCertificate: a CSR for our id; CertificateSigned Accepted for it, Rejected for
    another id with a SecurityEventNotification)."""
    authority = Authority(tmp_path, "csms-root")
    root_pem = authority.issued.cert_file.read_text()

    async def scenario() -> None:
        async with station(FAST) as (server, cid, state, stats):
            csms = await booted(server)
            response = await csms.call(call.GetInstalledCertificateIds())
            assert response.status == "NotFound"
            for kind in ("CSMSRootCertificate", "ManufacturerRootCertificate"):
                response = await csms.call(call.InstallCertificate(certificate_type=kind, certificate=root_pem))
                assert response.status == "Accepted"
            response = await csms.call(call.InstallCertificate(certificate_type="CSMSRootCertificate", certificate="x"))
            assert response.status == "Rejected"
            expected = certificate_hash_data(certificate_pem=root_pem).to_ocpp()
            response = await csms.call(call.GetInstalledCertificateIds(certificate_type=["CSMSRootCertificate"]))
            assert response.status == "Accepted"
            assert [snake_to_camel_case(c) for c in response.certificate_hash_data_chain] == [
                {"certificateType": "CSMSRootCertificate", "certificateHashData": expected}
            ]
            sha512 = certificate_hash_data(certificate_pem=root_pem, hash_algorithm="SHA512").to_ocpp()
            response = await csms.call(call.DeleteCertificate(certificate_hash_data=sha512))
            assert response.status == "Accepted"
            response = await csms.call(call.GetInstalledCertificateIds())
            assert len(response.certificate_hash_data_chain) == 1  # the other copy is left

            response = await csms.call(call.TriggerMessage(requested_message="SignChargingStationCertificate"))
            assert response.status == "Accepted"
            request = await server.take("SignCertificate")
            assert request["certificateType"] == "ChargingStationCertificate"
            csr = x509.load_pem_x509_csr(request["csr"].encode())
            assert csr.is_signature_valid
            assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cid
            wrong = sign_csr(authority, request["csr"], common_name="another-station")
            response = await csms.call(call.CertificateSigned(certificate_chain=wrong))
            assert response.status == "Rejected"
            assert (await server.take("SecurityEventNotification"))["type"] == "InvalidChargingStationCertificate"
            chain = sign_csr(authority, request["csr"])
            response = await csms.call(
                call.CertificateSigned(certificate_chain=chain, certificate_type="ChargingStationCertificate")
            )
            assert response.status == "Accepted"
            own = state.certificates.own_chain[0]
            response = await csms.call(
                call.DeleteCertificate(certificate_hash_data=hash_data(own, authority.issued.certificate))
            )
            assert response.status == "Failed"  # M04.FR.06: not its own certificate

    asyncio.run(scenario())


def test_TC_A_01_basic_auth_password_is_used_from_the_next_connection() -> None:
    async def scenario() -> None:
        async with station() as (server, cid, state, stats):
            csms = await booted(server)
            new = "a-rotated-password-98765"
            password = {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}}
            response = await csms.call(
                call.SetVariables(
                    set_variable_data=[{**password, "attributeValue": "short"}, {**password, "attributeValue": new}]
                )
            )
            assert [r["attribute_status"] for r in response.set_variable_result] == ["Rejected", "Accepted"]
            await csms.ws.close()
            await asyncio.wait_for(server.connections.get(), 20)
            await server.take("Heartbeat")
            token = base64.b64encode(f"{cid}:{new}".encode()).decode()
            assert server.handshakes[-1] == (cid, "ocpp2.0.1", f"Basic {token}")

    asyncio.run(scenario())


def test_TC_A_05_security_profile_upgrade_by_network_profile_and_reset(tmp_path: Path) -> None:
    """B09 SetNetworkProfile (Rejected: the slot in use, a lower profile, TLS without a CSMS root), then
    NetworkConfigurationPriority and Reset: the station boots on the new profile's URL, over TLS (profile 2,
    trusting the root installed); SecurityCtrlr.SecurityProfile says 2."""
    authority = Authority(tmp_path, "csms-root")
    issued = authority.issue("127.0.0.1", server=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert_file, issued.key_file)

    async def scenario() -> None:
        tls_server = CsmsServer()
        async with serve(tls_server.handler, "127.0.0.1", 0, ssl=context, subprotocols=[SUBPROTOCOL]) as tls:
            port = next(iter(tls.sockets)).getsockname()[1]
            async with station() as (server, cid, state, stats):
                csms = await booted(server)
                profile = {
                    "ocppVersion": "OCPP20",
                    "ocppTransport": "JSON",
                    "ocppCsmsUrl": f"wss://127.0.0.1:{port}/ocpp",
                    "messageTimeout": 30,
                    "securityProfile": 2,
                    "ocppInterface": "Wired0",
                }
                for slot, data in ((0, profile), (1, {**profile, "securityProfile": 0}), (1, profile)):
                    response = await csms.call(call.SetNetworkProfile(configuration_slot=slot, connection_data=data))
                    assert response.status == "Rejected", (slot, data)
                root = authority.issued.cert_file.read_text()
                await csms.call(call.InstallCertificate(certificate_type="CSMSRootCertificate", certificate=root))
                response = await csms.call(call.SetNetworkProfile(configuration_slot=1, connection_data=profile))
                assert response.status == "Accepted"
                priority = {
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "NetworkConfigurationPriority"},
                    "attributeValue": "1,0",
                }
                response = await csms.call(call.SetVariables(set_variable_data=[priority]))
                assert response.set_variable_result[0]["attribute_status"] == "RebootRequired"
                response = await csms.call(call.Reset(type="OnIdle"))
                assert response.status == "Accepted"
                upgraded = await asyncio.wait_for(tls_server.connections.get(), 20)
                assert (await tls_server.take("BootNotification"))["reason"] == "RemoteReset"
                token = base64.b64encode(f"{cid}:{PASSWORD}".encode()).decode()
                assert tls_server.handshakes == [(cid, "ocpp2.0.1", f"Basic {token}")]
                wanted = {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "SecurityProfile"}}
                response = await upgraded.call(call.GetVariables(get_variable_data=[wanted]))
                assert response.get_variable_result[0]["attribute_value"] == "2"

    asyncio.run(scenario())


# --- blocks L and N: firmware, logs, customer information ----------------------------------------------


def test_TC_L_01_firmware_update_lifecycle_reboot_and_a_second_update(tmp_path: Path) -> None:
    """L01: FirmwareStatusNotification with requestId through SignatureVerified and InstallRebooting, a boot
    (reason FirmwareUpdate) with the new version, then Installed; a second update while one is scheduled is
    AcceptedCanceled (L01.FR.24); a bad signing certificate is InvalidCertificate."""
    signing = Authority(tmp_path, "firmware-signer").issued.cert_file.read_text()

    async def scenario() -> None:
        async with station(FAST) as (server, cid, state, stats):
            csms = await booted(server)
            firmware = {
                "location": "https://fw.example.invalid/station-2.0.1.bin",
                "retrieveDateTime": "2099-01-01T00:00:00Z",
                "signingCertificate": signing,
                "signature": base64.b64encode(b"signature").decode(),
            }
            response = await csms.call(
                call.UpdateFirmware(request_id=1, firmware={**firmware, "signingCertificate": "nope"})
            )
            assert response.status == "InvalidCertificate"
            response = await csms.call(call.UpdateFirmware(request_id=2, firmware=firmware))
            assert response.status == "Accepted"
            assert await server.take("FirmwareStatusNotification") == {"status": "DownloadScheduled", "requestId": 2}
            firmware["retrieveDateTime"] = now_iso()
            response = await csms.call(call.UpdateFirmware(request_id=3, firmware=firmware))
            assert response.status == "AcceptedCanceled"
            calls = await server.until(lambda a, p: a == "BootNotification", 20)
            statuses = [p for a, p in calls if a == "FirmwareStatusNotification"]
            assert [p["status"] for p in statuses] == [
                "Downloading",
                "Downloaded",
                "SignatureVerified",
                "Installing",
                "InstallRebooting",
            ]
            assert {p["requestId"] for p in statuses} == {3}
            boot = calls[-1][1]
            assert (boot["reason"], boot["chargingStation"]["firmwareVersion"]) == ("FirmwareUpdate", "2.0.1")
            assert await server.take("FirmwareStatusNotification") == {"status": "Installed", "requestId": 3}

    asyncio.run(scenario())


def test_TC_L_03_publish_and_unpublish_firmware() -> None:
    async def scenario() -> None:
        async with station(FAST) as (server, cid, state, stats):
            csms = await booted(server)
            checksum = "0123456789abcdef0123456789abcdef"
            location = "https://fw.example.invalid/station-2.1.bin"
            response = await csms.call(call.PublishFirmware(location=location, checksum=checksum, request_id=4))
            assert response.status == "Accepted"
            response = await csms.call(call.UnpublishFirmware(checksum=checksum))
            assert response.status == "DownloadOngoing"
            seen = [await server.take("PublishFirmwareStatusNotification") for _ in range(4)]
            assert [s["status"] for s in seen] == ["Downloading", "Downloaded", "ChecksumVerified", "Published"]
            assert seen[-1]["location"] == [f"http://{cid}.local/firmware/station-2.1.bin"]
            response = await csms.call(call.UnpublishFirmware(checksum=checksum))
            assert response.status == "Unpublished"
            response = await csms.call(call.UnpublishFirmware(checksum=checksum))
            assert response.status == "NoFirmware"

    asyncio.run(scenario())


def test_TC_N_01_get_log_and_TC_N_09_customer_information() -> None:
    async def scenario() -> None:
        async with station(FAST) as (server, cid, state, stats):
            csms = await booted(server)
            log = {"remoteLocation": "https://logs.example.invalid/"}
            response = await csms.call(call.GetLog(log=log, log_type="DiagnosticsLog", request_id=11))
            assert (response.status, response.filename) == ("Accepted", f"{cid}-DiagnosticsLog-11.log")
            response = await csms.call(call.GetLog(log=log, log_type="SecurityLog", request_id=12))
            assert response.status == "AcceptedCanceled"
            calls = await server.until(lambda a, p: p == {"status": "Uploaded", "requestId": 12})
            seen = [p for a, p in calls if a == "LogStatusNotification"]
            assert {"status": "AcceptedCanceled", "requestId": 11} in seen
            assert [s for s in seen if s["requestId"] == 12] == [
                {"status": "Uploading", "requestId": 12},
                {"status": "Uploaded", "requestId": 12},
            ]

            state.customer_history["04A2B3C4"] = ["2026-01-01T00:00:00Z EVSE 1: 12.00 kWh"]
            token = {"idToken": "04A2B3C4", "type": "ISO14443"}
            response = await csms.call(call.CustomerInformation(request_id=5, report=True, clear=False))
            assert response.status == "Invalid"  # whose information?
            response = await csms.call(call.CustomerInformation(request_id=6, report=True, clear=True, id_token=token))
            assert response.status == "Accepted"
            notified = await server.take("NotifyCustomerInformation")
            assert (notified["requestId"], notified["seqNo"], notified["tbc"]) == (6, 0, False)
            assert "12.00 kWh" in notified["data"] and "cleared" in notified["data"]
            assert "04A2B3C4" not in state.customer_history

    asyncio.run(scenario())


# --- block N: monitoring and events --------------------------------------------------------------------


def test_TC_N_04_variable_monitoring_report_clear_base_and_level() -> None:
    async def scenario() -> None:
        async with station() as (server, cid, state, stats):
            csms = await booted(server)
            power = {"component": component("EVSE", 1), "variable": {"name": "Power"}}
            response = await csms.call(
                call.SetVariableMonitoring(
                    set_monitoring_data=[
                        {**power, "value": 5000, "type": "UpperThreshold", "severity": 5},
                        {**power, "value": 5000, "type": "UpperThreshold", "severity": 5},
                        {**power, "value": 60, "type": "Periodic", "severity": 5},
                        {
                            "component": {"name": "Nope"},
                            "variable": {"name": "Power"},
                            "value": 1,
                            "type": "Delta",
                            "severity": 1,
                        },
                    ]
                )
            )
            results = response.set_monitoring_result
            assert [r["status"] for r in results] == [
                "Accepted",
                "Duplicate",
                "UnsupportedMonitorType",
                "UnknownComponent",
            ]
            monitor_id = results[0]["id"]
            response = await csms.call(
                call.GetMonitoringReport(request_id=3, monitoring_criteria=["ThresholdMonitoring"])
            )
            assert response.status == "Accepted"
            report = await server.take("NotifyMonitoringReport")
            ids = {m["id"] for item in report["monitor"] for m in item["variableMonitoring"]}
            assert monitor_id in ids and (report["seqNo"], report["tbc"]) == (0, False)
            response = await csms.call(call.SetMonitoringLevel(severity=12))
            assert response.status == "Rejected"
            response = await csms.call(call.SetMonitoringLevel(severity=4))
            assert response.status == "Accepted"
            response = await csms.call(call.ClearVariableMonitoring(id=[monitor_id, 1, 999]))
            assert [r["status"] for r in response.clear_monitoring_result] == ["Accepted", "Rejected", "NotFound"]
            response = await csms.call(call.SetMonitoringBase(monitoring_base="HardWiredOnly"))
            assert response.status == "Accepted"
            response = await csms.call(
                call.GetMonitoringReport(request_id=4, monitoring_criteria=["ThresholdMonitoring"])
            )
            assert response.status == "EmptyResultSet"  # the preconfigured thresholds are off
            response = await csms.call(call.SetMonitoringBase(monitoring_base="FactoryDefault"))
            response = await csms.call(call.GetMonitoringReport(request_id=5))
            assert response.status == "Accepted"

    asyncio.run(scenario())


def test_TC_N_07_a_fault_is_reported_with_its_tech_code_and_cleared() -> None:
    async def scenario() -> None:
        options = {"idle": False, "session_gap": (3600.0, 3600.0), "fault_gap": (0.2, 0.2), "fault_length": (0.2, 0.2)}
        async with station(options, only_evse_1=True) as (server, cid, state, stats):
            await booted(server)
            faulted = await server.take("StatusNotification")
            assert (faulted["evseId"], faulted["connectorStatus"]) == (1, "Faulted")
            raised = (await server.take("NotifyEvent"))["eventData"][0]
            assert (raised["component"], raised["variable"]) == (
                {"name": "EVSE", "evse": {"id": 1}},
                {"name": "Problem"},
            )
            assert raised["actualValue"] == "true" and raised["techCode"] in mrec.MREC
            assert raised["eventNotificationType"] == "HardWiredMonitor" and not raised["cleared"]
            cleared = (await server.take("NotifyEvent"))["eventData"][0]
            assert (cleared["actualValue"], cleared["cleared"], cleared["techCode"]) == (
                "false",
                True,
                raised["techCode"],
            )
            after = await server.take("StatusNotification")
            assert (after["evseId"], after["connectorStatus"]) == (1, "Available")

    asyncio.run(scenario())


# --- block K: smart charging ---------------------------------------------------------------------------


def profile(profile_id: int, purpose: str, limit: float, stack_level: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "id": profile_id,
        "stackLevel": stack_level,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Relative",
        "chargingSchedule": [
            {"id": profile_id, "chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}
        ],
        **extra,
    }


def test_TC_K_01_profiles_kept_reported_cleared_and_composed() -> None:
    async def scenario() -> None:
        # 11 kW per EVSE: the station's physical limit (22 kW) stays above its 15 kW maximum profile (a random
        # 7.4 kW station, 14.8 kW, made the composite 14800 one run in three).
        async with station(options={"max_power_w": (11000.0,)}) as (server, cid, state, stats):
            csms = await booted(server)
            absolute = {"chargingProfileKind": "Absolute"}
            refused = [
                (1, profile(1, "ChargingStationMaxProfile", 9000)),  # only on EVSE 0
                (0, {**profile(2, "ChargingStationMaxProfile", 9000), **absolute}),  # Absolute needs a start
                (1, profile(3, "TxProfile", 2000)),  # no transaction on EVSE 1
                (0, profile(4, "TxDefaultProfile", 2000, stack_level=99)),
                (5, profile(5, "TxDefaultProfile", 2000)),
            ]
            for evse_id, refused_profile in refused:
                response = await csms.call(call.SetChargingProfile(evse_id=evse_id, charging_profile=refused_profile))
                assert response.status == "Rejected", refused_profile
            maximum = {**profile(10, "ChargingStationMaxProfile", 15000), "chargingProfileKind": "Absolute"}
            maximum["chargingSchedule"][0]["startSchedule"] = "2020-01-01T00:00:00Z"
            for evse_id, kept in (
                (0, maximum),
                (1, profile(11, "TxDefaultProfile", 4000)),
                (0, profile(12, "TxDefaultProfile", 6000)),
            ):
                response = await csms.call(call.SetChargingProfile(evse_id=evse_id, charging_profile=kept))
                assert response.status == "Accepted"
            response = await csms.call(
                call.SetChargingProfile(evse_id=1, charging_profile=profile(13, "TxDefaultProfile", 1000))
            )
            assert response.status == "Rejected"  # the same stack level and purpose as profile 11

            schedules = {}
            for evse_id in (0, 1, 2):
                response = await csms.call(
                    call.GetCompositeSchedule(duration=600, evse_id=evse_id, charging_rate_unit="W")
                )
                assert response.status == "Accepted"
                schedules[evse_id] = response.schedule["charging_schedule_period"]
            assert schedules[0] == [{"start_period": 0, "limit": 15000}]
            assert schedules[1] == [{"start_period": 0, "limit": 4000}]  # its own TxDefaultProfile
            assert schedules[2] == [{"start_period": 0, "limit": 6000}]  # the station's
            response = await csms.call(call.GetCompositeSchedule(duration=60, evse_id=1, charging_rate_unit="A"))
            assert response.schedule["charging_schedule_period"] == [{"start_period": 0, "limit": round(4000 / 690, 1)}]
            response = await csms.call(call.GetCompositeSchedule(duration=60, evse_id=9))
            assert response.status == "Rejected"

            response = await csms.call(
                call.GetChargingProfiles(request_id=8, charging_profile={"chargingProfilePurpose": "TxDefaultProfile"})
            )
            assert response.status == "Accepted"
            reports = [await server.take("ReportChargingProfiles") for _ in range(2)]
            assert [(r["evseId"], [p["id"] for p in r["chargingProfile"]], r["tbc"]) for r in reports] == [
                (0, [12], True),
                (1, [11], False),
            ]
            assert reports[0]["chargingLimitSource"] == "CSO"
            response = await csms.call(
                call.GetChargingProfiles(request_id=9, charging_profile={"chargingLimitSource": ["EMS"]})
            )
            assert response.status == "NoProfiles"
            response = await csms.call(call.ClearChargingProfile(charging_profile_id=11))
            assert response.status == "Accepted"
            response = await csms.call(
                call.ClearChargingProfile(charging_profile_criteria={"chargingProfilePurpose": "TxProfile"})
            )
            assert response.status == "Unknown"
            response = await csms.call(call.ClearChargingProfile())
            assert response.status == "Accepted" and state.profiles == {}

    asyncio.run(scenario())


def test_TC_K_05_tx_profile_of_a_remote_start_caps_the_session_and_ends_with_it() -> None:
    async def scenario() -> None:
        preset = {("SampledDataCtrlr", "TxUpdatedInterval"): "1"}
        async with station(preset=preset) as (server, cid, state, stats):
            csms = await booted(server)
            token = {"idToken": "REMOTE-1", "type": "Central"}
            response = await csms.call(
                call.RequestStartTransaction(
                    id_token=token, remote_start_id=1, evse_id=1, charging_profile=profile(20, "TxDefaultProfile", 1)
                )
            )
            assert response.status == "Rejected"  # K05: a TxProfile only
            response = await csms.call(
                call.RequestStartTransaction(
                    id_token=token, remote_start_id=2, evse_id=1, charging_profile=profile(21, "TxProfile", 1500)
                )
            )
            assert response.status == "Accepted"
            started = await server.take("TransactionEvent")
            transaction_id = started["transactionInfo"]["transactionId"]
            assert state.profiles[21].transaction_id == transaction_id
            for _ in range(3):
                update = await server.take("TransactionEvent")
            powers = [
                v["value"] for v in update["meterValue"][0]["sampledValue"] if v["measurand"] == "Power.Active.Import"
            ]
            assert powers and float(powers[0]) <= 1500
            response = await csms.call(call.GetCompositeSchedule(duration=60, evse_id=1, charging_rate_unit="W"))
            assert response.schedule["charging_schedule_period"][0]["limit"] == 1500
            await csms.call(call.RequestStopTransaction(transaction_id=transaction_id))
            await server.until(lambda a, p: a == "TransactionEvent" and p["eventType"] == "Ended")
            await server.take("StatusNotification")  # the EVSE is Available again: the transaction is over
            assert 21 not in state.profiles  # a TxProfile ends with its transaction

    asyncio.run(scenario())


# --- blocks O and I: display messages, cost --------------------------------------------------------------


def message(message_id: int, text: str = "Welcome", message_format: str = "UTF8", **extra: Any) -> dict[str, Any]:
    return {
        "id": message_id,
        "priority": "NormalCycle",
        "message": {"format": message_format, "content": text},
        **extra,
    }


def test_TC_O_01_display_messages_set_reported_cleared_and_cost_updated() -> None:
    async def scenario() -> None:
        async with station() as (server, cid, state, stats):
            csms = await booted(server)
            answers = [
                (message(1), "Accepted"),
                (message(2, "<b>hi</b>", "HTML"), "NotSupportedMessageFormat"),
                (message(3, transactionId="no-such-transaction"), "UnknownTransaction"),
                (message(4, state="Charging", priority="AlwaysFront"), "Accepted"),
            ]
            for request, status in answers:
                response = await csms.call(call.SetDisplayMessage(message=request))
                assert response.status == status, request
            response = await csms.call(call.GetDisplayMessages(request_id=3, priority="AlwaysFront"))
            assert response.status == "Accepted"
            notified = await server.take("NotifyDisplayMessages")
            assert (notified["requestId"], [m["id"] for m in notified["messageInfo"]]) == (3, [4])
            assert notified["messageInfo"][0]["message"] == {"format": "UTF8", "content": "Welcome"}
            response = await csms.call(call.GetDisplayMessages(request_id=4, id=[9]))
            assert response.status == "Unknown"
            response = await csms.call(call.ClearDisplayMessage(id=1))
            assert response.status == "Accepted"
            response = await csms.call(call.ClearDisplayMessage(id=1))
            assert response.status == "Unknown"
            response = await csms.call(call.CostUpdated(total_cost=3.25, transaction_id="tx-1"))
            assert response is not None and state.costs == {"tx-1": 3.25}

    asyncio.run(scenario())


def test_a_station_set_up_with_a_wss_url_connects_over_tls_trusting_its_ca_file(tmp_path: Path) -> None:
    """Options.tls_ca (simulate_fleet --tls-ca): a fleet started on our gateway's TLS listener (profile 2)."""
    authority = Authority(tmp_path, "gateway-ca")
    issued = authority.issue("127.0.0.1", server=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert_file, issued.key_file)

    async def scenario() -> None:
        server = CsmsServer()
        async with serve(server.handler, "127.0.0.1", 0, ssl=context, subprotocols=[SUBPROTOCOL]) as tls:
            port = next(iter(tls.sockets)).getsockname()[1]
            options = Options(
                url=f"wss://127.0.0.1:{port}/ocpp", password=PASSWORD, idle=True, tls_ca=str(authority.cert_file)
            )
            cid = f"st201-{uuid.uuid4().hex[:8]}"
            state = StationState.new(cid, options)
            stop = asyncio.Event()
            task = asyncio.create_task(run_station(cid, options, FleetStats(), stop, state=state))
            try:
                await booted(server)
                assert state.variable("SecurityCtrlr", "SecurityProfile").value == "2"
            finally:
                stop.set()
                await asyncio.wait_for(task, 30)

    asyncio.run(scenario())
