"""Every write to charging sessions and meter values.

Callers hold the charge point's row lock (``chargers.services.charge_point_lock`` or, for a batch,
``charge_points_lock``) so that the natural-key lookups below cannot race with a second delivery
of the same message.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime

from chargers.commands import remote_start_link, reservation_use
from chargers.models import ChargePoint, ChargerEvent
from chargers.services import IdTagInfo, charger_event_record, id_tag_authorize

from .models import MeterValue, Transaction


@dataclasses.dataclass(frozen=True)
class SampledValue:
    """One OCPP SampledValue, defaults as the 1.6 specification gives them."""

    value: str
    measurand: str = "Energy.Active.Import.Register"
    phase: str = ""
    unit: str = "Wh"
    context: str = "Sample.Periodic"
    location: str = "Outlet"
    format: str = "Raw"


@dataclasses.dataclass(frozen=True)
class MeterSample:
    """One OCPP MeterValue: a timestamp and the values sampled at it."""

    timestamp: datetime
    values: tuple[SampledValue, ...]


def transaction_start(
    *,
    charge_point: ChargePoint,
    connector_id: int,
    id_tag: str,
    meter_start: int,
    started_at: datetime,
    reservation_id: int | None = None,
    now: datetime,
) -> tuple[Transaction, IdTagInfo]:
    """Record a StartTransaction and decide on its id tag.

    The charger started charging whatever we answer, so the session is always recorded; the
    answer tells it whether to go on. A replay of the same start (the charger's offline queue
    resent it under a new message id) finds the same row, and so gets the same transactionId.
    """
    info = id_tag_authorize(id_tag=id_tag, charge_point=charge_point, now=now)
    transaction, created = Transaction.objects.get_or_create(
        charge_point=charge_point,
        connector_id=connector_id,
        id_tag=id_tag,
        started_at=started_at,
        meter_start=meter_start,
        defaults={"id_tag_status": info.status, "reservation_id": reservation_id, "start_received_at": now},
    )
    if created:
        remote_start_link(transaction=transaction, now=now)
        reservation_use(charge_point=charge_point, reservation_id=reservation_id)
        # A connector charges one session at a time: a session still open there lost its
        # StopTransaction (a charger's memory wiped, a replaced board). Close it at this start.
        Transaction.objects.filter(
            charge_point=charge_point, connector_id=connector_id, stopped_at__isnull=True
        ).exclude(pk=transaction.pk).filter(started_at__lte=started_at).update(
            stopped_at=started_at, stop_received_at=now, stop_reason="Other"
        )
    return transaction, info


def transaction_stop(
    *,
    charge_point: ChargePoint,
    transaction_id: int,
    meter_stop: int,
    stopped_at: datetime,
    reason: str = "",
    id_tag: str = "",
    transaction_data: Iterable[MeterSample] = (),
    raw: dict | None = None,
    now: datetime,
) -> IdTagInfo | None:
    """Record a StopTransaction; return the IdTagInfo to answer with when an id tag was given.

    A stop for a transaction we do not know is still answered without error (an error makes
    chargers resend it forever) and kept as a ChargerEvent. A second stop of the same session
    changes nothing.
    """
    transaction = transaction_of_charger(charge_point=charge_point, transaction_id=transaction_id)
    if transaction is None:
        charger_event_record(
            charge_point=charge_point,
            kind=ChargerEvent.Kind.UNKNOWN_TRANSACTION_STOP,
            status=str(transaction_id),
            detail=raw or {},
            charger_timestamp=stopped_at,
            now=now,
        )
    elif transaction.stopped_at is None or (transaction.stop_reason == "Other" and transaction.meter_stop is None):
        # Still open, or closed by a later start on its connector before its own stop arrived.
        transaction.meter_stop = meter_stop
        transaction.stopped_at = stopped_at
        transaction.stop_received_at = now
        transaction.stop_reason = reason or "Local"
        transaction.stop_id_tag = id_tag
        transaction.save()
    meter_values_record(
        charge_point=charge_point,
        connector_id=transaction.connector_id if transaction else 0,
        transaction=transaction,
        samples=transaction_data,
        now=now,
    )
    if not id_tag:
        return None
    return id_tag_authorize(id_tag=id_tag, charge_point=charge_point, now=now)


def meter_values_record(
    *,
    charge_point: ChargePoint,
    connector_id: int,
    transaction: Transaction | None,
    samples: Iterable[MeterSample],
    now: datetime,
) -> int:
    """Store sampled values in one INSERT; a sample already stored (a replay) is skipped."""
    rows = _meter_rows(charge_point, connector_id, transaction, samples, now)
    if rows:
        MeterValue.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


@dataclasses.dataclass(frozen=True)
class MeterReport:
    """One MeterValues message, parsed: the session it names (if any) and its samples."""

    charge_point: ChargePoint
    connector_id: int
    transaction_id: int | None
    samples: tuple[MeterSample, ...]


def meter_reports_record(*, reports: list[MeterReport], now: datetime) -> int:
    """Store the sampled values of many MeterValues messages: one SELECT, one INSERT.

    A transactionId that is not one of the reporting charger's sessions is dropped (the values
    are kept, unlinked), as in ``transaction_of_charger``.
    """
    ids = {report.transaction_id for report in reports if _valid_transaction_id(report.transaction_id)}
    sessions = {session.pk: session for session in Transaction.objects.filter(pk__in=ids)} if ids else {}
    rows = []
    for report in reports:
        session = sessions.get(report.transaction_id)  # type: ignore[arg-type]
        if session is not None and session.charge_point_id != report.charge_point.pk:
            session = None
        rows += _meter_rows(report.charge_point, report.connector_id, session, report.samples, now)
    if rows:
        MeterValue.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _meter_rows(
    charge_point: ChargePoint,
    connector_id: int,
    transaction: Transaction | None,
    samples: Iterable[MeterSample],
    now: datetime,
) -> list[MeterValue]:
    return [
        MeterValue(
            charge_point=charge_point,
            connector_id=connector_id,
            transaction=transaction,
            timestamp=sample.timestamp,
            received_at=now,
            numeric_value=_number(value.value),
            **dataclasses.asdict(value),
        )
        for sample in samples
        for value in sample.values
    ]


def _valid_transaction_id(transaction_id: int | None) -> bool:
    return transaction_id is not None and 0 < transaction_id < 2**63


def transaction_of_charger(*, charge_point: ChargePoint, transaction_id: int | None) -> Transaction | None:
    """The session a charger names by its transactionId, if it is one of this charger's."""
    if not _valid_transaction_id(transaction_id):
        return None
    return Transaction.objects.filter(pk=transaction_id, charge_point=charge_point).first()


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None
