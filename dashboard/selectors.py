"""Reads for the operator dashboard: the fleet overview, one charger, sessions, pending chargers, id tags.

Every page is rendered from these functions, and so is every live update a consumer pushes: a
websocket event only says *that* something changed, the page re-reads *what* from here. Each
selector runs a fixed number of queries whatever the fleet size (the view tests count them).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone

from chargers.api.filters import IdTagFilter
from chargers.models import (
    ChargePoint,
    Command,
    ConfigurationKey,
    Connector,
    IdTag,
    RegistrationStatus,
)
from chargers.services import id_tags_authorize
from mqtt_bridge.models import MessageLog
from transactions.models import MeterValue, Transaction

PAGE_SIZE = 50
POWER = "Power.Active.Import"
ENERGY = "Energy.Active.Import.Register"
CHARGING_STATUSES = ("Charging", "SuspendedEV", "SuspendedEVSE")
# Per-phase values are summed when a charger reports no total (phase "").
PHASES = ("L1", "L2", "L3", "L1-N", "L2-N", "L3-N")
SERIES_LIMIT = 5000
RECENT_MESSAGES = 25
RECENT_COMMANDS = 15


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


def _state_expression() -> Case:
    """A charger's state in SQL, worst first.

    Faulted if any connector (connector 0 included) is; charging if a connector charges (a
    charger can go on charging offline); available only while online, not made Unavailable as a
    whole (connector 0), and with an Available connector; everything else is unavailable.
    """
    connectors = Connector.objects.filter(charge_point=OuterRef("pk"))
    outlets = connectors.filter(connector_id__gt=0)
    return Case(
        When(Exists(connectors.filter(status="Faulted")), then=Value(State.FAULTED)),
        When(Exists(outlets.filter(status__in=CHARGING_STATUSES)), then=Value(State.CHARGING)),
        When(
            Q(online=True)
            & Exists(outlets.filter(status="Available"))
            & ~Exists(connectors.filter(connector_id=0, status="Unavailable")),
            then=Value(State.AVAILABLE),
        ),
        default=Value(State.UNAVAILABLE),
        output_field=CharField(),
    )


# --- Fleet overview ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FleetCounts:
    total: int
    online: int
    offline: int
    available: int
    charging: int
    faulted: int
    pending: int


@dataclasses.dataclass(frozen=True)
class FleetFilters:
    """The overview's search and filters, read from a query string."""

    q: str = ""
    state: str = ""
    online: str = ""
    registration: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> FleetFilters:
        state = query.get("state", "")
        online = query.get("online", "")
        registration = query.get("registration", "")
        return cls(
            q=query.get("q", "").strip()[:100],
            state=state if state in {value for value, _ in State.CHOICES} else "",
            online=online if online in {"yes", "no"} else "",
            registration=registration if registration in RegistrationStatus.values else "",
        )


@dataclasses.dataclass(frozen=True)
class ChargerRow:
    charge_point: ChargePoint
    state: str
    power_w: float | None


@dataclasses.dataclass(frozen=True)
class FleetPage:
    counts: FleetCounts
    filters: FleetFilters
    page: Page
    rows: list[ChargerRow]


def fleet_counts() -> FleetCounts:
    """The headline numbers, in one query."""
    totals = (
        ChargePoint.objects.annotate(state=_state_expression())
        .order_by()
        .aggregate(
            total=Count("pk"),
            online=Count("pk", filter=Q(online=True)),
            available=Count("pk", filter=Q(state=State.AVAILABLE)),
            charging=Count("pk", filter=Q(state=State.CHARGING)),
            faulted=Count("pk", filter=Q(state=State.FAULTED)),
            pending=Count("pk", filter=Q(registration_status=RegistrationStatus.PENDING)),
        )
    )
    return FleetCounts(offline=totals["total"] - totals["online"], **totals)


def charger_queryset(filters: FleetFilters) -> QuerySet[ChargePoint]:
    """Chargers matching the filters, with their state annotated and connectors prefetched."""
    queryset = ChargePoint.objects.annotate(state=_state_expression()).prefetch_related("connectors")
    if filters.q:
        queryset = queryset.filter(
            Q(charge_point_id__icontains=filters.q)
            | Q(vendor__icontains=filters.q)
            | Q(model__icontains=filters.q)
            | Q(serial_number__icontains=filters.q)
            | Q(charge_box_serial_number__icontains=filters.q)
        )
    if filters.state:
        queryset = queryset.filter(state=filters.state)
    if filters.online:
        queryset = queryset.filter(online=filters.online == "yes")
    if filters.registration:
        queryset = queryset.filter(registration_status=filters.registration)
    return queryset.order_by("charge_point_id")


