"""Smart charging in 1.6: the profile of a SetChargingProfile (``csChargingProfiles``) and the one a
RemoteStartTransaction carries are judged before they are queued by the same rules as 2.0.1's
(``smartcharging.validation``), read from 1.6's spelling, with 1.6's differences (``Rules``): an Absolute
schedule without startSchedule starts with charging; a TxProfile without transactionId is for the session
running on its connector. The charger's limits are its configuration keys (ChargeProfileMaxStackLevel,
ChargingScheduleMaxPeriods, MaxChargingProfilesInstalled, ChargingScheduleAllowedChargingRateUnit), where it
reported them. What an answer stores stays the core's (``results``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chargers.commands import CommandError
from chargers.models import ChargePoint, ConfigurationKey
from smartcharging import services
from smartcharging.validation import Period, Profile, Rules, Schedule, StationLimits, profile_problem
from transactions.models import Transaction

from ..blocks import Block

RULES = Rules(absolute_needs_start=False, tx_profile_names_transaction=False)
#: 1.6's names of the purposes the rules know by 2.0.1's.
PURPOSES = {"ChargePointMaxProfile": "ChargingStationMaxProfile"}
RATE_UNITS = {"Current": "A", "Power": "W"}


def _time(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        reason = "not an ISO 8601 UTC date-time (Z or an offset)"
        raise CommandError(f"invalid charging profile: {field}: {reason}", {field: [reason]})
    return moment


def profile_parse(payload: dict[str, Any], path: str) -> Profile:
    """csChargingProfiles (schema-valid) as ``smartcharging.validation`` reads it."""
    schedule = payload["chargingSchedule"]
    transaction_id = payload.get("transactionId")
    return Profile(
        id=payload["chargingProfileId"],
        stack_level=payload["stackLevel"],
        purpose=PURPOSES.get(payload["chargingProfilePurpose"], payload["chargingProfilePurpose"]),
        kind=payload["chargingProfileKind"],
        schedules=(
            Schedule(
                id=0,
                charging_rate_unit=schedule["chargingRateUnit"],
                periods=tuple(
                    Period(
                        start_period=period["startPeriod"],
                        limit=float(period["limit"]),
                        number_phases=period.get("numberPhases"),
                    )
                    for period in schedule["chargingSchedulePeriod"]
                ),
                start_schedule=_time(schedule.get("startSchedule"), f"{path}chargingSchedule.startSchedule"),
                duration=schedule.get("duration"),
                min_charging_rate=schedule.get("minChargingRate"),
            ),
        ),
        recurrency_kind=payload.get("recurrencyKind"),
        valid_from=_time(payload.get("validFrom"), f"{path}validFrom"),
        valid_to=_time(payload.get("validTo"), f"{path}validTo"),
        transaction_id=str(transaction_id) if transaction_id is not None else None,
    )


def _key(charge_point: ChargePoint, key: str) -> str | None:
    return ConfigurationKey.objects.filter(charge_point=charge_point, key=key).values_list("value", flat=True).first()


def _number(charge_point: ChargePoint, key: str) -> int | None:
    value = _key(charge_point, key)
    try:
        number = int(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and number >= 0 else None


def station_limits(charge_point: ChargePoint) -> StationLimits:
    units = _key(charge_point, "ChargingScheduleAllowedChargingRateUnit")
    rate_units = frozenset(RATE_UNITS[unit.strip()] for unit in (units or "").split(",") if unit.strip() in RATE_UNITS)
    return StationLimits(
        max_stack_level=_number(charge_point, "ChargeProfileMaxStackLevel"),
        periods_per_schedule=_number(charge_point, "ChargingScheduleMaxPeriods") or None,
        max_profiles=_number(charge_point, "MaxChargingProfilesInstalled"),
        rate_units=rate_units or None,
    )


def _field(path: str, field: str) -> str:
    """A rule's 2.0.1 field name in 1.6's spelling (one schedule, connectorId)."""
    if field == "evseId":
        return "connectorId"
    return path + field.replace("chargingSchedule.0.", "chargingSchedule.").replace(
        "chargingSchedule.0", "chargingSchedule"
    )


def _profile_check(
    charge_point: ChargePoint, profile: dict[str, Any], connector_id: int | None, *, path: str, in_remote_start: bool
) -> None:
    limits = station_limits(charge_point)

    def active(transaction_id: str) -> bool:
        # 1.6's transactionId is our session's primary key; "" means whichever runs on the connector.
        sessions = Transaction.objects.filter(
            charge_point=charge_point, stopped_at__isnull=True, charger_transaction_id=""
        )
        if connector_id is not None:
            sessions = sessions.filter(connector_id=connector_id)
        if transaction_id:
            if not transaction_id.isdigit():
                return False
            sessions = sessions.filter(pk=int(transaction_id))
        return sessions.exists()

    problem = profile_problem(
        profile_parse(profile, path),
        evse_id=connector_id,
        limits=limits,
        active_transaction=active,
        in_remote_start=in_remote_start,
        rules=RULES,
    )
    if problem is not None:
        field = _field(path, problem.field)
        reason = problem.reason.replace("ChargingStationMaxProfile", "ChargePointMaxProfile").replace(
            "evseId", "connectorId"
        )
        raise CommandError(f"invalid charging profile: {field}: {reason}", {field: [reason]})
    if limits.max_profiles is not None and connector_id is not None and not in_remote_start:
        as_201 = {
            "id": profile["chargingProfileId"],
            "stackLevel": profile["stackLevel"],
            "chargingProfilePurpose": profile["chargingProfilePurpose"],
        }
        held = services.profiles_installed(charge_point=charge_point, excluding=as_201, evse_id=connector_id)
        if held >= limits.max_profiles:
            reason = f"the charger holds {held} profiles, its most (MaxChargingProfilesInstalled): clear one first"
            raise CommandError(f"invalid charging profile: {reason}", {"csChargingProfiles": [reason]})


def _check_set(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    _profile_check(
        charge_point,
        payload["csChargingProfiles"],
        payload["connectorId"],
        path="csChargingProfiles.",
        in_remote_start=False,
    )


def _check_remote_start(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    if "chargingProfile" in payload:
        _profile_check(
            charge_point,
            payload["chargingProfile"],
            payload.get("connectorId"),
            path="chargingProfile.",
            in_remote_start=True,
        )


BLOCK = Block(
    "smartcharging",
    checks={"SetChargingProfile": _check_set, "RemoteStartTransaction": _check_remote_start},
)
