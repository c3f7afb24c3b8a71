"""Block B for a 2.0.1 station, through the worker's handling of its Calls (``calls_handle``, real PostgreSQL):
boot under each registration status, the registration gate, heartbeats, status per EVSE and connector, and
the device model read after an accepted boot (GetBaseReport, NotifyReport parts)."""

from __future__ import annotations

from typing import Any

import pytest

from chargers.commands import command_next_send
from chargers.device_model import device_report_progress, device_variable_value
from chargers.models import ChargePoint, ChargerEvent, Command, Connector, DeviceVariable, Evse
from chargers.services import charge_point_registration_set
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.processing import calls_handle, results_handle
from protocols.validation import validate

from .calls import AT, BOOT, PAYLOADS, call, handle

pytestmark = pytest.mark.django_db

V201 = "2.0.1"


def station(cid: str = "CS-1") -> ChargePoint:
    return ChargePoint.objects.get(charge_point_id=cid)


def boot(message_id: str = "b1") -> Frame:
    reply = handle("BootNotification", BOOT, message_id)
    assert reply.kind == Kind.RESULT, reply
    validate(Kind.RESULT, "BootNotification", reply.payload, V201)
    return reply


def test_TC_B_01_CSMS_cold_boot_accepted_stores_the_identity_and_reads_the_device_model(settings: Any) -> None:
    settings.CSMS_BOOT_POLICY = "accept"
    settings.CSMS_HEARTBEAT_INTERVAL = 120
    reply = boot()
    assert (reply.payload["status"], reply.payload["interval"]) == ("Accepted", 120)
    assert reply.payload["currentTime"].endswith("Z")
    cp = station()
    assert (cp.vendor, cp.model, cp.serial_number, cp.firmware_version) == (
        "Vendor With A Name Longer Than Twenty",
        "Model-201",
        "SN-0001",
        "1.2.3",
    )
    assert (cp.iccid, cp.imsi, cp.ocpp_version, cp.heartbeat_interval) == (
        "8931000000000000001",
        "204040000000001",
        V201,
        120,
    )
    [read] = Command.objects.filter(charge_point=cp)
    assert (read.action, read.status, read.requested_by) == ("GetBaseReport", "queued", "system: boot")
    assert read.request["reportBase"] == "FullInventory" and read.request["requestId"] > 0
    validate(Kind.CALL, "GetBaseReport", read.request, V201)
    # A second boot while it is still queued does not queue another.
    boot("b2")
    assert Command.objects.filter(charge_point=cp, action="GetBaseReport").count() == 1


def test_no_device_model_read_when_it_is_turned_off(settings: Any) -> None:
    settings.CSMS_BOOT_POLICY = "accept"
    settings.CSMS_FETCH_CONFIGURATION_ON_BOOT = False
    boot()
    assert not Command.objects.exists()


def test_TC_B_02_CSMS_pending_station_gets_security_errors_until_an_operator_accepts_it(settings: Any) -> None:
    settings.CSMS_BOOT_POLICY = "pending"
    settings.CSMS_BOOT_RETRY_INTERVAL = 30
    reply = boot()
    assert (reply.payload["status"], reply.payload["interval"]) == ("Pending", 30)
    assert not Command.objects.filter(action="GetBaseReport").exists()  # read once accepted
    for action in ("Heartbeat", "StatusNotification", "Authorize", "TransactionEvent", "NoSuchAction"):
        refused = handle(action, PAYLOADS.get(action, {}), f"x-{action}")
        assert (refused.kind, refused.error_code) == (Kind.ERROR, "SecurityError"), action
    cp = station()
    assert cp.last_heartbeat_at is None and not Connector.objects.exists()
    assert cp.online  # answered, not disconnected: the connection stays open
    # Every boot is answered Pending until someone decides.
    assert boot("b2").payload["status"] == "Pending"
    assert station().registration_status == "Pending"
    charge_point_registration_set(charge_point=station(), status="Accepted")
    # Accepting an online Pending station asks it to boot again now.
    assert Command.objects.get(action="TriggerMessage").request == {"requestedMessage": "BootNotification"}
    assert boot("b3").payload["status"] == "Accepted"
    assert handle("Heartbeat", {}, "h2").kind == Kind.RESULT
    assert station().last_heartbeat_at is not None


def test_TC_B_02_CSMS_a_pending_station_may_send_the_report_it_was_asked_for(settings: Any) -> None:
    settings.CSMS_BOOT_POLICY = "pending"
    boot()
    report = {**PAYLOADS["NotifyReport"], "reportData": [_report_item("OCPPCommCtrlr", "HeartbeatInterval", "300")]}
    reply = handle("NotifyReport", report, "r1")
    assert reply.kind == Kind.RESULT and reply.payload == {}
    assert (
        device_variable_value(charge_point=station(), component="OCPPCommCtrlr", variable="HeartbeatInterval") == "300"
    )


