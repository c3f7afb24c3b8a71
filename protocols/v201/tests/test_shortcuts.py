"""OCPP 2.0.1's shortcut builders: the same arguments as 1.6, payloads the 2.0.1 schema accepts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from chargers.commands import CommandError
from chargers.models import ChargePoint, IdTag
from chargers.ports import CommandRequest, Shortcuts, port_for
from protocols.v201.shortcuts import SHORTCUTS
from protocols.validation import Kind, validate
from transactions.models import Transaction

BUILDS: list[tuple[str, Callable[[Shortcuts], CommandRequest], str, dict[str, Any]]] = [
    ("hard reset", lambda s: s.reset(hard=True), "Reset", {"type": "Immediate"}),
    ("soft reset", lambda s: s.reset(hard=False), "Reset", {"type": "OnIdle"}),
    ("unlock", lambda s: s.unlock(connector_id=2), "UnlockConnector", {"evseId": 2, "connectorId": 1}),
    (
        "station inoperative",
        lambda s: s.availability(connector_id=0, operative=False),
        "ChangeAvailability",
        {"operationalStatus": "Inoperative"},
    ),
    (
        "EVSE operative",
        lambda s: s.availability(connector_id=3, operative=True),
        "ChangeAvailability",
        {"operationalStatus": "Operative", "evse": {"id": 3}},
    ),
    ("trigger", lambda s: s.trigger(message="Heartbeat"), "TriggerMessage", {"requestedMessage": "Heartbeat"}),
    (
        "trigger on an EVSE",
        lambda s: s.trigger(message="StatusNotification", connector_id=1),
        "TriggerMessage",
        {"requestedMessage": "StatusNotification", "evse": {"id": 1}},
    ),
    ("boot now", lambda s: s.boot_now(), "TriggerMessage", {"requestedMessage": "BootNotification"}),
    ("clear cache", lambda s: s.clear_cache(), "ClearCache", {}),
]


@pytest.mark.parametrize(("name", "build", "action", "payload"), BUILDS, ids=[b[0] for b in BUILDS])
def test_each_shortcut_is_spelled_in_2_0_1(name: str, build: Callable[[Shortcuts], CommandRequest], action: str,
                                           payload: dict[str, Any]) -> None:  # fmt: skip
    request = build(SHORTCUTS)
    assert (request.action, request.payload) == (action, payload)
    validate(Kind.CALL, request.action, request.payload, "2.0.1")


def test_the_port_of_2_0_1_builds_with_these_shortcuts() -> None:
    port = port_for("2.0.1")
    assert port.shortcuts is SHORTCUTS and "GetBaseReport" in port.commands and "DataTransfer" in port.commands


def test_configuration_read_is_a_full_inventory_with_a_fresh_request_id() -> None:
    first, second = SHORTCUTS.configuration_read(), SHORTCUTS.configuration_read()
    assert first.action == "GetBaseReport" and first.payload["reportBase"] == "FullInventory"
    assert first.payload["requestId"] != second.payload["requestId"]
    validate(Kind.CALL, first.action, first.payload, "2.0.1")


@pytest.mark.django_db
def test_remote_start_names_the_stored_token_type_or_central_and_a_fresh_remote_start_id() -> None:
    IdTag.objects.create(id_tag="CARD-1", type="ISO15693")
    known = SHORTCUTS.remote_start(id_tag="CARD-1", connector_id=2)
    # The stored token whatever the case it is typed in (its type), the value as typed.
    assert SHORTCUTS.remote_start(id_tag="card-1").payload["idToken"] == {"idToken": "card-1", "type": "ISO15693"}
    unknown = SHORTCUTS.remote_start(id_tag="APP-USER-7")
    assert known.action == "RequestStartTransaction"
    assert (known.payload["idToken"], known.payload["evseId"]) == ({"idToken": "CARD-1", "type": "ISO15693"}, 2)
    assert (
        unknown.payload["idToken"] == {"idToken": "APP-USER-7", "type": "Central"} and "evseId" not in unknown.payload
    )
    ids = [known.payload["remoteStartId"], unknown.payload["remoteStartId"]]
    assert all(0 < value < 2**31 for value in ids) and ids[0] != ids[1]
    for request in (known, unknown):
        validate(Kind.CALL, request.action, request.payload, "2.0.1")


@pytest.mark.django_db
def test_remote_start_passes_a_charging_profile_on() -> None:
    profile = {
        "id": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": [
            {"id": 1, "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]}
        ],
    }
    request = SHORTCUTS.remote_start(id_tag="T", connector_id=1, charging_profile=profile)
    assert request.payload["chargingProfile"] == profile
    validate(Kind.CALL, request.action, request.payload, "2.0.1")


@pytest.mark.django_db
def test_remote_stop_names_the_stations_own_transaction_id() -> None:
    cp = ChargePoint.objects.create(charge_point_id="CS-1", ocpp_version="2.0.1")
    at = datetime(2026, 11, 23, 10, tzinfo=UTC)
    common = {"charge_point": cp, "started_at": at, "start_received_at": at, "id_tag_status": "Accepted"}
    active = Transaction.objects.create(charger_transaction_id="TX-abc", connector_id=1, **common)
    ended = Transaction.objects.create(charger_transaction_id="TX-old", connector_id=2, stopped_at=at, **common)
    v16 = Transaction.objects.create(connector_id=3, **common)
    request = SHORTCUTS.remote_stop(transaction_id=active.pk)
    assert (request.action, request.payload) == ("RequestStopTransaction", {"transactionId": "TX-abc"})
    validate(Kind.CALL, request.action, request.payload, "2.0.1")
    for pk in (ended.pk, v16.pk, v16.pk + 1000):
        with pytest.raises(CommandError) as exc:
            SHORTCUTS.remote_stop(transaction_id=pk)
        assert "transaction_id" in exc.value.errors
