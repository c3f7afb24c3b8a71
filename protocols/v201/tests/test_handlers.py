"""Every Call a 2.0.1 station sends is answered with a reply its result schema accepts, and kept where it belongs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from chargers.models import ChargePoint, ChargerEvent, RegistrationStatus
from mqtt_bridge.frames import Kind
from protocols import for_version
from protocols.v201 import handlers, sessions
from protocols.v201 import protocol as v201_protocol
from protocols.v201.actions import CHARGER_ACTIONS, CSMS_ACTIONS
from protocols.validation import validate

from .calls import PAYLOADS, handle

pytestmark = pytest.mark.django_db

V201 = "2.0.1"


@pytest.fixture(autouse=True)
def accepted() -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id="CS-1", registration_status=RegistrationStatus.ACCEPTED, ocpp_version=V201
    )


def test_the_package_is_registered_and_knows_the_64_actions() -> None:
    protocol = for_version(V201)
    assert protocol is not None and protocol.admit is not None
    assert len(CHARGER_ACTIONS) == 25 and len(CSMS_ACTIONS) == 39
    assert not CHARGER_ACTIONS & CSMS_ACTIONS
    assert set(protocol.handlers) <= CHARGER_ACTIONS
    assert set(protocol.bulk_handlers) <= set(protocol.handlers)


@pytest.mark.parametrize("action", sorted(CHARGER_ACTIONS))
def test_every_station_action_is_answered_with_a_schema_valid_reply(action: str) -> None:
    if action in {"Authorize", "TransactionEvent", "MeterValues"} and action not in sessions.HANDLERS:
        pytest.skip("the sessions' handlers (protocols.v201.sessions) are not in yet")
    reply = handle(action, PAYLOADS[action])
    assert reply.kind == Kind.RESULT, (reply.error_code, reply.error_description)
    validate(Kind.RESULT, action, reply.payload, V201)


# The recorded notifications no block gives a meaning to yet (a block's handler replaces the core's).
UNCLAIMED = sorted(
    action for action in handlers._RECORDED if v201_protocol.HANDLERS[action] is handlers.HANDLERS[action]
)


@pytest.mark.parametrize("action", UNCLAIMED)
def test_the_notifications_without_a_meaning_yet_are_recorded_with_their_action(action: str) -> None:
    handle(action, PAYLOADS[action])
    event = ChargerEvent.objects.get()
    assert (event.kind, event.status, event.detail) == ("notification", action, PAYLOADS[action])


def test_the_honest_answers_of_the_recorded_notifications() -> None:
    # A CSR that is no CSR: the CSMS CA says why (certificates.services.csr_check).
    assert (
        handle("SignCertificate", PAYLOADS["SignCertificate"], "1").payload["statusInfo"]["reasonCode"] == "InvalidPEM"
    )
    assert handle("Get15118EVCertificate", PAYLOADS["Get15118EVCertificate"], "2").payload == {
        "status": "Failed",
        "exiResponse": "",
    }
    assert handle("GetCertificateStatus", PAYLOADS["GetCertificateStatus"], "3").payload == {"status": "Failed"}
    assert handle("NotifyEVChargingNeeds", PAYLOADS["NotifyEVChargingNeeds"], "4").payload == {"status": "Rejected"}
    assert handle("NotifyEVChargingSchedule", PAYLOADS["NotifyEVChargingSchedule"], "5").payload == {
        "status": "Accepted"
    }


def test_data_transfer_of_an_unknown_vendor_is_recorded_and_answered_unknown_vendor_id() -> None:
    reply = handle("DataTransfer", PAYLOADS["DataTransfer"])
    assert reply.payload == {"status": "UnknownVendorId"}
    event = ChargerEvent.objects.get()
    assert (event.kind, event.status, event.detail["data"]) == ("data_transfer", "com.example", {"x": 1})


@pytest.fixture
def vendor() -> Iterator[list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []

    def answer(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
        seen.append(payload)
        return {"status": "Accepted", "data": "pong"}

    handlers.vendor_register("com.example", answer)
    yield seen
    handlers.VENDORS.pop("com.example")


def test_data_transfer_of_a_registered_vendor_gets_its_handlers_answer(vendor: list[dict[str, Any]]) -> None:
    reply = handle("DataTransfer", PAYLOADS["DataTransfer"])
    assert reply.payload == {"status": "Accepted", "data": "pong"}
    assert vendor == [PAYLOADS["DataTransfer"]]
    assert handle("DataTransfer", {"vendorId": "org.other"}, "m2").payload == {"status": "UnknownVendorId"}


def test_notify_event_keeps_one_event_per_event_data_item() -> None:
    second = {
        **PAYLOADS["NotifyEvent"]["eventData"][0],
        "eventId": 2,
        "timestamp": "2026-11-23T10:00:05Z",
        "component": {"name": "ChargingStation"},
        "variable": {"name": "Problem"},
        "actualValue": "true",
    }
    payload = {**PAYLOADS["NotifyEvent"], "eventData": [*PAYLOADS["NotifyEvent"]["eventData"], second], "tbc": True}
    assert handle("NotifyEvent", payload).payload == {}
    events = list(ChargerEvent.objects.order_by("charger_timestamp"))
    assert [(e.kind, e.status) for e in events] == [
        ("notify_event", "EVSE.AvailabilityState"),
        ("notify_event", "ChargingStation.Problem"),
    ]
    assert events[1].charger_timestamp is not None and events[1].charger_timestamp.isoformat() == (
        "2026-11-23T10:00:05+00:00"
    )
    assert (events[1].detail["actualValue"], events[1].detail["seqNo"], events[1].detail["tbc"]) == ("true", 0, True)


def test_notify_event_with_a_timestamp_that_is_no_date_names_the_field_and_keeps_nothing() -> None:
    item = {**PAYLOADS["NotifyEvent"]["eventData"][0], "timestamp": "yesterday"}
    reply = handle("NotifyEvent", {**PAYLOADS["NotifyEvent"], "eventData": [item]})
    assert (reply.kind, reply.error_code) == (Kind.ERROR, "PropertyConstraintViolation")
    assert reply.error_details["field"] == "eventData.0.timestamp"
    assert not ChargerEvent.objects.exists()


@pytest.mark.parametrize(
    ("action", "kind", "status"),
    [
        ("SecurityEventNotification", "security", "FirmwareUpdated"),
        ("FirmwareStatusNotification", "firmware_status", "Downloading"),
        ("LogStatusNotification", "log_status", "Uploaded"),
    ],
)
def test_notifications_with_a_kind_of_their_own(action: str, kind: str, status: str) -> None:
    assert handle(action, PAYLOADS[action]).payload == {}
    event = ChargerEvent.objects.get()
    assert (event.kind, event.status, event.detail) == (kind, status, PAYLOADS[action])
    if action == "SecurityEventNotification":
        assert (
            event.charger_timestamp is not None and event.charger_timestamp.isoformat() == "2026-11-23T10:00:00+00:00"
        )


def test_a_csms_only_action_sent_by_a_station_is_not_supported() -> None:
    reply = handle("RequestStartTransaction", {"idToken": {"idToken": "T", "type": "Central"}, "remoteStartId": 1})
    assert (reply.kind, reply.error_code) == (Kind.ERROR, "NotSupported")


def test_an_unknown_action_is_not_implemented() -> None:
    reply = handle("StartTransaction", {"connectorId": 1})  # a 1.6 action: no such thing in 2.0.1
    assert (reply.kind, reply.error_code) == (Kind.ERROR, "NotImplemented")


def test_a_status_notification_whose_timestamp_is_no_date_is_refused_naming_the_field() -> None:
    reply = handle("StatusNotification", {**PAYLOADS["StatusNotification"], "timestamp": "not a date"})
    assert (reply.error_code, reply.error_details["field"]) == ("PropertyConstraintViolation", "timestamp")
