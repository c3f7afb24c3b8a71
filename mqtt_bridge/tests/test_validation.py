"""Schema errors map to the precise OCPP-J error code in the charger's version's spelling."""

from __future__ import annotations

import pytest

from mqtt_bridge.frames import Kind
from mqtt_bridge.validation import OcppError, validate


def test_valid_payload_passes() -> None:
    validate(Kind.CALL, "BootNotification", {"chargePointVendor": "a", "chargePointModel": "b"})


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"chargePointVendor": "a"}, "OccurenceConstraintViolation"),
        ({"chargePointVendor": 1, "chargePointModel": "b"}, "TypeConstraintViolation"),
        ({"chargePointVendor": "a" * 21, "chargePointModel": "b"}, "PropertyConstraintViolation"),
        ({"chargePointVendor": "a", "chargePointModel": "b", "colour": "red"}, "FormationViolation"),
    ],
)
def test_error_codes_16(payload: dict, code: str) -> None:
    with pytest.raises(OcppError) as caught:
        validate(Kind.CALL, "BootNotification", payload)
    assert caught.value.code == code


def test_201_spelling() -> None:
    with pytest.raises(OcppError) as caught:
        validate(Kind.CALL, "Heartbeat", {"x": 1}, "2.0.1")
    assert caught.value.code == "FormatViolation"


def test_results_are_validated_with_decimals() -> None:
    schedule = {
        "status": "Accepted",
        "connectorId": 1,
        "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 21.4}]},
    }
    validate(Kind.RESULT, "GetCompositeSchedule", schedule)
