"""BootNotifications of many chargers in one batch: the answers and rows of one by one, few statements."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chargers.models import ChargePoint, Command
from chargers.services import BootIdentity, BootReport, boot_notifications_record
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.models import InboundCall
from mqtt_bridge.processing import calls_handle

pytestmark = pytest.mark.django_db

BOOT = {"chargePointVendor": "V", "chargePointModel": "M"}
FULL_BOOT = {
    "chargePointVendor": 'ACME "o\'brien" {x},\\',  # quotes, braces, a backslash: raw SQL must keep them
    "chargePointModel": "Wallbox 22",
    "chargePointSerialNumber": "SN-1",
    "chargeBoxSerialNumber": "BOX-1",
    "firmwareVersion": "1.2.3",
    "iccid": "8931",
    "imsi": "2620",
    "meterType": "Eastron",
    "meterSerialNumber": "MSN-1",
}


def call(cid: str, payload: dict[str, Any], message_id: str = "b1", action: str = "BootNotification") -> Frame:
    return Frame(
        charge_point_id=cid, kind=Kind.CALL, message_id=message_id, action=action, payload=payload, received_at=utcnow()
    )


def get_configurations(cid: str) -> list[str]:
    commands = Command.objects.filter(charge_point__charge_point_id=cid, action="GetConfiguration")
    return sorted(commands.values_list("status", flat=True))


@pytest.fixture
def boot_settings(settings: Any) -> Any:
    settings.CSMS_BOOT_POLICY = "pending"
    settings.CSMS_HEARTBEAT_INTERVAL = 300
    settings.CSMS_BOOT_RETRY_INTERVAL = 60
    settings.CSMS_FETCH_CONFIGURATION_ON_BOOT = True
    settings.CSMS_COMMAND_EXPIRY = 3600
    return settings


def test_a_batch_of_boots_answers_and_records_each_charger_as_one_by_one(boot_settings: Any) -> None:
    long_ago = timezone.now() - timedelta(days=30)
    ChargePoint.objects.create(
        charge_point_id="CP-OK", registration_status="Accepted", first_boot_at=long_ago, heartbeat_interval=7
    )
    ChargePoint.objects.create(charge_point_id="CP-RESET", registration_status="Accepted", reset_requested_at=long_ago)
    queued = ChargePoint.objects.create(charge_point_id="CP-QUEUED", registration_status="Accepted")
    Command.objects.create(charge_point=queued, action="GetConfiguration", message_id="q1")
    in_flight = ChargePoint.objects.create(charge_point_id="CP-SENT", registration_status="Accepted")
    Command.objects.create(charge_point=in_flight, action="GetConfiguration", message_id="s1", status="sent")
    ChargePoint.objects.create(charge_point_id="CP-PENDING", registration_status="Pending", reset_requested_at=long_ago)
    ChargePoint.objects.create(charge_point_id="CP-REJECTED", registration_status="Rejected", heartbeat_interval=300)
    # A message id from before the reboot: the boot makes the charger's stored replies go.
    calls_handle([call("CP-OK", {}, "old", "Heartbeat")])
    before = timezone.now()
    replies = calls_handle(
        [
            call("CP-OK", FULL_BOOT),
            call("CP-RESET", BOOT),
            call("CP-QUEUED", BOOT),
            call("CP-SENT", BOOT),
            call("CP-PENDING", BOOT),
            call("CP-REJECTED", BOOT),
            call("CP-NEW", BOOT),  # unknown: the boot policy (pending)
        ]
    )
    after = timezone.now()
    assert all(reply.kind == Kind.RESULT for reply in replies)
    answers = {reply.charge_point_id: (reply.payload["status"], reply.payload["interval"]) for reply in replies}
    assert answers == {
        "CP-OK": ("Accepted", 300),
        "CP-RESET": ("Accepted", 300),
        "CP-QUEUED": ("Accepted", 300),
        "CP-SENT": ("Accepted", 300),
        "CP-PENDING": ("Pending", 60),
        "CP-REJECTED": ("Rejected", 60),
        "CP-NEW": ("Pending", 60),
    }
    rows = {cp.charge_point_id: cp for cp in ChargePoint.objects.all()}
    booted_at = rows["CP-OK"].last_boot_at
    assert booted_at is not None and before <= booted_at <= after
    assert replies[0].payload["currentTime"] == booted_at.isoformat(timespec="seconds").replace("+00:00", "Z")
    for cid, row in rows.items():
        assert row.last_boot_at == booted_at, cid
        assert row.updated_at >= before, cid
        assert row.heartbeat_interval == answers[cid][1], cid
        assert row.reset_requested_at is None, cid
        assert row.first_boot_at == (long_ago if cid == "CP-OK" else booted_at), cid
        if cid != "CP-OK":
            assert (row.vendor, row.model, row.serial_number, row.firmware_version) == ("V", "M", "", ""), cid
    ok = rows["CP-OK"]
    assert model_to_dict(ok, fields=[f.name for f in dataclasses.fields(BootIdentity)]) == {
        "vendor": FULL_BOOT["chargePointVendor"],
        "model": "Wallbox 22",
        "serial_number": "SN-1",
        "charge_box_serial_number": "BOX-1",
        "firmware_version": "1.2.3",
        "iccid": "8931",
        "imsi": "2620",
        "meter_type": "Eastron",
        "meter_serial_number": "MSN-1",
    }
    # Accepted chargers get one queued GetConfiguration, unless one is still queued; a sent one
    # does not count (its answer may predate the reboot). Pending and rejected chargers get none.
    assert get_configurations("CP-OK") == ["queued"]
    assert get_configurations("CP-RESET") == ["queued"]
    assert get_configurations("CP-QUEUED") == ["queued"]
    assert Command.objects.filter(charge_point=queued).get().message_id == "q1"
    assert get_configurations("CP-SENT") == ["queued", "sent"]
    for cid in ("CP-PENDING", "CP-REJECTED", "CP-NEW"):
        assert get_configurations(cid) == [], cid
    new = Command.objects.filter(status="queued").exclude(message_id="q1")
    assert len({command.message_id for command in new}) == 3
    for command in new:
        assert command.request == {} and command.requested_by == "system: boot"
        assert command.expires_at == booted_at + timedelta(seconds=3600)
    assert not InboundCall.objects.filter(message_id="old").exists()
    assert InboundCall.objects.filter(action="BootNotification").count() == 7


def test_a_second_boot_while_the_configuration_is_queued_queues_no_other(boot_settings: Any) -> None:
    boot_settings.CSMS_BOOT_POLICY = "accept"
    cids = [f"CP-{i}" for i in range(5)]
    # Each charger boots twice in one batch (two waves), then once more in the next batch.
    replies = calls_handle([call(cid, BOOT, "1") for cid in cids] + [call(cid, BOOT, "2") for cid in cids])
    assert [reply.payload["status"] for reply in replies] == ["Accepted"] * 10
    calls_handle([call(cid, BOOT, "3") for cid in cids])
    for cid in cids:
        assert get_configurations(cid) == ["queued"]


def test_without_fetching_the_configuration_a_boot_queues_nothing_but_clears_the_reset(boot_settings: Any) -> None:
    boot_settings.CSMS_FETCH_CONFIGURATION_ON_BOOT = False
    for cid in ("CP-A", "CP-B"):
        ChargePoint.objects.create(charge_point_id=cid, registration_status="Accepted", reset_requested_at=utcnow())
    replies = calls_handle([call("CP-A", BOOT), call("CP-B", BOOT)])
    assert [reply.payload["interval"] for reply in replies] == [300, 300]
    assert not Command.objects.exists()
    assert not ChargePoint.objects.filter(reset_requested_at__isnull=False).exists()


def test_boots_applied_again_after_another_actions_failure_still_clear_the_reset(boot_settings: Any) -> None:
    # The bulk actions of a wave share a savepoint: a StatusNotification whose connectorId passes
    # the schema but not our column rolls the boots back too, and they are applied again with the
    # same (already updated) ChargePoint objects.
    for cid in ("CP-A", "CP-B"):
        ChargePoint.objects.create(charge_point_id=cid, registration_status="Accepted", reset_requested_at=utcnow())
    status = {"connectorId": 2**40, "status": "Available", "errorCode": "NoError"}
    replies = calls_handle([call("CP-A", BOOT), call("CP-B", BOOT), call("CP-C", status, action="StatusNotification")])
    assert [reply.kind for reply in replies] == [Kind.RESULT, Kind.RESULT, Kind.ERROR]
    assert not ChargePoint.objects.filter(reset_requested_at__isnull=False).exists()
    assert get_configurations("CP-A") == get_configurations("CP-B") == ["queued"]
    assert ChargePoint.objects.filter(first_boot_at__isnull=False, vendor="V").count() == 2


def test_recording_boots_leaves_the_charge_points_in_memory_as_in_the_database(boot_settings: Any) -> None:
    now = timezone.now()
    first = now - timedelta(days=1)
    charge_points = [
        ChargePoint.objects.create(charge_point_id="CP-A", registration_status="Accepted", first_boot_at=first),
        ChargePoint.objects.create(charge_point_id="CP-B", registration_status="Rejected"),
    ]
    identities = [BootIdentity(vendor="V1", model="M1", iccid="1"), BootIdentity(vendor="V2", model="M2")]
    result = boot_notifications_record(
        reports=[BootReport(charge_point=cp, identity=i) for cp, i in zip(charge_points, identities, strict=True)],
        now=now,
    )
    assert result == [("Accepted", 300), ("Rejected", 60)]
    for charge_point in charge_points:
        stored = ChargePoint.objects.get(pk=charge_point.pk)
        assert _fields(charge_point) == _fields(stored)
    assert charge_points[0].first_boot_at == first and charge_points[1].first_boot_at == now
    assert charge_points[0].iccid == "1" and charge_points[1].vendor == "V2"


def _fields(charge_point: ChargePoint) -> dict[str, Any]:
    return {field.attname: getattr(charge_point, field.attname) for field in ChargePoint._meta.concrete_fields}


def test_statements_per_wave_of_boots_do_not_grow_with_the_wave(boot_settings: Any) -> None:
    boot_settings.CSMS_BOOT_POLICY = "accept"

    def statements(count: int, prefix: str) -> tuple[int, int]:
        cids = [f"{prefix}-{i}" for i in range(count)]
        calls_handle([call(cid, BOOT, "1") for cid in cids])  # the chargers and their GetConfiguration exist
        # Every kind of follow-up in each wave: resets to clear, a GetConfiguration still queued
        # for half of the chargers, a new one for the other half.
        ChargePoint.objects.filter(charge_point_id__in=cids).update(reset_requested_at=utcnow())
        Command.objects.filter(charge_point__charge_point_id__in=cids[::2]).update(status="accepted")
        with CaptureQueriesContext(connection) as queries:
            replies = calls_handle([call(cid, BOOT, "2") for cid in cids])
        assert all(reply.kind == Kind.RESULT for reply in replies)
        assert Command.objects.filter(charge_point__charge_point_id__in=cids, status="queued").count() == count
        with CaptureQueriesContext(connection) as heartbeats:
            calls_handle([call(cid, {}, "3", "Heartbeat") for cid in cids])
        return len(queries), len(heartbeats)

    (few, _), (many, heartbeats) = statements(3, "A"), statements(60, "B")
    assert few == many
    # Against a wave of heartbeats (one UPDATE): the boots' UPDATE, the UPDATE of the resets, the
    # queued GetConfigurations, the INSERT of the new ones, and the delete of the stored replies.
    assert many <= heartbeats + 4
