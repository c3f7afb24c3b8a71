"""Reservations: requested when a reservation command is queued, settled by its answer, used by a start.

Version-neutral: a protocol package reads its own payload's fields and calls these.
"""

from __future__ import annotations

from datetime import datetime

from .models import ChargePoint, Reservation


def reservation_request(
    *,
    charge_point: ChargePoint,
    reservation_id: int,
    connector_id: int,
    id_tag: str,
    parent_id_tag: str = "",
    expiry_date: datetime,
) -> Reservation:
    """A reservation was asked of the charger: requested until its answer (a new request replaces the old)."""
    reservation, _ = Reservation.objects.update_or_create(
        charge_point=charge_point,
        reservation_id=reservation_id,
        defaults={
            "connector_id": connector_id,
            "id_tag": id_tag,
            "parent_id_tag": parent_id_tag,
            "expiry_date": expiry_date,
            "status": Reservation.Status.REQUESTED,
        },
    )
    return reservation


def reservation_open(*, charge_point: ChargePoint, reservation_id: int) -> bool:
    """Whether the charger holds (or was asked for) this reservation: requested or accepted."""
    return Reservation.objects.filter(
        charge_point=charge_point,
        reservation_id=reservation_id,
        status__in=[Reservation.Status.REQUESTED, Reservation.Status.ACCEPTED],
    ).exists()


def reservation_use(*, charge_point: ChargePoint, reservation_id: int | None) -> None:
    """A session started on a reservation uses it up."""
    if reservation_id is not None:
        Reservation.objects.filter(charge_point=charge_point, reservation_id=reservation_id).update(
            status=Reservation.Status.USED
        )
