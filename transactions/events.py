"""Every write of OCPP 2.0.1 sessions: TransactionEvent (Started / Updated / Ended) and MeterValues.

A 2.0.1 session is named by the station's own ``transactionId`` and told in events numbered by
``seqNo``. Events may come late and out of order (an offline queue, an Updated before its Started):
whatever arrives first makes the session, and each field follows a rule that does not depend on the
order the events arrive in, so that any order builds the same row:

- started_at: Started's timestamp once it came, the earliest event timestamp until then;
- evse, connector, reservation, remote start id: Started's, else the first event that names them;
- the driver's token (id_tag, type, our status): Started's, else the first that carries one (an
  authorization after plug-in); a token in a StopAuthorized event is the one that stopped it (stop_id_tag);
- charging_state: the one of the highest seqNo that has one; time_spent_charging: the largest told;
- stopped_at, stop_reason (stoppedReason, "Local" when absent): the Ended's; once Ended, a session never
  reopens and no later event changes them;
- meter_start: the Energy.Active.Import.Register reading (total, no phase) of the earliest timestamp among
  the session's meter values; meter_stop, once Ended, the reading of the latest one. Both are recomputed
  from the stored rows at every event, so a reading that arrives late still counts where it belongs.

An event is kept once per (session, seqNo): the same event again (a new message id) has no second effect
and gets the reply stored the first time. The hot path is the same as 1.6's: a wave of N events (one per
charger, the chargers locked by the caller) costs a fixed number of statements.
"""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Q

from backoffice import bulk
from chargers.models import ChargePoint, Command, Reservation
from chargers.tokens import TokenInfo, TokenRequest, id_tokens_authorize
from fleet import figures

from .models import MeterValue, Transaction, TransactionEvent

ENERGY = "Energy.Active.Import.Register"
STARTED, ENDED = TransactionEvent.EventType.STARTED, TransactionEvent.EventType.ENDED
# The trigger of an event whose token is the one that ends the driver's authorization, not the one that began it.
STOP_AUTHORIZED = "StopAuthorized"


@dataclasses.dataclass(frozen=True)
class SampledValue:
    """One 2.0.1 SampledValue, defaults as 2.0.1 gives them.

    ``unit`` None: not sent (Wh for an energy measurand); ``multiplier`` is unitOfMeasure's power of ten.
    """

    value: int | float
    measurand: str = ENERGY
    phase: str = ""
    unit: str | None = None
    multiplier: int = 0
    context: str = "Sample.Periodic"
    location: str = "Outlet"
    signed: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class MeterSample:
    """One 2.0.1 MeterValue: a timestamp and the values sampled at it."""

    timestamp: datetime
    values: tuple[SampledValue, ...]


@dataclasses.dataclass(frozen=True)
class EventReport:
    """One TransactionEvent, parsed. ``id_token`` None: the event carries no idToken."""

    charge_point: ChargePoint
    transaction_id: str
    seq_no: int
    event_type: str
    trigger_reason: str
    timestamp: datetime
    offline: bool = False
    charging_state: str = ""
    time_spent_charging: int | None = None
    stopped_reason: str = ""
    remote_start_id: int | None = None
    reservation_id: int | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    id_token: str | None = None
    id_token_type: str = ""
    samples: tuple[MeterSample, ...] = ()
    payload: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class RemoteStartById:
    """How a version names the remote start of a session: the command's action and the request field
    holding the id the station echoes in transactionInfo.remoteStartId (the domain reads no payload)."""

    action: str
    id_field: str


@dataclasses.dataclass
class _Known:
    """What the stored events of a session say before this wave's event."""

    new: bool
    stored_reply: dict[str, Any] | None  # the reply to this (session, seqNo): a replay
    has_started: bool
    state_seq_no: int | None  # the highest seqNo that told a charging state


