"""Every write of smart charging (block K): profiles accepted, cleared and reported, composite schedules,
external limits, EV charging needs and schedules. Keyword-only, typed, called by the protocol packages
(a station's messages, its answers to our commands), never by a transport.

Profiles are ``chargers.models.ChargingProfile`` rows: ``active`` while the station holds them as far as we
know; a replaced, cleared or no-longer-reported profile is made inactive (``cleared_at``), never deleted, so
its history stays.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from backoffice.events import fleet_event
from chargers.models import ChargePoint, ChargingProfile, Command
from transactions.models import Transaction

from .models import ChargingLimit, CompositeSchedule, EVChargingNeeds, EVChargingSchedule, ProfileReport
from .selectors import profiles_active

#: The chargingLimitSource of a profile the CSMS set (ChargingLimitSourceEnumType: CSO, the operator).
CSMS_SOURCE = "CSO"


def _changed(charge_point: ChargePoint, **fields: Any) -> None:
    # On commit: the charger page re-renders its smart charging panel.
    cid = charge_point.charge_point_id
    fleet_event("smart_charging", cid, **fields)


def active_session(*, charge_point: ChargePoint, transaction_id: str, evse_id: int | None = None) -> Transaction | None:
    """The station's active session of its own ``transactionId`` (on ``evse_id`` when given), or None."""
    sessions = Transaction.objects.filter(
        charge_point=charge_point, charger_transaction_id=transaction_id, stopped_at__isnull=True
    ).exclude(charger_transaction_id="")
    if evse_id is not None:
        sessions = sessions.filter(Q(evse_id=evse_id) | Q(evse_id__isnull=True))
    return sessions.first()


def _session(charge_point: ChargePoint, profile: dict[str, Any]) -> Transaction | None:
    transaction_id = profile.get("transactionId")
    if not transaction_id:
        return None
    return Transaction.objects.filter(charge_point=charge_point, charger_transaction_id=transaction_id).first()


def profile_set_record(
    *, charge_point: ChargePoint, evse_id: int, profile: dict[str, Any], now: datetime
) -> ChargingProfile:
    """The station accepted a SetChargingProfile (``profile``: ChargingProfileType as sent).

    It replaces the station's profile of the same id (K01.FR.05), and the one of the same stack level and
    purpose on the same EVSE (for a TxProfile: of the same transaction) whose validity overlaps it: a
    station that accepted the new one no longer applies that one (K01.FR.06 has it reject such a profile
    instead; either way only one remains).
    """
    with transaction.atomic():
        # The charger row lock orders two answers of the same station: each sees the other's row.
        ChargePoint.objects.select_for_update(no_key=True).filter(pk=charge_point.pk).first()
        active = ChargingProfile.objects.filter(charge_point=charge_point, active=True)
        replaced = [row.pk for row in active.filter(profile_id=profile["id"])]
        same_level = active.filter(
            connector_id=evse_id, stack_level=profile["stackLevel"], purpose=profile["chargingProfilePurpose"]
        )
        if profile["chargingProfilePurpose"] == "TxProfile":
            same_level = same_level.filter(profile__transactionId=profile.get("transactionId"))
        replaced += [row.pk for row in same_level if validity_overlaps(row.profile, profile)]
        ChargingProfile.objects.filter(pk__in=replaced).update(active=False, cleared_at=now)
        row = ChargingProfile.objects.create(
            charge_point=charge_point,
            connector_id=evse_id,
            profile_id=profile["id"],
            stack_level=profile["stackLevel"],
            purpose=profile["chargingProfilePurpose"],
            profile=profile,
            source=ChargingProfile.Source.CSMS,
            charging_limit_source=CSMS_SOURCE,
            transaction=_session(charge_point, profile),
        )
    _changed(charge_point, profile_id=profile["id"])
    return row


def remote_start_profile_record(
    *, charge_point: ChargePoint, evse_id: int | None, profile: dict[str, Any], remote_start_id: int, now: datetime
) -> ChargingProfile:
    """The station accepted a RequestStartTransaction carrying a TxProfile (K05): the profile is its session's,
    the one with this ``remoteStartId`` (known now if its TransactionEvent came first, else later, by that id:
    ``selectors.profiles_active``). Without an EVSE the station picked one: the session's, when it is known."""
    session = Transaction.objects.filter(charge_point=charge_point, remote_start_id=remote_start_id).first()
    if evse_id is None:
        evse_id = session.evse_id if session is not None and session.evse_id is not None else 0
    with transaction.atomic():
        ChargePoint.objects.select_for_update(no_key=True).filter(pk=charge_point.pk).first()
        ChargingProfile.objects.filter(charge_point=charge_point, active=True, profile_id=profile["id"]).update(
            active=False, cleared_at=now
        )
        row = ChargingProfile.objects.create(
            charge_point=charge_point,
            connector_id=evse_id,
            profile_id=profile["id"],
            stack_level=profile["stackLevel"],
            purpose=profile["chargingProfilePurpose"],
            profile=profile,
            source=ChargingProfile.Source.CSMS,
            charging_limit_source=CSMS_SOURCE,
            transaction=session,
            remote_start_id=remote_start_id,
        )
    _changed(charge_point, profile_id=profile["id"])
    return row


