"""Smart charging as the charger page and the API read it: profiles per EVSE, limits, EV needs, the last
composite schedule."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from chargers.models import ChargePoint, ChargingProfile
from transactions.models import Transaction

from .charts import StepChart, step_chart
from .models import ChargingLimit, CompositeSchedule, EVChargingNeeds, EVChargingSchedule, ProfileReport


def profiles_active(*, charge_point: ChargePoint) -> QuerySet[ChargingProfile]:
    """The profiles the station holds as far as we know. A TxProfile ends with its session (K01: valid for
    that transaction only), so one of a stopped session is not shown, whatever the station still says; a
    remote start's TxProfile finds its session by the remoteStartId (``session_pk``: ours, or None)."""
    by_remote_start = Transaction.objects.filter(
        charge_point=OuterRef("charge_point"), remote_start_id=OuterRef("remote_start_id")
    ).order_by("-pk")
    return (
        ChargingProfile.objects.filter(charge_point=charge_point, active=True)
        .annotate(
            remote_session=Subquery(by_remote_start.values("pk")[:1]),
            remote_stopped=Exists(by_remote_start.filter(stopped_at__isnull=False)),
        )
        .exclude(Q(purpose="TxProfile") & Q(transaction__stopped_at__isnull=False))
        .exclude(Q(purpose="TxProfile") & Q(transaction__isnull=True) & Q(remote_stopped=True))
        .annotate(session_pk=Coalesce("transaction_id", "remote_session"))
        .select_related("transaction")
        .order_by("connector_id", "purpose", "-stack_level", "profile_id")
    )


def profile_session_pk(profile: ChargingProfile) -> int | None:
    """Our id of a profile's session (of a row from ``profiles_active``, which finds a remote start's)."""
    found = profile.__dict__.get("session_pk")
    return int(found) if found is not None else profile.transaction_id


@dataclasses.dataclass(frozen=True)
class EvseProfiles:
    evse_id: int
    profiles: list[ChargingProfile]


@dataclasses.dataclass(frozen=True)
class Composite:
    schedule: CompositeSchedule
    chart: StepChart | None


@dataclasses.dataclass(frozen=True)
class SmartCharging:
    """One station's smart charging state."""

    evses: list[EvseProfiles]
    limits: list[ChargingLimit]
    needs: list[EVChargingNeeds]
    ev_schedules: list[EVChargingSchedule]
    composite: Composite | None
    report: ProfileReport | None


def composite_latest(*, charge_point: ChargePoint, evse_id: int | None = None) -> CompositeSchedule | None:
    """The newest composite schedule the station answered (of ``evse_id`` when given)."""
    schedules = CompositeSchedule.objects.filter(charge_point=charge_point)
    if evse_id is not None:
        schedules = schedules.filter(evse_id=evse_id)
    return schedules.order_by("-received_at", "-pk").first()


def composite_chart(schedule: CompositeSchedule) -> StepChart | None:
    return step_chart(schedule.periods, duration=schedule.duration, unit=schedule.charging_rate_unit)


def _latest_per_evse(rows: QuerySet[Any]) -> list[Any]:
    seen: dict[int, Any] = {}
    for row in rows.order_by("-received_at", "-pk")[:50]:
        seen.setdefault(row.evse_id, row)
    return [seen[evse] for evse in sorted(seen)]


def smart_charging(*, charge_point: ChargePoint) -> SmartCharging:
    """Profiles grouped per EVSE (0: the station), active external limits, each EVSE's last EV needs and
    schedule, the last composite schedule (drawn) and the last profile report."""
    evses: dict[int, list[ChargingProfile]] = {}
    for profile in profiles_active(charge_point=charge_point):
        evses.setdefault(profile.connector_id, []).append(profile)
    composite = composite_latest(charge_point=charge_point)
    return SmartCharging(
        evses=[EvseProfiles(evse, profiles) for evse, profiles in sorted(evses.items())],
        limits=list(ChargingLimit.objects.filter(charge_point=charge_point, cleared_at__isnull=True)),
        needs=_latest_per_evse(EVChargingNeeds.objects.filter(charge_point=charge_point)),
        ev_schedules=_latest_per_evse(EVChargingSchedule.objects.filter(charge_point=charge_point)),
        composite=Composite(composite, composite_chart(composite)) if composite else None,
        report=ProfileReport.objects.filter(charge_point=charge_point).order_by("-requested_at", "-pk").first(),
    )


def profile_summary(profile: ChargingProfile) -> str:
    """A profile's first schedule in one line: "16 A from 0 s, 8 A from 3600 s"."""
    schedules = profile.profile.get("chargingSchedule") or profile.profile.get("chargingSchedule", [])
    if isinstance(schedules, dict):  # 1.6 has one schedule, not a list
        schedules = [schedules]
    if not schedules:
        return ""
    first = schedules[0]
    unit = first.get("chargingRateUnit", "")
    periods = first.get("chargingSchedulePeriod", [])
    shown = ", ".join(f"{p.get('limit')} {unit} from {p.get('startPeriod')} s" for p in periods[:3])
    return shown + (f" (+{len(periods) - 3})" if len(periods) > 3 else "")
