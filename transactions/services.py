"""Every write to charging sessions and meter values.

Callers hold the charge point's row lock (``chargers.services.charge_point_lock`` or, for a batch,
``charge_points_lock``) so that the natural-key lookups below cannot race with a second delivery
of the same message.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connection

from backoffice import bulk
from chargers.commands import RemoteStartSpelling, remote_starts_link
from chargers.models import ChargePoint, ChargerEvent
from chargers.reservations import reservation_use
from chargers.services import IdTagInfo, charger_event_record, id_tags_authorize
from tariffs import pricing
from tariffs.models import Tariff
from tariffs.selectors import prices_of, tariff_applicable_sql

from .models import MeterValue, Transaction

if TYPE_CHECKING:
    from typing_extensions import TypeIs


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


@dataclasses.dataclass(frozen=True)
class StartReport:
    """One StartTransaction, parsed."""

    charge_point: ChargePoint
    connector_id: int
    id_tag: str
    meter_start: int
    started_at: datetime
    reservation_id: int | None = None


def transaction_start(
    *,
    charge_point: ChargePoint,
    connector_id: int,
    id_tag: str,
    meter_start: int,
    started_at: datetime,
    reservation_id: int | None = None,
    remote_start: RemoteStartSpelling | None = None,
    now: datetime,
) -> tuple[Transaction, IdTagInfo]:
    """Record a StartTransaction and decide on its id tag.

    The charger started charging whatever we answer, so the session is always recorded; the
    answer tells it whether to go on. A replay of the same start (the charger's offline queue
    resent it under a new message id) finds the same row, and so gets the same transactionId.
    """
    report = StartReport(charge_point, connector_id, id_tag, meter_start, started_at, reservation_id)
    return transactions_start(reports=[report], remote_start=remote_start, now=now)[0]


# The natural key of a session (uniq_transaction_natural_key), as attribute names.
_SESSION_KEY = ("charge_point_id", "connector_id", "id_tag", "started_at", "meter_start")
_SESSION_FIELDS = [field.attname for field in Transaction._meta.concrete_fields]


def transactions_start(
    *, reports: list[StartReport], remote_start: RemoteStartSpelling | None, now: datetime
) -> list[tuple[Transaction, IdTagInfo]]:
    """``transaction_start`` for many StartTransactions (one per charger: a wave) in a few statements.

    The id tags are looked up in one query, the sessions inserted (or, for replays, found) in
    one, remote starts linked with one more, and sessions that lost their stop closed in one UPDATE.
    ``remote_start`` is how the charger's version spells a remote start (None: link none).
    """
    infos = id_tags_authorize(requests=[(report.id_tag, report.charge_point) for report in reports], now=now)
    sessions, created = _sessions_insert(reports, infos, now)
    new = [session for session in sessions if session.pk in created]
    if new:
        if remote_start is not None:
            remote_starts_link(transactions=new, spelling=remote_start, now=now)
        for report, session in zip(reports, sessions, strict=True):
            if session.pk in created:
                reservation_use(charge_point=report.charge_point, reservation_id=report.reservation_id)
        _lost_stops_close(new, now)
    return list(zip(sessions, infos, strict=True))


def _sessions_insert(
    reports: list[StartReport], infos: list[IdTagInfo], now: datetime
) -> tuple[list[Transaction], set[int]]:
    """Insert the sessions; a replayed start finds its row. Returns them in order, and the new pks.

    One statement: the INSERT skips rows whose natural key exists, and the SELECT after it
    (which sees the table as it was before the INSERT) finds those. The callers hold the
    chargers' row locks, so no other worker inserts these chargers' sessions meanwhile.
    """
    values, params = bulk.values_list(
        [
            (r.charge_point.pk, r.connector_id, r.id_tag, info.status, r.reservation_id, r.meter_start, r.started_at)
            for r, info in zip(reports, infos, strict=True)
        ],
        ["bigint", "bigint", "varchar", "varchar", "integer", "bigint", "timestamptz"],
    )
    table = Transaction._meta.db_table
    columns = ", ".join(bulk.columns_of(Transaction, _SESSION_FIELDS))
    key = ", ".join(bulk.columns_of(Transaction, _SESSION_KEY))
    sql = f"""
        WITH input (charge_point_id, connector_id, id_tag, id_tag_status, reservation_id, meter_start, started_at)
            AS ({values}),
        inserted AS (
            INSERT INTO {table} (charge_point_id, connector_id, id_tag, id_tag_status, reservation_id, meter_start,
                                 started_at, start_received_at, stop_reason, stop_id_tag,
                                 charger_transaction_id, evse_id, id_token_type, charging_state, tariff_id, currency)
            SELECT i.charge_point_id, i.connector_id, i.id_tag, i.id_tag_status, i.reservation_id, i.meter_start,
                   i.started_at, %s, '', '', '', i.connector_id, '', '', f.id, COALESCE(f.currency, '')
            FROM input i
            -- The tariff valid at the start prices the session to its end.
            LEFT JOIN LATERAL (
                SELECT f.id, f.currency FROM {Tariff._meta.db_table} f
                WHERE f.id = {tariff_applicable_sql("i.charge_point_id", "i.started_at")}
            ) f ON true
            ON CONFLICT ({key}) WHERE charger_transaction_id = '' DO NOTHING
            RETURNING {columns}
        )
        SELECT true, {columns} FROM inserted
        UNION ALL
        SELECT false, {", ".join(f"t.{column}" for column in columns.split(", "))}
        FROM {table} t JOIN input USING ({key})
        WHERE t.charger_transaction_id = ''
    """
    found: dict[tuple[Any, ...], Transaction] = {}
    created: set[int] = set()
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, now])
        for is_new, *values in cursor.fetchall():
            session = Transaction.from_db(connection.alias, _SESSION_FIELDS, values)
            found[tuple(getattr(session, name) for name in _SESSION_KEY)] = session
            if is_new:
                created.add(session.pk)
    sessions = []
    for report in reports:
        session = found[
            (report.charge_point.pk, report.connector_id, report.id_tag, report.started_at, report.meter_start)
        ]
        session.charge_point = report.charge_point
        sessions.append(session)
    return sessions, created


def _lost_stops_close(sessions: list[Transaction], now: datetime) -> None:
    """A connector charges one session at a time: one still open there before a new start lost
    its StopTransaction (a charger's memory wiped, a replaced board). Close it at that start."""
    values, params = bulk.values_list(
        [(s.pk, s.charge_point_id, s.connector_id, s.started_at) for s in sessions],
        ["bigint", "bigint", "bigint", "timestamptz"],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {Transaction._meta.db_table} t
            SET stopped_at = new.started_at, stop_received_at = %s, stop_reason = 'Other'
            FROM ({values}) AS new (id, charge_point_id, connector_id, started_at)
            WHERE t.charge_point_id = new.charge_point_id AND t.connector_id = new.connector_id
              AND t.stopped_at IS NULL AND t.id <> new.id AND t.started_at <= new.started_at
            """,
            [now, *params],
        )


@dataclasses.dataclass(frozen=True)
class StopReport:
    """One StopTransaction, parsed."""

    charge_point: ChargePoint
    transaction_id: int
    meter_stop: int
    stopped_at: datetime
    reason: str = ""
    id_tag: str = ""
    transaction_data: tuple[MeterSample, ...] = ()
    raw: dict[str, Any] | None = None


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
    report = StopReport(
        charge_point, transaction_id, meter_stop, stopped_at, reason, id_tag, tuple(transaction_data), raw
    )
    return transactions_stop(reports=[report], now=now)[0]


def transactions_stop(*, reports: list[StopReport], now: datetime) -> list[IdTagInfo | None]:
    """``transaction_stop`` for many StopTransactions (one per charger: a wave) in a few statements.

    The sessions are read (with their tariffs) in one query and closed in one UPDATE, the meter values of
    all the stops inserted together, and the id tags looked up in one query. A session its tariff prices
    gets its total cost: the tariff's fee, energy from meterStart to meterStop, time from start to stop.
    """
    ids = {report.transaction_id for report in reports if _valid_transaction_id(report.transaction_id)}
    found = (
        {session.pk: session for session in Transaction.objects.filter(pk__in=ids).select_related("tariff")}
        if ids
        else {}
    )
    sessions: list[Transaction | None] = []
    for report in reports:
        session = found.get(report.transaction_id)
        sessions.append(session if session is not None and session.charge_point_id == report.charge_point.pk else None)
    closing = []
    for report, session in zip(reports, sessions, strict=True):
        if session is None:
            charger_event_record(
                charge_point=report.charge_point,
                kind=ChargerEvent.Kind.UNKNOWN_TRANSACTION_STOP,
                status=str(report.transaction_id),
                detail=report.raw or {},
                charger_timestamp=report.stopped_at,
                now=now,
            )
        elif session.stopped_at is None or (session.stop_reason == "Other" and session.meter_stop is None):
            # Still open, or closed by a later start on its connector before its own stop arrived.
            session.meter_stop, session.stopped_at, session.stop_received_at = report.meter_stop, report.stopped_at, now
            session.stop_reason, session.stop_id_tag = report.reason or "Local", report.id_tag
            if session.tariff is not None:
                session.total_cost = pricing.cost(
                    prices_of(session.tariff),
                    energy_wh=session.energy_wh,
                    charging_seconds=session.charging_seconds_at(now),
                )
            closing.append(session)
    bulk.update_objects(
        closing, ["meter_stop", "stopped_at", "stop_received_at", "stop_reason", "stop_id_tag", "total_cost"]
    )
    rows = [
        row
        for report, session in zip(reports, sessions, strict=True)
        for row in _meter_rows(
            report.charge_point, session.connector_id if session else 0, session, report.transaction_data, now
        )
    ]
    _meter_values_insert(rows)
    tagged = [report for report in reports if report.id_tag]
    infos = iter(id_tags_authorize(requests=[(r.id_tag, r.charge_point) for r in tagged], now=now) if tagged else [])
    return [next(infos) if report.id_tag else None for report in reports]


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
    _meter_values_insert(rows)
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
    _meter_values_insert(rows)
    return len(rows)


# A meter value row, in this order (``_meter_rows``).
_METER_FIELDS: tuple[str, ...] = (
    "charge_point_id",
    "connector_id",
    "transaction_id",
    "timestamp",
    "received_at",
    "numeric_value",
)
_METER_FIELDS += tuple(field.name for field in dataclasses.fields(SampledValue))
_sampled_value_fields = operator.attrgetter(*(field.name for field in dataclasses.fields(SampledValue)))


def _meter_values_insert(rows: list[tuple[Any, ...]]) -> None:
    """One INSERT (through COPY) for all the rows; a sampled value already stored is skipped."""
    if rows:
        bulk.copy_insert(model=MeterValue, fields=_METER_FIELDS, rows=rows, on_conflict="ON CONFLICT DO NOTHING")


def _meter_rows(
    charge_point: ChargePoint,
    connector_id: int,
    transaction: Transaction | None,
    samples: Iterable[MeterSample],
    now: datetime,
) -> list[tuple[Any, ...]]:
    session_pk = transaction.pk if transaction else None
    return [
        (
            charge_point.pk,
            connector_id,
            session_pk,
            sample.timestamp,
            now,
            _number(value.value),
            *_sampled_value_fields(value),
        )
        for sample in samples
        for value in sample.values
    ]


def _valid_transaction_id(transaction_id: int | None) -> TypeIs[int]:
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
