"""Profiles are judged before they are queued (SetChargingProfile, RequestStartTransaction's chargingProfile):
a refusal is a CommandError naming the field, nothing is queued. The rules themselves
(smartcharging.validation) also get property tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from chargers.commands import CommandError, command_enqueue
from chargers.device_model import (
    VariableAttribute,
    VariableCharacteristics,
    VariableKey,
    VariableReport,
    VariableValue,
    device_variable_values_set,
    device_variables_report,
)
from chargers.models import ChargePoint, Command
from smartcharging.validation import Period, Profile, Schedule, StationLimits, profile_problem
from transactions.models import Transaction

from .helpers import AT, LATER, call, profile, station

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def cs(db: None) -> ChargePoint:
    return station()


def refusal(cs: ChargePoint, action: str, payload: dict[str, Any]) -> CommandError:
    before = Command.objects.filter(charge_point=cs, action=action).count()
    with pytest.raises(CommandError) as caught:
        command_enqueue(charge_point=cs, action=action, payload=payload)
    assert Command.objects.filter(charge_point=cs, action=action).count() == before
    return caught.value


def set_refused(cs: ChargePoint, evse_id: int, body: dict[str, Any]) -> tuple[str, str]:
    error = refusal(cs, "SetChargingProfile", {"evseId": evse_id, "chargingProfile": body})
    [(field, [reason])] = error.errors.items()
    assert reason in error.message
    return field, reason


def limit(cs: ChargePoint, variable: str, value: str, instance: str = "") -> None:
    key = VariableKey(component="SmartChargingCtrlr", variable=variable, variable_instance=instance)
    device_variable_values_set(charge_point=cs, values=[VariableValue(key, value)], now=timezone.now())


def session(cs: ChargePoint, transaction_id: str = "TX-1", evse_id: int = 1, stopped: bool = False) -> None:
    Transaction.objects.create(
        charge_point=cs,
        charger_transaction_id=transaction_id,
        evse_id=evse_id,
        connector_id=1,
        id_tag_status="Accepted",
        started_at=NOW,
        start_received_at=NOW,
        stopped_at=NOW if stopped else None,
    )


def test_TC_K_03_CSMS_a_station_max_profile_is_only_on_evse_0_and_never_relative(cs: ChargePoint) -> None:
    assert set_refused(cs, 1, profile(1, "ChargingStationMaxProfile"))[0] == "evseId"
    field, reason = set_refused(cs, 0, profile(1, "ChargingStationMaxProfile", kind="Relative"))
    assert (field, reason) == ("chargingProfile.chargingProfileKind", "a ChargingStationMaxProfile is never Relative")


def test_TC_K_01_CSMS_the_first_period_starts_at_0_and_periods_ascend(cs: ChargePoint) -> None:
    field, _ = set_refused(cs, 1, profile(1, periods=((60, 16.0),)))
    assert field == "chargingProfile.chargingSchedule.0.chargingSchedulePeriod.0.startPeriod"
    field, reason = set_refused(cs, 1, profile(1, periods=((0, 16.0), (600, 8.0), (600, 6.0))))
    assert field == "chargingProfile.chargingSchedule.0.chargingSchedulePeriod.2.startPeriod" and "ascending" in reason


def test_TC_K_02_CSMS_a_tx_profile_needs_an_active_session_of_the_station_on_that_evse(cs: ChargePoint) -> None:
    assert set_refused(cs, 1, profile(1, "TxProfile"))[0] == "chargingProfile.transactionId"
    assert set_refused(cs, 1, profile(1, "TxProfile", transactionId="NOPE"))[0] == "chargingProfile.transactionId"
    session(cs, "TX-OLD", stopped=True)
    assert set_refused(cs, 1, profile(1, "TxProfile", transactionId="TX-OLD"))[0] == "chargingProfile.transactionId"
    session(cs, "TX-2", evse_id=2)
    assert set_refused(cs, 1, profile(1, "TxProfile", transactionId="TX-2"))[0] == "chargingProfile.transactionId"
    other = station("CS-2")
    session(other, "TX-3")
    assert set_refused(cs, 1, profile(1, "TxProfile", transactionId="TX-3"))[0] == "chargingProfile.transactionId"
    assert set_refused(cs, 0, profile(1, "TxProfile", transactionId="TX-2"))[0] == "evseId"
    # TC_K_60: the session is active on EVSE 2.
    command_enqueue(
        charge_point=cs,
        action="SetChargingProfile",
        payload={"evseId": 2, "chargingProfile": profile(1, "TxProfile", transactionId="TX-2")},
    )


def test_only_a_tx_profile_names_a_transaction_and_external_constraints_are_not_ours(cs: ChargePoint) -> None:
    session(cs)
    assert set_refused(cs, 1, profile(1, transactionId="TX-1"))[0] == "chargingProfile.transactionId"
    assert set_refused(cs, 0, profile(1, "ChargingStationExternalConstraints"))[0] == (
        "chargingProfile.chargingProfilePurpose"
    )


def test_TC_K_19_CSMS_recurring_needs_a_recurrency_kind_and_a_start_within_its_period(cs: ChargePoint) -> None:
    assert set_refused(cs, 1, profile(1, kind="Recurring"))[0] == "chargingProfile.recurrencyKind"
    body = profile(1, kind="Recurring", recurrencyKind="Daily")
    del body["chargingSchedule"][0]["startSchedule"]
    assert set_refused(cs, 1, body)[0] == "chargingProfile.chargingSchedule.0.startSchedule"
    body = profile(1, kind="Recurring", recurrencyKind="Daily")
    body["chargingSchedule"][0]["duration"] = 90_000
    assert set_refused(cs, 1, body)[0] == "chargingProfile.chargingSchedule.0.duration"
    assert set_refused(cs, 1, profile(1, recurrencyKind="Weekly"))[0] == "chargingProfile.recurrencyKind"


def test_relative_has_no_start_and_absolute_has_one(cs: ChargePoint) -> None:
    body = profile(1, kind="Relative")
    body["chargingSchedule"][0]["startSchedule"] = AT
    assert set_refused(cs, 1, body)[0] == "chargingProfile.chargingSchedule.0.startSchedule"
    body = profile(1)
    del body["chargingSchedule"][0]["startSchedule"]
    assert set_refused(cs, 1, body)[0] == "chargingProfile.chargingSchedule.0.startSchedule"


def test_valid_from_before_valid_to_and_times_with_an_offset(cs: ChargePoint) -> None:
    assert set_refused(cs, 1, profile(1, validFrom=LATER, validTo=AT))[0] == "chargingProfile.validTo"
    assert set_refused(cs, 1, profile(1, validFrom=AT, validTo=AT))[0] == "chargingProfile.validTo"
    assert set_refused(cs, 1, profile(1, validFrom="2026-11-23T10:00:00"))[0] == "chargingProfile.validFrom"
    assert set_refused(cs, 1, profile(1, validTo="tomorrow"))[0] == "chargingProfile.validTo"


def test_limits_that_make_sense(cs: ChargePoint) -> None:
    where = "chargingProfile.chargingSchedule.0"
    assert set_refused(cs, 1, profile(1, periods=((0, -1.0),)))[0] == f"{where}.chargingSchedulePeriod.0.limit"
    body = profile(1)
    body["chargingSchedule"][0]["chargingSchedulePeriod"][0].update(numberPhases=3, phaseToUse=2)
    assert set_refused(cs, 1, body)[0] == f"{where}.chargingSchedulePeriod.0.phaseToUse"
    body = profile(1, periods=((0, 16.0), (4000, 8.0)))
    body["chargingSchedule"][0]["duration"] = 3600
    assert set_refused(cs, 1, body)[0] == f"{where}.chargingSchedulePeriod.1.startPeriod"
    body = profile(1)
    body["chargingSchedule"].append({**body["chargingSchedule"][0]})
    assert set_refused(cs, 1, body)[0] == "chargingProfile.chargingSchedule"


def test_the_schema_still_comes_first(cs: ChargePoint) -> None:
    error = refusal(cs, "SetChargingProfile", {"evseId": 1, "chargingProfile": {"id": 1}})
    assert "invalid SetChargingProfile request" in error.message


def test_the_stations_device_model_limits_are_respected(cs: ChargePoint) -> None:
    limit(cs, "ProfileStackLevel", "3")
    limit(cs, "PeriodsPerSchedule", "2")
    limit(cs, "RateUnit", "W")
    assert set_refused(cs, 1, profile(1, stack_level=4, periods=((0, 1000.0),)))[0] == "chargingProfile.stackLevel"
    field, reason = set_refused(cs, 1, profile(1))
    assert field == "chargingProfile.chargingSchedule.0.chargingRateUnit" and "RateUnit" in reason
    body = profile(1, periods=((0, 1.0), (10, 2.0), (20, 3.0)))
    body["chargingSchedule"][0]["chargingRateUnit"] = "W"
    assert "PeriodsPerSchedule" in set_refused(cs, 1, body)[1]
    body["chargingSchedule"][0]["chargingSchedulePeriod"].pop()
    command_enqueue(charge_point=cs, action="SetChargingProfile", payload={"evseId": 1, "chargingProfile": body})


def test_no_more_profiles_than_the_station_has_entries_a_replacement_still_goes(cs: ChargePoint) -> None:
    # Entries[ChargingProfiles]: its value is how many the station holds now (0), its maxLimit the most (2).
    key = VariableKey(component="SmartChargingCtrlr", variable="Entries", variable_instance="ChargingProfiles")
    attribute = VariableAttribute(type="Actual", value="0", mutability="ReadOnly", persistent=False, constant=False)
    characteristics = VariableCharacteristics(
        data_type="integer", supports_monitoring=False, unit="", min_limit=None, max_limit=2, values_list=""
    )
    device_variables_report(
        charge_point=cs, items=[VariableReport(key, (attribute,), characteristics)], now=timezone.now()
    )
    for profile_id, evse in ((1, 1), (2, 2)):
        call(cs, "SetChargingProfile", {"evseId": evse, "chargingProfile": profile(profile_id)}, {"status": "Accepted"})
    assert "Entries" in set_refused(cs, 1, profile(3, stack_level=5))[1]
    # Replacing profile 2 (same id) or the one of EVSE 1 (same level and purpose) does not add one.
    command_enqueue(charge_point=cs, action="SetChargingProfile", payload={"evseId": 2, "chargingProfile": profile(2)})
    command_enqueue(charge_point=cs, action="SetChargingProfile", payload={"evseId": 1, "chargingProfile": profile(9)})


def test_a_device_model_value_that_is_no_number_is_ignored(cs: ChargePoint) -> None:
    limit(cs, "ProfileStackLevel", "lots")
    command_enqueue(
        charge_point=cs,
        action="SetChargingProfile",
        payload={"evseId": 1, "chargingProfile": profile(1, stack_level=50)},
    )


def start(body: dict[str, Any], evse_id: int | None = 1) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "idToken": {"idToken": "T", "type": "Central"},
        "remoteStartId": 3,
        "chargingProfile": body,
    }
    if evse_id is not None:
        payload["evseId"] = evse_id
    return payload


def test_TC_K_37_CSMS_a_remote_starts_profile_is_a_tx_profile_without_a_transaction(cs: ChargePoint) -> None:
    error = refusal(cs, "RequestStartTransaction", start(profile(1, "TxProfile", transactionId="TX-1")))
    assert list(error.errors) == ["chargingProfile.transactionId"]
    error = refusal(cs, "RequestStartTransaction", start(profile(1)))
    assert list(error.errors) == ["chargingProfile.chargingProfilePurpose"]
    error = refusal(cs, "RequestStartTransaction", start(profile(1, "TxProfile", periods=((5, 16.0),))))
    assert list(error.errors) == ["chargingProfile.chargingSchedule.0.chargingSchedulePeriod.0.startPeriod"]
    command_enqueue(
        charge_point=cs, action="RequestStartTransaction", payload=start(profile(1, "TxProfile", kind="Relative"))
    )
    # Without an EVSE the station picks one.
    command_enqueue(
        charge_point=cs,
        action="RequestStartTransaction",
        payload={**start(profile(2, "TxProfile"), evse_id=None), "remoteStartId": 4},
    )


def test_a_composite_schedule_of_no_duration_is_refused(cs: ChargePoint) -> None:
    assert list(refusal(cs, "GetCompositeSchedule", {"duration": 0, "evseId": 1}).errors) == ["duration"]


# --- the rules as properties ----------------------------------------------------------------------------

NONE = StationLimits()
starts = st.lists(st.integers(min_value=1, max_value=86_000), min_size=0, max_size=20, unique=True).map(
    lambda rest: [0, *sorted(rest)]
)
limits_ = st.floats(min_value=0, max_value=1e6, allow_nan=False)


def _profile(starts: list[int], values: list[float], **fields: Any) -> Profile:
    periods = tuple(Period(start, value) for start, value in zip(starts, values, strict=False))
    start_schedule = None if fields.get("kind") == "Relative" else NOW
    schedule = Schedule(1, fields.pop("unit", "A"), periods, start_schedule=start_schedule)
    return Profile(
        id=1,
        stack_level=fields.pop("stack_level", 0),
        purpose=fields.pop("purpose", "TxDefaultProfile"),
        kind=fields.pop("kind", "Absolute"),
        schedules=(schedule,),
        **fields,
    )


def _no_session(transaction_id: str) -> bool:
    return False


@given(starts, st.lists(limits_, min_size=21, max_size=21), st.integers(min_value=0, max_value=8))
def test_ascending_periods_from_0_with_sane_limits_pass(starts: list[int], values: list[float], evse: int) -> None:
    assert profile_problem(_profile(starts, values), evse_id=evse, limits=NONE, active_transaction=_no_session) is None


@given(starts, st.lists(limits_, min_size=21, max_size=21), st.randoms())
def test_periods_out_of_order_are_refused(starts: list[int], values: list[float], random: Any) -> None:
    shuffled = list(starts)
    random.shuffle(shuffled)
    problem = profile_problem(_profile(shuffled, values), evse_id=1, limits=NONE, active_transaction=_no_session)
    assert (problem is None) == (shuffled == starts)
    if problem is not None:
        assert problem.field.endswith("startPeriod")


@given(st.integers(min_value=1, max_value=86_000), limits_)
def test_a_schedule_not_starting_at_0_is_refused(first: int, value: float) -> None:
    problem = profile_problem(_profile([first], [value]), evse_id=1, limits=NONE, active_transaction=_no_session)
    assert problem is not None and problem.field == "chargingSchedule.0.chargingSchedulePeriod.0.startPeriod"


@given(st.sampled_from(["Absolute", "Relative", "Recurring"]), st.integers(min_value=0, max_value=4))
def test_a_station_max_profile_passes_only_on_evse_0_and_not_relative(kind: str, evse: int) -> None:
    extra = {"recurrency_kind": "Daily"} if kind == "Recurring" else {}
    candidate = _profile([0], [100.0], purpose="ChargingStationMaxProfile", kind=kind, **extra)
    problem = profile_problem(candidate, evse_id=evse, limits=NONE, active_transaction=_no_session)
    assert (problem is None) == (evse == 0 and kind != "Relative")


@given(st.integers(min_value=0, max_value=20), st.integers(min_value=0, max_value=20))
def test_stack_levels_up_to_the_stations_most(level: int, most: int) -> None:
    candidate = _profile([0], [10.0], stack_level=level)
    problem = profile_problem(
        candidate, evse_id=1, limits=StationLimits(max_stack_level=most), active_transaction=_no_session
    )
    assert (problem is None) == (level <= most)


@given(st.datetimes(timezones=st.just(UTC)), st.integers(min_value=-10_000, max_value=10_000))
def test_valid_from_must_precede_valid_to(valid_from: datetime, seconds: int) -> None:
    candidate = _profile([0], [10.0], valid_from=valid_from, valid_to=valid_from + timedelta(seconds=seconds))
    problem = profile_problem(candidate, evse_id=1, limits=NONE, active_transaction=_no_session)
    assert (problem is None) == (seconds > 0)


def test_entries_value_is_the_count_held_not_the_limit(cs: ChargePoint) -> None:
    # A station holding no profile yet reports Entries[ChargingProfiles] = 0: its first profile goes (the demo
    # fleet's stations refused every SetChargingProfile when the value was read as the limit).
    limit(cs, "Entries", "0", instance="ChargingProfiles")
    command_enqueue(charge_point=cs, action="SetChargingProfile", payload={"evseId": 1, "chargingProfile": profile(1)})
