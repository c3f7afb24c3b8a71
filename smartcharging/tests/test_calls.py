"""The smart charging Calls a 2.0.1 station sends (NotifyChargingLimit, ClearedChargingLimit,
NotifyEVChargingNeeds, NotifyEVChargingSchedule), through the processing as the worker gets them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chargers.models import ChargePoint, ChargerEvent
from mqtt_bridge.frames import Kind
from smartcharging.models import ChargingLimit, EVChargingNeeds, EVChargingSchedule

from .helpers import AT, handle, schedule, station

pytestmark = pytest.mark.django_db


@pytest.fixture
def cs() -> ChargePoint:
    return station()


def limits(cs: ChargePoint) -> list[tuple[int, str, bool | None]]:
    return [
        (row.evse_id, row.charging_limit_source, row.is_grid_critical)
        for row in ChargingLimit.objects.filter(charge_point=cs, cleared_at__isnull=True)
    ]


def test_TC_K_48_CSMS_an_external_limit_is_kept_per_evse_and_source_and_updated(cs: ChargePoint) -> None:
    first = {"chargingLimit": {"chargingLimitSource": "EMS", "isGridCritical": False}, "evseId": 1,
             "chargingSchedule": [schedule((0, 10.0))]}  # fmt: skip
    assert handle("NotifyChargingLimit", first, "1").payload == {}
    handle("NotifyChargingLimit", {"chargingLimit": {"chargingLimitSource": "SO"}}, "2")
    updated = {**first, "chargingLimit": {"chargingLimitSource": "EMS", "isGridCritical": True}}
    handle("NotifyChargingLimit", updated, "3")
    assert sorted(limits(cs)) == [(0, "SO", None), (1, "EMS", True)]
    assert ChargingLimit.objects.count() == 2
    # The message stays in the event history too.
    assert ChargerEvent.objects.filter(status="NotifyChargingLimit").count() == 3


def test_TC_K_50_CSMS_a_cleared_limit_ends_that_evses_limit_of_that_source_only(cs: ChargePoint) -> None:
    handle("NotifyChargingLimit", {"chargingLimit": {"chargingLimitSource": "EMS"}, "evseId": 1}, "1")
    handle("NotifyChargingLimit", {"chargingLimit": {"chargingLimitSource": "EMS"}, "evseId": 2}, "2")
    handle("NotifyChargingLimit", {"chargingLimit": {"chargingLimitSource": "SO"}, "evseId": 1}, "3")
    assert handle("ClearedChargingLimit", {"chargingLimitSource": "EMS", "evseId": 1}, "4").payload == {}
    assert sorted(limits(cs)) == [(1, "SO", None), (2, "EMS", None)]


def test_TC_K_51_CSMS_a_cleared_limit_without_evse_ends_every_limit_of_its_source(cs: ChargePoint) -> None:
    handle("NotifyChargingLimit", {"chargingLimit": {"chargingLimitSource": "EMS"}, "evseId": 1}, "1")
    handle("NotifyChargingLimit", {"chargingLimit": {"chargingLimitSource": "EMS"}, "evseId": 2}, "2")
    handle("ClearedChargingLimit", {"chargingLimitSource": "EMS"}, "3")
    handle("ClearedChargingLimit", {"chargingLimitSource": "EMS"}, "4")  # nothing left: no error
    assert limits(cs) == []
    # A new limit after the clear is a new row; the cleared ones stay as history.
    handle("NotifyChargingLimit", {"chargingLimit": {"chargingLimitSource": "EMS"}, "evseId": 1}, "5")
    assert limits(cs) == [(1, "EMS", None)] and ChargingLimit.objects.count() == 3


def test_TC_K_53_CSMS_ev_charging_needs_are_stored_and_answered_rejected(cs: ChargePoint) -> None:
    needs = {
        "requestedEnergyTransfer": "AC_three_phase",
        "departureTime": "2026-11-23T18:00:00Z",
        "acChargingParameters": {"energyAmount": 20000, "evMinCurrent": 6, "evMaxCurrent": 32, "evMaxVoltage": 400},
    }
    reply = handle("NotifyEVChargingNeeds", {"evseId": 1, "maxScheduleTuples": 12, "chargingNeeds": needs})
    assert reply.kind == Kind.RESULT and reply.payload == {"status": "Rejected"}
    row = EVChargingNeeds.objects.get()
    assert (row.evse_id, row.requested_energy_transfer, row.departure_time, row.max_schedule_tuples, row.status) == (
        1,
        "AC_three_phase",
        datetime(2026, 11, 23, 18, 0, tzinfo=UTC),
        12,
        "Rejected",
    )


def test_ev_charging_needs_with_a_departure_that_is_no_date_is_a_call_error(cs: ChargePoint) -> None:
    needs = {"requestedEnergyTransfer": "DC", "departureTime": "soon"}
    reply = handle("NotifyEVChargingNeeds", {"evseId": 1, "chargingNeeds": needs})
    assert reply.kind == Kind.ERROR and reply.error_code == "PropertyConstraintViolation"
    assert not EVChargingNeeds.objects.exists()


def test_TC_K_57_CSMS_an_ev_charging_schedule_is_stored_and_accepted(cs: ChargePoint) -> None:
    ev = schedule((0, 32.0), (1800, 16.0), start=None)
    reply = handle("NotifyEVChargingSchedule", {"timeBase": AT, "evseId": 1, "chargingSchedule": ev})
    assert reply.payload == {"status": "Accepted"}
    row = EVChargingSchedule.objects.get()
    assert (row.evse_id, row.time_base, row.schedule) == (1, datetime(2026, 11, 23, 10, 0, tzinfo=UTC), ev)