def _watts(value: float | None, unit: str) -> float | None:
    if value is None:
        return None
    return value * 1000 if unit == "kW" else value


def _watt_hours(value: float | None, unit: str) -> float | None:
    if value is None:
        return None
    return value * 1000 if unit == "kWh" else value


def _latest_power(sessions: Q) -> dict[int, tuple[int, float]]:
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
        per_session[transaction_id][phase] = _watts(value, unit) or 0.0
        owner[transaction_id] = charge_point_pk
    return {
        tid: (owner[tid], phases.get("", sum(v for p, v in phases.items() if p in PHASES)))
        for tid, phases in per_session.items()
    }


def current_power(charge_point_ids: Iterable[int]) -> dict[int, float]:
    """Power (W) of each charger: the sum over its active sessions (one query for a whole page)."""
    sessions = Q(transaction__charge_point_id__in=list(charge_point_ids), transaction__stopped_at__isnull=True)
    power: dict[int, float] = defaultdict(float)
    for charge_point_pk, watts in _latest_power(sessions).values():
        power[charge_point_pk] += watts
    return dict(power)


def fleet_page(query: Mapping[str, str]) -> FleetPage:
    """The overview: counts, and one page of the filtered charger table with power."""
    filters = FleetFilters.from_query(query)
    page = Paginator(charger_queryset(filters), PAGE_SIZE).get_page(query.get("page"))
    charge_points = list(page.object_list)
    power = current_power(cp.pk for cp in charge_points) if charge_points else {}
    rows = [ChargerRow(cp, cp.state, power.get(cp.pk)) for cp in charge_points]
    return FleetPage(counts=fleet_counts(), filters=filters, page=page, rows=rows)


# --- Sessions -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SessionSummary:
    """A session with what the dashboard shows about it."""

    transaction: Transaction
    energy_wh: float | None
    power_w: float | None
    duration: timedelta
    # Filled in where the page draws the session's chart (a charger's current sessions).
    series: Series | None = None

    @property
    def is_active(self) -> bool:
        return self.transaction.stopped_at is None


@dataclasses.dataclass(frozen=True)
class Series:
    """Meter values of one session for the chart: seconds since epoch, kW, kWh delivered."""

    x: list[float]
    power_kw: list[float | None]
    energy_kwh: list[float | None]

    def as_json(self) -> dict[str, Any]:
        return {"x": self.x, "power": self.power_kw, "energy": self.energy_kwh}


def _latest_energy_wh() -> Subquery:
    latest = (
        MeterValue.objects.filter(transaction=OuterRef("pk"), measurand=ENERGY, phase="", numeric_value__isnull=False)
        .order_by("-timestamp", "-id")
        .annotate(wh=Case(When(unit="kWh", then=F("numeric_value") * 1000), default=F("numeric_value")))
        .values("wh")[:1]
    )
    return Subquery(latest, output_field=FloatField())


def _duration(transaction: Transaction, now: datetime) -> timedelta:
    end = transaction.stopped_at or now
    return max(end - transaction.started_at, timedelta(0))


def _summary(transaction: Transaction, power: Mapping[int, float], now: datetime) -> SessionSummary:
    if transaction.meter_stop is not None:
        energy: float | None = float(transaction.meter_stop - transaction.meter_start)
    elif getattr(transaction, "latest_energy_wh", None) is not None:
        energy = transaction.latest_energy_wh - transaction.meter_start
    else:
        energy = None
    return SessionSummary(
        transaction=transaction,
        energy_wh=energy,
        power_w=power.get(transaction.pk) if transaction.stopped_at is None else None,
        duration=_duration(transaction, now),
    )


def session_power(transaction_ids: Iterable[int]) -> dict[int, float]:
    """Power (W) per session, from its latest Power.Active.Import sample(s)."""
    latest = _latest_power(Q(transaction_id__in=list(transaction_ids)))
    return {tid: watts for tid, (_, watts) in latest.items()}


@dataclasses.dataclass(frozen=True)
class SessionFilters:
    charger: str = ""
    id_tag: str = ""
    status: str = ""
    started_from: date | None = None
    started_to: date | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> SessionFilters:
        status = query.get("status", "")
        return cls(
            charger=query.get("charger", "").strip()[:48],
            id_tag=query.get("id_tag", "").strip()[:20],
            status=status if status in {"active", "completed"} else "",
            started_from=_date(query.get("started_from", "")),
            started_to=_date(query.get("started_to", "")),
        )


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


@dataclasses.dataclass(frozen=True)
class SessionPage:
    filters: SessionFilters
    page: Page
    rows: list[SessionSummary]


