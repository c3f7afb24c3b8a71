"""End to end, OCPP 2.0.1: a real 2.0.1 client -> our gateway -> broker -> bridge -> Celery worker -> back.

The station is the `ocpp` package's ``ocpp.v201.ChargePoint`` (which also checks every reply we send
against the 2.0.1 schemas), or, for the independent client, plain JSON arrays over a websockets
connection. The ``stack`` fixture (root conftest.py) runs a bridge and a worker on the test database
with CSMS_BOOT_POLICY=accept. Test names carry the OCTT case ids they cover.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from ocpp.exceptions import SecurityError
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result
from websockets.asyncio.client import ClientConnection, connect

from apikeys.testing import ApiClientFactory
from chargers.models import ChargePoint as ChargePointRow
from chargers.models import Command, DeviceVariable, IdTag
from conftest import Stack
from gateway import services
from gateway.tests.conftest import new_cid, stack_topics
from transactions.models import MeterValue, Transaction, TransactionEvent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OCPP201 = "ocpp2.0.1"
T0 = "2026-12-01T10:00:00Z"
T1 = "2026-12-01T10:05:00Z"
T2 = "2026-12-01T10:10:00Z"
STATION = {"vendorName": "ACME", "model": "DC-150", "serialNumber": "SN-201", "firmwareVersion": "2.0.1-e2e"}


def wait_for(predicate: Callable[[], Any], timeout: float = 20) -> Any:
    """Poll ``predicate`` (in this thread) until it returns something truthy; closes the thread's DB connections."""
    deadline = time.monotonic() + timeout
    try:
        while not (result := predicate()):
            assert time.monotonic() < deadline, "condition not met in time"
            time.sleep(0.1)
        return result
    finally:
        connections.close_all()


async def await_for(predicate: Callable[[], Any], timeout: float = 20) -> Any:
    return await asyncio.to_thread(wait_for, predicate, timeout)


def energy(wh: float, at: str, context: str = "Sample.Periodic") -> list[dict[str, Any]]:
    return [
        {
            "timestamp": at,
            "sampledValue": [
                {"value": wh, "measurand": "Energy.Active.Import.Register", "context": context},
                {"value": 11000.0, "measurand": "Power.Active.Import", "context": context},
            ],
        }
    ]


