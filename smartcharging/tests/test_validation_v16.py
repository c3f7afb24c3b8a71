"""The same profile rules for 1.6 (protocols.v16.smartcharging): SetChargingProfile's csChargingProfiles and
RemoteStartTransaction's chargingProfile, with 1.6's differences and its configuration keys as limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chargers.commands import CommandError, command_enqueue
from chargers.models import ChargePoint, ConfigurationKey
from transactions.models import Transaction

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def cp() -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id="CP-16", ocpp_version="1.6", registration_status="Accepted", online=True
    )


def profile(purpose: str = "TxDefaultProfile", *, periods: tuple[int, ...] = (0,), **extra: Any) -> dict[str, Any]:
    return {
        "chargingProfileId": 1,
        "stackLevel": extra.pop("stack_level", 0),
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": extra.pop("kind", "Absolute"),
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": start, "limit": 16} for start in periods],
        },
        **extra,
    }


def refused(cp: ChargePoint, action: str, payload: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(CommandError) as caught:
        command_enqueue(charge_point=cp, action=action, payload=payload)
    return caught.value.errors


def set_profile(connector_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"connectorId": connector_id, "csChargingProfiles": body}


def running(cp: ChargePoint, connector_id: int = 1) -> Transaction:
    return Transaction.objects.create(
        charge_point=cp, connector_id=connector_id, evse_id=connector_id, id_tag="T", id_tag_status="Accepted",
        started_at=NOW, start_received_at=NOW,
    )  # fmt: skip


def test_a_charge_point_max_profile_is_on_connector_0_and_never_relative(cp: ChargePoint) -> None:
    assert list(refused(cp, "SetChargingProfile", set_profile(1, profile("ChargePointMaxProfile")))) == ["connectorId"]
    errors = refused(cp, "SetChargingProfile", set_profile(0, profile("ChargePointMaxProfile", kind="Relative")))
    assert errors == {"csChargingProfiles.chargingProfileKind": ["a ChargePointMaxProfile is never Relative"]}
    command_enqueue(
        charge_point=cp, action="SetChargingProfile", payload=set_profile(0, profile("ChargePointMaxProfile"))
    )


def test_periods_start_at_0_and_ascend_an_absolute_schedule_may_start_with_charging(cp: ChargePoint) -> None:
    errors = refused(cp, "SetChargingProfile", set_profile(1, profile(periods=(0, 60, 30))))
    assert list(errors) == ["csChargingProfiles.chargingSchedule.chargingSchedulePeriod.2.startPeriod"]
    command_enqueue(charge_point=cp, action="SetChargingProfile", payload=set_profile(1, profile(periods=(0, 60))))


def test_a_tx_profile_is_for_the_session_running_on_its_connector(cp: ChargePoint) -> None:
    assert list(refused(cp, "SetChargingProfile", set_profile(1, profile("TxProfile")))) == [
        "csChargingProfiles.transactionId"
    ]
    session = running(cp, connector_id=1)
    assert list(refused(cp, "SetChargingProfile", set_profile(2, profile("TxProfile")))) == [
        "csChargingProfiles.transactionId"
    ]
    wrong = profile("TxProfile", transactionId=session.pk + 1)
    assert list(refused(cp, "SetChargingProfile", set_profile(1, wrong))) == ["csChargingProfiles.transactionId"]
    command_enqueue(charge_point=cp, action="SetChargingProfile", payload=set_profile(1, profile("TxProfile")))
    named = profile("TxProfile", transactionId=session.pk)
    command_enqueue(charge_point=cp, action="SetChargingProfile", payload=set_profile(1, named))


def test_a_remote_starts_profile_is_a_tx_profile_without_a_transaction(cp: ChargePoint) -> None:
    start = {"idTag": "T", "connectorId": 1}
    errors = refused(cp, "RemoteStartTransaction", {**start, "chargingProfile": profile("TxProfile", transactionId=1)})
    assert list(errors) == ["chargingProfile.transactionId"]
    errors = refused(cp, "RemoteStartTransaction", {**start, "chargingProfile": profile()})
    assert list(errors) == ["chargingProfile.chargingProfilePurpose"]
    command_enqueue(
        charge_point=cp, action="RemoteStartTransaction", payload={**start, "chargingProfile": profile("TxProfile")}
    )


def test_the_chargers_configuration_keys_are_its_limits(cp: ChargePoint) -> None:
    for key, value in (
        ("ChargeProfileMaxStackLevel", "2"),
        ("ChargingScheduleMaxPeriods", "2"),
        ("ChargingScheduleAllowedChargingRateUnit", "Power"),
    ):
        ConfigurationKey.objects.create(charge_point=cp, key=key, value=value, updated_at=NOW)
    assert list(refused(cp, "SetChargingProfile", set_profile(1, profile(stack_level=3)))) == [
        "csChargingProfiles.stackLevel"
    ]
    assert list(refused(cp, "SetChargingProfile", set_profile(1, profile()))) == [
        "csChargingProfiles.chargingSchedule.chargingRateUnit"
    ]
    body = profile(periods=(0, 10, 20))
    body["chargingSchedule"]["chargingRateUnit"] = "W"
    assert list(refused(cp, "SetChargingProfile", set_profile(1, body))) == [
        "csChargingProfiles.chargingSchedule.chargingSchedulePeriod"
    ]