def transaction_events_record(
    *, reports: list[EventReport], now: datetime, remote_start: RemoteStartById | None = None
) -> list[dict[str, Any]]:
    """Apply TransactionEvents (at most one per session: a wave) and return the replies, in order.

    A fixed number of statements whatever the number of events: the tokens in one query, the sessions
    made or found (with what their stored events say) in one, the events and their meter values in one
    INSERT each, the sessions' fields and energy in one UPDATE, and the remote starts and reservations
    in one statement each when some event names one. The callers hold the chargers' row locks, so no
    other worker writes these sessions meanwhile.

    The reply carries idTokenInfo whenever the event carries an idToken. An event we already have
    (same session and seqNo) changes nothing and is answered as the first time. ``remote_start``: the
    version's spelling of the command a remoteStartId links to (None: link none).
    """
    if not reports:
        return []
    tokened = [report for report in reports if report.id_token is not None]
    answers = iter(
        id_tokens_authorize(
            requests=[TokenRequest(r.id_token or "", r.id_token_type, r.charge_point, r.evse_id) for r in tokened],
            now=now,
        )
        if tokened
        else []
    )
    infos = [next(answers) if report.id_token is not None else None for report in reports]
    found = _sessions_find(reports, now)
    replies: list[dict[str, Any]] = []
    fresh: list[tuple[EventReport, Transaction, dict[str, Any]]] = []
    remote_starts: list[Transaction] = []
    reservations: list[Transaction] = []
    for report, info, (session, known) in zip(reports, infos, found, strict=True):
        if known.stored_reply is not None:
            replies.append(known.stored_reply)
            continue
        reply = {"idTokenInfo": info.to_v201()} if info is not None else {}
        replies.append(reply)
        had_remote_start, had_reservation = session.remote_start_id, session.reservation_id
        _merge(session, report, info, known, now)
        if session.remote_start_id is not None and session.remote_start_id != had_remote_start:
            remote_starts.append(session)
        if session.reservation_id is not None and session.reservation_id != had_reservation:
            reservations.append(session)
        fresh.append((report, session, reply))
    if not fresh:
        return replies
    _events_insert(fresh, now)
    _meter_values_insert(
        [
            row
            for report, session, _ in fresh
            for row in _meter_rows(
                report.charge_point.pk,
                session.evse_id if session.evse_id is not None else 0,
                session.pk,
                report.samples,
                now,
            )
        ]
    )
    _sessions_update([session for _, session, _ in fresh])
    if remote_start is not None and remote_starts:
        _remote_starts_link(remote_starts, remote_start)
    if reservations:
        _reservations_use(reservations)
    return replies


def _merge(session: Transaction, report: EventReport, info: TokenInfo | None, known: _Known, now: datetime) -> None:
    """Fold one new event into its session (the rules of the module's docstring)."""
    started = report.event_type == STARTED
    if started:
        session.started_at, session.start_received_at = report.timestamp, now
    elif not known.has_started and report.timestamp < session.started_at:
        session.started_at = report.timestamp
    if report.evse_id is not None and (started or session.evse_id is None):
        session.evse_id = report.evse_id
    if report.connector_id is not None and (started or session.connector_id == 0):
        session.connector_id = report.connector_id
    if report.id_token is not None and info is not None:
        if report.trigger_reason == STOP_AUTHORIZED:
            session.stop_id_tag = session.stop_id_tag or report.id_token
        elif started or not session.id_token_type:
            session.id_tag, session.id_token_type = report.id_token, _token_type(report.id_token_type)
            session.id_tag_status = info.status
    if report.remote_start_id is not None and (started or session.remote_start_id is None):
        session.remote_start_id = report.remote_start_id
    if report.reservation_id is not None and (started or session.reservation_id is None):
        session.reservation_id = report.reservation_id
    if report.charging_state and (known.state_seq_no is None or report.seq_no > known.state_seq_no):
        session.charging_state = report.charging_state
    if report.time_spent_charging is not None:
        session.time_spent_charging = max(session.time_spent_charging or 0, report.time_spent_charging)
    if report.event_type == ENDED and session.stopped_at is None:
        session.stopped_at, session.stop_received_at = report.timestamp, now
        session.stop_reason = report.stopped_reason or "Local"


_TYPE_LENGTH: int = Transaction._meta.get_field("id_token_type").max_length  # type: ignore[assignment]


def _token_type(value: str) -> str:
    # A type we do not take (the validation lets any short string through) is kept as far as it fits.
    return value[:_TYPE_LENGTH]


