"""Our validation and the `ocpp` package's own (the simulator's ChargePoint) share one process.

The package caches one validator per schema whatever ``parse_float`` its first caller asked for. It
validates the three 1.6 schemas with 1-decimal numbers with Decimal payloads; had we asked first with
floats, its own validation of a GetCompositeSchedule answer raised TypeError (Decimal / float in
``multipleOf``): the simulator test failed whenever a test of ours had validated one before it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from ocpp import messages
from ocpp.messages import CallResult, validate_payload

from protocols import validation
from protocols.v16.errors import DECIMAL_SCHEMAS
from protocols.validation import schema_validator

COMPOSITE_SCHEDULE = {
    "status": "Accepted",
    "connectorId": 1,
    "chargingSchedule": {
        "chargingRateUnit": "W",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 3000.5}],
    },
}


@pytest.fixture
def fresh_package_cache() -> Iterator[None]:
    """Both caches empty, as in a process where this is the first validation of all."""
    saved, ours = dict(messages._validators), dict(validation._validators)
    messages._validators.clear()
    validation._validators.clear()
    yield
    messages._validators.clear()
    messages._validators.update(saved)
    validation._validators.clear()
    validation._validators.update(ours)


@pytest.mark.parametrize(("kind", "action"), sorted(DECIMAL_SCHEMAS))
def test_our_validators_leave_the_package_cache_as_the_package_wants_it(
    kind: int, action: str, fresh_package_cache: None
) -> None:
    schema_validator(kind, action, "1.6")
    # What the package caches for these schemas must take Decimal payloads, as it validates them.
    cached = messages.get_validator(kind, action, "1.6")
    assert any(type(value).__name__ == "Decimal" for value in _numbers(cached.schema))


def test_the_package_validates_a_composite_schedule_after_we_did(fresh_package_cache: None) -> None:
    schema_validator(3, "GetCompositeSchedule", "1.6")
    result = CallResult(unique_id="1", payload=dict(COMPOSITE_SCHEDULE), action="GetCompositeSchedule")
    asyncio.run(validate_payload(result, "1.6"))  # raised TypeError: Decimal / float


def _numbers(value: object) -> Iterator[object]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, int | float) or type(value).__name__ == "Decimal":
        yield value
