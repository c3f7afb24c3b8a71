"""Smart charging (block K): Set/Get/ClearChargingProfile, GetCompositeSchedule, ReportChargingProfiles, charging
limits, EV charging needs and schedules.

The block's protocol side (``protocols.blocks``); the domain side is the ``smartcharging`` app.

Checks (before queuing, after the schema): the profile of a SetChargingProfile, and the one a
RequestStartTransaction carries, is parsed here and judged by ``smartcharging.validation`` with what the
station's device model says of its limits (``SmartChargingCtrlr.ProfileStackLevel``, ``PeriodsPerSchedule``,
``RateUnit``; ``Entries`` [ChargingProfiles] against the profiles it holds): a refusal is a CommandError (API
400) naming the field. A GetCompositeSchedule needs a duration above 0.

Effects (the answers): SetChargingProfile ``Accepted`` stores the profile (``services.profile_set_record``), and
so does a RequestStartTransaction ``Accepted`` with a TxProfile (the session's, by its remoteStartId);
ClearChargingProfile ``Accepted`` or ``Unknown`` ends the profiles it names (by id, else by its criteria);
GetChargingProfiles ``NoProfiles`` ends ours that match it (``Accepted``: the parts follow);
GetCompositeSchedule ``Accepted`` stores the schedule it answered.

Queued: a GetChargingProfiles opens its report (``ProfileReport``), matched by ``requestId``.

Handlers (station Calls, still kept as NOTIFICATION events as the core did): ReportChargingProfiles stores
the parts; NotifyChargingLimit / ClearedChargingLimit keep the external limit of each EVSE and source;
NotifyEVChargingNeeds is stored and answered ``Rejected`` (the CSMS provides no schedule: no ISO 15118
smart charging of its own, K15.FR.04); NotifyEVChargingSchedule is stored and answered ``Accepted``
(processed; K17).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chargers import services as chargers
from chargers.commands import CommandError
from chargers.device_model import VariableKey, device_characteristics_of, device_variable_value
from chargers.models import ChargePoint, ChargerEvent, Command
from smartcharging import services
from smartcharging.models import ProfileReport
from smartcharging.validation import Period, Profile, Schedule, StationLimits, profile_problem

from .. import Handler
from ..blocks import Block
from ..payloads import timestamp
from ..validation import OcppError

# --- checks -----------------------------------------------------------------------------------------


def _wire_time(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    reason = "not an ISO 8601 date-time"
    try:
        moment: datetime | None = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is not None and moment.tzinfo is None:
        reason, moment = "must be a UTC time (Z or an offset)", None
    if moment is None:
        raise CommandError(f"invalid charging profile: {field}: {reason}", {field: [reason]})
    return moment


def profile_parse(payload: dict[str, Any], path: str = "chargingProfile.") -> Profile:
    """ChargingProfileType (schema-valid) as ``smartcharging.validation`` reads it; bad times: CommandError."""
    schedules = []
    for index, schedule in enumerate(payload["chargingSchedule"]):
        schedules.append(
            Schedule(
                id=schedule["id"],
                charging_rate_unit=schedule["chargingRateUnit"],
                periods=tuple(
                    Period(
                        start_period=period["startPeriod"],
                        limit=float(period["limit"]),
                        number_phases=period.get("numberPhases"),
                        phase_to_use=period.get("phaseToUse"),
                    )
                    for period in schedule["chargingSchedulePeriod"]
                ),
                start_schedule=_wire_time(
                    schedule.get("startSchedule"), f"{path}chargingSchedule.{index}.startSchedule"
                ),
                duration=schedule.get("duration"),
                min_charging_rate=schedule.get("minChargingRate"),
            )
        )
    return Profile(
        id=payload["id"],
        stack_level=payload["stackLevel"],
        purpose=payload["chargingProfilePurpose"],
        kind=payload["chargingProfileKind"],
        schedules=tuple(schedules),
        recurrency_kind=payload.get("recurrencyKind"),
        valid_from=_wire_time(payload.get("validFrom"), f"{path}validFrom"),
        valid_to=_wire_time(payload.get("validTo"), f"{path}validTo"),
        transaction_id=payload.get("transactionId"),
    )


def _positive(charge_point: ChargePoint, variable: str, instance: str = "") -> int | None:
    value = device_variable_value(
        charge_point=charge_point, component="SmartChargingCtrlr", variable=variable, instance=instance
    )
    try:
        number = int(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and number >= 0 else None


def _entries_max(charge_point: ChargePoint) -> int | None:
    """How many profiles the station can hold: ``SmartChargingCtrlr.Entries[ChargingProfiles]``'s maxLimit (its
    Actual value is how many it holds now, not the limit); None when it reported no maxLimit."""
    key = VariableKey(component="SmartChargingCtrlr", variable="Entries", variable_instance="ChargingProfiles")
    row = device_characteristics_of(charge_point=charge_point, key=key)
    if row is None or row.max_limit is None or row.max_limit < 0:
        return None
    return int(row.max_limit)


def station_limits(charge_point: ChargePoint) -> StationLimits:
    """What the station's device model says of its smart charging limits (None where it said nothing usable)."""
    units = device_variable_value(charge_point=charge_point, component="SmartChargingCtrlr", variable="RateUnit")
    rate_units = frozenset(unit.strip() for unit in units.split(",") if unit.strip()) if units else None
    periods = _positive(charge_point, "PeriodsPerSchedule")
    entries = _entries_max(charge_point)
    return StationLimits(
        max_stack_level=_positive(charge_point, "ProfileStackLevel"),
        periods_per_schedule=periods or None,
        max_profiles=entries,
        rate_units=(rate_units & {"A", "W"}) or None if rate_units is not None else None,
    )


