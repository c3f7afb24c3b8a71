"""What makes a charging profile one a station can take, checked before it is sent (OCPP 2.0.1 K01).

The profile arrives parsed (``Profile``: the protocol package reads the wire); ``profile_problem`` says
what is wrong with it, as a field path and a reason, or None. It is pure: what it needs of the station
(its device model limits, whether a transaction is active there) comes in ``StationLimits`` and
``active_transaction``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from datetime import datetime

#: A recurring profile's schedule fits in its period (a day, a week).
RECURRENCY_SECONDS = {"Daily": 86_400, "Weekly": 604_800}
#: The purposes the CSMS sets; ChargingStationExternalConstraints come from outside the CSMS (an EMS...).
PURPOSES = frozenset({"ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile"})


@dataclasses.dataclass(frozen=True)
class Period:
    start_period: int
    limit: float
    number_phases: int | None = None
    phase_to_use: int | None = None


@dataclasses.dataclass(frozen=True)
class Schedule:
    id: int
    charging_rate_unit: str
    periods: tuple[Period, ...]
    start_schedule: datetime | None = None
    duration: int | None = None
    min_charging_rate: float | None = None


@dataclasses.dataclass(frozen=True)
class Profile:
    id: int
    stack_level: int
    purpose: str
    kind: str
    schedules: tuple[Schedule, ...]
    recurrency_kind: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    transaction_id: str | None = None


@dataclasses.dataclass(frozen=True)
class StationLimits:
    """The station's ``SmartChargingCtrlr`` limits, where its device model told us (None: unknown)."""

    max_stack_level: int | None = None
    periods_per_schedule: int | None = None
    max_profiles: int | None = None
    rate_units: frozenset[str] | None = None


@dataclasses.dataclass(frozen=True)
class Rules:
    """Where OCPP versions differ. 1.6: an Absolute schedule without startSchedule starts with charging, and a
    TxProfile without transactionId is for the connector's running session (``active_transaction("")``)."""

    absolute_needs_start: bool = True
    tx_profile_names_transaction: bool = True


@dataclasses.dataclass(frozen=True)
class Problem:
    field: str
    reason: str


def profile_problem(
    profile: Profile,
    *,
    evse_id: int | None,
    limits: StationLimits,
    active_transaction: Callable[[str], bool],
    in_remote_start: bool = False,
    rules: Rules | None = None,
) -> Problem | None:
    """The first thing that makes ``profile`` (for ``evse_id``) one the station must refuse, or None.

    ``in_remote_start``: the profile rides in a RequestStartTransaction, whose session does not exist yet
    (``evse_id`` None: the station picks the EVSE). ``rules``: where the version differs (2.0.1's by default).
    """
    rules = rules or Rules()
    for check in (_purpose, _kind, _validity, _stack_level):
        problem = check(profile, evse_id, limits)
        if problem:
            return problem
    if profile.kind == "Absolute" and rules.absolute_needs_start:
        for index, schedule in enumerate(profile.schedules):
            if schedule.start_schedule is None:
                return Problem(f"chargingSchedule.{index}.startSchedule", "an Absolute schedule needs a startSchedule")
    problem = _transaction(profile, evse_id, active_transaction, in_remote_start, rules)
    if problem:
        return problem
    ids = [schedule.id for schedule in profile.schedules]
    if len(set(ids)) != len(ids):
        return Problem("chargingSchedule", "every chargingSchedule needs an id of its own")
    if len(profile.schedules) > 1 and profile.purpose != "TxProfile":
        return Problem("chargingSchedule", "only a TxProfile offers more than one schedule (ISO 15118)")
    for index, schedule in enumerate(profile.schedules):
        problem = _schedule(profile, schedule, f"chargingSchedule.{index}", limits)
        if problem:
            return problem
    return None


def _purpose(profile: Profile, evse_id: int | None, limits: StationLimits) -> Problem | None:
    if profile.purpose not in PURPOSES:
        return Problem(
            "chargingProfilePurpose",
            f"{profile.purpose} profiles are set by an external system, not by the CSMS",
        )
    if evse_id is None:
        return None
    if profile.purpose == "ChargingStationMaxProfile" and evse_id != 0:
        return Problem("evseId", "a ChargingStationMaxProfile limits the whole station: evseId must be 0")
    if profile.purpose == "TxProfile" and evse_id == 0:
        return Problem("evseId", "a TxProfile is for the EVSE of its transaction: evseId must be above 0")
    if evse_id < 0:
        return Problem("evseId", "must be 0 (the station) or an EVSE id")
    return None


