"""OCPP 1.6's shortcut builders: each payload is one the 1.6 schema accepts, spelled as the API always sent it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chargers.ports import CommandRequest, Shortcuts
from protocols.v16 import enums
from protocols.v16.shortcuts import SHORTCUTS
from protocols.validation import validate

TX_PROFILE = {
    "chargingProfileId": 1,
    "stackLevel": 0,
    "chargingProfilePurpose": "TxProfile",
    "chargingProfileKind": "Absolute",
    "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]},
}

BUILDS: list[tuple[str, Callable[[Shortcuts], CommandRequest], str, dict]] = [
    ("remote start", lambda s: s.remote_start(id_tag="TAG1"), "RemoteStartTransaction", {"idTag": "TAG1"}),
    (
        "remote start on a connector with a profile",
        lambda s: s.remote_start(id_tag="TAG1", connector_id=2, charging_profile=TX_PROFILE),
        "RemoteStartTransaction",
        {"idTag": "TAG1", "connectorId": 2, "chargingProfile": TX_PROFILE},
    ),
    ("remote stop", lambda s: s.remote_stop(transaction_id=7), "RemoteStopTransaction", {"transactionId": 7}),
    ("soft reset", lambda s: s.reset(hard=False), "Reset", {"type": "Soft"}),
    ("hard reset", lambda s: s.reset(hard=True), "Reset", {"type": "Hard"}),
    ("unlock", lambda s: s.unlock(connector_id=1), "UnlockConnector", {"connectorId": 1}),
    (
        "whole charger inoperative",
        lambda s: s.availability(connector_id=0, operative=False),
        "ChangeAvailability",
        {"connectorId": 0, "type": "Inoperative"},
    ),
    (
        "connector operative",
        lambda s: s.availability(connector_id=2, operative=True),
        "ChangeAvailability",
        {"connectorId": 2, "type": "Operative"},
    ),
    ("trigger", lambda s: s.trigger(message="Heartbeat"), "TriggerMessage", {"requestedMessage": "Heartbeat"}),
    (
        "trigger on connector 0",
        lambda s: s.trigger(message="StatusNotification", connector_id=0),
        "TriggerMessage",
        {"requestedMessage": "StatusNotification", "connectorId": 0},
    ),
    ("boot now", lambda s: s.boot_now(), "TriggerMessage", {"requestedMessage": "BootNotification"}),
    ("configuration read", lambda s: s.configuration_read(), "GetConfiguration", {}),
    ("clear cache", lambda s: s.clear_cache(), "ClearCache", {}),
]


@pytest.mark.parametrize(("name", "build", "action", "payload"), BUILDS, ids=[b[0] for b in BUILDS])
def test_each_builder_spells_a_payload_the_16_schema_accepts(
    name: str, build: Callable[[Shortcuts], CommandRequest], action: str, payload: dict
) -> None:
    request = build(SHORTCUTS)
    assert (request.action, request.payload) == (action, payload)
    # Our validation, as command_enqueue applies it (ocpp's get_validator would cache a float copy of
    # RemoteStartTransaction's schema for the whole process: see test_ocpp_package_cache.py).
    validate(2, request.action, request.payload, "1.6")


def test_every_shortcut_of_the_port_has_a_builder_test() -> None:
    # A shortcut added to the port without a case above would go out untested against the schema.
    shortcuts = {name for name in dir(Shortcuts) if not name.startswith("_")}
    covered = {build.__code__.co_names[0] for _, build, _, _ in BUILDS}  # the method each case calls
    assert covered == shortcuts


@pytest.mark.parametrize("message", enums.TRIGGER_MESSAGES)
def test_every_trigger_message_offered_is_one_the_schema_takes(message: str) -> None:
    request = SHORTCUTS.trigger(message=message, connector_id=1)
    # Our validation, as command_enqueue applies it (ocpp's get_validator would cache a float copy of
    # RemoteStartTransaction's schema for the whole process: see test_ocpp_package_cache.py).
    validate(2, request.action, request.payload, "1.6")