_SESSION_FIELDS = [field.attname for field in Transaction._meta.concrete_fields]
_EVENTS_TABLE = TransactionEvent._meta.db_table


def _sessions_find(reports: list[EventReport], now: datetime) -> list[tuple[Transaction, _Known]]:
    """The session of each event, made from it when new, with what its stored events say. One statement.

    The INSERT makes the sessions no event made yet (ON CONFLICT on uniq_charger_transaction_id skips
    the others) and the SELECT after it, which sees the table as it was before the INSERT, finds those,
    with the reply stored for this seqNo (a replay), whether a Started is stored, and the highest seqNo
    that told a charging state.
    """
    values, params = bulk.values_list(
        [(r.charge_point.pk, r.transaction_id, r.seq_no, r.timestamp, r.evse_id, r.connector_id or 0) for r in reports],
        ["bigint", "varchar", "bigint", "timestamptz", "integer", "integer"],
    )
    table = Transaction._meta.db_table
    columns = bulk.columns_of(Transaction, _SESSION_FIELDS)
    sql = f"""
        WITH input (charge_point_id, charger_transaction_id, seq_no, started_at, evse_id, connector_id)
            AS ({values}),
        inserted AS (
            INSERT INTO {table} (charge_point_id, charger_transaction_id, evse_id, connector_id, id_tag,
                                 id_token_type, id_tag_status, started_at, start_received_at, charging_state,
                                 stop_reason, stop_id_tag)
            SELECT charge_point_id, charger_transaction_id, evse_id, connector_id, '', '', '', started_at, %s,
                   '', '', ''
            FROM input
            ON CONFLICT (charge_point_id, charger_transaction_id) WHERE NOT (charger_transaction_id = '')
            DO NOTHING
            RETURNING {", ".join(columns)}
        )
        SELECT true, NULL::jsonb, false, NULL::bigint, {", ".join(columns)} FROM inserted
        UNION ALL
        SELECT false, e.reply,
               EXISTS (SELECT FROM {_EVENTS_TABLE} s WHERE s.transaction_id = t.id AND s.event_type = 'Started'),
               (SELECT s.seq_no FROM {_EVENTS_TABLE} s
                WHERE s.transaction_id = t.id AND s.charging_state <> '' ORDER BY s.seq_no DESC LIMIT 1),
               {", ".join(f"t.{column}" for column in columns)}
        FROM {table} t
        JOIN input i ON t.charge_point_id = i.charge_point_id AND t.charger_transaction_id = i.charger_transaction_id
        LEFT JOIN {_EVENTS_TABLE} e ON e.transaction_id = t.id AND e.seq_no = i.seq_no
    """
    by_key: dict[tuple[int, str], tuple[Transaction, _Known]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, now])
        for new, reply, has_started, state_seq_no, *row in cursor.fetchall():
            session = Transaction.from_db(connection.alias, _SESSION_FIELDS, row)
            if isinstance(reply, str):  # Django's psycopg setup leaves jsonb as text, for its fields to decode
                reply = json.loads(reply)
            by_key[(session.charge_point_id, session.charger_transaction_id)] = (
                session,
                _Known(new=new, stored_reply=reply, has_started=has_started, state_seq_no=state_seq_no),
            )
    found = []
    for report in reports:
        session, known = by_key[(report.charge_point.pk, report.transaction_id)]
        session.charge_point = report.charge_point
        found.append((session, known))
    return found


_EVENT_FIELDS = (
    "transaction_id",
    "seq_no",
    "event_type",
    "trigger_reason",
    "timestamp",
    "offline",
    "charging_state",
    "evse_id",
    "connector_id",
    "id_tag",
    "id_token_type",
    "payload",
    "reply",
    "received_at",
)


def _events_insert(fresh: list[tuple[EventReport, Transaction, dict[str, Any]]], now: datetime) -> None:
    rows = [
        (
            session.pk,
            report.seq_no,
            report.event_type,
            report.trigger_reason,
            report.timestamp,
            report.offline,
            report.charging_state,
            report.evse_id,
            report.connector_id,
            report.id_token or "",
            _token_type(report.id_token_type),
            report.payload,
            reply,
            now,
        )
        for report, session, reply in fresh
    ]
    bulk.copy_insert(model=TransactionEvent, fields=_EVENT_FIELDS, rows=rows, on_conflict="ON CONFLICT DO NOTHING")


