"""Reservations of 2.0.1 stations (block H), driven as the bridge drives them: ReserveNow and
CancelReservation queued with command_enqueue, marked sent, answered by 2.0.1 CallResult frames
through results_handle; the station's ReservationStatusUpdate and TransactionEvent through calls_handle.
Test names carry the OCTT case ids (OCTT 2.0.1, block H, CSMS side)."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chargers.commands import CommandError, command_enqueue, command_next_send, commands_expire
from chargers.models import ChargePoint, ChargerEvent, Command, Reservation
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.processing import results_handle
from transactions.models import Transaction

from .calls import handle

pytestmark = pytest.mark.django_db

TOKEN = {"idToken": "100000C01", "type": "Central"}
GROUP = {"idToken": "GROUP001", "type": "Central"}


@pytest.fixture
def station() -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id="CS-1", ocpp_version="2.0.1", registration_status="Accepted", online=True
    )


def later(minutes: int = 30) -> str:
    return (timezone.now() + timedelta(minutes=minutes)).astimezone(UTC).isoformat().replace("+00:00", "Z")


def reserve(reservation_id: int = 1, **fields: Any) -> dict[str, Any]:
    return {"id": reservation_id, "expiryDateTime": later(), "idToken": TOKEN, **fields}


def sent(charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> Command:
    """Queue a command as every caller does and mark it sent as the dispatcher does."""
    command = command_enqueue(charge_point=charge_point, action=action, payload=payload)
    out = command_next_send(charge_point_pk=charge_point.pk)
    assert out is not None and out.pk == command.pk
    command.refresh_from_db()
    return command


def answer(command: Command, payload: dict[str, Any]) -> Command:
    """The station's CallResult, as the bridge hands it to the processing; the command as it ends."""
    results_handle(
        [
            Frame(
                charge_point_id=command.charge_point.charge_point_id,
                kind=Kind.RESULT,
                message_id=command.message_id,
                payload=payload,
                ocpp_version="2.0.1",
                received_at=utcnow(),
            )
        ]
    )
    command.refresh_from_db()
    return command


def reserved(charge_point: ChargePoint, payload: dict[str, Any], status: str = "Accepted") -> Reservation:
    answer(sent(charge_point, "ReserveNow", payload), {"status": status})
    return Reservation.objects.get(charge_point=charge_point, reservation_id=payload["id"])


def status_update(reservation_id: int, status: str) -> None:
    reply = handle("ReservationStatusUpdate", {"reservationId": reservation_id, "reservationUpdateStatus": status})
    assert (reply.kind, reply.payload) == (Kind.RESULT, {})


def target(reservation: Reservation) -> tuple[Any, ...]:
    return (
        reservation.evse_id,
        reservation.connector_id,
        reservation.connector_type,
        reservation.id_tag,
        reservation.id_token_type,
        reservation.parent_id_tag,
        reservation.parent_id_token_type,
    )


def test_TC_H_01_CSMS_reserve_a_specific_evse_accepted_then_used_by_the_reserved_token(station: ChargePoint) -> None:
    command = sent(station, "ReserveNow", reserve(7, evseId=1))
    # Requested from the moment it is queued, with what 2.0.1 names: the EVSE, the token and its type.
    requested = Reservation.objects.get(charge_point=station, reservation_id=7)
    assert requested.status == Reservation.Status.REQUESTED
    assert target(requested) == (1, 0, "", "100000C01", "Central", "", "")
    assert answer(command, {"status": "Accepted"}).status == Command.Status.ACCEPTED
    requested.refresh_from_db()
    assert requested.status == Reservation.Status.ACCEPTED
    # H03: the driver's session starts on the reservation (TransactionEvent Started with reservationId).
    started = {
        "eventType": "Started",
        "timestamp": "2026-12-01T10:00:00Z",
        "triggerReason": "Authorized",
        "seqNo": 0,
        "transactionInfo": {"transactionId": "TX-H01"},
        "evse": {"id": 1, "connectorId": 1},
        "idToken": TOKEN,
        "reservationId": 7,
    }
    assert handle("TransactionEvent", started).kind == Kind.RESULT
    assert Transaction.objects.get(charge_point=station, charger_transaction_id="TX-H01").reservation_id == 7
    requested.refresh_from_db()
    assert requested.status == Reservation.Status.USED
    # A Removed notice after the use (the station tidying up) leaves it used.
    status_update(7, "Removed")
    requested.refresh_from_db()
    assert requested.status == Reservation.Status.USED