def validity_overlaps(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Whether two profiles' validFrom..validTo overlap (a missing bound is open-ended)."""
    start_a, end_a = _time(first.get("validFrom")), _time(first.get("validTo"))
    start_b, end_b = _time(second.get("validFrom")), _time(second.get("validTo"))
    if end_a is not None and start_b is not None and end_a <= start_b:
        return False
    return not (end_b is not None and start_a is not None and end_b <= start_a)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


@dataclasses.dataclass(frozen=True)
class ProfileCriteria:
    """Which profiles a clear, a report or a NoProfiles answer is about (None: any)."""

    evse_id: int | None = None
    purpose: str | None = None
    stack_level: int | None = None
    profile_ids: tuple[int, ...] | None = None
    limit_sources: tuple[str, ...] | None = None

    def matching(self, profiles: QuerySet[ChargingProfile]) -> QuerySet[ChargingProfile]:
        if self.evse_id is not None:
            profiles = profiles.filter(connector_id=self.evse_id)
        if self.purpose is not None:
            profiles = profiles.filter(purpose=self.purpose)
        if self.stack_level is not None:
            profiles = profiles.filter(stack_level=self.stack_level)
        if self.profile_ids is not None:
            profiles = profiles.filter(profile_id__in=self.profile_ids)
        if self.limit_sources is not None:
            profiles = profiles.filter(charging_limit_source__in=self.limit_sources)
        return profiles


def profiles_clear_record(*, charge_point: ChargePoint, criteria: ProfileCriteria, now: datetime) -> int:
    """The station cleared the profiles ``criteria`` names (ClearChargingProfile ``Accepted``), or said it
    holds none such (``Unknown``): either way none of them remains. Returns how many rows ended."""
    ended = criteria.matching(ChargingProfile.objects.filter(charge_point=charge_point, active=True)).update(
        active=False, cleared_at=now
    )
    if ended:
        _changed(charge_point, cleared=ended)
    return ended


def profile_report_request(
    *, charge_point: ChargePoint, request_id: int, criteria: dict[str, Any], now: datetime
) -> ProfileReport:
    """A GetChargingProfiles is queued: its report is expected under ``request_id``."""
    report, _ = ProfileReport.objects.update_or_create(
        charge_point=charge_point,
        request_id=request_id,
        defaults={
            "criteria": criteria,
            "status": ProfileReport.Status.REQUESTED,
            "parts": 0,
            "profiles": 0,
            "requested_at": now,
            "completed_at": None,
        },
    )
    return report


def profile_report_answered(
    *, charge_point: ChargePoint, request_id: int, criteria: ProfileCriteria, accepted: bool, now: datetime
) -> None:
    """The station answered a GetChargingProfiles: ``Accepted`` (parts follow) or ``NoProfiles``, in which
    case it holds none of the profiles asked for, and ours that match end."""
    if accepted:
        return
    ProfileReport.objects.filter(charge_point=charge_point, request_id=request_id).update(
        status=ProfileReport.Status.NO_PROFILES, completed_at=now
    )
    profiles_clear_record(charge_point=charge_point, criteria=criteria, now=now)
    _changed(charge_point, report=request_id)


def profiles_report(
    *,
    charge_point: ChargePoint,
    request_id: int,
    evse_id: int,
    charging_limit_source: str,
    profiles: Iterable[dict[str, Any]],
    tbc: bool,
    criteria: ProfileCriteria | None,
    now: datetime,
) -> None:
    """One ReportChargingProfiles part: its profiles stored as the station holds them (replacing our rows of
    the same id), with their source. The last part (``tbc`` false) completes the report: an active profile
    that matches the request's ``criteria`` and was in no part of it is no longer on the station.
    ``criteria`` None: a report we did not ask for (or no longer know), nothing is concluded from it.
    """
    items = list(profiles)
    with transaction.atomic():
        # Parts of one report may be handled by two workers: the charger row lock keeps their counts whole.
        ChargePoint.objects.select_for_update(no_key=True).filter(pk=charge_point.pk).first()
        active = ChargingProfile.objects.filter(charge_point=charge_point, active=True)
        active.filter(profile_id__in=[item["id"] for item in items]).update(active=False, cleared_at=now)
        ChargingProfile.objects.bulk_create(
            ChargingProfile(
                charge_point=charge_point,
                connector_id=evse_id,
                profile_id=item["id"],
                stack_level=item["stackLevel"],
                purpose=item["chargingProfilePurpose"],
                profile=item,
                source=ChargingProfile.Source.STATION,
                charging_limit_source=charging_limit_source,
                transaction=_session(charge_point, item),
                request_id=request_id,
            )
            for item in items
        )
        report = ProfileReport.objects.filter(charge_point=charge_point, request_id=request_id).first()
        if report is not None:
            report.parts += 1
            report.profiles += len(items)
            report.status = ProfileReport.Status.REPORTING if tbc else ProfileReport.Status.COMPLETE
            report.completed_at = None if tbc else now
            report.save(update_fields=["parts", "profiles", "status", "completed_at"])
        if not tbc and criteria is not None:
            gone = criteria.matching(active).exclude(request_id=request_id)
            gone.update(active=False, cleared_at=now)
    _changed(charge_point, report=request_id)


def composite_schedule_record(
    *,
    charge_point: ChargePoint,
    command: Command | None,
    schedule: dict[str, Any],
    schedule_start: datetime,
    now: datetime,
) -> CompositeSchedule:
    """A station's composite schedule (GetCompositeSchedule ``Accepted``), as it answered it."""
    row, _ = CompositeSchedule.objects.update_or_create(
        command=command,
        defaults={
            "charge_point": charge_point,
            "evse_id": schedule["evseId"],
            "duration": schedule["duration"],
            "charging_rate_unit": schedule["chargingRateUnit"],
            "schedule_start": schedule_start,
            "periods": schedule["chargingSchedulePeriod"],
            "received_at": now,
        },
    )
    _changed(charge_point, composite=schedule["evseId"])
    return row


def charging_limit_notify(
    *,
    charge_point: ChargePoint,
    evse_id: int,
    source: str,
    is_grid_critical: bool | None,
    schedules: list[dict[str, Any]],
    now: datetime,
) -> ChargingLimit:
    """An external limit set or changed (NotifyChargingLimit): the one of this EVSE and source is replaced."""
    with transaction.atomic():
        # The partial unique constraint allows one active limit per EVSE and source; the lock makes the
        # second of two concurrent notifications update the first's row instead of failing on it.
        ChargePoint.objects.select_for_update(no_key=True).filter(pk=charge_point.pk).first()
        limit, _ = ChargingLimit.objects.update_or_create(
            charge_point=charge_point,
            evse_id=evse_id,
            charging_limit_source=source,
            cleared_at__isnull=True,
            defaults={"is_grid_critical": is_grid_critical, "schedules": schedules, "reported_at": now},
        )
    _changed(charge_point, limit=source)
    return limit


def charging_limit_clear(*, charge_point: ChargePoint, evse_id: int | None, source: str, now: datetime) -> int:
    """An external limit released (ClearedChargingLimit): of one EVSE, or without ``evse_id`` every one of
    that source. Clearing what is not there is no error (a replay, a limit we never heard of)."""
    limits = ChargingLimit.objects.filter(charge_point=charge_point, charging_limit_source=source, cleared_at=None)
    if evse_id is not None:
        limits = limits.filter(evse_id=evse_id)
    ended = limits.update(cleared_at=now)
    if ended:
        _changed(charge_point, limit=source)
    return ended


def ev_charging_needs_record(
    *,
    charge_point: ChargePoint,
    evse_id: int,
    needs: dict[str, Any],
    departure_time: datetime | None,
    max_schedule_tuples: int | None,
    status: str,
    now: datetime,
) -> EVChargingNeeds:
    """An EV's charging needs (NotifyEVChargingNeeds) and our answer to them."""
    row = EVChargingNeeds.objects.create(
        charge_point=charge_point,
        evse_id=evse_id,
        requested_energy_transfer=needs["requestedEnergyTransfer"],
        departure_time=departure_time,
        max_schedule_tuples=max_schedule_tuples,
        needs=needs,
        status=status,
        received_at=now,
    )
    _changed(charge_point, ev_needs=evse_id)
    return row


def ev_charging_schedule_record(
    *, charge_point: ChargePoint, evse_id: int, time_base: datetime, schedule: dict[str, Any], now: datetime
) -> EVChargingSchedule:
    """The schedule an EV chose (NotifyEVChargingSchedule)."""
    row = EVChargingSchedule.objects.create(
        charge_point=charge_point, evse_id=evse_id, time_base=time_base, schedule=schedule, received_at=now
    )
    _changed(charge_point, ev_schedule=evse_id)
    return row


def profiles_installed(*, charge_point: ChargePoint, excluding: dict[str, Any], evse_id: int) -> int:
    """How many profiles the station holds that ``excluding`` (a profile about to be set) would not replace."""
    active = profiles_active(charge_point=charge_point)
    kept = active.exclude(profile_id=excluding["id"]).exclude(
        connector_id=evse_id, stack_level=excluding["stackLevel"], purpose=excluding["chargingProfilePurpose"]
    )
    return kept.count()
