"""The simulated charger answers the commands a real one answers (through the real gateway)."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.simulator import FleetStats, Options, run_charger
from gateway.tests.conftest import Backoffice, call_topic, new_cid, reply_topic

COMMANDS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("GetConfiguration", {"key": ["HeartbeatInterval", "Nope"]}, {"unknownKey": ["Nope"]}),
    ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "120"}, {"status": "Accepted"}),
    ("ChangeConfiguration", {"key": "NumberOfConnectors", "value": "5"}, {"status": "Rejected"}),
    ("TriggerMessage", {"requestedMessage": "Heartbeat"}, {"status": "Accepted"}),
    ("ClearCache", {}, {"status": "Accepted"}),
    ("DataTransfer", {"vendorId": "other"}, {"status": "UnknownVendorId"}),
    ("UnlockConnector", {"connectorId": 1}, {"status": "Unlocked"}),
    (
        "ReserveNow",
        {"connectorId": 2, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "T1", "reservationId": 7},
        {"status": "Accepted"},
    ),
    ("CancelReservation", {"reservationId": 7}, {"status": "Accepted"}),
    (
        "SetChargingProfile",
        {
            "connectorId": 1,
            "csChargingProfiles": {
                "chargingProfileId": 3,
                "stackLevel": 0,
                "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Absolute",
                "chargingSchedule": {
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 3000}],
                },
            },
        },
        {"status": "Accepted"},
    ),
    ("GetCompositeSchedule", {"connectorId": 1, "duration": 600}, {"status": "Accepted"}),
    ("ClearChargingProfile", {"id": 3}, {"status": "Accepted"}),
    ("SendLocalList", {"listVersion": 2, "updateType": "Full"}, {"status": "Accepted"}),
    ("GetLocalListVersion", {}, {"listVersion": 2}),
    ("ChangeAvailability", {"connectorId": 2, "type": "Inoperative"}, {"status": "Accepted"}),
    ("RemoteStartTransaction", {"idTag": "T1", "connectorId": 1}, {"status": "Accepted"}),
    ("RemoteStopTransaction", {"transactionId": 999999}, {"status": "Rejected"}),
    ("GetDiagnostics", {"location": "ftp://example.invalid/"}, {"fileName": None}),
    ("UpdateFirmware", {"location": "https://example.invalid/fw.bin", "retrieveDate": "2030-01-01T00:00:00Z"}, {}),
    ("Reset", {"type": "Soft"}, {"status": "Accepted"}),
]


def answer_calls(backoffice: Backoffice, cid: str, until: str, timeout: float = 10) -> list[dict[str, Any]]:
    """Answer the charger's Calls (as the backoffice would) until one with action ``until``."""
    seen = []
    while True:
        body, _ = backoffice.expect(call_topic(cid), timeout)
        seen.append(body)
        payload: dict[str, Any] = {}
        if body["Action"] == "BootNotification":
            payload = {"status": "Accepted", "interval": 300, "currentTime": "2026-11-23T10:00:00Z"}
        elif body["Action"] == "StartTransaction":
            payload = {"transactionId": 42, "idTagInfo": {"status": "Accepted"}}
        elif body["Action"] == "Heartbeat":
            payload = {"currentTime": "2026-11-23T10:00:00Z"}
        backoffice.send(cid, {"MessageTypeId": 3, "UniqueId": body["UniqueId"], "Payload": payload})
        if body["Action"] == until:
            return seen


def test_simulated_charger_answers_remote_commands(start_gateway: Any, backoffice: Backoffice) -> None:
    gw = start_gateway(allow_anonymous=True)
    cid = new_cid("sim")

    async def scenario() -> None:
        stop = asyncio.Event()
        stats = FleetStats()
        task = asyncio.create_task(run_charger(cid, Options(url=gw.url, idle=True), stats, stop))
        try:
            boot = await asyncio.to_thread(answer_calls, backoffice, cid, "BootNotification")
            assert boot[-1]["Payload"]["chargePointVendor"] == "CSMS-Sim"
            statuses = []
            for _ in range(3):
                statuses += await asyncio.to_thread(answer_calls, backoffice, cid, "StatusNotification")
            assert [s["Payload"]["connectorId"] for s in statuses] == [0, 1, 2]
            for index, (action, request, expected) in enumerate(COMMANDS):
                unique_id = f"cmd-{index}"
                await asyncio.to_thread(
                    backoffice.send,
                    cid,
                    {"MessageTypeId": 2, "UniqueId": unique_id, "Action": action, "Payload": request},
                )
                while True:  # answer whatever the charger sends meanwhile (status, heartbeat, start...)
                    topic, body, _ = await asyncio.to_thread(backoffice.messages.get, True, 10)
                    if topic == reply_topic(cid):
                        break
                    if topic == call_topic(cid):
                        reply: dict[str, Any] = (
                            {"currentTime": "2026-11-23T10:00:00Z"} if body["Action"] == "Heartbeat" else {}
                        )
                        if body["Action"] == "StartTransaction":
                            reply = {"transactionId": 42, "idTagInfo": {"status": "Accepted"}}
                        await asyncio.to_thread(
                            backoffice.send, cid, {"MessageTypeId": 3, "UniqueId": body["UniqueId"], "Payload": reply}
                        )
                assert body["MessageTypeId"] == 3, (action, body)
                assert body["UniqueId"] == unique_id
                for key, value in expected.items():
                    assert key in body["Payload"] if value is None else body["Payload"][key] == value, (action, body)
            # Reset: the charger reboots, i.e. reconnects and boots again
            await asyncio.to_thread(answer_calls, backoffice, cid, "BootNotification", 20)
            assert stats.connects == 2
        finally:
            stop.set()
            await task

    asyncio.run(scenario())