def test_TC_H_07_CSMS_reserve_a_specific_evse_expired_by_the_station(station: ChargePoint) -> None:
    reservation = reserved(station, reserve(3, evseId=1))
    status_update(3, "Expired")
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.EXPIRED
    # Still kept as the station's notification, as before reservations had a meaning.
    event = ChargerEvent.objects.get(charge_point=station)
    assert (event.kind, event.status, event.detail) == (
        "notification",
        "ReservationStatusUpdate",
        {"reservationId": 3, "reservationUpdateStatus": "Expired"},
    )


def test_TC_H_08_CSMS_reserve_an_unspecified_evse_accepted(station: ChargePoint) -> None:
    reservation = reserved(station, reserve(4))
    assert reservation.status == Reservation.Status.ACCEPTED
    assert target(reservation) == (None, 0, "", "100000C01", "Central", "", "")


def test_TC_H_14_CSMS_reserve_unspecified_evses_until_all_are_reserved(station: ChargePoint) -> None:
    for reservation_id in (1, 2):
        assert reserved(station, reserve(reservation_id)).status == Reservation.Status.ACCEPTED
    # Every EVSE reserved: the station answers Occupied; the reservation is rejected, the answer kept.
    third = sent(station, "ReserveNow", reserve(3))
    assert answer(third, {"status": "Occupied"}).response == {"status": "Occupied"}
    assert Reservation.objects.get(charge_point=station, reservation_id=3).status == Reservation.Status.REJECTED
    assert set(Reservation.objects.filter(status="accepted").values_list("reservation_id", flat=True)) == {1, 2}


def test_TC_H_15_CSMS_reserve_a_connector_type(station: ChargePoint) -> None:
    reservation = reserved(station, reserve(5, connectorType="cType2"))
    assert reservation.status == Reservation.Status.ACCEPTED
    assert target(reservation) == (None, 0, "cType2", "100000C01", "Central", "", "")


def test_TC_H_17_CSMS_cancel_a_reservation(station: ChargePoint) -> None:
    reservation = reserved(station, reserve(6, evseId=1))
    cancel = answer(sent(station, "CancelReservation", {"reservationId": 6}), {"status": "Accepted"})
    assert cancel.status == Command.Status.ACCEPTED
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CANCELLED
    # Cancelled is no longer open: a second cancel is refused before it is queued.
    with pytest.raises(CommandError) as caught:
        command_enqueue(charge_point=station, action="CancelReservation", payload={"reservationId": 6})
    assert "reservationId" in caught.value.errors


def test_a_cancel_the_station_rejects_leaves_the_reservation_open(station: ChargePoint) -> None:
    reservation = reserved(station, reserve(6, evseId=1))
    answer(sent(station, "CancelReservation", {"reservationId": 6}), {"status": "Rejected"})
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.ACCEPTED


def test_a_cancel_of_a_reservation_we_do_not_know_is_refused(station: ChargePoint) -> None:
    other = ChargePoint.objects.create(
        charge_point_id="CS-2", ocpp_version="2.0.1", registration_status="Accepted", online=True
    )
    reserved(other, reserve(9, evseId=1))
    with pytest.raises(CommandError) as caught:
        command_enqueue(charge_point=station, action="CancelReservation", payload={"reservationId": 9})
    assert caught.value.errors == {"reservationId": ["no open reservation with this id on this charging station"]}


def test_TC_H_19_CSMS_reserve_with_a_group_id_token(station: ChargePoint) -> None:
    reservation = reserved(station, reserve(8, evseId=1, groupIdToken=GROUP))
    assert target(reservation) == (1, 0, "", "100000C01", "Central", "GROUP001", "Central")