# (update column, VALUES type) of the fields an event may change; meter_start/meter_stop come from the rows.
_UPDATED = (
    ("started_at", "timestamptz"),
    ("start_received_at", "timestamptz"),
    ("evse_id", "integer"),
    ("connector_id", "integer"),
    ("id_tag", "varchar"),
    ("id_token_type", "varchar"),
    ("id_tag_status", "varchar"),
    ("remote_start_id", "integer"),
    ("reservation_id", "integer"),
    ("charging_state", "varchar"),
    ("time_spent_charging", "integer"),
    ("stopped_at", "timestamptz"),
    ("stop_received_at", "timestamptz"),
    ("stop_reason", "varchar"),
    ("stop_id_tag", "varchar"),
)


def _register_reading(order: str) -> str:
    """SQL for the session's total energy register reading (Wh, whole) at its first or last timestamp."""
    return f"""(
        SELECT round(CASE WHEN m.unit = 'kWh' THEN m.numeric_value * 1000 ELSE m.numeric_value END)::bigint
        FROM {MeterValue._meta.db_table} m
        WHERE m.transaction_id = t.id AND m.measurand = '{ENERGY}' AND m.phase = '' AND m.numeric_value IS NOT NULL
        ORDER BY m.timestamp {order}, m.numeric_value {order}
        LIMIT 1
    )"""


def _sessions_update(sessions: list[Transaction]) -> None:
    """Write the merged fields of the sessions and their energy from their readings, in one UPDATE."""
    names = [name for name, _ in _UPDATED]
    values, params = bulk.values_list(
        [(session.pk, *(getattr(session, name) for name in names)) for session in sessions],
        ["bigint", *(kind for _, kind in _UPDATED)],
    )
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(name)} = v.{name}" for name in names)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {Transaction._meta.db_table} t
            SET {assignments},
                meter_start = {_register_reading("ASC")},
                meter_stop = CASE WHEN v.stopped_at IS NULL THEN NULL ELSE {_register_reading("DESC")} END
            FROM ({values}) AS v (pk, {", ".join(names)})
            WHERE t.id = v.pk
            RETURNING t.id, t.meter_start, t.meter_stop
            """,
            params,
        )
        energy = {pk: (start, stop) for pk, start, stop in cursor.fetchall()}
    for session in sessions:
        session.meter_start, session.meter_stop = energy[session.pk]


def _remote_starts_link(sessions: list[Transaction], spelling: RemoteStartById) -> None:
    """Link each session to the command of its charger whose request carried its remoteStartId. One UPDATE.

    Not only accepted ones: the station may start before we have read its answer, and one that timed out
    may have been accepted; a rejected or failed command started nothing.
    """
    values, params = bulk.values_list(
        [(session.charge_point_id, session.remote_start_id, session.pk) for session in sessions],
        ["bigint", "bigint", "bigint"],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {Command._meta.db_table} c SET transaction_id = v.session
            FROM ({values}) AS v (charge_point_id, remote_start_id, session)
            WHERE c.charge_point_id = v.charge_point_id AND c.action = %s AND c.transaction_id IS NULL
              AND c.status IN (%s, %s, %s) AND jsonb_typeof(c.request -> %s) = 'number'
              AND (c.request ->> %s)::numeric = v.remote_start_id
            """,
            [
                *params,
                spelling.action,
                Command.Status.SENT,
                Command.Status.ACCEPTED,
                Command.Status.TIMED_OUT,
                spelling.id_field,
                spelling.id_field,
            ],
        )


def _reservations_use(sessions: list[Transaction]) -> None:
    """A session started on a reservation uses it up (one UPDATE for the wave)."""
    which = Q()
    for session in sessions:
        which |= Q(charge_point_id=session.charge_point_id, reservation_id=session.reservation_id)
    Reservation.objects.filter(which).update(status=Reservation.Status.USED)


@dataclasses.dataclass(frozen=True)
class EvseMeterReport:
    """One 2.0.1 MeterValues message, parsed: the EVSE (0: the station's main meter) and its samples."""

    charge_point: ChargePoint
    evse_id: int
    samples: tuple[MeterSample, ...]


