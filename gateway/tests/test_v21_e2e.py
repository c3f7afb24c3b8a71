"""End to end, OCPP 2.1: the `ocpp` package's ``ocpp.v21.ChargePoint`` -> our gateway (``ocpp2.1``) -> broker
-> bridge -> Celery worker -> back, the station checking every reply against 2.1's schemas.

What 2.1 keeps of 2.0.1 (boot, the device model read after it, authorization, a session) with a
255-character id token; a command from the API (AdjustPeriodicEventStream); a periodic event stream opened,
its values sent as SENDs (message type 6, which the `ocpp` package cannot send: written on its socket) and
stored as a time series; a CALLRESULTERROR kept; bad input answered with 2.1's error codes, SENDs never.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v21 import ChargePoint, call, call_result
from websockets.asyncio.client import ClientConnection, connect

from apikeys.testing import ApiClientFactory
from chargers.models import ChargePoint as ChargePointRow
from chargers.models import Command, IdTag
from conftest import Stack
from eventstreams.models import PeriodicEventStream, StreamValue
from gateway import services
from gateway.tests.conftest import new_cid, stack_topics
from gateway.tests.test_v201_e2e import await_for, wait_for
from mqtt_bridge.models import MessageLog
from transactions.models import Transaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OCPP21 = "ocpp2.1"
T0 = "2026-12-01T10:00:00Z"
T1 = "2026-12-01T10:05:00Z"
STATION = {"vendorName": "ACME", "model": "AC-21", "serialNumber": "SN-21", "firmwareVersion": "2.1-e2e"}
LONG_TOKEN = "E2E-" + "7" * 251  # 255 characters: 2.1's idToken, past 2.0.1's 36


def credentials(cid: str) -> dict[str, str]:
    _, password = services.credential_set_password(charge_point_id=cid)
    token = base64.b64encode(f"{cid}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class Station(ChargePoint):
    """A 2.1 station answering the CSMS's commands on the happy path."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requests: list[tuple[str, dict[str, Any]]] = []

    @on("GetBaseReport")
    def on_get_base_report(self, request_id: int, report_base: str, **_: Any) -> call_result.GetBaseReport:
        self.requests.append(("GetBaseReport", {"report_base": report_base}))
        return call_result.GetBaseReport(status="Accepted")

    @on("AdjustPeriodicEventStream")
    def on_adjust(self, id: int, params: dict[str, Any], **_: Any) -> call_result.AdjustPeriodicEventStream:
        self.requests.append(("AdjustPeriodicEventStream", {"id": id, "params": params}))
        return call_result.AdjustPeriodicEventStream(status="Accepted")


async def raw_call(ws: ClientConnection, message_id: str, action: str, payload: Any) -> list[Any]:
    await ws.send(json.dumps([2, message_id, action, payload]))
    while True:
        reply = json.loads(await asyncio.wait_for(ws.recv(), 20))
        if reply[0] in (3, 4) and reply[1] == message_id:
            return reply


def test_TC_B_01_TC_E_01_a_2_1_station_boots_charges_with_a_255_character_token_and_streams(
    stack: Stack, start_gateway: Any, api_client: ApiClientFactory
) -> None:
    gw = start_gateway(**stack_topics())
    cid = new_cid("v21")
    headers = credentials(cid)
    IdTag.objects.create(id_tag=LONG_TOKEN, type="ISO14443")
    client = api_client("operator")
    token = {"idToken": LONG_TOKEN, "type": "ISO14443"}

    async def scenario() -> None:
        async with connect(f"{gw.url}/{cid}", subprotocols=[OCPP21], additional_headers=headers) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == OCPP21
            station = Station(cid, ws, response_timeout=20)
            receiver = asyncio.create_task(station.start())
            boot = await station.call(call.BootNotification(charging_station=STATION, reason="PowerUp"))
            assert boot.status == "Accepted" and boot.interval > 0
            await station.call(
                call.StatusNotification(timestamp=T0, connector_status="Available", evse_id=1, connector_id=1)
            )
            # What 2.0.1 does after an accepted boot, in 2.1: the device model is read.
            await await_for(lambda: ("GetBaseReport", {"report_base": "FullInventory"}) in station.requests)

            auth = await station.call(call.Authorize(id_token=token))
            assert auth.id_token_info["status"] == "Accepted"
            for seq_no, (event, at) in enumerate([("Started", T0), ("Ended", T1)]):
                info: dict[str, Any] = {"transactionId": "TX-21"}
                if event == "Ended":
                    info["stoppedReason"] = "Local"
                reply = await station.call(
                    call.TransactionEvent(
                        event_type=event,
                        timestamp=at,
                        trigger_reason="Authorized" if event == "Started" else "StopAuthorized",
                        seq_no=seq_no,
                        transaction_info=info,
                        evse={"id": 1, "connectorId": 1},
                        id_token=token,
                        meter_value=[
                            {
                                "timestamp": at,
                                "sampledValue": [
                                    {"value": 1000.0 + 500 * seq_no, "measurand": "Energy.Active.Import.Register"}
                                ],
                            }
                        ],  # fmt: skip
                    )
                )
                assert reply.id_token_info["status"] == "Accepted"

            opened = await station.call(
                call.OpenPeriodicEventStream(
                    constant_stream_data={"id": 4, "variableMonitoringId": 12, "params": {"interval": 10, "values": 3}}
                )
            )
            assert opened.status == "Accepted"
            data = [{"t": 0, "v": "230.1"}, {"t": 10, "v": "230.4"}, {"t": 20, "v": "229.9"}]
            send = {"id": 4, "pending": 0, "basetime": T0, "data": data}
            await ws.send(json.dumps([6, "send-1", "NotifyPeriodicEventStream", send]))
            await await_for(lambda: StreamValue.objects.filter(stream__charge_point__charge_point_id=cid).count() == 3)

            stream = await asyncio.to_thread(lambda: PeriodicEventStream.objects.get(charge_point__charge_point_id=cid))
            adjusted = await asyncio.to_thread(
                lambda: client.post(f"/api/v1/event-streams/{stream.pk}/adjust/", {"interval": 30}, format="json")
            )
            assert adjusted.status_code == 202, adjusted.content
            await await_for(lambda: PeriodicEventStream.objects.get(pk=stream.pk).interval == 30)
            assert ("AdjustPeriodicEventStream", {"id": 4, "params": {"interval": 30}}) in station.requests
            await station.call(call.ClosePeriodicEventStream(id=4))
            receiver.cancel()

    asyncio.run(scenario())

    row = ChargePointRow.objects.get(charge_point_id=cid)
    assert (row.ocpp_version, row.model, row.firmware_version) == ("2.1", "AC-21", "2.1-e2e")
    session = Transaction.objects.get(charge_point=row, charger_transaction_id="TX-21")
    assert (session.id_tag, session.energy_wh, session.stop_reason) == (LONG_TOKEN, 500, "Local")
    assert Command.objects.get(charge_point=row, action="AdjustPeriodicEventStream").status == "accepted"
    stream = PeriodicEventStream.objects.get(charge_point=row, stream_id=4)
    assert (stream.status, stream.variable_monitoring_id, stream.interval) == ("closed", 12, 30)
    values = client.get(f"/api/v1/event-streams/{stream.pk}/values/").json()
    assert [(item["timestamp"], item["value"]) for item in values] == [
        ("2026-12-01T10:00:00Z", "230.1"),
        ("2026-12-01T10:00:10Z", "230.4"),
        ("2026-12-01T10:00:20Z", "229.9"),
    ]
    assert (
        StreamValue.objects.get(stream=stream, timestamp=datetime(2026, 12, 1, 10, 0, 20, tzinfo=UTC)).numeric_value
        == 229.9
    )
    # The SEND was kept, and nothing went back for it.
    logged = MessageLog.objects.filter(charge_point_id=cid, message_id="send-1")
    assert [(item.direction, item.kind, item.error_code) for item in logged] == [("in", "send", "")]