def test_TC_H_20_CSMS_a_reservation_removed_by_the_station_on_a_fault_is_cancelled(station: ChargePoint) -> None:
    reservation = reserved(station, reserve(10, evseId=1))
    handle(
        "StatusNotification",
        {"timestamp": "2026-12-01T10:00:00Z", "connectorStatus": "Faulted", "evseId": 1, "connectorId": 1},
    )
    status_update(10, "Removed")
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CANCELLED


def test_TC_H_22_CSMS_reserve_a_specific_evse_rejected(station: ChargePoint) -> None:
    command = sent(station, "ReserveNow", reserve(11, evseId=1))
    assert answer(command, {"status": "Rejected"}).status == Command.Status.REJECTED
    assert Reservation.objects.get(reservation_id=11).status == Reservation.Status.REJECTED


@pytest.mark.parametrize("status", ["Faulted", "Unavailable"])
def test_every_answer_but_accepted_rejects_the_reservation(station: ChargePoint, status: str) -> None:
    assert reserved(station, reserve(12, evseId=1), status).status == Reservation.Status.REJECTED


def test_a_reserve_now_with_the_id_of_a_reservation_replaces_it(station: ChargePoint) -> None:
    reserved(station, reserve(13, evseId=1))
    reservation = reserved(station, reserve(13, evseId=2))
    assert (reservation.evse_id, reservation.status) == (2, Reservation.Status.ACCEPTED)
    assert Reservation.objects.filter(charge_point=station).count() == 1


@pytest.mark.parametrize(
    ("expiry", "message"),
    [("2001-01-01T00:00:00Z", "must be a future UTC time"), ("2030-01-01T00:00:00", "must be a UTC time")],
)
def test_a_reservation_that_ends_in_the_past_or_without_an_offset_is_refused(
    station: ChargePoint, expiry: str, message: str
) -> None:
    with pytest.raises(CommandError) as caught:
        command_enqueue(charge_point=station, action="ReserveNow", payload={**reserve(14), "expiryDateTime": expiry})
    assert message in caught.value.errors["expiryDateTime"][0]
    assert not Reservation.objects.exists()


def test_a_reservation_past_its_expiry_is_expired_by_the_periodic_task(station: ChargePoint) -> None:
    reservation = reserved(station, reserve(15, evseId=1))
    commands_expire(now=reservation.expiry_date + timedelta(seconds=1))
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.EXPIRED
    # The station's own Expired notice, crossing ours, changes nothing more.
    status_update(15, "Expired")
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.EXPIRED


def test_a_notice_for_a_reservation_we_never_made_is_kept_and_changes_nothing(station: ChargePoint) -> None:
    status_update(99, "Expired")
    assert not Reservation.objects.exists()
    assert ChargerEvent.objects.filter(charge_point=station, status="ReservationStatusUpdate").count() == 1


@pytest.mark.parametrize(("connector_id", "evse_id"), [(2, 2), (0, None)])
def test_a_1_6_reservation_is_of_the_evse_its_connector_is(connector_id: int, evse_id: int | None) -> None:
    charger = ChargePoint.objects.create(charge_point_id="CP-16", ocpp_version="1.6", online=True)
    payload = {"connectorId": connector_id, "expiryDate": later(), "idTag": "CARD-1", "reservationId": 3}
    command_enqueue(charge_point=charger, action="ReserveNow", payload=payload)
    reservation = Reservation.objects.get(charge_point=charger)
    assert (reservation.connector_id, reservation.evse_id, reservation.id_token_type) == (connector_id, evse_id, "")


def test_the_admin_lists_a_reservation_with_its_evse_type_and_group(admin_client: Client, station: ChargePoint) -> None:
    reserved(station, reserve(16, connectorType="cType2", groupIdToken=GROUP))
    reserved(station, reserve(17, evseId=2))
    page = admin_client.get(reverse("admin:chargers_reservation_changelist")).content.decode()
    assert "cType2" in page and "GROUP001" in page
    assert '<td class="field-evse_id">2</td>' in page and '<td class="field-evse_id">-</td>' in page
