"""A worker's handling of one frame, in process, against the real database."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from chargers.commands import command_enqueue, command_next_send
from chargers.models import ChargePoint, Command, ConnectorStatusChange
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.models import InboundCall, MessageLog
from mqtt_bridge.processing import frame_handle, message_log_purge
from mqtt_bridge.sending import command_frame
from transactions.models import Transaction

pytestmark = pytest.mark.django_db

START = {"connectorId": 1, "idTag": "T1", "meterStart": 10, "timestamp": "2026-11-23T10:00:00Z"}


def call(action: str, payload: dict[str, Any], message_id: str = "m1", cid: str = "CP-1") -> Frame:
    return Frame(
        charge_point_id=cid, kind=Kind.CALL, message_id=message_id, action=action, payload=payload, received_at=utcnow()
    )


def test_unknown_charger_follows_the_boot_policy(settings: Any) -> None:
    settings.CSMS_BOOT_POLICY = "pending"
    reply = frame_handle(call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}))
    assert reply is not None and reply.payload["status"] == "Pending" and reply.payload["interval"] == 60
    settings.CSMS_BOOT_POLICY = "reject"
    reply = frame_handle(call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}, cid="CP-2"))
    assert reply is not None and reply.payload["status"] == "Rejected"
    assert ChargePoint.objects.get(charge_point_id="CP-2").registration_status == "Rejected"


def test_pending_charger_may_not_start_charging_but_the_session_is_kept(settings: Any) -> None:
    settings.CSMS_BOOT_POLICY = "pending"
    settings.CSMS_UNKNOWN_ID_TAG_POLICY = "accept"
    reply = frame_handle(call("StartTransaction", START))
    assert reply is not None and reply.payload["idTagInfo"]["status"] == "Invalid"
    assert Transaction.objects.filter(pk=reply.payload["transactionId"]).exists()


def test_a_redelivered_call_has_one_effect_and_the_identical_reply() -> None:
    status = {"connectorId": 1, "status": "Available", "errorCode": "NoError"}
    first = frame_handle(call("StatusNotification", status))
    second = frame_handle(call("StatusNotification", status))
    assert first == second
    assert ConnectorStatusChange.objects.count() == 1
    assert MessageLog.objects.filter(error_description="duplicate delivery").count() == 1


def test_a_reused_message_id_with_another_payload_is_a_new_call() -> None:
    # Chargers that restart their id counter at boot reuse ids for different messages.
    frame_handle(call("StartTransaction", START))
    reply = frame_handle(call("StartTransaction", {**START, "connectorId": 2}))
    assert Transaction.objects.count() == 2
    assert reply is not None and reply.kind == Kind.RESULT


def test_an_old_duplicate_outside_the_window_is_handled_again(settings: Any) -> None:
    settings.CSMS_DUPLICATE_WINDOW = 60
    frame_handle(call("Heartbeat", {}))
    InboundCall.objects.update(received_at=timezone.now() - timedelta(minutes=5))
    frame_handle(call("Heartbeat", {}))
    assert MessageLog.objects.filter(error_description="duplicate delivery").count() == 0


def test_a_failed_call_error_is_also_replayed_identically() -> None:
    first = frame_handle(call("Heartbeat", {"x": 1}))
    second = frame_handle(call("Heartbeat", {"x": 1}))
    assert first is not None and first.kind == Kind.ERROR and first == second


def test_value_out_of_column_range_is_a_property_constraint_violation() -> None:
    reply = frame_handle(
        call("StatusNotification", {"connectorId": 2**40, "status": "Available", "errorCode": "NoError"})
    )
    assert reply is not None and reply.error_code == "PropertyConstraintViolation"
    assert ChargePoint.objects.filter(charge_point_id="CP-1").exists()  # the charger itself is still recorded


def sent_command(action: str = "Reset", message_id: str = "c1") -> Command:
    charge_point = ChargePoint.objects.create(charge_point_id="CP-1")
    return Command.objects.create(
        charge_point=charge_point,
        action=action,
        message_id=message_id,
        request={"type": "Soft"},
        status=Command.Status.SENT,
        sent_at=timezone.now(),
    )


def result(payload: Any, message_id: str = "c1") -> Frame:
    return Frame(charge_point_id="CP-1", kind=Kind.RESULT, message_id=message_id, payload=payload, received_at=utcnow())


def test_a_result_is_matched_validated_and_applied_once() -> None:
    command = sent_command()
    assert frame_handle(result({"status": "Accepted"})) is None
    command.refresh_from_db()
    assert (command.status, command.response) == ("accepted", {"status": "Accepted"})
    completed_at = command.completed_at
    frame_handle(result({"status": "Rejected"}))  # a late or duplicated result
    command.refresh_from_db()
    assert (command.status, command.completed_at) == ("accepted", completed_at)
    assert MessageLog.objects.filter(action="Reset", error_description__startswith="late").count() == 1


def test_a_rejected_result_and_an_invalid_one() -> None:
    command = sent_command()
    frame_handle(result({"status": "Rejected"}))
    command.refresh_from_db()
    assert command.status == "rejected"
    Command.objects.filter(pk=command.pk).update(status="accepted")
    other = Command.objects.create(
        charge_point=command.charge_point, action="Reset", message_id="c2", status=Command.Status.SENT
    )
    frame_handle(result({"status": "Maybe"}, message_id="c2"))
    other.refresh_from_db()
    assert other.status == "failed" and other.error_code == "PropertyConstraintViolation"


def test_a_call_error_fails_the_command_and_an_unmatched_result_is_logged() -> None:
    command = sent_command()
    frame_handle(
        Frame(
            charge_point_id="CP-1",
            kind=Kind.ERROR,
            message_id="c1",
            error_code="NotSupported",
            error_description="nope",
        )
    )
    command.refresh_from_db()
    assert (command.status, command.error_code) == ("failed", "NotSupported")
    frame_handle(result({}, message_id="nobody"))
    assert MessageLog.objects.get(message_id="nobody").error_description.startswith("unmatched")


def test_message_log_retention(settings: Any) -> None:
    settings.CSMS_MESSAGE_LOG_RETENTION_DAYS = 7
    frame_handle(call("Heartbeat", {}))
    MessageLog.objects.update(created_at=timezone.now() - timedelta(days=8))
    frame_handle(call("Heartbeat", {}, message_id="m2"))
    assert message_log_purge() == 2
    assert MessageLog.objects.count() == 2


def test_after_a_boot_reused_message_ids_are_new_calls() -> None:
    status = {"connectorId": 1, "status": "Available", "errorCode": "NoError"}
    frame_handle(call("StatusNotification", status, message_id="2"))
    frame_handle(call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}, message_id="1"))
    frame_handle(call("StatusNotification", status, message_id="2"))  # the counter restarted at 1
    assert ConnectorStatusChange.objects.count() == 2


def test_a_call_of_a_version_no_package_speaks_is_answered_not_implemented_and_changes_nothing() -> None:
    # A route may name any version (CSMS_MQTT_ROUTES, CSMS_AMQP_PREFIXES); no package speaks this one.
    frame = dataclasses.replace(call("Heartbeat", {}), ocpp_version="3.0")
    reply = frame_handle(frame)
    assert reply is not None and (reply.kind, reply.error_code) == (Kind.ERROR, "NotImplemented")
    assert "3.0" in reply.error_description
    assert ChargePoint.objects.get(charge_point_id="CP-1").last_heartbeat_at is None


def test_a_boot_writes_the_version_it_came_in() -> None:
    ChargePoint.objects.create(charge_point_id="CP-1", registration_status="Accepted", ocpp_version="2.0.1")
    reply = frame_handle(call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}))
    assert reply is not None and reply.payload["status"] == "Accepted"
    assert ChargePoint.objects.get(charge_point_id="CP-1").ocpp_version == "1.6"


def test_the_route_a_charger_last_spoke_on_is_kept_and_its_commands_take_it() -> None:
    frame_handle(dataclasses.replace(call("Heartbeat", {}), dialect="raw", transport="amqp"))
    charge_point = ChargePoint.objects.get(charge_point_id="CP-1")
    assert (charge_point.dialect, charge_point.transport) == ("raw", "amqp")
    ChargePoint.objects.filter(pk=charge_point.pk).update(registration_status="Accepted")
    command_enqueue(charge_point=charge_point, action="ClearCache", payload={})
    sent = command_next_send(charge_point_pk=charge_point.pk)
    assert sent is not None
    frame = command_frame(sent)
    assert (frame.transport, frame.dialect, frame.ocpp_version) == ("amqp", "raw", "1.6")
    assert (frame.kind, frame.action, frame.message_id, frame.payload) == (Kind.CALL, "ClearCache", sent.message_id, {})
