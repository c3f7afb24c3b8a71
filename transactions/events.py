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
- meter_start: the Energy.Active.Import.Register reading (total, no phase; kWh and unitOfMeasure.multiplier
  counted in Wh) of the earliest timestamp among the session's readings; meter_stop, once Ended, the one of
  the latest. Each event weighs its readings against the first and last stored, so a reading that arrives
  late still counts where it belongs (and a late Updated's reading can fill in an Ended that carried none).
- the tariff (and its currency): the one valid at the first event received, chosen when the session is made
  (``tariffs.selectors``); charging_seconds: while the session runs, counted as its chargingState events
  arrive (an interval opens at Charging and closes at another state); from the Ended on, counted again from
  all its events in seqNo order, so that any order ends with the same figure; total_cost: once Ended, from
  its energy and time charging (the station's timeSpentCharging when that is more), again at every late event.

An event is kept once per (session, seqNo): the same event again (a new message id) has no second effect
and gets the reply stored the first time (with, for an Updated, the running total of its moment).
TransactionEvent is 2.0.1's most frequent message, so a wave of
N events (one per charger, the chargers locked by the caller) costs a fixed number of statements, and
few: one for the sessions, events and meter values together, one for the tokens when some event carries
one, one UPDATE for the sessions an event changed (a periodic meter value changes none).

Where a rule needs what an event says against what is stored (a Started already there, a later charging
state, the first and last readings), it reads it with one index step, so a long session costs no more
per event than a short one.
"""

from __future__ import annotations

import dataclasses
import json
import math
import operator
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Q

from backoffice import bulk
from chargers.models import ChargePoint, Command, IdTag, Reservation
from chargers.tokens import TokenInfo, TokenRequest, id_tokens_decide, token_key, token_lookup_needed
from fleet import figures
from tariffs import pricing
from tariffs.models import Tariff
from tariffs.selectors import tariff_applicable_sql

from .models import MeterValue, Transaction, TransactionEvent

ENERGY = "Energy.Active.Import.Register"
STARTED, ENDED = TransactionEvent.EventType.STARTED, TransactionEvent.EventType.ENDED
# The trigger of an event whose token is the one that ends the driver's authorization, not the one that began it.
STOP_AUTHORIZED = "StopAuthorized"
CHARGING = "Charging"
# charging_seconds is an integer column; a charger's clock can put years between two events.
_MAX_SECONDS = 2**31 - 1


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


# A register reading: (timestamp, Wh).
_Reading = tuple[datetime, float]


@dataclasses.dataclass
class _Known:
    """What the stored rows of a session say before this wave's event."""

    stored_reply: dict[str, Any] | None  # the reply to this (session, seqNo): a replay
    has_started: bool
    state_later: bool  # an event after this one (a higher seqNo) told a charging state
    first_reading: _Reading | None  # its total energy register readings, the earliest and the latest
    last_reading: _Reading | None
    prices: pricing.Prices | None  # of its tariff (None: no tariff prices it)
    charged: int | None  # once it is ended: the seconds Charging, counted from all its events (this one too)
    # For an Ended of a session already stopped: whether an Ended of its own is stored (False: it was closed by
    # a later session's start on its EVSE, and this Ended, its real end, takes its place). None otherwise.
    ended_before: bool | None = None


def transaction_events_record(
    *, reports: list[EventReport], now: datetime, remote_start: RemoteStartById | None = None
) -> list[dict[str, Any]]:
    """Apply TransactionEvents (at most one per session: a wave) and return the replies, in order.

    A fixed number of statements whatever the number of events, and few, as waves are often small: one
    makes or finds the sessions, keeps the events and their meter values and reads what the sessions'
    stored rows and the tokens say (``_events_apply``); one more writes what the events changed of their
    sessions and the replies of those that carried a token (``_sessions_write``: none for a wave of
    periodic meter values); the remote starts and reservations take one statement each when some event
    names one. The callers hold the chargers' row locks, so no other worker writes these sessions meanwhile.

    The reply carries idTokenInfo whenever the event carries an idToken (``chargers.tokens``' rules), and
    for a session a tariff prices, totalCost: the final cost on Ended (stored with the event), the running
    total otherwise (I02 allows it; not stored: ``_running_total``). An event we already have (same session
    and seqNo) changes nothing and is answered as the first time.
    ``remote_start``: the version's spelling of the command a remoteStartId links to (None: link none).
    """
    if not reports:
        return []
    requests = [
        TokenRequest(r.id_token, r.id_token_type, r.charge_point, r.evse_id) if r.id_token is not None else None
        for r in reports
    ]
    lookups = [request is not None and token_lookup_needed(request) for request in requests]
    found, tags = _events_apply(reports, lookups, now)
    asked = [request for request in requests if request is not None]
    answers = iter(id_tokens_decide(requests=asked, tags=tags, now=now) if asked else [])
    replies: list[dict[str, Any]] = []
    changed: list[Transaction] = []
    answered: list[tuple[int, int, dict[str, Any]]] = []
    remote_starts: list[Transaction] = []
    reservations: list[Transaction] = []
    for report, request, (session, known) in zip(reports, requests, found, strict=True):
        info = next(answers) if request is not None else None
        if known.stored_reply is not None:
            latest = known.last_reading[1] if known.last_reading is not None else None
            replies.append(_running_total(known.stored_reply, session, known.prices, latest, report.timestamp))
            continue
        reply: dict[str, Any] = {"idTokenInfo": info.to_v201()} if info is not None else {}
        before = _state(session)
        latest = _merge(session, report, info, known, now)
        if known.prices is not None and session.stopped_at is not None:
            # Recomputed by every event of a stopped session: a late Updated's reading may fill in its meter stop.
            session.total_cost = pricing.cost(
                known.prices, energy_wh=session.energy_wh, charging_seconds=session.charging_seconds_at(now)
            )
            if report.event_type == ENDED:
                reply["totalCost"] = pricing.wire(session.total_cost)
        if info is not None or "totalCost" in reply:
            answered.append((session.pk, report.seq_no, reply))
        replies.append(_running_total(reply, session, known.prices, latest, report.timestamp))
        if _state(session) != before:
            changed.append(session)
        if session.remote_start_id is not None and session.remote_start_id != before.remote_start_id:
            remote_starts.append(session)
        if session.reservation_id is not None and session.reservation_id != before.reservation_id:
            reservations.append(session)
    if changed or answered:
        _sessions_write(changed, answered)
    if remote_start is not None and remote_starts:
        _remote_starts_link(remote_starts, remote_start)
    if reservations:
        _reservations_use(reservations)
    return replies


# What an event may change of its session, with the column's type for the JSON input of the UPDATE.
_UPDATED_TYPES = {
    "started_at": "timestamptz",
    "start_received_at": "timestamptz",
    "evse_id": "integer",
    "connector_id": "integer",
    "id_tag": "varchar",
    "id_token_type": "varchar",
    "id_tag_status": "varchar",
    "remote_start_id": "integer",
    "reservation_id": "integer",
    "charging_state": "varchar",
    "time_spent_charging": "integer",
    "meter_start": "bigint",
    "meter_stop": "bigint",
    "stopped_at": "timestamptz",
    "stop_received_at": "timestamptz",
    "stop_reason": "varchar",
    "stop_id_tag": "varchar",
    "charging_seconds": "integer",
    "charging_since": "timestamptz",
    "total_cost": "numeric",
}
_UPDATED = tuple(_UPDATED_TYPES)
_state_of = operator.attrgetter(*_UPDATED)


@dataclasses.dataclass(frozen=True)
class _State:
    values: tuple[Any, ...]
    remote_start_id: int | None
    reservation_id: int | None


def _state(session: Transaction) -> _State:
    return _State(_state_of(session), session.remote_start_id, session.reservation_id)


def _running_total(
    reply: dict[str, Any], session: Transaction, prices: pricing.Prices | None, latest_wh: float | None, at: datetime
) -> dict[str, Any]:
    """An Updated's reply with the session's running total, as 2.0.1 allows (I02: totalCost while it charges).

    Not stored with the event (that would cost every wave of periodic meter values a statement): it is the
    cost at the moment of answering, so a replayed Updated gets the running total of its own moment; what
    is stored (idTokenInfo, an Ended's final totalCost) is answered the same again. ``at``: the event's
    timestamp (the time charging counts on the station's clock, as the events tell it).
    """
    if prices is None or session.stopped_at is not None or "totalCost" in reply:
        return reply
    energy = figures.energy_wh(meter_start=session.meter_start, meter_stop=None, latest_register_wh=latest_wh)
    total = pricing.cost(prices, energy_wh=energy, charging_seconds=session.charging_seconds_at(at))
    return {**reply, "totalCost": pricing.wire(total)}


def _merge(
    session: Transaction, report: EventReport, info: TokenInfo | None, known: _Known, now: datetime
) -> float | None:
    """Fold one new event into its session (the rules of the module's docstring); its latest register reading."""
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
    _charging_time_count(session, report, known)
    if known.charged is not None:
        # Ended: the count from all the events replaces the running one (which follows their arrival).
        session.charging_seconds, session.charging_since = known.charged, None
    if report.charging_state and not known.state_later:
        session.charging_state = report.charging_state
    if report.time_spent_charging is not None:
        session.time_spent_charging = max(session.time_spent_charging or 0, report.time_spent_charging)
    if report.event_type == ENDED and (session.stopped_at is None or known.ended_before is False):
        # A session a later start on its EVSE closed ("Other", ``_APPLY_SQL``'s ``closed``) takes its own end
        # when it comes at last, as a 1.6 StopTransaction does after a lost stop.
        session.stopped_at, session.stop_received_at = report.timestamp, now
        session.stop_reason = report.stopped_reason or "Local"
    readings = [
        (sample.timestamp, wh)
        for sample in report.samples
        for value in sample.values
        if (wh := energy_register_wh(value)) is not None
    ]
    # Ties (two readings of one instant) go to the lower for the start and the higher for the stop.
    first = min(filter(None, (known.first_reading, *readings)), default=None)
    last = max(filter(None, (known.last_reading, *readings)), default=None)
    session.meter_start = round(first[1]) if first is not None else None
    session.meter_stop = round(last[1]) if last is not None and session.stopped_at is not None else None
    return last[1] if last is not None else None


def _charging_time_count(session: Transaction, report: EventReport, known: _Known) -> None:
    """Count the time charging from the chargingState transitions, before the event's state is taken.

    An interval opens at the event that says Charging and closes at the next that says another state, or at
    the Ended. Only events in order count (not one a higher seqNo already overtook with a state of its
    own): the station's own timeSpentCharging, when it sends it, covers what arrives out of order.
    """
    if session.stopped_at is not None:
        return
    ends = report.event_type == ENDED or (
        bool(report.charging_state) and report.charging_state != CHARGING and not known.state_later
    )
    if session.charging_since is not None and ends:
        elapsed = max(int((report.timestamp - session.charging_since).total_seconds()), 0)
        session.charging_seconds = min((session.charging_seconds or 0) + elapsed, _MAX_SECONDS)
        session.charging_since = None
    elif (
        session.charging_since is None
        and report.charging_state == CHARGING
        and not known.state_later
        and report.event_type != ENDED
    ):
        session.charging_since = report.timestamp


_TYPE_LENGTH: int = Transaction._meta.get_field("id_token_type").max_length  # type: ignore[assignment]


def _token_type(value: str) -> str:
    # A type we do not take (the validation lets any short string through) is kept as far as it fits.
    return value[:_TYPE_LENGTH]


_SESSION_FIELDS = [field.attname for field in Transaction._meta.concrete_fields]
_EVENTS_TABLE = TransactionEvent._meta.db_table


def _events_apply(
    reports: list[EventReport], lookups: list[bool], now: datetime
) -> tuple[list[tuple[Transaction, _Known]], dict[str, IdTag]]:
    """Make or find each event's session, keep the new events and their meter values; what the stored rows say.

    One statement, one round trip. ``sessions`` makes the sessions no event made yet (ON CONFLICT on
    uniq_charger_transaction_id skips the others) and finds the rest; ``known`` reads, as the tables were
    before the statement, the reply stored for this seqNo (a replay), whether the session's first stored
    event is its Started, whether an event after this one told a charging state, and the first and last
    energy readings (each lookup one index step however long the session: an event that comes late scans
    only the events after it), and the stored token the event names (where ``lookups`` says the answer
    depends on it); the events not stored yet are kept, with the reply {} (``_sessions_write`` gives those
    that carry a token theirs), and their sampled values on the EVSE the event or else its session names
    (ON CONFLICT on uniq_sampled_value skips one already stored). The input is two JSON documents
    (``jsonb_to_recordset``): parameters are bound in the client, and two strings cost less to bind than a
    dozen per event (a VALUES list took longer to bind than PostgreSQL took to run the statement).

    Returns each event's session and what is known of it, and the stored tokens by value (parents attached).
    """
    events = [
        {
            "ord": ord_,
            "charge_point_id": report.charge_point.pk,
            "charger_transaction_id": report.transaction_id,
            "seq_no": report.seq_no,
            "at": report.timestamp.isoformat(),
            "evse_id": report.evse_id,
            "connector_id": report.connector_id,
            "event_type": report.event_type,
            "trigger_reason": report.trigger_reason,
            "offline": report.offline,
            "charging_state": report.charging_state,
            "id_tag": report.id_token or "",
            "id_token_type": _token_type(report.id_token_type),
            "lookup": lookup,
            "payload": report.payload,
        }
        for ord_, (report, lookup) in enumerate(zip(reports, lookups, strict=True))
    ]
    samples = [
        {"ord": ord_, "at": sample.timestamp.isoformat(), **_sample_fields(value)}
        for ord_, report in enumerate(reports)
        for sample in report.samples
        for value in sample.values
    ]
    by_ord: dict[int, tuple[Transaction, _Known]] = {}
    tags: dict[str, IdTag] = {}
    with connection.cursor() as cursor:
        cursor.execute(_APPLY_SQL, [json.dumps(events), now, now, now, now, json.dumps(samples)])
        rows = cursor.fetchall()
        for ord_, reply, started, later, first_at, first_wh, last_at, last_wh, charged, ended, *rest in rows:
            token, rest = rest[: len(_TOKEN_COLUMNS)], rest[len(_TOKEN_COLUMNS) :]
            (currency, energy_price, time_price, session_fee), row = rest[:4], rest[4:]
            session = Transaction.from_db(connection.alias, _SESSION_FIELDS, row)
            if isinstance(reply, str):  # Django's psycopg setup leaves jsonb as text, for its fields to decode
                reply = json.loads(reply)
            by_ord[ord_] = (
                session,
                _Known(
                    stored_reply=reply,
                    has_started=started,
                    state_later=later,
                    first_reading=(first_at, first_wh) if first_at is not None else None,
                    last_reading=(last_at, last_wh) if last_at is not None else None,
                    prices=pricing.Prices(currency, energy_price, time_price, session_fee)
                    if currency is not None
                    else None,
                    charged=None if charged is None else min(round(charged), _MAX_SECONDS),
                    ended_before=ended,
                ),
            )
            value, kind, status, expiry_date, group, group_type = token
            if value is not None:
                tag = IdTag(id_tag=value, type=kind, status=status, expiry_date=expiry_date)
                tag.parent = IdTag(id_tag=group, type=group_type) if group is not None else None
                tags[token_key(value)] = tag
    found = []
    for ord_, report in enumerate(reports):
        session, known = by_ord[ord_]
        session.charge_point = report.charge_point
        found.append((session, known))
    return found, tags


# A stopped session's time charging, from all its events in seqNo order, this wave's (``i``) with the stored:
# each one that says Charging opens an interval, the next that tells a state (or the Ended) closes it. Read
# for an Ended or a late event of an ended session only: all its events, once or twice in its life.
_CHARGED_SQL = f"""(
    SELECT COALESCE(SUM(GREATEST(EXTRACT(EPOCH FROM x.next_at - x.at), 0)) FILTER (
        WHERE x.state = '{CHARGING}' AND x.event_type <> '{ENDED}' AND x.next_at IS NOT NULL), 0)
    FROM (
        SELECT y.at, y.state, y.event_type, LEAD(y.at) OVER (ORDER BY y.seq_no) AS next_at
        FROM (
            SELECT e.seq_no, e.timestamp AS at, e.charging_state AS state, e.event_type FROM {_EVENTS_TABLE} e
            WHERE e.transaction_id = s.id AND e.seq_no <> i.seq_no
              AND (e.charging_state <> '' OR e.event_type = '{ENDED}')
            UNION ALL
            SELECT i.seq_no, i.at, i.charging_state, i.event_type
            WHERE i.charging_state <> '' OR i.event_type = '{ENDED}'
        ) y
    ) x
)"""

# The stored token's columns the statement returns, and its group's (id_tokens_decide's needs).
_TOKEN_COLUMNS = ("g.id_tag", "g.type", "g.status", "g.expiry_date", "p.id_tag", "p.type")


def _apply_sql() -> str:
    table, meter, tags = Transaction._meta.db_table, MeterValue._meta.db_table, IdTag._meta.db_table
    tariffs = Tariff._meta.db_table
    columns = bulk.columns_of(Transaction, _SESSION_FIELDS)
    listed = ", ".join(columns)

    def of(alias: str) -> str:
        return ", ".join(f"{alias}.{column}" for column in columns)

    def reading(order: str) -> str:
        # Ordered by timestamp only: the (transaction, measurand, timestamp) index gives it in one step.
        return f"""(
            SELECT m.timestamp, CASE WHEN m.unit = 'kWh' THEN m.numeric_value * 1000 ELSE m.numeric_value END AS wh
            FROM {meter} m
            WHERE m.transaction_id = s.id AND m.measurand = '{ENERGY}' AND m.phase = ''
              AND m.numeric_value IS NOT NULL
            ORDER BY m.timestamp {order} LIMIT 1
        )"""

    return f"""
        WITH input AS (
            SELECT * FROM jsonb_to_recordset(%s::jsonb) AS input (
                ord integer, charge_point_id bigint, charger_transaction_id varchar, seq_no bigint, at timestamptz,
                evse_id integer, connector_id integer, event_type varchar, trigger_reason varchar, offline boolean,
                charging_state varchar, id_tag varchar, id_token_type varchar, lookup boolean, payload jsonb
            )
        ),
        inserted AS (
            INSERT INTO {table} (charge_point_id, charger_transaction_id, evse_id, connector_id, id_tag,
                                 id_token_type, id_tag_status, started_at, start_received_at, charging_state,
                                 stop_reason, stop_id_tag, tariff_id, currency)
            SELECT i.charge_point_id, i.charger_transaction_id, i.evse_id, COALESCE(i.connector_id, 0), '', '', '',
                   i.at, %s, '', '', '', f.id, COALESCE(f.currency, '')
            FROM input i
            -- The tariff of the session's first event's time, looked up for new sessions only: an event of a
            -- session already there (most of them) costs one index step here, not a tariff lookup.
            LEFT JOIN LATERAL (
                SELECT f.id, f.currency FROM {tariffs} f
                WHERE f.id = {tariff_applicable_sql("i.charge_point_id", "i.at")}
            ) f ON true
            WHERE NOT EXISTS (
                SELECT FROM {table} t
                WHERE t.charge_point_id = i.charge_point_id AND t.charger_transaction_id = i.charger_transaction_id
                  AND NOT (t.charger_transaction_id = '')
            )
            ON CONFLICT (charge_point_id, charger_transaction_id) WHERE NOT (charger_transaction_id = '')
            DO NOTHING
            RETURNING {listed}
        ),
        sessions AS (
            SELECT i.ord, true AS fresh, {of("n")}
            FROM inserted n
            JOIN input i
              ON n.charge_point_id = i.charge_point_id AND n.charger_transaction_id = i.charger_transaction_id
            UNION ALL
            SELECT i.ord, false, {of("t")}
            FROM {table} t
            JOIN input i
              ON t.charge_point_id = i.charge_point_id AND t.charger_transaction_id = i.charger_transaction_id
            -- The partial index's own condition: without it PostgreSQL cannot use uniq_charger_transaction_id
            -- and reads the whole sessions table on every wave (a scan growing with the fleet's history).
            WHERE NOT (t.charger_transaction_id = '')
        ),
        known AS (
            SELECT s.ord,
                   (SELECT e.reply FROM {_EVENTS_TABLE} e WHERE e.transaction_id = s.id AND e.seq_no = i.seq_no)
                       AS stored_reply,
                   -- A session's Started has its lowest seqNo: one entry of the index, not all its events.
                   COALESCE((SELECT e.event_type = 'Started' FROM {_EVENTS_TABLE} e WHERE e.transaction_id = s.id
                             ORDER BY e.seq_no LIMIT 1), false) AS started,
                   EXISTS (SELECT FROM {_EVENTS_TABLE} e
                           WHERE e.transaction_id = s.id AND e.seq_no > i.seq_no AND e.charging_state <> '') AS later,
                   first.timestamp AS first_at, first.wh AS first_wh, last.timestamp AS last_at, last.wh AS last_wh,
                   CASE WHEN i.event_type = '{ENDED}' OR s.stopped_at IS NOT NULL THEN {_CHARGED_SQL} END AS charged,
                   CASE WHEN i.event_type = '{ENDED}' AND s.stopped_at IS NOT NULL THEN EXISTS (
                       SELECT FROM {_EVENTS_TABLE} e WHERE e.transaction_id = s.id AND e.event_type = '{ENDED}'
                   ) END AS ended_before,
                   s.fresh, {of("s")}
            FROM sessions s
            JOIN input i ON i.ord = s.ord
            LEFT JOIN LATERAL {reading("ASC")} first ON true
            LEFT JOIN LATERAL {reading("DESC")} last ON true
        ),
        -- An EVSE has one transaction at a time (2.0.1 E01/E02): a session still open on the EVSE where another
        -- one starts (its Started, or the first event of a session we did not know) lost its Ended (a station's
        -- memory wiped, a replaced board). It ends at that start, reason Other as 1.6's lost stop, no energy
        -- invented (meter_stop stays as its own readings leave it). Not a session of this wave: the callers give
        -- one event per charger. active_transaction_idx finds the charger's open sessions, a handful.
        closed AS (
            UPDATE {table} t SET stopped_at = i.at, stop_received_at = %s, stop_reason = 'Other'
            FROM known k JOIN input i ON i.ord = k.ord
            WHERE k.stored_reply IS NULL AND (k.fresh OR i.event_type = '{STARTED}')
              AND t.charge_point_id = k.charge_point_id AND t.stopped_at IS NULL
              AND t.evse_id = COALESCE(i.evse_id, k.evse_id) AND COALESCE(i.evse_id, k.evse_id) > 0
              AND t.id <> k.id AND t.started_at <= i.at
        ),
        kept AS (
            INSERT INTO {_EVENTS_TABLE} (transaction_id, seq_no, event_type, trigger_reason, timestamp, offline,
                                         charging_state, evse_id, connector_id, id_tag, id_token_type, payload,
                                         reply, received_at)
            SELECT k.id, i.seq_no, i.event_type, i.trigger_reason, i.at, i.offline, i.charging_state, i.evse_id,
                   i.connector_id, i.id_tag, i.id_token_type, i.payload, '{{}}'::jsonb, %s
            FROM known k JOIN input i ON i.ord = k.ord
            WHERE k.stored_reply IS NULL
            ON CONFLICT (transaction_id, seq_no) DO NOTHING
        ),
        sampled AS (
            INSERT INTO {meter} (charge_point_id, connector_id, transaction_id, timestamp, received_at,
                                 numeric_value, value, measurand, phase, unit, context, location, format, signed)
            SELECT i.charge_point_id, COALESCE(i.evse_id, k.evse_id, 0), k.id, v.at, %s, v.numeric_value, v.value,
                   v.measurand, v.phase, v.unit, v.context, v.location, v.format, v.signed
            FROM jsonb_to_recordset(%s::jsonb) AS v (
                ord integer, at timestamptz, numeric_value float8, value text, measurand varchar, phase varchar,
                unit varchar, context varchar, location varchar, format varchar, signed jsonb
            )
            JOIN known k ON k.ord = v.ord
            JOIN input i ON i.ord = v.ord
            WHERE k.stored_reply IS NULL
            ON CONFLICT DO NOTHING
        )
        SELECT k.ord, k.stored_reply, k.started, k.later, k.first_at, k.first_wh, k.last_at, k.last_wh, k.charged,
               k.ended_before,
               {", ".join(_TOKEN_COLUMNS)}, f.currency, f.energy_price, f.time_price, f.session_fee, {of("k")}
        FROM known k
        JOIN input i ON i.ord = k.ord
        -- Id tokens match whatever their case (1.6 CiString, 2.0.1 "case insensitive"): uniq_id_tag_upper's
        -- expression, so one index step per event.
        LEFT JOIN {tags} g ON i.lookup AND UPPER(g.id_tag) = UPPER(i.id_tag)
        LEFT JOIN {tags} p ON p.id = g.parent_id
        LEFT JOIN {tariffs} f ON f.id = k.tariff_id
    """


_APPLY_SQL = _apply_sql()


def _sessions_write(sessions: list[Transaction], answered: list[tuple[int, int, dict[str, Any]]]) -> None:
    """Write what the events changed of their sessions and the replies of the events that carried a token.

    One statement (two UPDATEs from JSON input, as ``_events_apply`` takes its input).
    """
    rows = [
        {"id": session.pk, **{name: _json_value(getattr(session, name)) for name in _UPDATED}} for session in sessions
    ]
    replies = [{"transaction_id": pk, "seq_no": seq_no, "reply": reply} for pk, seq_no, reply in answered]
    with connection.cursor() as cursor:
        cursor.execute(_WRITE_SQL, [json.dumps(rows), json.dumps(replies)])


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value.isoformat() if isinstance(value, datetime) else value


_WRITE_SQL = f"""
    WITH sessions AS (
        UPDATE {Transaction._meta.db_table} t
        SET {", ".join(f"{name} = v.{name}" for name in _UPDATED)}
        FROM jsonb_to_recordset(%s::jsonb) AS v (id bigint, {", ".join(f"{n} {t}" for n, t in _UPDATED_TYPES.items())})
        WHERE t.id = v.id
    )
    UPDATE {TransactionEvent._meta.db_table} e SET reply = v.reply
    FROM jsonb_to_recordset(%s::jsonb) AS v (transaction_id bigint, seq_no bigint, reply jsonb)
    WHERE e.transaction_id = v.transaction_id AND e.seq_no = v.seq_no
"""


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
              AND c.status IN (%s, %s, %s) AND c.request -> %s = to_jsonb(v.remote_start_id)
            """,
            [
                *params,
                spelling.action,
                Command.Status.SENT,
                Command.Status.ACCEPTED,
                Command.Status.TIMED_OUT,
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
    """Store the sampled values of many MeterValues messages in one statement. Returns how many were sent.

    2.0.1 sends a session's readings in its TransactionEvents; MeterValues carries the others (clock-aligned
    values, a TriggerMessage's answer). A reading on an EVSE (not 0) while a 2.0.1 session is open there, and
    not older than its start, is linked to that session (the newest, should one have lost its Ended), so that
    the session's charts show it; the session's meter_start / meter_stop take it in at its next event. A
    sampled value already stored (a replay) is skipped (uniq_sampled_value).
    """
    samples = [
        {
            "charge_point_id": report.charge_point.pk,
            "evse_id": report.evse_id,
            "at": sample.timestamp.isoformat(),
            **_sample_fields(value),
        }
        for report in reports
        for sample in report.samples
        for value in sample.values
    ]
    if samples:
        with connection.cursor() as cursor:
            cursor.execute(_EVSE_SAMPLES_SQL, [now, json.dumps(samples)])
    return len(samples)


_EVSE_SAMPLES_SQL = f"""
    INSERT INTO {MeterValue._meta.db_table} (charge_point_id, connector_id, transaction_id, timestamp, received_at,
                                             numeric_value, value, measurand, phase, unit, context, location, format,
                                             signed)
    SELECT v.charge_point_id, v.evse_id, CASE WHEN s.started_at <= v.at THEN s.id END, v.at, %s, v.numeric_value,
           v.value, v.measurand, v.phase, v.unit, v.context, v.location, v.format, v.signed
    FROM jsonb_to_recordset(%s::jsonb) AS v (
        charge_point_id bigint, evse_id integer, at timestamptz, numeric_value float8, value text, measurand varchar,
        phase varchar, unit varchar, context varchar, location varchar, format varchar, signed jsonb
    )
    LEFT JOIN LATERAL (
        -- active_transaction_idx: the charger's open sessions, a handful.
        SELECT t.id, t.started_at FROM {Transaction._meta.db_table} t
        WHERE t.charge_point_id = v.charge_point_id AND t.stopped_at IS NULL AND v.evse_id > 0
          AND t.evse_id = v.evse_id AND NOT (t.charger_transaction_id = '')
        ORDER BY t.started_at DESC, t.id DESC LIMIT 1
    ) s ON true
    ON CONFLICT DO NOTHING
"""
_UNIT_LENGTH: int = MeterValue._meta.get_field("unit").max_length  # type: ignore[assignment]


def _sample_fields(value: SampledValue) -> dict[str, Any]:
    """A sampled value's MeterValue columns (all but where and when), 2.0.1's defaults applied."""
    text, number = scaled_value(value)
    unit = value.unit if value.unit is not None else ("Wh" if value.measurand.startswith("Energy") else "")
    return {
        "numeric_value": number,
        "value": text,
        "measurand": value.measurand,
        "phase": value.phase,
        "unit": unit[:_UNIT_LENGTH],
        "context": value.context,
        "location": value.location,
        "format": "SignedData" if value.signed else "Raw",
        "signed": value.signed,
    }


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
