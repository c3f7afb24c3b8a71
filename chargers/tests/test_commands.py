"""The command lifecycle in process, against the real database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from chargers import ports
from chargers.commands import (
    CommandError,
    command_cancel,
    command_enqueue,
    command_next_send,
    commands_expire,
    commands_next_send,
)
from chargers.models import ChargePoint, ChargingProfile, Command, ConfigurationKey, Reservation
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.processing import frame_handle
from transactions.models import Transaction

pytestmark = pytest.mark.django_db

FUTURE = (timezone.now() + timedelta(hours=1)).isoformat()


@pytest.fixture
def charge_point() -> ChargePoint:
    return ChargePoint.objects.create(charge_point_id="CP-1", registration_status="Accepted", online=True)


def answer(command: Command, payload: dict[str, Any]) -> None:
    frame_handle(
        Frame(
            charge_point_id="CP-1",
            kind=Kind.RESULT,
            message_id=command.message_id,
            payload=payload,
            received_at=utcnow(),
        )
    )
    command.refresh_from_db()


def send(charge_point: ChargePoint) -> Command:
    sent = command_next_send(charge_point_pk=charge_point.pk)
    assert sent is not None
    return Command.objects.get(message_id=sent.message_id)


def test_every_1_6_csms_operation_is_supported() -> None:
    # Core, firmware, local list, reservation, smart charging, trigger, and the security whitepaper's seven.
    assert len(ports.port_for("1.6").commands) == 26


@pytest.mark.parametrize(
    ("action", "payload", "field"),
    [
        ("Reset", {"type": "Gentle"}, "type"),
        ("Reset", {}, "type"),
        ("UnlockConnector", {"connectorId": "1"}, "connectorId"),
        ("MakeCoffee", {}, "action"),
        ("RemoteStopTransaction", {"transactionId": 424242}, "transactionId"),
        (
            "ReserveNow",
            {"connectorId": 1, "expiryDate": "2001-01-01T00:00:00Z", "idTag": "T", "reservationId": 1},
            "expiryDate",
        ),
        ("CancelReservation", {"reservationId": 9}, "reservationId"),
    ],
)
def test_invalid_commands_are_refused_and_nothing_is_queued(
    charge_point: ChargePoint, action: str, payload: dict[str, Any], field: str
) -> None:
    with pytest.raises(CommandError) as caught:
        command_enqueue(charge_point=charge_point, action=action, payload=payload)
    assert field in caught.value.errors
    assert not Command.objects.exists()


def test_a_rejected_charger_gets_no_commands(charge_point: ChargePoint) -> None:
    charge_point.registration_status = "Rejected"
    with pytest.raises(CommandError, match="rejected"):
        command_enqueue(charge_point=charge_point, action="ClearCache", payload={})


def test_one_command_in_flight_per_charger(charge_point: ChargePoint) -> None:
    first = command_enqueue(charge_point=charge_point, action="ClearCache", payload={}, requested_by="alice")
    second = command_enqueue(charge_point=charge_point, action="Reset", payload={"type": "Soft"})
    assert send(charge_point).pk == first.pk
    assert command_next_send(charge_point_pk=charge_point.pk) is None  # the first is not answered yet
    answer(first, {"status": "Accepted"})
    assert first.status == "accepted" and first.requested_by == "alice"
    assert send(charge_point).pk == second.pk


def test_many_chargers_get_their_next_command_in_one_go(charge_point: ChargePoint) -> None:
    busy = ChargePoint.objects.create(charge_point_id="CP-BUSY", registration_status="Accepted", online=True)
    offline = ChargePoint.objects.create(charge_point_id="CP-OFF", registration_status="Accepted", online=False)
    free = ChargePoint.objects.create(charge_point_id="CP-FREE", registration_status="Accepted", online=True)
    oldest = command_enqueue(charge_point=charge_point, action="ClearCache", payload={})
    command_enqueue(charge_point=charge_point, action="Reset", payload={"type": "Soft"})
    command_enqueue(charge_point=busy, action="ClearCache", payload={})
    send(busy)
    command_enqueue(charge_point=busy, action="Reset", payload={"type": "Soft"})
    command_enqueue(charge_point=offline, action="ClearCache", payload={})
    for_free = command_enqueue(charge_point=free, action="Reset", payload={"type": "Hard"})
    pks = [charge_point.pk, busy.pk, offline.pk, free.pk]
    sent = commands_next_send(charge_point_pks=pks)
    assert sorted((c.charge_point.charge_point_id, c.message_id, c.status) for c in sent) == [
        ("CP-1", oldest.message_id, "sent"),
        ("CP-FREE", for_free.message_id, "sent"),
    ]
    assert Command.objects.filter(status="sent").count() == 3
    assert commands_next_send(charge_point_pks=pks) == []  # each has one in flight now, or is offline


def test_an_offline_charger_keeps_its_commands_queued(charge_point: ChargePoint) -> None:
    ChargePoint.objects.filter(pk=charge_point.pk).update(online=False)
    command_enqueue(charge_point=charge_point, action="ClearCache", payload={})
    assert command_next_send(charge_point_pk=charge_point.pk) is None
    ChargePoint.objects.filter(pk=charge_point.pk).update(online=True)
    assert send(charge_point).status == "sent"


def test_timeouts_and_expiry(charge_point: ChargePoint, settings: Any) -> None:
    settings.CSMS_COMMAND_TIMEOUT = 30
    sent = command_enqueue(charge_point=charge_point, action="ClearCache", payload={})
    send(charge_point)
    stale = command_enqueue(charge_point=charge_point, action="ClearCache", payload={}, expires_in=60)
    now = timezone.now()
    assert commands_expire(now=now + timedelta(seconds=29)) == (0, 0)
    assert commands_expire(now=now + timedelta(seconds=61)) == (1, 1)
    sent.refresh_from_db()
    stale.refresh_from_db()
    assert (sent.status, stale.status) == ("timed_out", "expired")
    answer(sent, {"status": "Accepted"})  # too late: logged, not applied
    assert sent.status == "timed_out"


def test_cancel_only_queued(charge_point: ChargePoint) -> None:
    command = command_enqueue(charge_point=charge_point, action="ClearCache", payload={})
    assert command_cancel(command=command).status == "cancelled"
    with pytest.raises(CommandError):
        command_cancel(command=command)


def test_configuration_is_stored_and_changed(charge_point: ChargePoint) -> None:
    get = command_enqueue(charge_point=charge_point, action="GetConfiguration", payload={})
    send(charge_point)
    answer(
        get,
        {
            "configurationKey": [
                {"key": "MeterValueSampleInterval", "readonly": False, "value": "60"},
                {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
            ],
            "unknownKey": ["Nope"],
        },
    )
    change = command_enqueue(
        charge_point=charge_point,
        action="ChangeConfiguration",
        payload={"key": "MeterValueSampleInterval", "value": "30"},
    )
    send(charge_point)
    answer(change, {"status": "Accepted"})
    values = dict(ConfigurationKey.objects.values_list("key", "value"))
    assert values == {"MeterValueSampleInterval": "30", "NumberOfConnectors": "2"}


def test_reservation_is_accepted_then_used(charge_point: ChargePoint) -> None:
    reserve = command_enqueue(
        charge_point=charge_point,
        action="ReserveNow",
        payload={"connectorId": 1, "expiryDate": FUTURE, "idTag": "T", "reservationId": 7},
    )
    send(charge_point)
    answer(reserve, {"status": "Accepted"})
    assert Reservation.objects.get(reservation_id=7).status == "accepted"
    frame_handle(
        Frame(
            charge_point_id="CP-1",
            kind=Kind.CALL,
            message_id="s1",
            action="StartTransaction",
            payload={
                "connectorId": 1,
                "idTag": "T",
                "meterStart": 0,
                "reservationId": 7,
                "timestamp": "2026-11-23T10:00:00Z",
            },
            received_at=utcnow(),
        )
    )
    assert Reservation.objects.get(reservation_id=7).status == "used"


@pytest.mark.parametrize("started_with", ["APP-1", "app-1"])
def test_remote_start_is_linked_to_the_session_it_caused(
    charge_point: ChargePoint, settings: Any, started_with: str
) -> None:
    # The charger may echo the id tag in another case: 1.6's idTag is case-insensitive (CiString20Type).
    settings.CSMS_UNKNOWN_ID_TAG_POLICY = "accept"
    start = command_enqueue(
        charge_point=charge_point, action="RemoteStartTransaction", payload={"connectorId": 2, "idTag": "APP-1"}
    )
    send(charge_point)
    answer(start, {"status": "Accepted"})
    frame_handle(
        Frame(
            charge_point_id="CP-1",
            kind=Kind.CALL,
            message_id="s2",
            action="StartTransaction",
            payload={"connectorId": 2, "idTag": started_with, "meterStart": 0, "timestamp": "2026-11-23T10:00:00Z"},
            received_at=utcnow(),
        )
    )
    start.refresh_from_db()
    assert start.transaction == Transaction.objects.get()


def test_charging_profiles_set_replace_and_clear(charge_point: ChargePoint) -> None:
    def profile(profile_id: int, level: int) -> dict[str, Any]:
        return {
            "connectorId": 1,
            "csChargingProfiles": {
                "chargingProfileId": profile_id,
                "stackLevel": level,
                "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Absolute",
                "chargingSchedule": {
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.5}],
                },
            },
        }

    for profile_id in (1, 2):  # same stack level and purpose: the second replaces the first
        command = command_enqueue(
            charge_point=charge_point, action="SetChargingProfile", payload=profile(profile_id, 0)
        )
        send(charge_point)
        answer(command, {"status": "Accepted"})
    assert list(ChargingProfile.objects.filter(active=True).values_list("profile_id", flat=True)) == [2]
    clear = command_enqueue(charge_point=charge_point, action="ClearChargingProfile", payload={"id": 2})
    send(charge_point)
    answer(clear, {"status": "Accepted"})
    assert not ChargingProfile.objects.filter(active=True).exists()


def test_local_list_version_and_reset(charge_point: ChargePoint) -> None:
    version = command_enqueue(charge_point=charge_point, action="GetLocalListVersion", payload={})
    send(charge_point)
    answer(version, {"listVersion": 4})
    local = command_enqueue(
        charge_point=charge_point,
        action="SendLocalList",
        payload={"listVersion": 5, "updateType": "Full", "localAuthorizationList": []},
    )
    send(charge_point)
    answer(local, {"status": "Accepted"})
    assert ChargePoint.objects.get(pk=charge_point.pk).local_list_version == 5
    reset = command_enqueue(charge_point=charge_point, action="Reset", payload={"type": "Hard"})
    send(charge_point)
    answer(reset, {"status": "Accepted"})
    assert ChargePoint.objects.get(pk=charge_point.pk).reset_requested_at is not None
    frame_handle(
        Frame(
            charge_point_id="CP-1",
            kind=Kind.CALL,
            message_id="b1",
            action="BootNotification",
            payload={"chargePointVendor": "V", "chargePointModel": "M"},
            received_at=utcnow(),
        )
    )
    assert ChargePoint.objects.get(pk=charge_point.pk).reset_requested_at is None