class Station(ChargePoint):
    """A 2.0.1 station that answers the CSMS's commands the way the spec's happy path does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.seq_no = 0

    def next_seq_no(self) -> int:
        self.seq_no += 1
        return self.seq_no - 1

    @on("GetBaseReport")
    def on_get_base_report(self, request_id: int, report_base: str, **_: Any) -> call_result.GetBaseReport:
        self.requests.append(("GetBaseReport", {"request_id": request_id, "report_base": report_base}))
        return call_result.GetBaseReport(status="Accepted")

    @after("GetBaseReport")
    async def after_get_base_report(self, request_id: int, **_: Any) -> None:
        # The report in two parts: tbc says more is coming (B07).
        parts = [
            [
                _variable("OCPPCommCtrlr", "HeartbeatInterval", "300", "ReadWrite", data_type="integer", unit="s"),
                _variable("DeviceDataCtrlr", "ItemsPerMessage", "4", "ReadOnly", variable_instance="GetVariables"),
            ],
            [_variable("EVSE", "Power", "150000", "ReadOnly", evse={"id": 1}, data_type="decimal", unit="W")],
        ]
        for seq_no, part in enumerate(parts):
            await self.call(
                call.NotifyReport(
                    request_id=request_id, generated_at=T0, seq_no=seq_no, tbc=seq_no < len(parts) - 1, report_data=part
                )
            )

    @on("RequestStartTransaction")
    def on_request_start(self, id_token: dict[str, Any], remote_start_id: int, **kwargs: Any) -> Any:
        self.requests.append(("RequestStartTransaction", {"id_token": id_token, "remote_start_id": remote_start_id}))
        return call_result.RequestStartTransaction(status="Accepted")

    @after("RequestStartTransaction")
    async def after_request_start(self, id_token: dict[str, Any], remote_start_id: int, **kwargs: Any) -> None:
        await self.call(
            call.TransactionEvent(
                event_type="Started",
                timestamp=T0,
                trigger_reason="RemoteStart",
                seq_no=self.next_seq_no(),
                transaction_info={"transactionId": "remote-tx-1", "remoteStartId": remote_start_id},
                evse={"id": kwargs.get("evse_id") or 1, "connectorId": 1},
                id_token=id_token,
                meter_value=energy(5000, T0, "Transaction.Begin"),
            )
        )

    @on("RequestStopTransaction")
    def on_request_stop(self, transaction_id: str, **_: Any) -> call_result.RequestStopTransaction:
        self.requests.append(("RequestStopTransaction", {"transaction_id": transaction_id}))
        return call_result.RequestStopTransaction(status="Accepted")


def _variable(
    component: str,
    variable: str,
    value: str,
    mutability: str,
    *,
    evse: dict[str, Any] | None = None,
    variable_instance: str | None = None,
    data_type: str = "string",
    unit: str | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "component": {"name": component, **({"evse": evse} if evse else {})},
        "variable": {"name": variable, **({"instance": variable_instance} if variable_instance else {})},
        "variableAttribute": [{"type": "Actual", "value": value, "mutability": mutability}],
        "variableCharacteristics": {
            "dataType": data_type,
            "supportsMonitoring": False,
            **({"unit": unit} if unit else {}),
        },
    }
    return item


def credentials(cid: str) -> dict[str, str]:
    _, password = services.credential_set_password(charge_point_id=cid)
    token = base64.b64encode(f"{cid}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_TC_B_01_TC_E_01_TC_E_39_a_whole_session_through_our_gateway(stack: Stack, start_gateway: Any) -> None:
    """Cold boot accepted, the device model read after it, authorization, a session with replays."""
    gw = start_gateway(**stack_topics())
    cid = new_cid("v201")
    headers = credentials(cid)
    IdTag.objects.create(id_tag="CARD-201", type="ISO14443")
    tx_id = str(uuid.uuid4())

    async def scenario() -> None:
        async with connect(f"{gw.url}/{cid}", subprotocols=[OCPP201], additional_headers=headers) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == OCPP201
            station = Station(cid, ws, response_timeout=20)
            receiver = asyncio.create_task(station.start())
            boot = await station.call(call.BootNotification(charging_station=STATION, reason="PowerUp"))
            assert boot.status == "Accepted" and boot.interval > 0
            await station.call(
                call.StatusNotification(timestamp=T0, connector_status="Available", evse_id=1, connector_id=1)
            )
            # TC_B_01: after an accepted boot the CSMS asks for the device model, and keeps what comes back.
            await await_for(
                lambda: any(n == "GetBaseReport" and a["report_base"] == "FullInventory" for n, a in station.requests)
            )
            await await_for(lambda: DeviceVariable.objects.filter(charge_point__charge_point_id=cid).count() == 3)

            auth = await station.call(call.Authorize(id_token={"idToken": "CARD-201", "type": "ISO14443"}))
            assert auth.id_token_info["status"] == "Accepted"
            unknown = await station.call(call.Authorize(id_token={"idToken": "NOBODY", "type": "ISO14443"}))
            assert unknown.id_token_info["status"] in {"Unknown", "Invalid"}

            started = await station.call(
                call.TransactionEvent(
                    event_type="Started",
                    timestamp=T0,
                    trigger_reason="Authorized",
                    seq_no=0,
                    transaction_info={"transactionId": tx_id, "chargingState": "Charging"},
                    evse={"id": 1, "connectorId": 1},
                    id_token={"idToken": "CARD-201", "type": "ISO14443"},
                    meter_value=energy(1000, T0, "Transaction.Begin"),
                )
            )
            assert started.id_token_info["status"] == "Accepted"
            updated = call.TransactionEvent(
                event_type="Updated",
                timestamp=T1,
                trigger_reason="MeterValuePeriodic",
                seq_no=1,
                transaction_info={"transactionId": tx_id, "chargingState": "Charging"},
                meter_value=energy(1500, T1),
            )
            assert await station.call(updated) is not None
            # TC_E_39-like: the same event again under a new message id (an offline queue's retry): no second effect.
            assert await station.call(updated) is not None
            ended = await station.call(
                call.TransactionEvent(
                    event_type="Ended",
                    timestamp=T2,
                    trigger_reason="StopAuthorized",
                    seq_no=2,
                    transaction_info={"transactionId": tx_id, "stoppedReason": "Local", "chargingState": "Idle"},
                    id_token={"idToken": "CARD-201", "type": "ISO14443"},
                    meter_value=energy(2200, T2, "Transaction.End"),
                )
            )
            assert ended.id_token_info["status"] == "Accepted"
            receiver.cancel()

    asyncio.run(scenario())

    row = ChargePointRow.objects.get(charge_point_id=cid)
    assert (row.ocpp_version, row.vendor, row.model, row.firmware_version) == ("2.0.1", "ACME", "DC-150", "2.0.1-e2e")
    session = Transaction.objects.get(charge_point=row, charger_transaction_id=tx_id)
    assert (session.evse_id, session.connector_id, session.id_tag, session.id_token_type) == (
        1,
        1,
        "CARD-201",
        "ISO14443",
    )
    assert (session.meter_start, session.meter_stop, session.energy_wh) == (1000, 2200, 1200)
    assert session.stopped_at is not None and session.stop_reason == "Local"
    assert list(TransactionEvent.objects.filter(transaction=session).values_list("seq_no", flat=True)) == [0, 1, 2]
    registers = MeterValue.objects.filter(transaction=session, measurand="Energy.Active.Import.Register")
    readings = registers.order_by("timestamp").values_list("numeric_value", flat=True)
    assert list(readings) == [1000, 1500, 2200]  # the replay stored nothing
    heartbeat = DeviceVariable.objects.get(charge_point=row, component="OCPPCommCtrlr", variable="HeartbeatInterval")
    assert (heartbeat.value, heartbeat.mutability, heartbeat.unit) == ("300", "ReadWrite", "s")
    assert DeviceVariable.objects.get(charge_point=row, component="EVSE", evse_id=1, variable="Power").value == "150000"


def test_TC_F_01_remote_start_from_the_api_is_linked_by_remote_start_id(
    stack: Stack, start_gateway: Any, api_client: ApiClientFactory
) -> None:
    """RequestStartTransaction from the shortcut endpoint; the session it causes names its remoteStartId."""
    gw = start_gateway(**stack_topics())
    cid = new_cid("v201rs")
    headers = credentials(cid)
    IdTag.objects.create(id_tag="APP-201", type="Central")
    client = api_client("operator")

    async def scenario() -> None:
        async with connect(f"{gw.url}/{cid}", subprotocols=[OCPP201], additional_headers=headers) as ws:  # type: ignore[list-item]
            station = Station(cid, ws, response_timeout=20)
            receiver = asyncio.create_task(station.start())
            assert (
                await station.call(call.BootNotification(charging_station=STATION, reason="PowerUp"))
            ).status == "Accepted"
            created = await asyncio.to_thread(
                lambda: client.post(
                    f"/api/v1/chargers/{cid}/remote-start/", {"id_tag": "APP-201", "connector_id": 1}, format="json"
                )
            )
            assert created.status_code == 202, created.content
            body = created.json()
            assert body["action"] == "RequestStartTransaction"
            await await_for(lambda: any(name == "RequestStartTransaction" for name, _ in station.requests))
            request = next(args for name, args in station.requests if name == "RequestStartTransaction")
            assert request["id_token"] == {"id_token": "APP-201", "type": "Central"}  # snake case: the ocpp package
            command = await await_for(
                lambda: Command.objects.filter(pk=body["id"], status="accepted", transaction__isnull=False).first()
            )
            session = await asyncio.to_thread(lambda: Transaction.objects.get(pk=command.transaction_id))
            assert session.charger_transaction_id == "remote-tx-1"
            assert session.remote_start_id == request["remote_start_id"]

            # Remote stop through the same shortcut body as 1.6 (our session id): the charger's id goes out.
            stopped = await asyncio.to_thread(
                lambda: client.post(
                    f"/api/v1/chargers/{cid}/remote-stop/", {"transaction_id": session.pk}, format="json"
                )
            )
            assert stopped.status_code == 202, stopped.content
            await await_for(lambda: ("RequestStopTransaction", {"transaction_id": "remote-tx-1"}) in station.requests)
            receiver.cancel()

    asyncio.run(scenario())
    api_command = client.get(f"/api/v1/commands/?charge_point={cid}&action=RequestStartTransaction").json()["results"]
    assert [(c["status"], c["transaction"]) for c in api_command] == [
        ("accepted", Transaction.objects.get(charger_transaction_id="remote-tx-1").pk)
    ]


def test_TC_B_02_a_pending_station_gets_security_error_and_keeps_its_socket(stack: Stack, start_gateway: Any) -> None:
    gw = start_gateway(**stack_topics())
    cid = new_cid("v201p")
    headers = credentials(cid)
    ChargePointRow.objects.create(charge_point_id=cid, registration_status="Pending")

    async def scenario() -> None:
        async with connect(f"{gw.url}/{cid}", subprotocols=[OCPP201], additional_headers=headers) as ws:  # type: ignore[list-item]
            station = Station(cid, ws, response_timeout=20)
            receiver = asyncio.create_task(station.start())
            assert (
                await station.call(call.BootNotification(charging_station=STATION, reason="PowerUp"))
            ).status == "Pending"
            with pytest.raises(SecurityError):
                await station.call(call.Heartbeat(), suppress=False)
            with pytest.raises(SecurityError):
                await station.call(
                    call.StatusNotification(timestamp=T0, connector_status="Available", evse_id=1, connector_id=1),
                    suppress=False,
                )
            # The socket is still open, and the station is told Pending again until an operator decides.
            assert (
                await station.call(call.BootNotification(charging_station=STATION, reason="PowerUp"))
            ).status == "Pending"
            receiver.cancel()

    asyncio.run(scenario())
    assert not ChargePointRow.objects.get(charge_point_id=cid).connectors.exists()  # nothing applied


async def _raw_call(ws: ClientConnection, message_id: str, action: str, payload: Any) -> list[Any]:
    await ws.send(json.dumps([2, message_id, action, payload]))
    while True:
        reply = json.loads(await asyncio.wait_for(ws.recv(), 20))
        if reply[0] in (3, 4) and reply[1] == message_id:
            return reply


def test_bad_input_gets_2_0_1_error_codes_and_an_unknown_transaction_builds_its_session(
    stack: Stack, start_gateway: Any
) -> None:
    gw = start_gateway(**stack_topics())
    cid = new_cid("v201bad")
    headers = credentials(cid)

    async def scenario() -> None:
        async with connect(f"{gw.url}/{cid}", subprotocols=[OCPP201], additional_headers=headers) as ws:  # type: ignore[list-item]
            boot = await _raw_call(ws, "b-1", "BootNotification", {"chargingStation": STATION, "reason": "PowerUp"})
            assert boot[0] == 3 and boot[2]["status"] == "Accepted"
            missing = await _raw_call(ws, "b-2", "BootNotification", {"reason": "PowerUp"})
            assert missing[:3] == [4, "b-2", "OccurrenceConstraintViolation"] and "chargingStation" in missing[3]
            extra = await _raw_call(ws, "b-3", "Heartbeat", {"surprise": 1})
            assert extra[:3] == [4, "b-3", "FormatViolation"]
            wrong_type = await _raw_call(
                ws,
                "b-4",
                "StatusNotification",
                {"timestamp": T0, "connectorStatus": "Available", "evseId": "one", "connectorId": 1},
            )
            assert wrong_type[:3] == [4, "b-4", "TypeConstraintViolation"] and "evseId" in wrong_type[3]
            assert (await _raw_call(ws, "b-5", "NoSuchAction", {}))[:3] == [4, "b-5", "NotImplemented"]
            # A TransactionEvent for a transaction the CSMS never saw start: answered, the session built from it.
            orphan = await _raw_call(
                ws,
                "b-6",
                "TransactionEvent",
                {
                    "eventType": "Updated",
                    "timestamp": T1,
                    "triggerReason": "MeterValuePeriodic",
                    "seqNo": 7,
                    "transactionInfo": {"transactionId": "never-started", "chargingState": "Charging"},
                    "evse": {"id": 2, "connectorId": 1},
                    "offline": True,
                    "meterValue": energy(4200, T1),
                },
            )
            assert orphan[0] == 3
            # A token type we do not accept is an ordinary status, never a CallError.
            cash = await _raw_call(ws, "b-7", "Authorize", {"idToken": {"idToken": "COIN", "type": "Cash"}})
            assert cash[0] == 3 and cash[2]["idTokenInfo"]["status"] in {"Invalid", "Unknown"}
            # Still connected and answered after all of it.
            assert (await _raw_call(ws, "b-8", "Heartbeat", {}))[0] == 3

    asyncio.run(scenario())
    session = Transaction.objects.get(charge_point__charge_point_id=cid, charger_transaction_id="never-started")
    assert (session.evse_id, session.connector_id, session.stopped_at) == (2, 1, None)
    assert session.events.get().offline is True


def test_an_independent_client_reads_its_sessions_in_the_api(
    stack: Stack, start_gateway: Any, api_client: ApiClientFactory
) -> None:
    """No `ocpp` package on the station side: JSON arrays over a websocket, then the REST API read back."""
    gw = start_gateway(**stack_topics())
    cid = new_cid("v201ind")
    headers = credentials(cid)
    IdTag.objects.create(id_tag="IND-1", type="ISO14443")
    token = {"idToken": "IND-1", "type": "ISO14443"}

    async def scenario() -> None:
        async with connect(f"{gw.url}/{cid}", subprotocols=[OCPP201], additional_headers=headers) as ws:  # type: ignore[list-item]
            await _raw_call(ws, "i-1", "BootNotification", {"chargingStation": STATION, "reason": "PowerUp"})
            for seq_no, (event, at, wh) in enumerate([("Started", T0, 100), ("Updated", T1, 600), ("Ended", T2, 3100)]):
                info: dict[str, Any] = {"transactionId": "IND-TX-1"}
                if event == "Ended":
                    info["stoppedReason"] = "EVDisconnected"
                reply = await _raw_call(
                    ws,
                    f"i-tx-{seq_no}",
                    "TransactionEvent",
                    {
                        "eventType": event,
                        "timestamp": at,
                        "triggerReason": "Authorized" if seq_no == 0 else "MeterValuePeriodic",
                        "seqNo": seq_no,
                        "transactionInfo": info,
                        "evse": {"id": 1, "connectorId": 1},
                        "idToken": token,
                        "meterValue": energy(wh, at),
                    },
                )
                assert reply[0] == 3 and reply[2]["idTokenInfo"]["status"] == "Accepted"

    asyncio.run(scenario())
    client = api_client("operator")
    charger = client.get(f"/api/v1/chargers/{cid}/").json()
    assert charger["ocpp_version"] == "2.0.1"
    listed = client.get("/api/v1/transactions/", {"transaction_id": "IND-TX-1"}).json()["results"]
    assert len(listed) == 1
    assert (listed[0]["transaction_id"], listed[0]["energy_wh"], listed[0]["stop_reason"]) == (
        "IND-TX-1",
        3000,
        "EVDisconnected",
    )
