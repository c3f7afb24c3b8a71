"""The read side's figures: energy so far, duration, power and charger state, computed once.

The dashboard (pages and live pushes), the sessions API and its CSV export and the models all read
these, so a session shows the same Wh, W and seconds everywhere (the rounding rule lives in
``fleet.figures``). Each figure has a bulk form for lists: an annotation on the queryset or one
query for a whole page, never one query per row.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Case, CharField, Exists, F, FloatField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import JSONObject
from django.db.models.lookups import Exact
from django.utils import timezone

from chargers.models import ChargePoint, Connector, Evse
from transactions.models import MeterValue, Transaction

from . import figures

POWER = "Power.Active.Import"
ENERGY = "Energy.Active.Import.Register"
CHARGING_STATUSES = ("Charging", "SuspendedEV", "SuspendedEVSE")
# 2.0.1's connector says only Occupied: its session's chargingState says whether it charges (the same words).
CHARGING_STATES = CHARGING_STATUSES
# Per-phase values are summed when a charger reports no total (phase "").
PHASES = ("L1", "L2", "L3", "L1-N", "L2-N", "L3-N")
#: The annotation ``with_latest_energy`` adds (the newest energy register reading, in Wh).
LATEST_ENERGY = "latest_energy_wh"
#: The annotation ``with_evses_availability`` adds (the charger's EVSE rows).
EVSES_AVAILABILITY = "evses_availability"


class State:
    """What a charger is doing, derived from its connectors (worst first)."""

    FAULTED = "faulted"
    CHARGING = "charging"
    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"

    CHOICES = (
        (FAULTED, "Faulted"),
        (CHARGING, "Charging"),
        (AVAILABLE, "Available"),
        (UNAVAILABLE, "Unavailable / other"),
    )


# --- Energy -------------------------------------------------------------------------------------


def latest_energy_wh_subquery() -> Subquery:
    """The newest total energy register reading of the outer session, converted to Wh in SQL."""
    latest = (
        MeterValue.objects.filter(transaction=OuterRef("pk"), measurand=ENERGY, phase="", numeric_value__isnull=False)
        .order_by("-timestamp", "-id")
        .annotate(wh=Case(When(unit="kWh", then=F("numeric_value") * 1000), default=F("numeric_value")))
        .values("wh")[:1]
    )
    return Subquery(latest, output_field=FloatField())


def with_latest_energy(queryset: QuerySet[Transaction]) -> QuerySet[Transaction]:
    """Annotate each session with its newest register reading (one subquery in the same SELECT)."""
    return queryset.annotate(**{LATEST_ENERGY: latest_energy_wh_subquery()})


def session_energy_wh(transaction: Transaction, *, latest_register_wh: float | None = None) -> int | None:
    """Energy delivered so far, in whole Wh: final once stopped, else from the newest register reading.

    The reading comes from ``latest_register_wh`` or, for a session read through
    ``with_latest_energy``, from its annotation; a session with neither has no figure yet (None).
    """
    if latest_register_wh is None:
        latest_register_wh = getattr(transaction, LATEST_ENERGY, None)
    return figures.energy_wh(
        meter_start=transaction.meter_start,
        meter_stop=transaction.meter_stop,
        latest_register_wh=latest_register_wh,
    )


# --- Duration -----------------------------------------------------------------------------------


def session_duration(transaction: Transaction, *, now: datetime | None = None) -> timedelta:
    """The charger-clock duration in whole seconds; for a session still open, until ``now``."""
    return figures.duration(
        started_at=transaction.started_at, stopped_at=transaction.stopped_at, now=now or timezone.now()
    )


def session_duration_seconds(transaction: Transaction, *, now: datetime | None = None) -> int:
    """``session_duration`` as an integer number of seconds (the API's and the CSV's spelling)."""
    return int(session_duration(transaction, now=now).total_seconds())


# --- Power --------------------------------------------------------------------------------------


def _latest_power(sessions: Q) -> dict[int, tuple[int, int]]:
    """``{session id: (charge point pk, W)}`` from each session's newest Power.Active.Import sample(s).

    One query: DISTINCT ON keeps the newest sample per (session, phase); per-phase values are
    summed when the charger reports no total.
    """
    rows = (
        MeterValue.objects.filter(sessions, measurand=POWER, numeric_value__isnull=False)
        .order_by("transaction_id", "phase", "-timestamp", "-id")
        .distinct("transaction_id", "phase")
        .values_list("transaction_id", "charge_point_id", "phase", "numeric_value", "unit")
    )
    per_session: dict[int, dict[str, float]] = defaultdict(dict)
    owner: dict[int, int] = {}
    for transaction_id, charge_point_pk, phase, value, unit in rows:
        per_session[transaction_id][phase] = figures.to_w(value, unit) or 0.0
        owner[transaction_id] = charge_point_pk
    result: dict[int, tuple[int, int]] = {}
    for tid, phases in per_session.items():
        watts = phases.get("", sum(v for p, v in phases.items() if p in PHASES))
        result[tid] = (owner[tid], figures.power_w(watts) or 0)
    return result


def sessions_power_w(transaction_ids: Iterable[int]) -> dict[int, int]:
    """Power (whole W) per session from its newest Power.Active.Import sample(s), in one query.

    Sessions with no power sample are absent from the answer.
    """
    ids = list(transaction_ids)
    if not ids:
        return {}
    return {tid: watts for tid, (_, watts) in _latest_power(Q(transaction_id__in=ids)).items()}


def session_power_w(transaction: Transaction) -> int | None:
    """Power (whole W) of one session while it charges; None once stopped or without a sample."""
    if transaction.stopped_at is not None:
        return None
    return sessions_power_w([transaction.pk]).get(transaction.pk)


def chargers_power_w(charge_point_pks: Iterable[int]) -> dict[int, int]:
    """Power (whole W) of each charger: the sum over its open sessions (one query for a whole page)."""
    pks = list(charge_point_pks)
    if not pks:
        return {}
    sessions = Q(transaction__charge_point_id__in=pks, transaction__stopped_at__isnull=True)
    power: dict[int, int] = defaultdict(int)
    for charge_point_pk, watts in _latest_power(sessions).values():
        power[charge_point_pk] += watts
    return dict(power)


# --- Charger state ------------------------------------------------------------------------------


def charger_state_expression() -> Case:
    """A charger's state in SQL, worst first.

    Faulted if any connector (connector 0 included) is; charging if a connector charges (a
    charger can go on charging offline), or (2.0.1, whose connectors say only Occupied) an open
    session's charging state says it charges; available only while online, not made Unavailable as
    a whole (connector 0), and with an Available connector; everything else is unavailable.
    """
    connectors = Connector.objects.filter(charge_point=OuterRef("pk"))
    outlets = connectors.filter(connector_id__gt=0)
    charging = Transaction.objects.filter(
        charge_point=OuterRef("pk"), stopped_at__isnull=True, charging_state__in=CHARGING_STATES
    )
    return Case(
        When(Exists(connectors.filter(status="Faulted")), then=Value(State.FAULTED)),
        When(Exists(outlets.filter(status__in=CHARGING_STATUSES)) | Exists(charging), then=Value(State.CHARGING)),
        When(
            Q(online=True)
            & Exists(outlets.filter(status="Available"))
            & ~Exists(connectors.filter(connector_id=0, status="Unavailable")),
            then=Value(State.AVAILABLE),
        ),
        default=Value(State.UNAVAILABLE),
        output_field=CharField(),
    )


def charger_state_is(state: str) -> Exact:
    """A WHERE condition on the state, for querysets with or without the ``with_charger_state`` annotation."""
    return Exact(charger_state_expression(), Value(state))


def with_charger_state(queryset: QuerySet[ChargePoint]) -> QuerySet[ChargePoint]:
    """Annotate each charger with ``state`` (one of ``State``), in the same SELECT."""
    return queryset.annotate(state=charger_state_expression())


def charger_state(charge_point: ChargePoint) -> str:
    """The state of one charger: its annotation when read through ``with_charger_state``, else one query."""
    state = getattr(charge_point, "state", None)
    if isinstance(state, str):
        return state
    return str(ChargePoint.objects.filter(pk=charge_point.pk).values_list(charger_state_expression(), flat=True).get())


# --- EVSEs ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class EvseView:
    """An EVSE with its connectors, as the API and the dashboard show it.

    ``availability`` is the EVSE row's (the last accepted ChangeAvailability); an EVSE a connector names
    but no row exists for yet (a connector recorded before its EVSE was) reads as Operative, the default.
    """

    evse_id: int
    availability: str
    connectors: list[Connector]


def evses_group(availability: Mapping[int, str], connectors: Iterable[Connector]) -> list[EvseView]:
    """Connectors under their EVSEs, in EVSE then connector order (no query: the rows are given).

    ``availability`` is each EVSE row's (``{evse_id: availability}``, see ``evses_availability``). Every
    connector appears under its EVSE's number, whether or not that EVSE has a row of its own.
    """
    by_evse: dict[int, list[Connector]] = defaultdict(list)
    for connector in connectors:
        by_evse[connector.evse_id].append(connector)
    return [
        EvseView(
            evse_id=number,
            availability=availability.get(number, Evse.Availability.OPERATIVE),
            connectors=sorted(by_evse.get(number, []), key=lambda c: c.connector_id),
        )
        for number in sorted(set(availability) | set(by_evse))
    ]


def evses_availability_subquery() -> ArraySubquery:
    """The outer charger's EVSE rows as ``[{"evse_id": n, "availability": "..."}]``, in the same SELECT."""
    rows = (
        Evse.objects.filter(charge_point=OuterRef("pk"))
        .order_by("evse_id")
        .values(row=JSONObject(evse_id="evse_id", availability="availability"))
    )
    return ArraySubquery(rows)


def with_evses_availability(queryset: QuerySet[ChargePoint]) -> QuerySet[ChargePoint]:
    """Annotate each charger with ``EVSES_AVAILABILITY`` (read by ``evses_availability``): no query of its own."""
    return queryset.annotate(**{EVSES_AVAILABILITY: evses_availability_subquery()})


def evses_availability(charge_point: ChargePoint) -> dict[int, str]:
    """``{evse_id: availability}`` of the charger's EVSE rows: its annotation, or one query without it."""
    rows = getattr(charge_point, EVSES_AVAILABILITY, None)
    if rows is None:
        return dict(Evse.objects.filter(charge_point=charge_point).values_list("evse_id", "availability"))
    return {int(row["evse_id"]): str(row["availability"]) for row in rows}


def charger_evses(charge_point: ChargePoint, connectors: Iterable[Connector] | None = None) -> list[EvseView]:
    """The charger's EVSEs with their connectors (the connectors given, or read here)."""
    if connectors is None:
        connectors = Connector.objects.filter(charge_point=charge_point)
    return evses_group(evses_availability(charge_point), connectors)
