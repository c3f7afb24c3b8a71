"""Reads for the operator dashboard: the fleet overview, one charger, sessions, pending chargers, id tags.

Every page is rendered from these functions, and so is every live update a consumer pushes: a
websocket event only says *that* something changed, the page re-reads *what* from here. Each
selector runs a fixed number of queries whatever the fleet size (the view tests count them).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Prefetch, Q, Window
from django.db.models.functions import RowNumber
from django.http import QueryDict
from django.utils import timezone

from chargers.filtersets import ChargePointFilterSet, DeviceVariableFilterSet, IdTagFilterSet
from chargers.models import (
    ChargePoint,
    Command,
    ConfigurationKey,
    Connector,
    DeviceVariable,
    IdTag,
    RegistrationStatus,
    Reservation,
)
from chargers.services import id_tags_authorize
from fleet import figures
from fleet.selectors import (
    ENERGY,
    PHASES,
    POWER,
    EvseView,
    State,
    charger_evses,
    charger_state,
    chargers_power_w,
    session_duration,
    session_energy_wh,
    sessions_power_w,
    with_charger_state,
    with_evses_availability,
    with_latest_energy,
)
from mqtt_bridge.dialects import DIALECTS, EMQX, OCPPJ
from mqtt_bridge.models import MessageLog
from mqtt_bridge.routes import MQTT
from mqtt_bridge.transports.amqp import AMQP
from tariffs.selectors import session_cost
from transactions.filtersets import TransactionFilterSet
from transactions.models import MeterValue, Transaction, TransactionEvent

PAGE_SIZE = 50
SERIES_LIMIT = 5000
RECENT_MESSAGES = 25
RECENT_COMMANDS = 15
# The charger page lists its newest reservations, open or ended (ReserveNow through the commands).
RECENT_RESERVATIONS = 10
# A session's page lists its newest TransactionEvents (a long session sends hundreds of Updated).
RECENT_EVENTS = 100
#: Versions whose connectors are EVSEs of their own and which keep configuration keys (the page as it
#: always was); a charger of any other version is shown by EVSE, with its device model.
CONNECTOR_LAYOUT_VERSIONS = frozenset({"1.6"})

__all__ = ["State"]  # re-exported: the views and templates name the fleet's states through this module


def _filter_data(query: Mapping[str, Any]) -> QueryDict | dict[str, Any]:
    """A page's query as a FilterSet takes it (a request's QueryDict keeps its repeated parameters)."""
    return query if isinstance(query, QueryDict) else dict(query)


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
    """The overview's search and filters as the form shows them (what ``ChargePointFilterSet`` understood)."""

    q: str = ""
    state: str = ""
    online: str = ""
    registration: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> FleetFilters:
        return cls.from_filterset(ChargePointFilterSet(_filter_data(query), queryset=ChargePoint.objects.none()))

    @classmethod
    def from_filterset(cls, filterset: ChargePointFilterSet) -> FleetFilters:
        filterset.is_valid()  # invalid values are dropped, not an error page
        data = filterset.form.cleaned_data
        online = data.get("online")
        return cls(
            q=(data.get("q") or "")[:100],
            state=data.get("state") or "",
            online="" if online is None else ("yes" if online else "no"),
            registration=data.get("registration") or "",
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
        with_charger_state(ChargePoint.objects.all())
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


def charger_filterset(query: Mapping[str, str]) -> ChargePointFilterSet:
    """The API's charger FilterSet over the overview's queryset (state annotated, connectors prefetched)."""
    connectors = Prefetch("connectors", queryset=Connector.objects.order_by("evse_id", "connector_id"))
    queryset = with_charger_state(ChargePoint.objects.all()).prefetch_related(connectors).order_by("charge_point_id")
    return ChargePointFilterSet(_filter_data(query), queryset=queryset)


def fleet_page(query: Mapping[str, str]) -> FleetPage:
    """The overview: counts, and one page of the filtered charger table with power."""
    filterset = charger_filterset(query)
    filters = FleetFilters.from_filterset(filterset)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(query.get("page"))
    charge_points = list(page.object_list)
    power = chargers_power_w(cp.pk for cp in charge_points)
    rows = [ChargerRow(cp, charger_state(cp), power.get(cp.pk)) for cp in charge_points]
    return FleetPage(counts=fleet_counts(), filters=filters, page=page, rows=rows)


# --- Sessions -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SessionSummary:
    """A session with what the dashboard shows about it (the figures of ``fleet.selectors``)."""

    transaction: Transaction
    energy_wh: int | None
    power_w: int | None
    duration: timedelta
    # Filled in where the page draws the session's chart (a charger's current sessions).
    series: Series | None = None
    # Under its tariff, in transaction.currency: final once stopped, else so far (None: no tariff, or not read).
    cost: Decimal | None = None

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


def session_summary(transaction: Transaction, *, power: Mapping[int, int], now: datetime) -> SessionSummary:
    """The summary of a session read through ``with_latest_energy``, with the page's power figures.

    Its cost where the page read the tariffs with the sessions (``select_related("tariff")``): never a
    query per row."""
    energy = session_energy_wh(transaction)
    priced = transaction.total_cost is not None or Transaction.tariff.is_cached(transaction)
    return SessionSummary(
        transaction=transaction,
        energy_wh=energy,
        power_w=power.get(transaction.pk) if transaction.stopped_at is None else None,
        duration=session_duration(transaction, now=now),
        cost=session_cost(transaction, energy_wh=energy, now=now) if priced else None,
    )


@dataclasses.dataclass(frozen=True)
class SessionFilters:
    """The sessions page's filters as the form shows them (what ``TransactionFilterSet`` understood)."""

    charger: str = ""
    id_tag: str = ""
    status: str = ""
    started_from: date | None = None
    started_to: date | None = None

    @classmethod
    def from_filterset(cls, filterset: TransactionFilterSet) -> SessionFilters:
        filterset.is_valid()  # invalid values are dropped, not an error page
        data = filterset.form.cleaned_data
        return cls(
            charger=data.get("charger") or "",
            id_tag=data.get("id_tag") or "",
            status=data.get("status") or "",
            started_from=data.get("started_from"),
            started_to=data.get("started_to"),
        )


@dataclasses.dataclass(frozen=True)
class SessionPage:
    filters: SessionFilters
    page: Page
    rows: list[SessionSummary]


def session_filterset(query: Mapping[str, str]) -> TransactionFilterSet:
    """The API's session FilterSet over the list's queryset (newest register reading annotated)."""
    queryset = with_latest_energy(Transaction.objects.select_related("charge_point", "tariff")).order_by(
        "-started_at", "-id"
    )
    return TransactionFilterSet(_filter_data(query), queryset=queryset)


def session_page(query: Mapping[str, str]) -> SessionPage:
    """One page of sessions, newest first, with energy, power and duration."""
    filterset = session_filterset(query)
    filters = SessionFilters.from_filterset(filterset)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(query.get("page"))
    transactions = list(page.object_list)
    power = sessions_power_w(t.pk for t in transactions if t.stopped_at is None)
    now = timezone.now()
    return SessionPage(
        filters=filters, page=page, rows=[session_summary(t, power=power, now=now) for t in transactions]
    )


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
            power[transaction_id][timestamp][phase] = figures.to_w(value, unit) or 0.0
        elif phase == "":
            energy[transaction_id][timestamp] = figures.to_wh(value, unit) or 0.0
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
            watts = figures.power_w(phases.get("", sum(v for p, v in phases.items() if p in PHASES))) or 0
            power_kw.append(watts / 1000)
        else:
            power_kw.append(None)
        # The chart's points follow the summary's rule (whole Wh), so its last point reads as the summary does.
        wh = figures.energy_wh(
            meter_start=transaction.meter_start, meter_stop=None, latest_register_wh=energy.get(stamp)
        )
        energy_kwh.append(wh / 1000 if wh is not None else None)
    return Series(x=[s.timestamp() for s in stamps], power_kw=power_kw, energy_kwh=energy_kwh)


@dataclasses.dataclass(frozen=True)
class SessionDetail:
    summary: SessionSummary
    series: Series
    # 2.0.1: its newest TransactionEvents, in seqNo order (a 1.6 session has none).
    events: list[TransactionEvent] = dataclasses.field(default_factory=list)
    event_count: int = 0


def session_detail(pk: int) -> SessionDetail | None:
    """One session with its chart (and, 2.0.1, its events); None when it does not exist."""
    transaction = with_latest_energy(Transaction.objects.select_related("charge_point", "tariff")).filter(pk=pk).first()
    if transaction is None:
        return None
    power = sessions_power_w([transaction.pk]) if transaction.stopped_at is None else {}
    events: list[TransactionEvent] = []
    count = 0
    # Only a session the charger names (2.0.1) has events: a 1.6 page reads nothing more.
    if transaction.charger_transaction_id:
        newest = list(TransactionEvent.objects.filter(transaction=transaction).order_by("-seq_no")[:RECENT_EVENTS])
        events = newest[::-1]
        count = len(events) if len(events) < RECENT_EVENTS else transaction.events.count()
    return SessionDetail(
        session_summary(transaction, power=power, now=timezone.now()),
        session_series(transaction),
        events=events,
        event_count=count,
    )


# --- One charger ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ConfigurationSnapshot:
    """The configuration keys in the latest answered GetConfiguration."""

    keys: list[dict[str, Any]]
    unknown: list[str]
    read_at: datetime | None


@dataclasses.dataclass(frozen=True)
class ComponentGroup:
    """The variables of one component (name, instance, EVSE, connector) of a device model."""

    component: str
    instance: str
    evse_id: int | None
    connector_id: int | None
    variables: list[DeviceVariable]


@dataclasses.dataclass(frozen=True)
class DeviceModelSnapshot:
    """A 2.0.1 station's device model as last reported, grouped by component, filtered as the page asks.

    ``components`` are the names of every component reported (the filter's choices), ``shown`` and
    ``total`` the attributes that match and that exist.
    """

    groups: list[ComponentGroup]
    components: list[str]
    filters: Mapping[str, Any]
    shown: int
    total: int
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
    # Shown by EVSE, with a device model instead of configuration keys (see CONNECTOR_LAYOUT_VERSIONS).
    per_evse: bool = False
    evses: list[EvseView] = dataclasses.field(default_factory=list)
    device_model: DeviceModelSnapshot | None = None
    # How it reaches us: "via AMQP (RabbitMQ Web OCPP)", "via MQTT profile esp32" (``charger_route``).
    route: str = ""
    reservations: list[Reservation] = dataclasses.field(default_factory=list)


_TRANSPORT_NAMES = {MQTT: "MQTT", AMQP: "AMQP"}
# The gateway a built-in dialect on a transport means (EMQX's envelope is also our own gateway's).
_GATEWAYS = {(AMQP, OCPPJ): "RabbitMQ Web OCPP", (MQTT, EMQX): "EMQX envelope", (MQTT, OCPPJ): "OCPP-J"}


def charger_route(charge_point: ChargePoint) -> str:
    """The transport and gateway of the route the charger last spoke on, for people.

    Its replies and commands go back that way, so an operator asking why a command never arrived
    reads here which broker to look at. A dialect that is no built-in one is an MQTT charger profile's name.
    """
    transport = _TRANSPORT_NAMES.get(charge_point.transport, charge_point.transport)
    gateway = _GATEWAYS.get((charge_point.transport, charge_point.dialect))
    if gateway is not None:
        return f"via {transport} ({gateway})"
    if charge_point.dialect not in DIALECTS:
        return f"via {transport} profile {charge_point.dialect}"
    return f"via {transport} ({charge_point.dialect})"


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


# The device model card's filters: the FilterSet's own names (the API's), as the page's query spells them.
DEVICE_MODEL_FILTERS = ("component", "search")


def device_model_snapshot(charge_point: ChargePoint, query: Mapping[str, Any] | None = None) -> DeviceModelSnapshot:
    """The station's device model, filtered by ``DeviceVariableFilterSet`` as the API filters it (two queries).

    Only the card's own filters are read from the page's query, and invalid values are dropped.
    """
    everything = DeviceVariable.objects.filter(charge_point=charge_point)
    data = {name: query.get(name) for name in DEVICE_MODEL_FILTERS if query and query.get(name)}
    filterset = DeviceVariableFilterSet(
        data,
        queryset=everything.order_by(
            "component", "component_instance", "evse_id", "connector_id", "variable", "variable_instance", "id"
        ),
    )
    filterset.is_valid()
    rows = list(filterset.qs)
    names = everything.order_by().values_list("component", flat=True).distinct()
    components = sorted(set(names), key=str.lower)
    groups: list[ComponentGroup] = []
    for row in rows:
        key = (row.component, row.component_instance, row.evse_id, row.connector_id)
        last = groups[-1] if groups else None
        if last is None or (last.component, last.instance, last.evse_id, last.connector_id) != key:
            groups.append(ComponentGroup(row.component, row.component_instance, row.evse_id, row.connector_id, []))
        groups[-1].variables.append(row)
    total = len(rows) if not data else everything.count()
    return DeviceModelSnapshot(
        groups=groups,
        components=components,
        filters=filterset.form.cleaned_data,
        shown=len(rows),
        total=total,
        read_at=max((row.updated_at for row in rows), default=None),
    )


def charger_detail(charge_point_id: str, query: Mapping[str, Any] | None = None) -> ChargerDetail | None:
    """Everything the charger page shows; None when the charger does not exist.

    ``query`` is the page's (the device model card's filters).
    """
    charge_point = with_evses_availability(
        with_charger_state(ChargePoint.objects.filter(charge_point_id=charge_point_id))
    ).first()
    if charge_point is None:
        return None
    active = list(
        with_latest_energy(Transaction.objects.filter(charge_point=charge_point, stopped_at__isnull=True)).order_by(
            "evse_id", "connector_id", "-started_at"
        )
    )
    power = sessions_power_w(t.pk for t in active)
    now = timezone.now()
    # One chart per current session: a charger with two connectors charging shows both.
    series = sessions_series(active) if active else {}
    sessions = [dataclasses.replace(session_summary(t, power=power, now=now), series=series[t.pk]) for t in active]
    connectors = list(charge_point.connectors.order_by("evse_id", "connector_id"))
    per_evse = charge_point.ocpp_version not in CONNECTOR_LAYOUT_VERSIONS
    return ChargerDetail(
        charge_point=charge_point,
        state=charger_state(charge_point),
        connectors=connectors,
        sessions=sessions,
        messages=list(MessageLog.objects.filter(charge_point_id=charge_point_id)[:RECENT_MESSAGES]),
        commands=list(Command.objects.filter(charge_point=charge_point)[:RECENT_COMMANDS]),
        configuration=None if per_evse else configuration_snapshot(charge_point),
        per_evse=per_evse,
        evses=charger_evses(charge_point, connectors),
        device_model=device_model_snapshot(charge_point, query) if per_evse else None,
        route=charger_route(charge_point),
        reservations=list(Reservation.objects.filter(charge_point=charge_point)[:RECENT_RESERVATIONS]),
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
    filterset = IdTagFilterSet(_filter_data(query), queryset=IdTag.objects.select_related("parent").order_by("id_tag"))
    # Invalid filter values are dropped, not an error page: the form shows what was understood.
    filterset.is_valid()
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(query.get("page"))
    tags = list(page.object_list)
    # Asked of the service that answers Authorize, so the page cannot disagree with the chargers.
    answers = id_tags_authorize(requests=[(tag.id_tag, None) for tag in tags], now=timezone.now()) if tags else []
    rows = [IdTagRow(tag, info.status) for tag, info in zip(tags, answers, strict=True)]
    return IdTagPage(filters=filterset.form.cleaned_data, page=page, rows=rows)