def session_queryset(filters: SessionFilters) -> QuerySet[Transaction]:
    queryset = Transaction.objects.select_related("charge_point").annotate(latest_energy_wh=_latest_energy_wh())
    if filters.charger:
        queryset = queryset.filter(charge_point__charge_point_id__icontains=filters.charger)
    if filters.id_tag:
        queryset = queryset.filter(id_tag__iexact=filters.id_tag)
    if filters.status == "active":
        queryset = queryset.filter(stopped_at__isnull=True)
    elif filters.status == "completed":
        queryset = queryset.filter(stopped_at__isnull=False)
    tz = timezone.get_current_timezone()
    if filters.started_from:
        queryset = queryset.filter(started_at__gte=datetime.combine(filters.started_from, time.min, tzinfo=tz))
    if filters.started_to:
        end = datetime.combine(filters.started_to + timedelta(days=1), time.min, tzinfo=tz)
        queryset = queryset.filter(started_at__lt=end)
    return queryset.order_by("-started_at", "-id")


def session_page(query: Mapping[str, str]) -> SessionPage:
    """One page of sessions, newest first, with energy, power and duration."""
    filters = SessionFilters.from_query(query)
    page = Paginator(session_queryset(filters), PAGE_SIZE).get_page(query.get("page"))
    transactions = list(page.object_list)
    active = [t.pk for t in transactions if t.stopped_at is None]
    power = session_power(active) if active else {}
    now = timezone.now()
    return SessionPage(filters=filters, page=page, rows=[_summary(t, power, now) for t in transactions])


def session_series(transaction: Transaction, limit: int = SERIES_LIMIT) -> Series:
    """Power and energy over a session, one point per sample timestamp (the newest ``limit`` samples)."""
    return sessions_series([transaction], limit)[transaction.pk]


