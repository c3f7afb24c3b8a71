"""Remote commands end to end: queued here, sent by a worker through the broker, answered by a charger."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from certificates.tests.helpers import root_pem
from chargers import ports
from chargers.commands import command_enqueue
from chargers.models import ChargePoint, Command
from chargers.tasks import commands_timeouts
from conftest import TOPIC_PREFIX, GatewayClient, Stack
from mqtt_bridge.models import MessageLog
from mqtt_bridge.tasks import commands_housekeeping
from transactions.models import Transaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
FUTURE = (timezone.now() + timedelta(hours=2)).isoformat()
PROFILE = {
    "chargingProfileId": 1,
    "stackLevel": 0,
    "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Absolute",
    "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]},
}

ROOT = root_pem("E2E Root")

# Every CSMS-initiated OCPP 1.6 operation, with a request and a schema-valid answer of a charger.
OPERATIONS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}, {"status": "Accepted"}),
    ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "120"}, {"status": "Accepted"}),
    ("ClearCache", {}, {"status": "Accepted"}),
    ("DataTransfer", {"vendorId": "com.acme"}, {"status": "Accepted"}),
    (
        "GetConfiguration",
        {"key": ["HeartbeatInterval"]},
        {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "120"}]},
    ),
    ("RemoteStartTransaction", {"idTag": "APP", "connectorId": 1}, {"status": "Accepted"}),
    ("Reset", {"type": "Soft"}, {"status": "Accepted"}),
    ("UnlockConnector", {"connectorId": 1}, {"status": "Unlocked"}),
    ("GetDiagnostics", {"location": "ftp://logs.example.com/"}, {"fileName": "diag.zip"}),
    ("UpdateFirmware", {"location": "https://fw.example.com/1.2.bin", "retrieveDate": FUTURE}, {}),
    ("GetLocalListVersion", {}, {"listVersion": 3}),
    (
        "SendLocalList",
        {
            "listVersion": 4,
            "updateType": "Full",
            "localAuthorizationList": [{"idTag": "CARD-1", "idTagInfo": {"status": "Accepted"}}],
        },
        {"status": "Accepted"},
    ),
    (
        "ReserveNow",
        {"connectorId": 2, "expiryDate": FUTURE, "idTag": "CARD-1", "reservationId": 11},
        {"status": "Accepted"},
    ),
    ("CancelReservation", {"reservationId": 11}, {"status": "Accepted"}),
    ("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": PROFILE}, {"status": "Accepted"}),
    ("ClearChargingProfile", {"id": 1}, {"status": "Accepted"}),
    ("GetCompositeSchedule", {"connectorId": 1, "duration": 3600}, {"status": "Accepted", "connectorId": 1}),
    ("TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 1}, {"status": "Accepted"}),
    # The security extension (certificates/): a root of our own making, as an operator would install it.
    (
        "InstallCertificate",
        {"certificateType": "CentralSystemRootCertificate", "certificate": ROOT},
        {"status": "Accepted"},
    ),
    ("CertificateSigned", {"certificateChain": ROOT}, {"status": "Accepted"}),
    (
        "GetInstalledCertificateIds",
        {"certificateType": "CentralSystemRootCertificate"},
        {"status": "Accepted"},
    ),
    (
        "DeleteCertificate",
        {
            "certificateHashData": {
                "hashAlgorithm": "SHA256",
                "issuerNameHash": "a" * 64,
                "issuerKeyHash": "b" * 64,
                "serialNumber": "1f",
            }
        },
        {"status": "Accepted"},
    ),
    ("ExtendedTriggerMessage", {"requestedMessage": "Heartbeat"}, {"status": "Accepted"}),
    (
        "GetLog",
        {"logType": "SecurityLog", "requestId": 101, "log": {"remoteLocation": "ftp://logs.example.com/"}},
        {"status": "Accepted", "filename": "security.log"},
    ),
    (
        "SignedUpdateFirmware",
        {
            "requestId": 102,
            "firmware": {
                "location": "https://fw.example.com/1.3.bin",
                "retrieveDateTime": FUTURE,
                "signingCertificate": ROOT,
                "signature": "c2lnbmF0dXJl",
            },
        },
        {"status": "Accepted"},
    ),
]


def wait_for(predicate: Any, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def online_charger(cid: str, gateway: GatewayClient) -> ChargePoint:
    gateway.listen(cid)
    return ChargePoint.objects.create(charge_point_id=cid, registration_status="Accepted", online=True)


def status_of(command: Command) -> str:
    command.refresh_from_db()
    return command.status


def test_every_operation_one_at_a_time_in_order(stack: Stack, gateway: GatewayClient, cid: str) -> None:
    charge_point = online_charger(cid, gateway)
    session = Transaction.objects.create(
        charge_point=charge_point,
        connector_id=1,
        id_tag="APP",
        meter_start=0,
        started_at=timezone.now(),
        start_received_at=timezone.now(),
    )
    operations = [*OPERATIONS, ("RemoteStopTransaction", {"transactionId": session.pk}, {"status": "Accepted"})]
    assert {action for action, _, _ in operations} == ports.port_for("1.6").commands
    commands = [
        command_enqueue(charge_point=charge_point, action=action, payload=request, requested_by="test")
        for action, request, _ in operations
    ]
    for command, (action, request, response) in zip(commands, operations, strict=True):
        call = gateway.next_call(cid)
        assert (call["Action"], call["Payload"], call["UniqueId"]) == (action, request, command.message_id)
        assert type(call["MessageTypeId"]) is int and call["MessageTypeId"] == 2
        # The next command is not sent before this one is answered.
        assert gateway.calls[cid].empty()
        time.sleep(0.05)
        assert gateway.calls[cid].empty()
        gateway.answer(cid, call["UniqueId"], response)
    wait_for(lambda: status_of(commands[-1]) == "accepted")
    assert {status_of(command) for command in commands} == {"accepted"}
    assert charge_point.configuration.get(key="HeartbeatInterval").value == "120"
    charge_point.refresh_from_db()
    assert charge_point.local_list_version == 4
    assert charge_point.reservations.get(reservation_id=11).status == "cancelled"
    assert not charge_point.charging_profiles.filter(active=True).exists()


def test_rejection_and_call_error(stack: Stack, gateway: GatewayClient, cid: str) -> None:
    charge_point = online_charger(cid, gateway)
    reset = command_enqueue(charge_point=charge_point, action="Reset", payload={"type": "Hard"})
    unlock = command_enqueue(charge_point=charge_point, action="UnlockConnector", payload={"connectorId": 1})
    gateway.answer(cid, gateway.next_call(cid)["UniqueId"], {"status": "Rejected"})
    call = gateway.next_call(cid)
    gateway.publish(
        cid,
        {"MessageTypeId": 4, "UniqueId": call["UniqueId"], "ErrorCode": "NotSupported", "ErrorDescription": ""},
        topic=f"{TOPIC_PREFIX}ocpp/cp/{cid}/Reply",
    )
    wait_for(lambda: status_of(unlock) == "failed")
    assert status_of(reset) == "rejected"
    unlock.refresh_from_db()
    assert unlock.error_code == "NotSupported"


def test_a_timeout_frees_the_charger_for_the_next_command(stack: Stack, gateway: GatewayClient, cid: str) -> None:
    charge_point = online_charger(cid, gateway)
    first = command_enqueue(charge_point=charge_point, action="ClearCache", payload={})
    second = command_enqueue(charge_point=charge_point, action="ClearCache", payload={})
    assert gateway.next_call(cid)["UniqueId"] == first.message_id
    Command.objects.filter(pk=first.pk).update(sent_at=timezone.now() - timedelta(seconds=31))
    commands_timeouts()
    assert status_of(first) == "timed_out"
    commands_housekeeping()
    assert gateway.next_call(cid)["UniqueId"] == second.message_id
    # The charger's late answer to the first is logged and not applied.
    gateway.answer(cid, first.message_id, {"status": "Accepted"})
    wait_for(lambda: MessageLog.objects.filter(message_id=first.message_id, direction="in").exists())
    assert status_of(first) == "timed_out"


def test_an_offline_charger_gets_its_commands_when_it_is_back(stack: Stack, gateway: GatewayClient, cid: str) -> None:
    charge_point = online_charger(cid, gateway)
    ChargePoint.objects.filter(pk=charge_point.pk).update(online=False)
    command = command_enqueue(
        charge_point=charge_point, action="TriggerMessage", payload={"requestedMessage": "Heartbeat"}
    )
    time.sleep(1.5)
    assert gateway.calls.get(cid) is None or gateway.calls[cid].empty()
    assert status_of(command) == "queued"
    gateway.call(cid, "Heartbeat", {})  # it is back
    call = gateway.next_call(cid)
    assert call["UniqueId"] == command.message_id


def test_a_duplicated_result_is_applied_once(stack: Stack, gateway: GatewayClient, cid: str) -> None:
    charge_point = online_charger(cid, gateway)
    command = command_enqueue(
        charge_point=charge_point, action="ChangeConfiguration", payload={"key": "K", "value": "1"}
    )
    call = gateway.next_call(cid)
    gateway.answer(cid, call["UniqueId"], {"status": "Accepted"})
    gateway.answer(cid, call["UniqueId"], {"status": "Accepted"})
    wait_for(lambda: MessageLog.objects.filter(message_id=command.message_id, direction="in").count() == 2)
    command.refresh_from_db()
    assert command.status == "accepted"
    assert MessageLog.objects.filter(message_id=command.message_id, error_description__startswith="late").count() == 1
