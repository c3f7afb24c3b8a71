"""Schema errors map to the precise OCPP-J error code in the charger's version's spelling."""

from __future__ import annotations

from typing import Any

import pytest

from mqtt_bridge.frames import Kind
from protocols.validation import OcppError, validate


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


# Valid 1.6 Calls, and what can be wrong with a field: the fast validator must agree with
# jsonschema on every variant (a payload it accepts is never one jsonschema rejects).
_VALID_CALLS: dict[str, dict[str, Any]] = {
    "BootNotification": {"chargePointVendor": "a", "chargePointModel": "b", "firmwareVersion": "1.0"},
    "StatusNotification": {"connectorId": 1, "errorCode": "NoError", "status": "Available", "info": "x"},
    "Authorize": {"idTag": "TAG1"},
    "StartTransaction": {"connectorId": 1, "idTag": "TAG1", "meterStart": 0, "timestamp": "2026-11-24T00:00:00Z"},
    "StopTransaction": {"transactionId": 7, "meterStop": 10, "timestamp": "2026-11-24T00:00:00Z", "reason": "Local"},
    "MeterValues": {
        "connectorId": 1,
        "transactionId": 7,
        "meterValue": [
            {
                "timestamp": "2026-11-24T00:00:00Z",
                "sampledValue": [{"value": "1.5", "measurand": "Voltage", "phase": "L1", "unit": "V"}],
            }
        ],
    },
}
_BAD_VALUES: list[Any] = [None, True, 1, 1.0, 1.5, -1, "", "x" * 60, "1", [], {}, "NotAnEnumValue"]


def _variants(payload: dict[str, Any]) -> list[dict[str, Any]]:
    variants = [payload, {**payload, "extra": 1}]
    for key, value in payload.items():
        variants.append({k: v for k, v in payload.items() if k != key})
        variants += [{**payload, key: bad} for bad in _BAD_VALUES]
        if isinstance(value, list):
            item = value[0]
            variants.append({**payload, key: [{**item, "extra": 1}]})
            for inner in item:
                variants += [{**payload, key: [{**item, inner: bad}]} for bad in _BAD_VALUES]
    return variants


@pytest.mark.parametrize("action", sorted(_VALID_CALLS))
def test_the_fast_path_agrees_with_jsonschema(action: str) -> None:
    from ocpp.messages import get_validator

    reference = get_validator(int(Kind.CALL), action, "1.6")
    variants = _variants(_VALID_CALLS[action])
    accepted = 0
    for payload in variants:
        try:
            validate(Kind.CALL, action, payload)
        except OcppError as exc:
            # A schema-valid integer past its column (connectorId -1) is refused after the schema.
            assert not reference.is_valid(payload) or exc.details["constraint"] == "range", payload
        else:
            assert reference.is_valid(payload), payload
            accepted += 1
    assert 1 <= accepted < len(variants)