def test_bad_input_gets_2_1s_error_codes_and_sends_and_callresulterrors_are_never_answered(
    stack: Stack, start_gateway: Any
) -> None:
    gw = start_gateway(**stack_topics())
    cid = new_cid("v21bad")
    headers = credentials(cid)

    async def scenario() -> None:
        async with connect(f"{gw.url}/{cid}", subprotocols=[OCPP21], additional_headers=headers) as ws:  # type: ignore[list-item]
            boot = await raw_call(ws, "b-1", "BootNotification", {"chargingStation": STATION, "reason": "PowerUp"})
            assert boot[0] == 3 and boot[2]["status"] == "Accepted"
            missing = await raw_call(ws, "b-2", "BootNotification", {"reason": "PowerUp"})
            assert missing[:3] == [4, "b-2", "OccurrenceConstraintViolation"]
            assert (await raw_call(ws, "b-3", "Heartbeat", {"surprise": 1}))[:3] == [4, "b-3", "FormatViolation"]
            too_long = await raw_call(ws, "b-4", "Authorize", {"idToken": {"idToken": "x" * 256, "type": "Local"}})
            assert too_long[:3] == [4, "b-4", "PropertyConstraintViolation"]
            assert (await raw_call(ws, "b-5", "NoSuchAction", {}))[:3] == [4, "b-5", "NotImplemented"]
            # A 2.1 station action this CSMS does not implement: known, so NotSupported.
            assert (await raw_call(ws, "b-6", "VatNumberValidation", {"vatNumber": "NL1"}))[:3] == [
                4,
                "b-6",
                "NotSupported",
            ]
            # SENDs: a bad one, one of an unknown action, a malformed frame; a CALLRESULTERROR about a reply of ours.
            assert (await raw_call(ws, "hb-1", "Heartbeat", {}))[0] == 3
            bad = {"id": 1, "pending": 0, "basetime": "soon", "data": [{"t": 0, "v": "1"}]}
            await ws.send(json.dumps([6, "s-bad", "NotifyPeriodicEventStream", bad]))
            await ws.send(json.dumps([6, "s-unknown", "NotifyNothing", {}]))
            await ws.send('[6,"s-malformed","NotifyPeriodicEventStream"]')
            await ws.send(json.dumps([5, "hb-1", "FormatViolation", "currentTime unreadable", {}]))
            # Nothing comes back for any of them; the next Call is still answered.
            after = await raw_call(ws, "b-7", "Heartbeat", {})
            assert after[0] == 3

    asyncio.run(scenario())
    logged = MessageLog.objects.filter(charge_point_id=cid, message_id__in=["s-bad", "s-unknown", "hb-1"])
    wait_for(lambda: logged.filter(kind__in=["send", "result_error"]).count() == 3)
    rows = list(logged)
    by_kind = {(row.message_id, row.kind, row.direction): row for row in rows}
    assert by_kind[("s-bad", "send", "in")].error_code == "PropertyConstraintViolation"
    assert by_kind[("s-unknown", "send", "in")].error_code == "NotImplemented"
    result_error = by_kind[("hb-1", "result_error", "in")]
    assert (result_error.action, result_error.error_code) == ("Heartbeat", "FormatViolation")
    assert not [key for key in by_kind if key[0] in ("s-bad", "s-unknown") and key[2] == "out"]
    assert gw.gateway.counters["frames_malformed"] == 1 and gw.gateway.counters["callerrors_sent"] == 0
    assert not StreamValue.objects.filter(stream__charge_point__charge_point_id=cid).exists()
