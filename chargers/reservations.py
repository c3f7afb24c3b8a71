"""Reservations: requested when a reservation command is queued, settled by its answer, used by a start,
ended by the charger (2.0.1 ReservationStatusUpdate) or by their expiry.

Version-neutral: a protocol package reads its own payload's fields and calls these. What a reservation
targets: 1.6 a connector (its EVSE: ``evse_id`` = the connector; connector 0, the whole charge point: no
EVSE); 2.0.1 an EVSE, any EVSE (None) or any EVSE with a connector of a type, and no connector (0).
"""

from __future__ import annotations

from datetime import datetime

from .models import ChargePoint, Reservation

#: The statuses of a reservation the charger holds (or was asked for): the ones an end can change.
OPEN = (Reservation.Status.REQUESTED, Reservation.Status.ACCEPTED)


def reservation_request(
    *,
    charge_point: ChargePoint,
    reservation_id: int,
    connector_id: int = 0,
    id_tag: str,
    parent_id_tag: str = "",
    expiry_date: datetime,
    evse_id: int | None = None,
    connector_type: str = "",
    id_token_type: str = "",
    parent_id_token_type: str = "",
) -> Reservation:
    """A reservation was asked of the charger: requested until its answer (a new request with the same
    id replaces the old, as the charger replaces it: 1.6 §5.13, 2.0.1 H01.FR.02).

    1.6 names ``connector_id`` only: its EVSE is that connector (none for connector 0).
    """
    if evse_id is None and connector_id > 0:
        evse_id = connector_id
    reservation, _ = Reservation.objects.update_or_create(
        charge_point=charge_point,
        reservation_id=reservation_id,
        defaults={
            "connector_id": connector_id,
            "evse_id": evse_id,
            "connector_type": connector_type,
            "id_tag": id_tag,
            "id_token_type": id_token_type,
            "parent_id_tag": parent_id_tag,
            "parent_id_token_type": parent_id_token_type,
            "expiry_date": expiry_date,
            "status": Reservation.Status.REQUESTED,
        },
    )
    return reservation


def reservation_open(*, charge_point: ChargePoint, reservation_id: int) -> bool:
    """Whether the charger holds (or was asked for) this reservation: requested or accepted."""
    return Reservation.objects.filter(
        charge_point=charge_point, reservation_id=reservation_id, status__in=OPEN
    ).exists()


def reservation_use(*, charge_point: ChargePoint, reservation_id: int | None) -> None:
    """A session started on a reservation uses it up."""
    if reservation_id is not None:
        Reservation.objects.filter(charge_point=charge_point, reservation_id=reservation_id).update(
            status=Reservation.Status.USED
        )


def reservation_end(*, charge_point: ChargePoint, reservation_id: int, status: str) -> bool:
    """The charger says it no longer holds a reservation (2.0.1 ReservationStatusUpdate): ``status``
    expired or cancelled. Only an open one ends: a reservation a session used, or one we cancelled or
    expired already, stays as it is (the charger's notice may cross our own cancel or expiry).
    Whether a reservation changed."""
    ended = Reservation.objects.filter(
        charge_point=charge_point, reservation_id=reservation_id, status__in=OPEN
    ).update(status=status)
    return ended > 0