def test_TC_B_03_CSMS_rejected_station_is_answered_rejected_and_refused_everything_else(settings: Any) -> None:
    settings.CSMS_BOOT_POLICY = "reject"
    settings.CSMS_BOOT_RETRY_INTERVAL = 45
    reply = boot()
    assert (reply.payload["status"], reply.payload["interval"]) == ("Rejected", 45)
    for action in ("Heartbeat", "NotifyReport", "StatusNotification", "SecurityEventNotification"):
        refused = handle(action, PAYLOADS[action], f"x-{action}")
        assert (refused.kind, refused.error_code) == (Kind.ERROR, "SecurityError"), action
    assert not DeviceVariable.objects.exists() and not ChargerEvent.objects.exists()
    assert boot("b2").payload["status"] == "Rejected"


def test_a_station_that_calls_before_its_first_boot_is_gated_by_the_boot_policy(settings: Any) -> None:
    settings.CSMS_BOOT_POLICY = "pending"
    assert handle("Heartbeat", {}).error_code == "SecurityError"
    settings.CSMS_BOOT_POLICY = "accept"
    assert handle("Heartbeat", {}, cid="CS-2").kind == Kind.RESULT


def test_heartbeat_is_answered_with_the_current_time_in_a_batch_of_stations(settings: Any) -> None:
    settings.CSMS_BOOT_POLICY = "accept"
    replies = calls_handle([call("Heartbeat", {}, cid=f"CS-{n}") for n in range(3)])
    for reply in replies:
        assert reply.kind == Kind.RESULT
        validate(Kind.RESULT, "Heartbeat", reply.payload, V201)
    assert ChargePoint.objects.filter(last_heartbeat_at__isnull=False).count() == 3


def test_status_notification_is_kept_per_evse_and_connector(settings: Any) -> None:
    settings.CSMS_BOOT_POLICY = "accept"
    frames = [
        call("StatusNotification", {"timestamp": AT, "connectorStatus": "Occupied", "evseId": 2, "connectorId": 1}),
        call("StatusNotification", {**PAYLOADS["StatusNotification"], "evseId": 1}, cid="CS-2"),
        call(
            "StatusNotification", {"timestamp": AT, "connectorStatus": "Faulted", "evseId": 2, "connectorId": 2}, "m2"
        ),
    ]
    assert [reply.payload for reply in calls_handle(frames)] == [{}, {}, {}]
    cp = station()
    connectors = {
        (c.evse_id, c.connector_id): (c.status, c.error_code) for c in Connector.objects.filter(charge_point=cp)
    }
    assert connectors == {(2, 1): ("Occupied", ""), (2, 2): ("Faulted", "")}
    assert list(Evse.objects.filter(charge_point=cp).values_list("evse_id", flat=True)) == [2]
    stamp = Connector.objects.get(charge_point=cp, connector_id=1).charger_timestamp
    assert stamp is not None and stamp.isoformat() == "2026-11-23T10:00:00+00:00"


def _report_item(component: str, variable: str, value: str) -> dict[str, Any]:
    return {"component": {"name": component}, "variable": {"name": variable}, "variableAttribute": [{"value": value}]}


