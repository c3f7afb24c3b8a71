"""What answered smart charging commands change (protocols.v201.smartcharging effects), driven as the bridge
drives them: queued with command_enqueue, marked sent, answered through results_handle."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chargers.models import ChargePoint, ChargingProfile
from smartcharging.models import CompositeSchedule, ProfileReport
from smartcharging.selectors import profile_session_pk, profiles_active
from transactions.models import Transaction

from .helpers import AT, LATER, answer, call, handle, profile, sent, station

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def cs() -> ChargePoint:
    return station()


def session(cs: ChargePoint, transaction_id: str = "TX-1", evse_id: int = 1) -> Transaction:
    return Transaction.objects.create(
        charge_point=cs,
        charger_transaction_id=transaction_id,
        evse_id=evse_id,
        connector_id=1,
        id_tag_status="Accepted",
        started_at=NOW,
        start_received_at=NOW,
    )


def active(cs: ChargePoint) -> list[tuple[int, int, str, int]]:
    return [(p.profile_id, p.evse_id, p.purpose, p.stack_level) for p in profiles_active(charge_point=cs)]


def set_profile(cs: ChargePoint, evse_id: int, body: dict[str, Any], status: str = "Accepted") -> None:
    call(cs, "SetChargingProfile", {"evseId": evse_id, "chargingProfile": body}, {"status": status})


# --- K01 SetChargingProfile ---------------------------------------------------------------------------


def test_TC_K_01_CSMS_a_tx_default_profile_for_one_evse_is_stored_when_accepted(cs: ChargePoint) -> None:
    body = profile(1, validFrom=AT, validTo=LATER)
    command = call(cs, "SetChargingProfile", {"evseId": 1, "chargingProfile": body}, {"status": "Accepted"})
    assert command.status == "accepted"
    row = ChargingProfile.objects.get(charge_point=cs)
    assert (row.evse_id, row.source, row.charging_limit_source, row.profile) == (1, "csms", "CSO", body)


def test_TC_K_10_CSMS_a_tx_default_profile_on_evse_0_is_the_stations(cs: ChargePoint) -> None:
    set_profile(cs, 0, profile(2))
    assert active(cs) == [(2, 0, "TxDefaultProfile", 0)]


def test_TC_K_03_CSMS_a_charging_station_max_profile_on_evse_0(cs: ChargePoint) -> None:
    set_profile(cs, 0, profile(3, "ChargingStationMaxProfile", periods=((0, 32000.0),)))
    assert active(cs) == [(3, 0, "ChargingStationMaxProfile", 0)]


def test_TC_K_15_CSMS_a_rejected_profile_is_not_stored(cs: ChargePoint) -> None:
    set_profile(cs, 1, profile(1), status="Rejected")
    assert not ChargingProfile.objects.exists()


def test_TC_K_04_CSMS_the_same_id_replaces_the_profile(cs: ChargePoint) -> None:
    set_profile(cs, 1, profile(7, periods=((0, 16.0),)))
    set_profile(cs, 1, profile(7, periods=((0, 10.0),)))
    rows = ChargingProfile.objects.filter(charge_point=cs).order_by("pk")
    assert [(row.active, row.profile["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"]) for row in rows] == [
        (False, 16.0),
        (True, 10.0),
    ]
    assert rows[0].cleared_at is not None


def test_TC_K_70_CSMS_the_same_stack_level_and_purpose_on_an_evse_is_replaced_other_levels_stay(
    cs: ChargePoint,
) -> None:
    set_profile(cs, 1, profile(1, stack_level=0))
    set_profile(cs, 1, profile(2, stack_level=1))
    set_profile(cs, 2, profile(3, stack_level=0))
    set_profile(cs, 1, profile(4, stack_level=0))
    assert active(cs) == [(2, 1, "TxDefaultProfile", 1), (4, 1, "TxDefaultProfile", 0), (3, 2, "TxDefaultProfile", 0)]


def test_profiles_of_one_level_whose_validity_does_not_overlap_both_stay(cs: ChargePoint) -> None:
    set_profile(cs, 1, profile(1, validFrom="2026-11-23T00:00:00Z", validTo="2026-11-24T00:00:00Z"))
    set_profile(cs, 1, profile(2, validFrom="2026-11-24T00:00:00Z", validTo="2026-11-25T00:00:00Z"))
    assert sorted(row[0] for row in active(cs)) == [1, 2]


def test_TC_K_60_CSMS_a_tx_profile_of_an_active_session_is_stored_with_it(cs: ChargePoint) -> None:
    tx = session(cs)
    set_profile(cs, 1, profile(5, "TxProfile", transactionId="TX-1"))
    row = ChargingProfile.objects.get(profile_id=5)
    assert row.transaction == tx
    tx.stopped_at = NOW
    tx.save()
    # A TxProfile lives as long as its session.
    assert active(cs) == []


def test_TC_K_19_CSMS_a_recurring_profile_is_stored(cs: ChargePoint) -> None:
    set_profile(cs, 1, profile(6, kind="Recurring", recurrencyKind="Daily"))
    assert active(cs) == [(6, 1, "TxDefaultProfile", 0)]


# --- K05 a TxProfile inside RequestStartTransaction ------------------------------------------------------


def remote_start(cs: ChargePoint, body: dict[str, Any], remote_start_id: int, evse_id: int | None = 1) -> None:
    payload: dict[str, Any] = {
        "idToken": {"idToken": "T", "type": "Central"},
        "remoteStartId": remote_start_id,
        "chargingProfile": body,
    }
    if evse_id is not None:
        payload["evseId"] = evse_id
    command = answer(sent(cs, "RequestStartTransaction", payload), {"status": "Accepted"})
    assert command.status == "accepted"


def test_TC_K_37_CSMS_a_remote_starts_tx_profile_is_stored_for_the_session_it_starts(cs: ChargePoint) -> None:
    remote_start(cs, profile(9, "TxProfile", kind="Relative"), remote_start_id=4)
    row = profiles_active(charge_point=cs).get()
    assert (row.profile_id, row.evse_id, row.remote_start_id, profile_session_pk(row)) == (9, 1, 4, None)
    # Its TransactionEvent comes after the answer: the session is found by its remoteStartId.
    tx = session(cs)
    Transaction.objects.filter(pk=tx.pk).update(remote_start_id=4)
    assert profile_session_pk(profiles_active(charge_point=cs).get()) == tx.pk
    Transaction.objects.filter(pk=tx.pk).update(stopped_at=NOW)
    assert active(cs) == []


def test_a_remote_start_without_evse_takes_the_known_sessions_evse(cs: ChargePoint) -> None:
    tx = session(cs, evse_id=2)
    Transaction.objects.filter(pk=tx.pk).update(remote_start_id=5)
    remote_start(cs, profile(9, "TxProfile", kind="Relative"), remote_start_id=5, evse_id=None)
    row = ChargingProfile.objects.get()
    assert (row.evse_id, row.transaction_id) == (2, tx.pk)


def test_a_remote_start_without_a_profile_stores_none(cs: ChargePoint) -> None:
    payload = {"idToken": {"idToken": "T", "type": "Central"}, "remoteStartId": 6}
    answer(sent(cs, "RequestStartTransaction", payload), {"status": "Accepted"})
    assert not ChargingProfile.objects.exists()


# --- K10 ClearChargingProfile -----------------------------------------------------------------------


def test_TC_K_05_CSMS_clear_by_id(cs: ChargePoint) -> None:
    set_profile(cs, 1, profile(1))
    set_profile(cs, 2, profile(2))
    call(cs, "ClearChargingProfile", {"chargingProfileId": 1}, {"status": "Accepted"})
    assert active(cs) == [(2, 2, "TxDefaultProfile", 0)]


def test_TC_K_06_CSMS_clear_by_stack_level_and_purpose(cs: ChargePoint) -> None:
    set_profile(cs, 1, profile(1, stack_level=2))
    set_profile(cs, 1, profile(2, stack_level=3))
    set_profile(cs, 0, profile(3, "ChargingStationMaxProfile", stack_level=2))
    criteria = {"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 2}
    call(cs, "ClearChargingProfile", {"chargingProfileCriteria": criteria}, {"status": "Accepted"})
    assert sorted(row[0] for row in active(cs)) == [2, 3]


def test_TC_K_08_CSMS_clear_answered_unknown_leaves_nothing_of_ours_either(cs: ChargePoint) -> None:
    set_profile(cs, 1, profile(1))
    command = call(cs, "ClearChargingProfile", {"chargingProfileId": 1}, {"status": "Unknown"})
    assert command.status == "rejected"
    assert active(cs) == []


def test_clear_without_criteria_clears_every_profile(cs: ChargePoint) -> None:
    set_profile(cs, 1, profile(1))
    set_profile(cs, 0, profile(2, "ChargingStationMaxProfile"))
    call(cs, "ClearChargingProfile", {}, {"status": "Accepted"})
    assert active(cs) == []


# --- K09 GetChargingProfiles + ReportChargingProfiles -----------------------------------------------


def report(
    request_id: int,
    evse_id: int,
    profiles: list[dict[str, Any]],
    *,
    tbc: bool = False,
    source: str = "CSO",
    message_id: str = "r1",
) -> None:
    reply = handle(
        "ReportChargingProfiles",
        {
            "requestId": request_id,
            "chargingLimitSource": source,
            "evseId": evse_id,
            "chargingProfile": profiles,
            "tbc": tbc,
        },
        message_id,
    )
    assert reply.payload == {}, reply


def test_TC_K_29_CSMS_get_profiles_of_evse_0_multipart_report_is_stored_with_its_source(cs: ChargePoint) -> None:
    command = call(
        cs,
        "GetChargingProfiles",
        {"requestId": 11, "evseId": 0, "chargingProfile": {"chargingProfilePurpose": "ChargingStationMaxProfile"}},
        {"status": "Accepted"},
    )
    assert command.status == "accepted"
    assert ProfileReport.objects.get(request_id=11).status == "requested"
    report(11, 0, [profile(1, "ChargingStationMaxProfile")], tbc=True, source="EMS", message_id="r1")
    assert ProfileReport.objects.get(request_id=11).status == "reporting"
    report(11, 0, [profile(2, "ChargingStationMaxProfile", stack_level=1)], source="SO", message_id="r2")
    done = ProfileReport.objects.get(request_id=11)
    assert (done.status, done.parts, done.profiles) == ("complete", 2, 2)
    rows = {row.profile_id: row for row in profiles_active(charge_point=cs)}
    assert {pid: (row.source, row.charging_limit_source, row.request_id) for pid, row in rows.items()} == {
        1: ("station", "EMS", 11),
        2: ("station", "SO", 11),
    }


def test_TC_K_31_CSMS_a_report_of_every_evse_replaces_what_we_knew(cs: ChargePoint) -> None:
    set_profile(cs, 1, profile(1))
    set_profile(cs, 2, profile(2))
    call(cs, "GetChargingProfiles", {"requestId": 12, "chargingProfile": {}}, {"status": "Accepted"})
    # The station holds profile 1 (changed) and an EMS profile; profile 2 is gone.
    report(12, 1, [profile(1, periods=((0, 6.0),))], tbc=True, message_id="a")
    report(12, 0, [profile(30, "ChargingStationMaxProfile")], source="EMS", message_id="b")
    assert sorted((row[0], row[1]) for row in active(cs)) == [(1, 1), (30, 0)]
    kept = ChargingProfile.objects.get(profile_id=1, active=True)
    assert kept.source == "station" and kept.profile["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"] == 6.0


def test_TC_K_30_CSMS_a_report_of_one_evse_leaves_other_evses_alone(cs: ChargePoint) -> None:
    set_profile(cs, 1, profile(1))
    set_profile(cs, 2, profile(2))
    call(cs, "GetChargingProfiles", {"requestId": 13, "evseId": 2, "chargingProfile": {}}, {"status": "Accepted"})
    report(13, 2, [profile(3, stack_level=4)])
    assert sorted(row[0] for row in active(cs)) == [1, 3]


@pytest.mark.parametrize(
    ("criterion", "left"),
    [
        ({"chargingProfileId": [1]}, [2, 3]),  # TC_K_32
        ({"stackLevel": 1}, [1, 3]),  # TC_K_33
        ({"chargingLimitSource": ["CSO"]}, []),  # TC_K_34
        ({"chargingProfilePurpose": "TxDefaultProfile"}, [3]),  # TC_K_35
        ({"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 0}, [2, 3]),  # TC_K_36
    ],
)
def test_TC_K_32_to_36_CSMS_no_profiles_for_criteria_ends_ours_that_match(
    cs: ChargePoint, criterion: dict[str, Any], left: list[int]
) -> None:
    set_profile(cs, 1, profile(1, stack_level=0))
    set_profile(cs, 1, profile(2, stack_level=1))
    set_profile(cs, 0, profile(3, "ChargingStationMaxProfile", stack_level=0))
    command = call(cs, "GetChargingProfiles", {"requestId": 14, "chargingProfile": criterion}, {"status": "NoProfiles"})
    assert command.status == "rejected"
    assert ProfileReport.objects.get(request_id=14).status == "no_profiles"
    assert sorted(row[0] for row in active(cs)) == left


def test_a_report_nobody_asked_for_is_stored_and_concludes_nothing(cs: ChargePoint) -> None:
    set_profile(cs, 1, profile(1))
    report(99, 2, [profile(5)])
    assert sorted(row[0] for row in active(cs)) == [1, 5]


def test_a_replayed_report_part_does_not_duplicate_profiles(cs: ChargePoint) -> None:
    call(cs, "GetChargingProfiles", {"requestId": 15, "chargingProfile": {}}, {"status": "Accepted"})
    report(15, 1, [profile(1)], tbc=True, message_id="x")
    report(15, 1, [profile(1)], tbc=True, message_id="x")
    assert ChargingProfile.objects.filter(active=True).count() == 1


# --- K08 GetCompositeSchedule -------------------------------------------------------------------------


def composite(evse_id: int) -> dict[str, Any]:
    return {
        "status": "Accepted",
        "schedule": {
            "evseId": evse_id,
            "duration": 3600,
            "scheduleStart": AT,
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}, {"startPeriod": 1800, "limit": 8.0}],
        },
    }


@pytest.mark.parametrize("evse_id", [1, 0], ids=["TC_K_43_CSMS_specific_evse", "TC_K_44_CSMS_charging_station"])
def test_TC_K_43_44_CSMS_the_composite_schedule_answered_is_stored(cs: ChargePoint, evse_id: int) -> None:
    command = call(
        cs, "GetCompositeSchedule", {"duration": 3600, "evseId": evse_id, "chargingRateUnit": "A"}, composite(evse_id)
    )
    assert command.status == "accepted"
    stored = CompositeSchedule.objects.get(command=command)
    assert (stored.evse_id, stored.duration, stored.schedule_start, stored.periods[1]["limit"]) == (
        evse_id,
        3600,
        datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        8.0,
    )


def test_a_rejected_composite_schedule_stores_nothing(cs: ChargePoint) -> None:
    call(cs, "GetCompositeSchedule", {"duration": 60, "evseId": 1}, {"status": "Rejected"})
    assert not CompositeSchedule.objects.exists()


def test_a_composite_schedule_with_a_bad_start_is_kept_in_the_command_only(cs: ChargePoint) -> None:
    bad = composite(1)
    bad["schedule"]["scheduleStart"] = "yesterday"
    command = call(cs, "GetCompositeSchedule", {"duration": 60, "evseId": 1}, bad)
    assert command.response == bad and not CompositeSchedule.objects.exists()