def _profile_check(
    charge_point: ChargePoint, profile: dict[str, Any], evse_id: int | None, *, path: str, in_remote_start: bool
) -> None:
    limits = station_limits(charge_point)

    def active(transaction_id: str) -> bool:
        return (
            services.active_session(charge_point=charge_point, transaction_id=transaction_id, evse_id=evse_id)
            is not None
        )

    problem = profile_problem(
        profile_parse(profile, path),
        evse_id=evse_id,
        limits=limits,
        active_transaction=active,
        in_remote_start=in_remote_start,
    )
    if problem is not None:
        field = f"{path}{problem.field}" if problem.field != "evseId" else "evseId"
        raise CommandError(f"invalid charging profile: {field}: {problem.reason}", {field: [problem.reason]})
    if limits.max_profiles is not None and evse_id is not None and not in_remote_start:
        held = services.profiles_installed(charge_point=charge_point, excluding=profile, evse_id=evse_id)
        if held >= limits.max_profiles:
            reason = f"the station holds {held} profiles, its most (SmartChargingCtrlr.Entries): clear one first"
            raise CommandError(f"invalid charging profile: {reason}", {"chargingProfile": [reason]})


def _check_set(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    _profile_check(
        charge_point, payload["chargingProfile"], payload["evseId"], path="chargingProfile.", in_remote_start=False
    )


def _check_remote_start(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    if "chargingProfile" in payload:
        _profile_check(
            charge_point,
            payload["chargingProfile"],
            payload.get("evseId"),
            path="chargingProfile.",
            in_remote_start=True,
        )


def _check_composite(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    if payload["duration"] <= 0:
        raise CommandError("duration must be above 0 seconds", {"duration": ["must be above 0 seconds"]})
    if payload["evseId"] < 0:
        raise CommandError("evseId must be 0 (the station) or an EVSE", {"evseId": ["must be 0 or more"]})


# --- queued and effects ------------------------------------------------------------------------------


def _criteria(request: dict[str, Any]) -> services.ProfileCriteria:
    """A GetChargingProfiles request's criteria (evseId omitted: every EVSE)."""
    criterion = request.get("chargingProfile") or {}
    ids = criterion.get("chargingProfileId")
    sources = criterion.get("chargingLimitSource")
    return services.ProfileCriteria(
        evse_id=request.get("evseId"),
        purpose=criterion.get("chargingProfilePurpose"),
        stack_level=criterion.get("stackLevel"),
        profile_ids=tuple(ids) if ids else None,
        limit_sources=tuple(sources) if sources else None,
    )


def _queued_get_profiles(command: Command) -> None:
    services.profile_report_request(
        charge_point=command.charge_point,
        request_id=command.request["requestId"],
        criteria=command.request,
        now=command.created_at,
    )


def _set_profile(command: Command, response: dict[str, Any], now: datetime) -> None:
    if command.status == Command.Status.ACCEPTED:
        services.profile_set_record(
            charge_point=command.charge_point,
            evse_id=command.request["evseId"],
            profile=command.request["chargingProfile"],
            now=now,
        )


def _remote_start(command: Command, response: dict[str, Any], now: datetime) -> None:
    profile = command.request.get("chargingProfile")
    if command.status == Command.Status.ACCEPTED and profile is not None:
        services.remote_start_profile_record(
            charge_point=command.charge_point,
            evse_id=command.request.get("evseId"),
            profile=profile,
            remote_start_id=command.request["remoteStartId"],
            now=now,
        )


def _clear_profile(command: Command, response: dict[str, Any], now: datetime) -> None:
    # Accepted: cleared; Unknown: the station holds none such. Either way, none of ours remains.
    if response.get("status") not in ("Accepted", "Unknown"):
        return
    request = command.request
    if "chargingProfileId" in request:
        criteria = services.ProfileCriteria(profile_ids=(request["chargingProfileId"],))
    else:
        given = request.get("chargingProfileCriteria") or {}
        criteria = services.ProfileCriteria(
            evse_id=given.get("evseId"),
            purpose=given.get("chargingProfilePurpose"),
            stack_level=given.get("stackLevel"),
        )
    services.profiles_clear_record(charge_point=command.charge_point, criteria=criteria, now=now)


def _get_profiles(command: Command, response: dict[str, Any], now: datetime) -> None:
    if response.get("status") in ("Accepted", "NoProfiles"):
        services.profile_report_answered(
            charge_point=command.charge_point,
            request_id=command.request["requestId"],
            criteria=_criteria(command.request),
            accepted=response["status"] == "Accepted",
            now=now,
        )


def _composite_schedule(command: Command, response: dict[str, Any], now: datetime) -> None:
    schedule = response.get("schedule")
    if command.status != Command.Status.ACCEPTED or schedule is None:
        return
    try:
        start = timestamp(schedule, "scheduleStart", "schedule.")
    except OcppError:  # a station's bad date: the answer is kept in Command.response, nothing drawn
        return
    services.composite_schedule_record(
        charge_point=command.charge_point, command=command, schedule=schedule, schedule_start=start, now=now
    )


# --- station Calls -----------------------------------------------------------------------------------


def _noted(cp: ChargePoint, action: str, payload: dict[str, Any], now: datetime) -> None:
    # The message stays in the charger's event history, as the core kept it before this block.
    chargers.charger_event_record(
        charge_point=cp, kind=ChargerEvent.Kind.NOTIFICATION, status=action, detail=payload, now=now
    )


def report_charging_profiles(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    _noted(cp, "ReportChargingProfiles", payload, now)
    report = ProfileReport.objects.filter(charge_point=cp, request_id=payload["requestId"]).first()
    services.profiles_report(
        charge_point=cp,
        request_id=payload["requestId"],
        evse_id=payload["evseId"],
        charging_limit_source=payload["chargingLimitSource"],
        profiles=payload["chargingProfile"],
        tbc=payload.get("tbc", False),
        criteria=_criteria(report.criteria) if report is not None else None,
        now=now,
    )
    return {}


def notify_charging_limit(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    _noted(cp, "NotifyChargingLimit", payload, now)
    limit = payload["chargingLimit"]
    services.charging_limit_notify(
        charge_point=cp,
        evse_id=payload.get("evseId", 0),
        source=limit["chargingLimitSource"],
        is_grid_critical=limit.get("isGridCritical"),
        schedules=payload.get("chargingSchedule", []),
        now=now,
    )
    return {}


def cleared_charging_limit(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    _noted(cp, "ClearedChargingLimit", payload, now)
    services.charging_limit_clear(
        charge_point=cp, evse_id=payload.get("evseId"), source=payload["chargingLimitSource"], now=now
    )
    return {}


def notify_ev_charging_needs(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    needs = payload["chargingNeeds"]
    departure = timestamp(needs, "departureTime", "chargingNeeds.") if "departureTime" in needs else None
    _noted(cp, "NotifyEVChargingNeeds", payload, now)
    # Rejected: "the CSMS will not provide a charging schedule" (K15.FR.04): the station's own profiles apply.
    status = "Rejected"
    services.ev_charging_needs_record(
        charge_point=cp,
        evse_id=payload["evseId"],
        needs=needs,
        departure_time=departure,
        max_schedule_tuples=payload.get("maxScheduleTuples"),
        status=status,
        now=now,
    )
    return {"status": status}


def notify_ev_charging_schedule(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    time_base = timestamp(payload, "timeBase")
    _noted(cp, "NotifyEVChargingSchedule", payload, now)
    services.ev_charging_schedule_record(
        charge_point=cp, evse_id=payload["evseId"], time_base=time_base, schedule=payload["chargingSchedule"], now=now
    )
    # Accepted: the message was processed (kept); it says nothing of meeting the EV's needs (K17).
    return {"status": "Accepted"}


HANDLERS: dict[str, Handler] = {
    "ReportChargingProfiles": report_charging_profiles,
    "NotifyChargingLimit": notify_charging_limit,
    "ClearedChargingLimit": cleared_charging_limit,
    "NotifyEVChargingNeeds": notify_ev_charging_needs,
    "NotifyEVChargingSchedule": notify_ev_charging_schedule,
}

BLOCK = Block(
    "smartcharging",
    handlers=HANDLERS,
    effects={
        "SetChargingProfile": _set_profile,
        "RequestStartTransaction": _remote_start,
        "ClearChargingProfile": _clear_profile,
        "GetChargingProfiles": _get_profiles,
        "GetCompositeSchedule": _composite_schedule,
    },
    checks={
        "SetChargingProfile": _check_set,
        "RequestStartTransaction": _check_remote_start,
        "GetCompositeSchedule": _check_composite,
    },
    queued={"GetChargingProfiles": _queued_get_profiles},
)
