"""End to end through the real broker, a bridge process and a Celery worker, as a stock EMQX publishes."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from ocpp.messages import get_validator

from chargers.models import ChargePoint, ChargerEvent, Connector, IdTag
from conftest import TOPIC_PREFIX, GatewayClient, Stack, unique_cid
from mqtt_bridge.models import MessageLog
from transactions.models import MeterValue, Transaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NOW = "2026-11-23T10:00:00Z"


def assert_valid_result(action: str, reply: dict[str, Any], message_id: str) -> dict[str, Any]:
    """A CallResult in EMQX JSON: integer MessageTypeId, same UniqueId, schema-valid payload."""
    assert reply["MessageTypeId"] == 3, reply
    assert type(reply["MessageTypeId"]) is int
    assert reply["UniqueId"] == message_id
    assert set(reply) == {"MessageTypeId", "UniqueId", "Payload"}
    get_validator(3, action, "1.6").validate(reply["Payload"])
    return reply["Payload"]


def call_ok(gateway: GatewayClient, cid: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    message_id = uuid.uuid4().hex[:20]
    reply = gateway.call(cid, action, payload, message_id=message_id)
    return assert_valid_result(action, reply, message_id)


def wait_for(predicate: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_whole_charging_session(stack: Stack, gateway: GatewayClient, cid: str) -> None:
    IdTag.objects.create(id_tag="CARD-1")

    boot = call_ok(
        gateway,
        cid,
        "BootNotification",
        {"chargePointVendor": "ACME", "chargePointModel": "Fast-22", "firmwareVersion": "1.2.3", "iccid": "8931"},
    )
    assert boot["status"] == "Accepted"  # the stack runs with CSMS_BOOT_POLICY=accept
    assert boot["interval"] == 300
    # After an accepted boot the configuration is read (CSMS_FETCH_CONFIGURATION_ON_BOOT).
    get_configuration = gateway.next_call(cid)
    assert (get_configuration["Action"], get_configuration["Payload"]) == ("GetConfiguration", {})
    gateway.answer(
        cid,
        get_configuration["UniqueId"],
        {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]},
    )

    for connector in (0, 1):
        call_ok(
            gateway,
            cid,
            "StatusNotification",
            {"connectorId": connector, "status": "Available", "errorCode": "NoError", "timestamp": NOW},
        )
    assert call_ok(gateway, cid, "Authorize", {"idTag": "CARD-1"})["idTagInfo"]["status"] == "Accepted"
    assert call_ok(gateway, cid, "Authorize", {"idTag": "NOBODY"})["idTagInfo"]["status"] == "Invalid"

    start = call_ok(
        gateway, cid, "StartTransaction", {"connectorId": 1, "idTag": "CARD-1", "meterStart": 1000, "timestamp": NOW}
    )
    tx_id = start["transactionId"]
    assert start["idTagInfo"]["status"] == "Accepted"
    call_ok(gateway, cid, "StatusNotification", {"connectorId": 1, "status": "Charging", "errorCode": "NoError"})
    call_ok(
        gateway,
        cid,
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": tx_id,
            "meterValue": [
                {
                    "timestamp": "2026-11-23T10:01:00Z",
                    "sampledValue": [
                        {"value": "1500", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                        {"value": "7200.5", "measurand": "Power.Active.Import", "unit": "W"},
                        {"value": "16.1", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
                    ],
                }
            ],
        },
    )
    stop = call_ok(
        gateway,
        cid,
        "StopTransaction",
        {
            "transactionId": tx_id,
            "meterStop": 9000,
            "timestamp": "2026-11-23T11:00:00Z",
            "idTag": "CARD-1",
            "reason": "EVDisconnected",
            "transactionData": [
                {"timestamp": "2026-11-23T11:00:00Z", "sampledValue": [{"value": "9000", "context": "Transaction.End"}]}
            ],
        },
    )
    assert stop["idTagInfo"]["status"] == "Accepted"
    assert call_ok(gateway, cid, "Heartbeat", {})["currentTime"].endswith("Z")

    charge_point = ChargePoint.objects.get(charge_point_id=cid)
    assert (charge_point.vendor, charge_point.model, charge_point.firmware_version) == ("ACME", "Fast-22", "1.2.3")
    assert charge_point.online and charge_point.last_heartbeat_at is not None
    assert Connector.objects.get(charge_point=charge_point, connector_id=1).status == "Charging"
    assert Connector.objects.get(charge_point=charge_point, connector_id=1).status_history.count() == 2
    transaction = Transaction.objects.get(pk=tx_id)
    assert transaction.energy_wh == 8000 and transaction.stop_reason == "EVDisconnected"
    values = MeterValue.objects.filter(transaction=transaction)
    assert values.count() == 4
    assert values.get(phase="L1").numeric_value == pytest.approx(16.1)
    # Every frame in and out is in the message log.
    assert MessageLog.objects.filter(charge_point_id=cid, direction="in").count() == 11
    assert MessageLog.objects.filter(charge_point_id=cid, direction="out").count() == 11
    assert charge_point.configuration.get(key="HeartbeatInterval").value == "300"


def test_every_charger_initiated_message_is_answered(stack: Stack, gateway: GatewayClient, cid: str) -> None:
    call_ok(gateway, cid, "BootNotification", {"chargePointVendor": "ACME", "chargePointModel": "M"})
    notifications: dict[str, dict[str, Any]] = {
        "DataTransfer": {"vendorId": "com.acme", "messageId": "x", "data": "{}"},
        "DiagnosticsStatusNotification": {"status": "Uploaded"},
        "FirmwareStatusNotification": {"status": "Installed"},
        "SecurityEventNotification": {"type": "StartupOfTheDevice", "timestamp": NOW},
        "SignedFirmwareStatusNotification": {"status": "Downloading", "requestId": 7},
        "LogStatusNotification": {"status": "Uploading", "requestId": 8},
    }
    for action, payload in notifications.items():
        call_ok(gateway, cid, action, payload)
    kinds = set(ChargerEvent.objects.filter(charge_point__charge_point_id=cid).values_list("kind", flat=True))
    assert kinds == {
        "data_transfer",
        "diagnostics_status",
        "firmware_status",
        "security",
        "signed_firmware_status",
        "log_status",
    }


def test_raw_ocpp_j_arrays_are_answered_as_arrays(stack: Stack, gateway: GatewayClient, cid: str) -> None:
    gateway.publish(cid, [2, "arr-1", "Heartbeat", {}])
    reply = gateway.reply("arr-1")
    assert isinstance(reply, list) and reply[0] == 3 and reply[1] == "arr-1" and "currentTime" in reply[2]


def test_duplicate_delivery_has_one_effect_and_the_same_reply(stack: Stack, gateway: GatewayClient, cid: str) -> None:
    frame = {
        "MessageTypeId": 2,
        "UniqueId": "dup-1",
        "Action": "StartTransaction",
        "Payload": {"connectorId": 1, "idTag": "X", "meterStart": 5, "timestamp": NOW},
    }
    gateway.publish(cid, frame)
    first = gateway.reply("dup-1")
    gateway.publish(cid, frame)
    second = gateway.reply("dup-1")
    assert first == second
    assert Transaction.objects.filter(charge_point__charge_point_id=cid).count() == 1


def test_offline_queue_replay_gets_the_same_transaction_id(stack: Stack, gateway: GatewayClient, cid: str) -> None:
    payload = {"connectorId": 2, "idTag": "Y", "meterStart": 77, "timestamp": NOW}
    first = call_ok(gateway, cid, "StartTransaction", payload)
    replay = call_ok(gateway, cid, "StartTransaction", payload)  # new message id
    assert first["transactionId"] == replay["transactionId"]


def test_stop_of_unknown_transaction_is_answered_and_recorded(stack: Stack, gateway: GatewayClient, cid: str) -> None:
    payload = call_ok(gateway, cid, "StopTransaction", {"transactionId": 987654, "meterStop": 1, "timestamp": NOW})
    assert payload == {}
    event = ChargerEvent.objects.get(charge_point__charge_point_id=cid, kind="unknown_transaction_stop")
    assert event.status == "987654"


@pytest.mark.parametrize(
    ("action", "payload", "code", "field"),
    [
        ("StatusNotification", {"connectorId": 1, "status": "Available"}, "OccurenceConstraintViolation", "errorCode"),
        (
            "StatusNotification",
            {"connectorId": "one", "status": "Available", "errorCode": "NoError"},
            "TypeConstraintViolation",
            "connectorId",
        ),
        (
            "StatusNotification",
            {"connectorId": 1, "status": "Sleeping", "errorCode": "NoError"},
            "PropertyConstraintViolation",
            "status",
        ),
        ("Heartbeat", {"surprise": 1}, "FormationViolation", "surprise"),
        (
            "StartTransaction",
            {"connectorId": 1, "idTag": "A", "meterStart": 1, "timestamp": "yesterday"},
            "PropertyConstraintViolation",
            "timestamp",
        ),
    ],
)
def test_schema_violation_gets_a_call_error_naming_the_field(
    stack: Stack, gateway: GatewayClient, cid: str, action: str, payload: dict[str, Any], code: str, field: str
) -> None:
    reply = gateway.call(cid, action, payload, message_id="bad-1")
    assert reply["MessageTypeId"] == 4 and reply["UniqueId"] == "bad-1"
    assert reply["ErrorCode"] == code
    assert field in reply["ErrorDescription"]
    assert not Transaction.objects.filter(charge_point__charge_point_id=cid).exists()
    assert not Connector.objects.filter(charge_point__charge_point_id=cid).exists()


def test_unknown_action_gets_not_implemented(stack: Stack, gateway: GatewayClient, cid: str) -> None:
    reply = gateway.call(cid, "MakeCoffee", {})
    assert (reply["MessageTypeId"], reply["ErrorCode"]) == (4, "NotImplemented")
    reply = gateway.call(cid, "Reset", {"type": "Soft"})  # exists, but only a CSMS sends it
    assert reply["ErrorCode"] == "NotSupported"


def test_garbage_is_logged_counted_and_kept_and_nothing_breaks(stack: Stack, gateway: GatewayClient) -> None:
    from backoffice import metrics

    cid = unique_cid()
    call_ok(gateway, cid, "BootNotification", {"chargePointVendor": "ACME", "chargePointModel": "M"})
    before = ChargePoint.objects.get(charge_point_id=cid)
    bad: list[tuple[str, bytes | str, str | None]] = [
        (cid, b"\xff\xfenot json", None),
        (cid, json.dumps({"MessageTypeId": "2", "UniqueId": "s", "Action": "Heartbeat", "Payload": {}}), None),
        (cid, json.dumps({"MessageTypeId": 2, "UniqueId": "x" * 37, "Action": "Heartbeat", "Payload": {}}), None),
        (
            cid,
            json.dumps(
                {
                    "MessageTypeId": 2,
                    "UniqueId": "big",
                    "Action": "DataTransfer",
                    "Payload": {"vendorId": "v", "data": "z" * 5000},
                }
            ),
            None,
        ),
        (cid, b"[]", None),
        (cid, b"nul\x00bytes\x00", None),
        (cid, json.dumps([3, "nr", {"status": "\x00"}]), f"{TOPIC_PREFIX}ocpp/cp/{cid}/Reply"),
        (cid, json.dumps({"MessageTypeId": 2, "UniqueId": "t"}), f"{TOPIC_PREFIX}ocpp/elsewhere/{cid}/x"),
    ]
    for target, payload, topic in bad:
        gateway.publish(target, payload, topic=topic)
    # A Call whose id is readable but whose shape is broken is answered.
    gateway.publish(cid, {"MessageTypeId": 2, "UniqueId": "np", "Action": "Heartbeat", "Payload": "nope"})
    assert gateway.emqx_reply("np")["ErrorCode"] == "FormationViolation"
    # PostgreSQL cannot store NUL: such a Call used to fail its wave's write and was lost unanswered.
    gateway.publish(cid, {"MessageTypeId": 2, "UniqueId": "nul", "Action": "Heartbeat", "Payload": {"x": "a\x00b"}})
    nul_reply = gateway.emqx_reply("nul")
    assert nul_reply["ErrorCode"] == "FormationViolation" and "NUL" in nul_reply["ErrorDescription"]
    # An oversized Call's id is read from its first bytes: it is answered, not left to time out.
    assert gateway.emqx_reply("big")["ErrorCode"] == "FormationViolation"

    expected = {"not_json", "bad_message_type", "bad_message_id", "oversized", "bad_structure", "nul_character"}
    invalid = MessageLog.objects.filter(kind="invalid", charge_point_id=cid)
    wait_for(lambda: expected <= set(invalid.values_list("error_code", flat=True)))
    wait_for(lambda: invalid.filter(raw="nul\\u0000bytes\\u0000").exists() and invalid.filter(message_id="nr").exists())
    assert b"csms_frames_rejected_total" in metrics.render()
    # No reply to what cannot be answered, the processes are alive, and the charger is untouched.
    assert gateway.no_reply("s") and gateway.no_reply("x" * 37) and gateway.no_reply("nr")
    assert stack.bridge is not None and stack.bridge.poll() is None
    assert stack.worker is not None and stack.worker.poll() is None
    after = ChargePoint.objects.get(charge_point_id=cid)
    assert (after.vendor, after.registration_status) == (before.vendor, before.registration_status)
    assert call_ok(gateway, cid, "Heartbeat", {})


def test_messages_published_while_the_bridge_is_down_are_not_lost(stack: Stack, gateway: GatewayClient) -> None:
    cids = [unique_cid() for _ in range(5)]
    for c in cids:
        gateway.listen(c)
    assert stack.stop_bridge() == 0
    try:
        for index, c in enumerate(cids):
            gateway.publish(
                c,
                {
                    "MessageTypeId": 2,
                    "UniqueId": f"down-{index}",
                    "Action": "BootNotification",
                    "Payload": {"chargePointVendor": "V", "chargePointModel": "M"},
                },
            )
    finally:
        stack.start_bridge()
    for index in range(len(cids)):
        assert gateway.emqx_reply(f"down-{index}", timeout=30)["Payload"]["status"] == "Accepted"
    assert ChargePoint.objects.filter(charge_point_id__in=cids).count() == 5
    stack.drain()  # the restarted bridge may redeliver frames it had not acknowledged


def test_presence_events_from_the_gateway(stack: Stack, gateway: GatewayClient, cid: str) -> None:
    call_ok(gateway, cid, "Heartbeat", {})
    base = f"{TOPIC_PREFIX}$SYS/brokers/emqx@node1/gateway/ocpp/clients/{cid}"
    gateway.publish(
        cid,
        {"clientid": cid, "disconnected_at": int(time.time() * 1000), "reason": "keepalive_timeout"},
        topic=f"{base}/disconnected",
    )
    wait_for(lambda: not ChargePoint.objects.get(charge_point_id=cid).online)
    assert ChargePoint.objects.get(charge_point_id=cid).last_disconnect_reason == "keepalive_timeout"
    gateway.publish(cid, {"clientid": cid, "connected_at": int(time.time() * 1000) + 1000}, topic=f"{base}/connected")
    wait_for(lambda: ChargePoint.objects.get(charge_point_id=cid).online)
    gateway.publish(cid, b"not json", topic=f"{base}/connected")
    wait_for(lambda: MessageLog.objects.filter(charge_point_id=cid, error_code="bad_presence").exists())