def sessions_series(transactions: Iterable[Transaction], limit: int = SERIES_LIMIT) -> dict[int, Series]:
    """``session_series`` of several sessions in one query: ``{session id: Series}`` (empty ones too).

    ROW_NUMBER per session keeps each session's newest ``limit`` samples, so a long session cannot
    crowd out a short one on the same charger.
    """
    by_pk = {t.pk: t for t in transactions}
    newest_first = [F("timestamp").desc(), F("id").desc()]
    rows = (
        MeterValue.objects.filter(
            transaction_id__in=list(by_pk), measurand__in=(POWER, ENERGY), numeric_value__isnull=False
        )
        .annotate(row=Window(RowNumber(), partition_by=[F("transaction_id")], order_by=newest_first))
        .filter(row__lte=limit)
        .order_by("transaction_id", "timestamp", "id")
        .values_list("transaction_id", "timestamp", "measurand", "phase", "numeric_value", "unit")
    )
    power: dict[int, dict[datetime, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    energy: dict[int, dict[datetime, float]] = defaultdict(dict)
    for transaction_id, timestamp, measurand, phase, value, unit in rows:
        if measurand == POWER:
            power[transaction_id][timestamp][phase] = _watts(value, unit) or 0.0
        elif phase == "":
            energy[transaction_id][timestamp] = _watt_hours(value, unit) or 0.0
    return {pk: _series(transaction, power[pk], energy[pk]) for pk, transaction in by_pk.items()}


def _series(
    transaction: Transaction, power: Mapping[datetime, dict[str, float]], energy: Mapping[datetime, float]
) -> Series:
    stamps = sorted(set(power) | set(energy))
    power_kw: list[float | None] = []
    energy_kwh: list[float | None] = []
    for stamp in stamps:
        phases = power.get(stamp)
        if phases:
            watts = phases.get("", sum(v for p, v in phases.items() if p in PHASES))
            power_kw.append(round(watts / 1000, 3))
        else:
            power_kw.append(None)
        wh = energy.get(stamp)
        energy_kwh.append(round((wh - transaction.meter_start) / 1000, 3) if wh is not None else None)
    return Series(x=[s.timestamp() for s in stamps], power_kw=power_kw, energy_kwh=energy_kwh)


@dataclasses.dataclass(frozen=True)
class SessionDetail:
    summary: SessionSummary
    series: Series


def session_detail(pk: int) -> SessionDetail | None:
    """One session with its chart; None when it does not exist."""
    transaction = (
        Transaction.objects.select_related("charge_point")
        .annotate(latest_energy_wh=_latest_energy_wh())
        .filter(pk=pk)
        .first()
    )
    if transaction is None:
        return None
    power = session_power([transaction.pk]) if transaction.stopped_at is None else {}
    return SessionDetail(_summary(transaction, power, timezone.now()), session_series(transaction))


# --- One charger ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ConfigurationSnapshot:
    """The configuration keys in the latest answered GetConfiguration."""

    keys: list[dict[str, Any]]
    unknown: list[str]
    read_at: datetime | None


@dataclasses.dataclass(frozen=True)
class ChargerDetail:
    charge_point: ChargePoint
    state: str
    connectors: list[Connector]
    sessions: list[SessionSummary]
    messages: list[MessageLog]
    commands: list[Command]
    configuration: ConfigurationSnapshot | None


def configuration_snapshot(charge_point: ChargePoint) -> ConfigurationSnapshot | None:
    """The charger's configuration keys as last read (GetConfiguration) or changed (ChangeConfiguration).

    Falls back to the newest answered GetConfiguration's response for keys never stored as rows.
    """
    rows = list(ConfigurationKey.objects.filter(charge_point=charge_point).order_by("key"))
    if rows:
        keys = [{"key": row.key, "value": row.value, "readonly": row.readonly} for row in rows]
        return ConfigurationSnapshot(keys=keys, unknown=[], read_at=max(row.updated_at for row in rows))
    command = (
        Command.objects.filter(charge_point=charge_point, action="GetConfiguration", status=Command.Status.ACCEPTED)
        .exclude(response__isnull=True)
        .order_by("-completed_at", "-id")
        .first()
    )
    if command is None or not isinstance(command.response, dict):
        return None
    keys = [k for k in command.response.get("configurationKey") or [] if isinstance(k, dict)]
    unknown = [str(k) for k in command.response.get("unknownKey") or []]
    return ConfigurationSnapshot(
        keys=sorted(keys, key=lambda k: str(k.get("key", ""))), unknown=unknown, read_at=command.completed_at
    )


def charger_detail(charge_point_id: str) -> ChargerDetail | None:
    """Everything the charger page shows; None when the charger does not exist."""
    charge_point = (
        ChargePoint.objects.annotate(state=_state_expression()).filter(charge_point_id=charge_point_id).first()
    )
    if charge_point is None:
        return None
    active = list(
        Transaction.objects.filter(charge_point=charge_point, stopped_at__isnull=True)
        .annotate(latest_energy_wh=_latest_energy_wh())
        .order_by("connector_id", "-started_at")
    )
    power = session_power([t.pk for t in active]) if active else {}
    now = timezone.now()
    # One chart per current session: a charger with two connectors charging shows both.
    series = sessions_series(active) if active else {}
    sessions = [dataclasses.replace(_summary(t, power, now), series=series[t.pk]) for t in active]
    return ChargerDetail(
        charge_point=charge_point,
        state=charge_point.state,
        connectors=list(charge_point.connectors.order_by("connector_id")),
        sessions=sessions,
        messages=list(MessageLog.objects.filter(charge_point_id=charge_point_id)[:RECENT_MESSAGES]),
        commands=list(Command.objects.filter(charge_point=charge_point)[:RECENT_COMMANDS]),
        configuration=configuration_snapshot(charge_point),
    )


# --- Pending chargers -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RegistrationPage:
    status: str
    page: Page


def registration_page(query: Mapping[str, str]) -> RegistrationPage:
    """Chargers waiting for an operator's decision (or already rejected), newest boot first."""
    status = query.get("status", RegistrationStatus.PENDING)
    if status not in (RegistrationStatus.PENDING, RegistrationStatus.REJECTED):
        status = RegistrationStatus.PENDING
    queryset = ChargePoint.objects.filter(registration_status=status).order_by(
        F("last_boot_at").desc(nulls_last=True), "charge_point_id"
    )
    return RegistrationPage(status=status, page=Paginator(queryset, PAGE_SIZE).get_page(query.get("page")))


# --- Id tags ------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class IdTagRow:
    tag: IdTag
    # What Authorize answers now (an Accepted tag past its expiry date is Expired).
    effective_status: str


@dataclasses.dataclass(frozen=True)
class IdTagPage:
    filters: Mapping[str, Any]
    page: Page
    rows: list[IdTagRow]


def id_tag_page(query: Mapping[str, str]) -> IdTagPage:
    """The authorization list, filtered as the API filters it (one FilterSet for both), by id tag."""
    filterset = IdTagFilter(query, queryset=IdTag.objects.select_related("parent").order_by("id_tag"))
    # Invalid filter values are dropped, not an error page: the form shows what was understood.
    filterset.is_valid()
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(query.get("page"))
    tags = list(page.object_list)
    # Asked of the service that answers Authorize, so the page cannot disagree with the chargers.
    answers = id_tags_authorize(requests=[(tag.id_tag, None) for tag in tags], now=timezone.now()) if tags else []
    rows = [IdTagRow(tag, info.status) for tag, info in zip(tags, answers, strict=True)]
    return IdTagPage(filters=filterset.form.cleaned_data, page=page, rows=rows)