def _kind(profile: Profile, evse_id: int | None, limits: StationLimits) -> Problem | None:
    if profile.kind == "Relative" and profile.purpose == "ChargingStationMaxProfile":
        return Problem("chargingProfileKind", "a ChargingStationMaxProfile is never Relative")
    if profile.kind == "Recurring":
        if profile.recurrency_kind is None:
            return Problem("recurrencyKind", "a Recurring profile needs a recurrencyKind (Daily or Weekly)")
        for index, schedule in enumerate(profile.schedules):
            if schedule.start_schedule is None:
                return Problem(f"chargingSchedule.{index}.startSchedule", "a Recurring profile needs a startSchedule")
            seconds = RECURRENCY_SECONDS[profile.recurrency_kind]
            if schedule.duration is not None and schedule.duration > seconds:
                return Problem(
                    f"chargingSchedule.{index}.duration",
                    f"a {profile.recurrency_kind} schedule lasts at most {seconds} s",
                )
    elif profile.recurrency_kind is not None:
        return Problem("recurrencyKind", "only a Recurring profile has a recurrencyKind")
    for index, schedule in enumerate(profile.schedules):
        if profile.kind == "Relative" and schedule.start_schedule is not None:
            return Problem(
                f"chargingSchedule.{index}.startSchedule",
                "a Relative schedule starts when charging starts: no startSchedule",
            )
    return None


def _validity(profile: Profile, evse_id: int | None, limits: StationLimits) -> Problem | None:
    if profile.valid_from and profile.valid_to and profile.valid_from >= profile.valid_to:
        return Problem("validTo", "must be after validFrom")
    return None


def _stack_level(profile: Profile, evse_id: int | None, limits: StationLimits) -> Problem | None:
    if profile.stack_level < 0:
        return Problem("stackLevel", "must be 0 or more")
    if limits.max_stack_level is not None and profile.stack_level > limits.max_stack_level:
        return Problem(
            "stackLevel", f"the station takes stack levels up to {limits.max_stack_level} (ProfileStackLevel)"
        )
    return None


def _transaction(
    profile: Profile,
    evse_id: int | None,
    active_transaction: Callable[[str], bool],
    in_remote_start: bool,
    rules: Rules,
) -> Problem | None:
    if in_remote_start:
        if profile.purpose != "TxProfile":
            return Problem("chargingProfilePurpose", "a RequestStartTransaction carries a TxProfile only")
        if profile.transaction_id is not None:
            return Problem("transactionId", "the session does not exist yet: a remote start's profile has none")
        return None
    if profile.purpose != "TxProfile":
        if profile.transaction_id is not None:
            return Problem("transactionId", "only a TxProfile names a transaction")
        return None
    if not profile.transaction_id:
        if rules.tx_profile_names_transaction:
            return Problem("transactionId", "a TxProfile needs the transactionId of an active session")
        if not active_transaction(""):
            return Problem("transactionId", "a TxProfile is for an active session: none runs there")
        return None
    if not active_transaction(profile.transaction_id):
        return Problem("transactionId", f"transaction {profile.transaction_id!r} is not an active session on this EVSE")
    return None


def _schedule(profile: Profile, schedule: Schedule, field: str, limits: StationLimits) -> Problem | None:
    if limits.rate_units is not None and schedule.charging_rate_unit not in limits.rate_units:
        units = ", ".join(sorted(limits.rate_units))
        return Problem(f"{field}.chargingRateUnit", f"the station takes {units} (SmartChargingCtrlr.RateUnit)")
    if schedule.duration is not None and schedule.duration <= 0:
        return Problem(f"{field}.duration", "must be above 0 seconds")
    if schedule.min_charging_rate is not None and not _sane(schedule.min_charging_rate):
        return Problem(f"{field}.minChargingRate", "must be a number of 0 or more")
    if limits.periods_per_schedule is not None and len(schedule.periods) > limits.periods_per_schedule:
        return Problem(
            f"{field}.chargingSchedulePeriod",
            f"the station takes at most {limits.periods_per_schedule} periods per schedule (PeriodsPerSchedule)",
        )
    previous = -1
    for index, period in enumerate(schedule.periods):
        where = f"{field}.chargingSchedulePeriod.{index}"
        if index == 0 and period.start_period != 0:
            return Problem(f"{where}.startPeriod", "the first period starts at 0")
        if period.start_period <= previous:
            return Problem(f"{where}.startPeriod", "periods start in ascending order, each after the one before")
        if schedule.duration is not None and period.start_period >= schedule.duration:
            return Problem(f"{where}.startPeriod", "starts after the schedule's duration ends")
        previous = period.start_period
        if not _sane(period.limit):
            return Problem(f"{where}.limit", f"must be a number of 0 or more ({schedule.charging_rate_unit})")
        if period.number_phases is not None and period.number_phases not in (1, 2, 3):
            return Problem(f"{where}.numberPhases", "must be 1, 2 or 3")
        if period.phase_to_use is not None:
            if period.number_phases != 1:
                return Problem(f"{where}.phaseToUse", "only with numberPhases 1")
            if period.phase_to_use not in (1, 2, 3):
                return Problem(f"{where}.phaseToUse", "must be 1, 2 or 3")
    return None


def _sane(value: float) -> bool:
    return math.isfinite(value) and value >= 0