def test_B07_full_inventory_is_read_after_boot_and_stored_part_by_part(settings: Any) -> None:
    """GetBaseReport FullInventory after an accepted boot, answered in three NotifyReport parts (tbc), one of
    them out of order: every part is stored as it comes, and the report is complete with the last one."""
    settings.CSMS_BOOT_POLICY = "accept"
    boot()
    cp = station()
    sent = command_next_send(charge_point_pk=cp.pk)
    assert sent is not None and sent.action == "GetBaseReport"
    request_id = sent.request["requestId"]
    results_handle(
        [
            Frame(
                charge_point_id="CS-1",
                kind=Kind.RESULT,
                message_id=sent.message_id,
                payload={"status": "Accepted"},
                ocpp_version=V201,
                dialect="ocppj",
                received_at=utcnow(),
            )  # fmt: skip
        ]
    )
    assert Command.objects.get(pk=sent.pk).status == "accepted"

    def part(seq_no: int, tbc: bool, *items: dict[str, Any]) -> dict[str, Any]:
        return {"requestId": request_id, "generatedAt": AT, "seqNo": seq_no, "tbc": tbc, "reportData": list(items)}

    items_per_message = {
        **_report_item("DeviceDataCtrlr", "ItemsPerMessage", "4"),
        "variable": {"name": "ItemsPerMessage", "instance": "GetVariables"},
        "variableCharacteristics": {"dataType": "integer", "supportsMonitoring": False, "minLimit": 1, "maxLimit": 50},
    }
    connector_type = {
        "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 1}},
        "variable": {"name": "ConnectorType"},
        "variableAttribute": [{"value": "cType2", "mutability": "ReadOnly", "persistent": True, "constant": True}],
        "variableCharacteristics": {
            "dataType": "OptionList",
            "supportsMonitoring": False,
            "valuesList": "cType2,sType3",
        },
    }
    limits = {
        "component": {"name": "SmartChargingCtrlr"},
        "variable": {"name": "LimitChangeSignificance"},
        "variableAttribute": [{"type": "Actual", "value": "0.1"}, {"type": "MaxSet", "value": "1.0"}],
    }
    assert handle("NotifyReport", part(0, True, items_per_message), "r0").payload == {}
    assert handle("NotifyReport", part(2, False, limits), "r2").payload == {}
    progress = device_report_progress(charge_point=cp, request_id=request_id)
    assert (progress.parts, progress.complete, progress.missing) == ((0, 2), True, (1,))
    assert handle("NotifyReport", part(1, True, connector_type), "r1").payload == {}
    progress = device_report_progress(charge_point=cp, request_id=request_id)
    assert (progress.parts, progress.complete, progress.missing, progress.variables) == ((0, 1, 2), True, (), 3)

    rows = {
        (row.component, row.variable, row.attribute_type): row for row in DeviceVariable.objects.filter(charge_point=cp)
    }
    assert len(rows) == 4
    ipm = rows[("DeviceDataCtrlr", "ItemsPerMessage", "Actual")]
    assert (ipm.variable_instance, ipm.value, ipm.data_type, ipm.min_limit, ipm.max_limit) == (
        "GetVariables",
        "4",
        "integer",
        1,
        50,
    )
    # What an attribute omits has the specification's defaults.
    assert (ipm.mutability, ipm.persistent, ipm.constant) == ("ReadWrite", False, False)
    ct = rows[("Connector", "ConnectorType", "Actual")]
    assert (ct.evse_id, ct.connector_id, ct.mutability, ct.constant, ct.values_list) == (
        1,
        1,
        "ReadOnly",
        True,
        "cType2,sType3",
    )
    assert rows[("SmartChargingCtrlr", "LimitChangeSignificance", "MaxSet")].value == "1.0"
    assert (
        device_variable_value(
            charge_point=cp, component="DeviceDataCtrlr", variable="ItemsPerMessage", instance="GetVariables"
        )
        == "4"
    )


def test_a_report_part_for_another_request_is_its_own_report(settings: Any) -> None:
    settings.CSMS_BOOT_POLICY = "accept"
    handle("NotifyReport", {"requestId": 1, "generatedAt": AT, "seqNo": 0, "tbc": True}, "a")
    handle("NotifyReport", {"requestId": 2, "generatedAt": AT, "seqNo": 0}, "b")
    cp = station()
    assert device_report_progress(charge_point=cp, request_id=1).complete is False
    assert device_report_progress(charge_point=cp, request_id=2).complete is True
    assert device_report_progress(charge_point=cp, request_id=3).parts == ()


def test_a_batch_mixing_versions_and_registration_statuses_answers_each_in_its_own_terms(settings: Any) -> None:
    settings.CSMS_BOOT_POLICY = "accept"
    ChargePoint.objects.create(charge_point_id="CS-P", registration_status="Pending", ocpp_version=V201)
    v16 = Frame(charge_point_id="CP-16", kind=Kind.CALL, message_id="m1", action="BootNotification",
                payload={"chargePointVendor": "V", "chargePointModel": "M"}, received_at=utcnow())  # fmt: skip
    frames = [
        call("BootNotification", BOOT, cid="CS-A"),
        v16,
        call("BootNotification", BOOT, cid="CS-P"),
        call("Heartbeat", {}, "m2", cid="CS-A"),
        call("Heartbeat", {}, "m2", cid="CS-P"),
    ]
    boot_a, boot_16, boot_p, beat_a, beat_p = calls_handle(frames)
    assert (boot_a.payload["status"], boot_16.payload["status"], boot_p.payload["status"]) == (
        "Accepted",
        "Accepted",
        "Pending",
    )
    assert "chargingStation" not in boot_16.payload and set(boot_a.payload) == {"status", "currentTime", "interval"}
    assert beat_a.kind == Kind.RESULT and (beat_p.kind, beat_p.error_code) == (Kind.ERROR, "SecurityError")
    versions = dict(ChargePoint.objects.values_list("charge_point_id", "ocpp_version"))
    assert versions == {"CS-A": V201, "CP-16": "1.6", "CS-P": V201}
    reads = dict(Command.objects.values_list("charge_point__charge_point_id", "action"))
    assert reads == {"CS-A": "GetBaseReport", "CP-16": "GetConfiguration"}
