"""Smart charging of a simulated 2.0.1 station (block K): the charging profiles it keeps (SetChargingProfile,
a TxProfile in RequestStartTransaction), reported (GetChargingProfiles: ReportChargingProfiles) and
cleared (ClearChargingProfile), and the composite schedule they make (GetCompositeSchedule), which also
caps the power of its sessions.

The composite schedule is the simple one: at each moment, the lowest of the station's physical limit,
the ChargingStationMaxProfile and the transaction's profile (its TxProfile, else the TxDefaultProfile of
its EVSE, else the station's), each the valid profile of the highest stack level; amperes become watts
at 230 V per phase.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.routing import after, on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from gateway.sim_v201_base import StationBase
from gateway.sim_v201_model import EVSES, MAX_PERIODS, MAX_STACK_LEVEL, VOLTAGE, Profile
from gateway.sim_v201_security import reason

logger = logging.getLogger("gateway.simulator_v201")

RECURRENCE = {"Daily": timedelta(days=1), "Weekly": timedelta(weeks=1)}
MAX_BREAKPOINTS = 200


def moment(value: str | None) -> datetime | None:
    if not value:
        return None
    found = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def watts(limit: float, unit: str, phases: int) -> float:
    return limit * VOLTAGE * phases if unit == "A" else limit


def in_unit(limit_w: float, unit: str, phases: int = 3) -> float:
    return round(limit_w / VOLTAGE / phases if unit == "A" else limit_w, 1)


class SmartChargingBlock(StationBase):
    """Block K of a simulated station."""

    # --- validation and keeping (K01, K05) ----------------------------------------------------------------
    def profile_refusal(self, evse_id: int, profile: dict[str, Any], *, starting: bool = False) -> str | None:
        """Why the station refuses ``profile`` for ``evse_id`` (a reason code), None when it takes it.
        ``starting``: a TxProfile of RequestStartTransaction, for the transaction about to start."""
        if not self.state.flag("SmartChargingCtrlr", "Enabled"):
            return "NotEnabled"
        if evse_id != 0 and evse_id not in self.state.evses:
            return "UnknownEVSE"
        purpose, kind = profile["charging_profile_purpose"], profile["charging_profile_kind"]
        if purpose == "ChargingStationExternalConstraints":  # only a local controller or EMS sets these
            return "InvalidPurpose"
        if purpose == "ChargingStationMaxProfile" and (evse_id != 0 or kind == "Relative"):
            return "InvalidProfile"  # K01.FR.03, K01.FR.38
        if purpose == "TxProfile" and not starting:
            if evse_id == 0:  # K01.FR.16
                return "InvalidEVSE"
            running = self.state.evses[evse_id].transaction_id
            if running is None or profile.get("transaction_id") not in (None, running):  # K01.FR.09
                return "TxNotFound"
        if not 0 <= int(profile["stack_level"]) <= MAX_STACK_LEVEL:
            return "InvalidStackLevel"
        if kind in ("Absolute", "Recurring") and any(not s.get("start_schedule") for s in profile["charging_schedule"]):
            return "NoStartSchedule"  # K01.FR.40
        if kind == "Recurring" and profile.get("recurrency_kind") not in RECURRENCE:
            return "NoRecurrencyKind"
        for schedule in profile["charging_schedule"]:
            starts = [int(p["start_period"]) for p in schedule["charging_schedule_period"]]
            if not starts or starts[0] != 0 or starts != sorted(set(starts)) or len(starts) > MAX_PERIODS:
                return "InvalidSchedule"  # K01.FR.31: the first period starts at 0
        for other in self.state.profiles.values():  # K01.FR.39: one profile a stack level
            if (
                other.profile["id"] != profile["id"]
                and other.evse_id == evse_id
                and other.purpose == purpose
                and other.stack_level == int(profile["stack_level"])
                and (purpose != "TxProfile" or other.transaction_id == profile.get("transaction_id"))
                and self.overlap(other.profile, profile)
            ):
                return "DuplicateProfile"
        return None

    @staticmethod
    def overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
        """Whether two profiles' validity periods overlap (an open end overlaps everything)."""
        far_past, far_future = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
        a_from, a_to = moment(a.get("valid_from")) or far_past, moment(a.get("valid_to")) or far_future
        b_from, b_to = moment(b.get("valid_from")) or far_past, moment(b.get("valid_to")) or far_future
        return a_from < b_to and b_from < a_to

    def profile_keep(self, evse_id: int, profile: dict[str, Any]) -> None:
        """Keep a profile (replacing one of the same id, K01.FR.05); a TxProfile is its transaction's."""
        profile = dict(profile)
        if profile["charging_profile_purpose"] == "TxProfile" and evse_id in self.state.evses:
            profile["transaction_id"] = profile.get("transaction_id") or self.state.evses[evse_id].transaction_id
        self.state.profiles[int(profile["id"])] = Profile(evse_id, profile)

    @on(Action.set_charging_profile)
    def on_set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any], **kwargs: Any) -> Any:
        refusal = self.profile_refusal(evse_id, charging_profile)
        if refusal is not None:
            return call_result.SetChargingProfile(status="Rejected", status_info=reason(refusal))
        self.profile_keep(evse_id, charging_profile)
        return call_result.SetChargingProfile(status="Accepted")

    def transaction_profiles_end(self, transaction_id: str) -> None:
        """A transaction ended: its TxProfiles go with it (K01.FR.?)."""
        for profile_id, kept in list(self.state.profiles.items()):
            if kept.purpose == "TxProfile" and kept.transaction_id == transaction_id:
                del self.state.profiles[profile_id]

    # --- GetChargingProfiles (K09) -------------------------------------------------------------------------
    def profiles_matching(self, evse_id: int | None, criterion: dict[str, Any]) -> list[Profile]:
        sources = criterion.get("charging_limit_source")
        ids = criterion.get("charging_profile_id")
        return [
            kept
            for kept in self.state.profiles.values()
            if (evse_id is None or kept.evse_id == evse_id)
            and (sources is None or "CSO" in sources)  # every profile here came from the CSMS
            and (ids is None or int(kept.profile["id"]) in ids)
            and criterion.get("charging_profile_purpose") in (None, kept.purpose)
            and criterion.get("stack_level") in (None, kept.stack_level)
        ]

    @on(Action.get_charging_profiles)
    def on_get_charging_profiles(
        self, request_id: int, charging_profile: dict[str, Any], evse_id: int | None = None, **kwargs: Any
    ) -> Any:
        found = self.profiles_matching(evse_id, charging_profile)
        return call_result.GetChargingProfiles(status="Accepted" if found else "NoProfiles")

    @after(Action.get_charging_profiles)
    async def after_get_charging_profiles(
        self, request_id: int, charging_profile: dict[str, Any], evse_id: int | None = None, **kwargs: Any
    ) -> None:
        by_evse: dict[int, list[dict[str, Any]]] = {}
        for kept in self.profiles_matching(evse_id, charging_profile):
            by_evse.setdefault(kept.evse_id, []).append(kept.profile)
        for index, (evse, profiles) in enumerate(sorted(by_evse.items())):
            await self.call(
                call.ReportChargingProfiles(
                    request_id=request_id,
                    charging_limit_source="CSO",
                    charging_profile=profiles,
                    evse_id=evse,
                    tbc=index < len(by_evse) - 1,
                )
            )

    # --- ClearChargingProfile (K10) ------------------------------------------------------------------------
    @on(Action.clear_charging_profile)
    def on_clear_charging_profile(
        self,
        charging_profile_id: int | None = None,
        charging_profile_criteria: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        if charging_profile_id is not None:  # an id names one profile, whatever the criteria
            found = self.state.profiles.pop(charging_profile_id, None) is not None
            return call_result.ClearChargingProfile(status="Accepted" if found else "Unknown")
        criteria = charging_profile_criteria or {}
        cleared = [
            profile_id
            for profile_id, kept in self.state.profiles.items()
            if criteria.get("evse_id") in (None, kept.evse_id)
            and criteria.get("charging_profile_purpose") in (None, kept.purpose)
            and criteria.get("stack_level") in (None, kept.stack_level)
        ]
        for profile_id in cleared:
            del self.state.profiles[profile_id]
        return call_result.ClearChargingProfile(status="Accepted" if cleared else "Unknown")

    # --- the composite schedule (K08) ----------------------------------------------------------------------
    def schedule_start(self, kept: Profile, at: datetime) -> datetime | None:
        """When the profile's schedule (its first) began for moment ``at``."""
        profile = kept.profile
        schedule = profile["charging_schedule"][0]
        kind = profile["charging_profile_kind"]
        if kind == "Relative":
            evse = self.state.evses.get(kept.evse_id)
            started = evse.transaction_started if evse is not None else None
            return started or at
        start = moment(schedule.get("start_schedule"))
        if start is None:
            return None
        if kind == "Recurring":
            period = RECURRENCE.get(profile.get("recurrency_kind") or "Daily", RECURRENCE["Daily"])
            if at >= start:
                start += period * ((at - start) // period)
        return start

    def profile_limit_w(self, kept: Profile, at: datetime) -> float | None:
        """The profile's limit (W) at ``at``, None where it does not apply (not valid, not begun, over)."""
        profile = kept.profile
        valid_from, valid_to = moment(profile.get("valid_from")), moment(profile.get("valid_to"))
        if (valid_from and at < valid_from) or (valid_to and at >= valid_to):
            return None
        start = self.schedule_start(kept, at)
        if start is None or at < start:
            return None
        schedule = profile["charging_schedule"][0]
        offset = (at - start).total_seconds()
        if schedule.get("duration") is not None and offset >= int(schedule["duration"]):
            return None
        period = [p for p in schedule["charging_schedule_period"] if int(p["start_period"]) <= offset][-1]
        phases = int(period.get("number_phases") or 3)
        return watts(float(period["limit"]), schedule["charging_rate_unit"], phases)

    def limit_w(self, evse_id: int, at: datetime) -> float:
        """The composite limit (W) of an EVSE (0: the station) at ``at``."""

        def top(candidates: list[Profile]) -> float | None:
            valid = [
                (k.stack_level, k.evse_id, limit)
                for k in candidates
                if (limit := self.profile_limit_w(k, at)) is not None
            ]
            return max(valid)[2] if valid else None

        profiles = list(self.state.profiles.values())
        physical = self.state.max_power_w * (len(EVSES) if evse_id == 0 else 1)
        limits = [physical, top([k for k in profiles if k.purpose == "ChargingStationMaxProfile"])]
        if evse_id != 0:
            running = self.state.evses[evse_id].transaction_id
            tx = top(
                [
                    k
                    for k in profiles
                    if k.purpose == "TxProfile" and k.evse_id == evse_id and running and k.transaction_id == running
                ]
            )
            default = top([k for k in profiles if k.purpose == "TxDefaultProfile" and k.evse_id in (0, evse_id)])
            limits.append(tx if tx is not None else default)
        return min(limit for limit in limits if limit is not None)

    def breakpoints(self, start: datetime, end: datetime) -> list[datetime]:
        """The moments in [start, end) at which some profile's limit may change."""
        found = {start}
        for kept in self.state.profiles.values():
            profile = kept.profile
            for edge in (moment(profile.get("valid_from")), moment(profile.get("valid_to"))):
                if edge is not None:
                    found.add(edge)
            at = start
            while at < end and len(found) < MAX_BREAKPOINTS:
                begun = self.schedule_start(kept, at)
                if begun is None:
                    break
                schedule = profile["charging_schedule"][0]
                found.update(
                    begun + timedelta(seconds=int(p["start_period"])) for p in schedule["charging_schedule_period"]
                )
                if schedule.get("duration") is not None:
                    found.add(begun + timedelta(seconds=int(schedule["duration"])))
                if profile["charging_profile_kind"] != "Recurring":
                    break
                at = begun + RECURRENCE.get(profile.get("recurrency_kind") or "Daily", RECURRENCE["Daily"])
                found.add(at)
        return sorted(t for t in found if start <= t < end)

    def composite(self, evse_id: int, duration: int, unit: str, start: datetime) -> list[dict[str, Any]]:
        periods: list[dict[str, Any]] = []
        for at in self.breakpoints(start, start + timedelta(seconds=max(1, duration))):
            limit = in_unit(self.limit_w(evse_id, at), unit)
            if not periods or periods[-1]["limit"] != limit:
                periods.append({"startPeriod": int((at - start).total_seconds()), "limit": limit})
        return periods

    @on(Action.get_composite_schedule)
    def on_get_composite_schedule(
        self, duration: int, evse_id: int, charging_rate_unit: str | None = None, **kwargs: Any
    ) -> Any:
        if evse_id != 0 and evse_id not in self.state.evses:
            return call_result.GetCompositeSchedule(status="Rejected", status_info=reason("UnknownEVSE"))
        unit = charging_rate_unit or "W"
        start = datetime.now(UTC).replace(microsecond=0)
        schedule = {
            "evseId": evse_id,
            "duration": duration,
            "scheduleStart": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "chargingRateUnit": unit,
            "chargingSchedulePeriod": self.composite(evse_id, duration, unit, start),
        }
        return call_result.GetCompositeSchedule(status="Accepted", schedule=schedule)

    def power_cap_w(self, evse_id: int) -> float:
        """What the EVSE may draw now (its sessions' power is capped to it)."""
        return self.limit_w(evse_id, datetime.now(UTC))