def evse_meter_values_record(*, reports: list[EvseMeterReport], now: datetime) -> int:
    """Store the sampled values of many MeterValues messages: one SELECT, one INSERT. Returns the rows made.

    2.0.1 sends a session's readings in its TransactionEvents; MeterValues carries the others (clock-aligned
    values, a TriggerMessage's answer). A reading on an EVSE (not 0) while a 2.0.1 session is open there, and
    not older than its start, is linked to that session (the newest, should one have lost its Ended), so that
    the session's charts show it; the session's meter_start / meter_stop take it in at its next event.
    """
    wanted = {(report.charge_point.pk, report.evse_id) for report in reports if report.evse_id > 0}
    sessions: dict[tuple[int, int | None], Transaction] = {}
    if wanted:
        open_sessions = (
            Transaction.objects.filter(charge_point_id__in={cp for cp, _ in wanted}, stopped_at__isnull=True)
            .exclude(charger_transaction_id="")
            .order_by("charge_point_id", "evse_id", "-started_at", "-id")
            .distinct("charge_point_id", "evse_id")
            .only("id", "charge_point_id", "evse_id", "started_at")
        )
        sessions = {(session.charge_point_id, session.evse_id): session for session in open_sessions}
    rows = []
    for report in reports:
        session = sessions.get((report.charge_point.pk, report.evse_id)) if report.evse_id > 0 else None
        for sample in report.samples:
            linked = session.pk if session is not None and sample.timestamp >= session.started_at else None
            rows += _meter_rows(report.charge_point.pk, report.evse_id, linked, (sample,), now)
    _meter_values_insert(rows)
    return len(rows)


_METER_FIELDS = (
    "charge_point_id",
    "connector_id",
    "transaction_id",
    "timestamp",
    "received_at",
    "numeric_value",
    "value",
    "measurand",
    "phase",
    "unit",
    "context",
    "location",
    "format",
    "signed",
)
_UNIT_LENGTH: int = MeterValue._meta.get_field("unit").max_length  # type: ignore[assignment]


def _meter_values_insert(rows: list[tuple[Any, ...]]) -> None:
    """One INSERT (through COPY); a sampled value already stored (a replay) is skipped (uniq_sampled_value)."""
    if rows:
        bulk.copy_insert(model=MeterValue, fields=_METER_FIELDS, rows=rows, on_conflict="ON CONFLICT DO NOTHING")


def _meter_rows(
    charge_point_pk: int, evse_id: int, session_pk: int | None, samples: tuple[MeterSample, ...], now: datetime
) -> list[tuple[Any, ...]]:
    rows = []
    for sample in samples:
        for value in sample.values:
            text, number = scaled_value(value)
            unit = value.unit if value.unit is not None else ("Wh" if value.measurand.startswith("Energy") else "")
            rows.append(
                (
                    charge_point_pk,
                    evse_id,
                    session_pk,
                    sample.timestamp,
                    now,
                    number,
                    text,
                    value.measurand,
                    value.phase,
                    unit[:_UNIT_LENGTH],
                    value.context,
                    value.location,
                    "SignedData" if value.signed else "Raw",
                    value.signed,
                )
            )
    return rows


def scaled_value(value: SampledValue) -> tuple[str, float]:
    """A sampled value with unitOfMeasure's multiplier applied (text as sent when there is none, and the number).

    MeterValue has no multiplier column: a value is stored in its unit (12 with multiplier 3 is 12000 Wh),
    so that every reader (energy, charts, exports) reads the same figure as for 1.6.
    """
    if value.multiplier == 0:
        return str(value.value), float(value.value)
    exact = Decimal(repr(value.value)).scaleb(value.multiplier)
    return format(exact.normalize(), "f"), float(exact)


def energy_register_wh(value: SampledValue) -> float | None:
    """The Wh of a total energy register reading (None for any other sampled value), multiplier applied."""
    if value.measurand != ENERGY or value.phase:
        return None
    number = scaled_value(value)[1]
    if not math.isfinite(number):
        return None
    return figures.to_wh(number, value.unit if value.unit is not None else "Wh")
