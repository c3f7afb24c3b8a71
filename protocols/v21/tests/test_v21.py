"""OCPP 2.1 through the worker's processing (real PostgreSQL): 2.0.1's messages on 2.1's schemas, the
framing's SEND and CALLRESULTERROR, 255-character id tokens, periodic event streams, 2.1's commands.

Frames are built as the 2.1 route hands them to the worker (``ocpp_version="2.1"``).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from certificates.services import RENEWAL_TRIGGERS
from chargers.commands import CommandError, command_enqueue, command_next_send
from chargers.models import ChargePoint, Command, IdTag
from eventstreams.models import PeriodicEventStream, StreamValue
from maintenance.services import BUILDERS
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.models import InboundCall, MessageLog
from mqtt_bridge.processing import calls_handle, result_errors_record, results_handle, sends_handle
from protocols import for_version
from protocols.v21 import actions, errors
from protocols.validation import message_types
from transactions.models import Transaction

pytestmark = pytest.mark.django_db

AT = "2026-12-01T10:00:00Z"
BOOT: dict[str, Any] = {
    "reason": "PowerUp",
    "chargingStation": {"vendorName": "ACME", "model": "AC-21", "firmwareVersion": "2.1.0"},
}
LONG_TOKEN = "T" * 255
STREAM = {"id": 7, "variableMonitoringId": 3, "params": {"interval": 10, "values": 5}}


def frame(kind: Kind, action: str, payload: Any, message_id: str = "m1", cid: str = "CS-21", **extra: Any) -> Frame:
    return Frame(
        charge_point_id=cid,
        kind=kind,
        message_id=message_id,
        action=action,
        payload=payload,
        ocpp_version="2.1",
        dialect="ocppj",
        received_at=utcnow(),
        **extra,
    )


def handle(action: str, payload: dict[str, Any], message_id: str = "m1") -> Frame:
    return calls_handle([frame(Kind.CALL, action, payload, message_id)])[0]


def notify(stream_id: int = 7, values: list[tuple[float, str]] | None = None, **fields: Any) -> dict[str, Any]:
    data = [{"t": t, "v": v} for t, v in (values if values is not None else [(0, "230.1"), (10, "229.8")])]
    return {"id": stream_id, "pending": 0, "basetime": AT, "data": data, **fields}


@pytest.fixture
def station() -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id="CS-21", ocpp_version="2.1", registration_status="Accepted", online=True
    )


def sent(charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> Command:
    command = command_enqueue(charge_point=charge_point, action=action, payload=payload)
    out = command_next_send(charge_point_pk=charge_point.pk)
    assert out is not None and out.pk == command.pk
    command.refresh_from_db()
    return command


def answer(command: Command, payload: dict[str, Any]) -> Command:
    results_handle(
        [
            Frame(
                charge_point_id=command.charge_point.charge_point_id,
                kind=Kind.RESULT,
                message_id=command.message_id,
                payload=payload,
                ocpp_version="2.1",
                received_at=utcnow(),
            )
        ]
    )
    command.refresh_from_db()
    return command


# --- the version -------------------------------------------------------------------------------------


def test_2_1_has_the_framings_two_new_message_types_and_2_0_1_does_not() -> None:
    assert message_types("2.1") == {2, 3, 4, 5, 6}
    assert message_types("2.0.1") == message_types("1.6") == {2, 3, 4}


def test_2_1_lists_its_91_actions_and_keeps_every_2_0_1_station_action() -> None:
    protocol = for_version("2.1")
    assert protocol is not None
    assert len(actions.ACTIONS) == 91 and actions.SEND_ACTIONS == {"NotifyPeriodicEventStream"}
    assert actions.CHARGER_ACTIONS >= for_version("2.0.1").charger_actions  # type: ignore[union-attr]
    assert {"AdjustPeriodicEventStream", "GetPeriodicEventStream"} <= actions.COMMANDS
    assert set(protocol.send_handlers) == {"NotifyPeriodicEventStream"}


def test_2_0_1s_schema_bounds_name_definitions_2_1s_schemas_have() -> None:
    """The bounds 2.1 borrows from 2.0.1 must land on real definitions (``_patched`` would fail on a missing one)."""
    for (kind, action), definitions in errors.DEFINITION_BOUNDS.items():
        suffix = {2: "Request", 3: "Response"}[kind]
        schema = json.loads(Path(actions.SCHEMAS / f"{action}{suffix}.json").read_text(encoding="utf-8"))
        for name, fields in definitions.items():
            assert set(fields) <= set(schema["definitions"][name]["properties"]), (action, name)


# --- 2.0.1's messages in 2.1 ----------------------------------------------------------------------------


def test_TC_B_01_CSMS_a_2_1_boot_records_the_station_as_2_1(station: ChargePoint) -> None:
    reply = handle("BootNotification", BOOT)
    assert reply.kind == Kind.RESULT and reply.payload["status"] == "Accepted"
    station.refresh_from_db()
    assert (station.ocpp_version, station.model, station.firmware_version) == ("2.1", "AC-21", "2.1.0")
    # The device model is read after an accepted boot, in 2.1 (its schema checked the command).
    assert Command.objects.get(charge_point=station, action="GetBaseReport").request["reportBase"] == "FullInventory"


def test_a_255_character_id_token_is_authorized_and_starts_a_session(station: ChargePoint) -> None:
    IdTag.objects.create(id_tag=LONG_TOKEN, type="ISO14443")
    token = {"idToken": LONG_TOKEN, "type": "ISO14443"}
    assert handle("Authorize", {"idToken": token}).payload["idTokenInfo"]["status"] == "Accepted"
    started = handle(
        "TransactionEvent",
        {
            "eventType": "Started",
            "timestamp": AT,
            "triggerReason": "Authorized",
            "seqNo": 0,
            "transactionInfo": {"transactionId": "TX-21"},
            "evse": {"id": 1, "connectorId": 1},
            "idToken": token,
        },
        "m2",
    )
    assert started.kind == Kind.RESULT and started.payload["idTokenInfo"]["status"] == "Accepted"
    assert Transaction.objects.get(charge_point=station, charger_transaction_id="TX-21").id_tag == LONG_TOKEN


def test_a_token_of_a_20_character_custom_type_starts_its_session_and_is_kept_with_its_type(
    station: ChargePoint,
) -> None:
    # 2.1's idToken type is any string of up to 20 characters: a type we do not store is Unknown, never a crash.
    token = {"idToken": "FLEET-7", "type": "X" * 20}
    started = handle(
        "TransactionEvent",
        {
            "eventType": "Started",
            "timestamp": AT,
            "triggerReason": "Authorized",
            "seqNo": 0,
            "transactionInfo": {"transactionId": "TX-20"},
            "evse": {"id": 1, "connectorId": 1},
            "idToken": token,
        },
        "m3",
    )
    assert started.kind == Kind.RESULT, (started.error_code, started.error_description)
    assert started.payload["idTokenInfo"]["status"] in ("Unknown", "Invalid")
    session = Transaction.objects.get(charge_point=station, charger_transaction_id="TX-20")
    assert (session.id_tag, session.id_token_type) == ("FLEET-7", "X" * 20)


def test_a_256_character_id_token_is_a_property_constraint_violation(station: ChargePoint) -> None:
    reply = handle("Authorize", {"idToken": {"idToken": "T" * 256, "type": "ISO14443"}})
    assert (reply.kind, reply.error_code) == (Kind.ERROR, "PropertyConstraintViolation")
    assert "idToken.idToken" in reply.error_description


@pytest.mark.parametrize(
    ("action", "payload", "code"),
    [
        ("BootNotification", {"reason": "PowerUp"}, "OccurrenceConstraintViolation"),
        ("Heartbeat", {"surprise": 1}, "FormatViolation"),
        (
            "StatusNotification",
            {"timestamp": AT, "connectorStatus": "Available", "evseId": "1", "connectorId": 1},
            "TypeConstraintViolation",
        ),  # fmt: skip
        ("NoSuchAction", {}, "NotImplemented"),
        # A 2.1 station action no block implements: known, so NotSupported.
        (
            "BatterySwap",
            {
                "eventType": "BatteryIn",
                "requestId": 1,
                "idToken": {"idToken": "A", "type": "Local"},
                "batteryData": [{"evseId": 1, "serialNumber": "B1", "soC": 50, "soH": 90}],
            },
            "NotSupported",
        ),  # fmt: skip
        # An action only the CSMS sends.
        ("AdjustPeriodicEventStream", {"id": 1, "params": {}}, "NotSupported"),
    ],
)
def test_bad_input_gets_2_1s_error_codes(station: ChargePoint, action: str, payload: dict[str, Any], code: str) -> None:
    reply = handle(action, payload)
    assert (reply.kind, reply.error_code) == (Kind.ERROR, code), reply.error_description


def test_2_1s_new_fields_pass_2_1s_schema_where_2_0_1s_refuses_them(station: ChargePoint) -> None:
    """2.1 frames are validated against 2.1's schemas: a 2.1-only field is no FormatViolation."""
    payload = {"timestamp": AT, "connectorStatus": "Available", "evseId": 1, "connectorId": 1}
    assert handle("BootNotification", BOOT).kind == Kind.RESULT
    tx = {
        "eventType": "Started",
        "timestamp": AT,
        "triggerReason": "Authorized",
        "seqNo": 0,
        "transactionInfo": {"transactionId": "TX-NEW", "transactionLimit": {"maxEnergy": 10000.0}},
        "evse": {"id": 1, "connectorId": 1},
    }
    assert handle("TransactionEvent", tx, "m2").kind == Kind.RESULT
    assert handle("StatusNotification", payload, "m3").kind == Kind.RESULT
    as_2_0_1 = dataclasses.replace(frame(Kind.CALL, "TransactionEvent", tx, "m4"), ocpp_version="2.0.1")
    refused = calls_handle([as_2_0_1])[0]
    assert (refused.kind, refused.error_code) == (Kind.ERROR, "FormatViolation")


def test_a_pending_2_1_station_may_send_nothing_but_its_boot(station: ChargePoint) -> None:
    station.registration_status = "Pending"
    station.save()
    assert handle("Heartbeat", {}).error_code == "SecurityError"
    sends_handle([frame(Kind.SEND, "NotifyPeriodicEventStream", notify(), "s1")])
    assert not StreamValue.objects.exists()


# --- SEND -----------------------------------------------------------------------------------------------


def test_a_send_stores_its_values_and_is_never_answered(station: ChargePoint) -> None:
    handle("OpenPeriodicEventStream", {"constantStreamData": STREAM})
    sends_handle([frame(Kind.SEND, "NotifyPeriodicEventStream", notify(pending=2), "s1")])
    stream = PeriodicEventStream.objects.get(charge_point=station, stream_id=7)
    values = list(stream.stream_values.values_list("timestamp", "value", "numeric_value"))
    assert values == [
        (datetime(2026, 12, 1, 10, 0, tzinfo=UTC), "230.1", 230.1),
        (datetime(2026, 12, 1, 10, 0, 10, tzinfo=UTC), "229.8", 229.8),
    ]
    assert (stream.pending, stream.last_value_at) == (2, datetime(2026, 12, 1, 10, 0, 10, tzinfo=UTC))
    logged = MessageLog.objects.filter(charge_point_id="CS-21", message_id="s1")
    assert [(row.direction, row.kind) for row in logged] == [("in", "send")]  # nothing went out


def test_a_send_delivered_twice_is_applied_once(station: ChargePoint) -> None:
    send = frame(Kind.SEND, "NotifyPeriodicEventStream", notify(), "s1")
    sends_handle([send])
    sends_handle([send])
    assert StreamValue.objects.count() == 2
    notes = MessageLog.objects.filter(message_id="s1").values_list("error_description", flat=True)
    assert sorted(notes) == ["", "duplicate delivery"]
    # Past the duplicate window (its stored outcome gone), the values' natural key still holds.
    InboundCall.objects.all().delete()
    sends_handle([send])
    assert StreamValue.objects.count() == 2


@pytest.mark.parametrize(
    ("action", "payload", "code"),
    [
        ("NotifyPeriodicEventStream", {"id": 7, "pending": 0, "basetime": AT, "data": []}, "FormatViolation"),
        ("NotifyPeriodicEventStream", {**notify(), "basetime": "yesterday"}, "PropertyConstraintViolation"),
        ("NoSuchSend", {}, "NotImplemented"),
        # A Call's action sent as a SEND.
        ("Heartbeat", {}, "NotSupported"),
    ],
)
def test_a_bad_send_is_logged_and_counted_never_answered(
    station: ChargePoint, action: str, payload: dict[str, Any], code: str, caplog: pytest.LogCaptureFixture
) -> None:
    sends_handle([frame(Kind.SEND, action, payload, "bad")])
    row = MessageLog.objects.get(message_id="bad")
    assert (row.direction, row.kind, row.error_code) == ("in", "send", code)
    assert not StreamValue.objects.exists()
    lines = [record for record in caplog.records if "SEND refused" in record.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None
    # Still working: the next one is stored.
    sends_handle([frame(Kind.SEND, "NotifyPeriodicEventStream", notify(), "good")])
    assert StreamValue.objects.count() == 2


def test_values_of_a_stream_never_opened_are_kept(station: ChargePoint) -> None:
    sends_handle([frame(Kind.SEND, "NotifyPeriodicEventStream", notify(stream_id=9), "s1")])
    stream = PeriodicEventStream.objects.get(charge_point=station, stream_id=9)
    assert (stream.status, stream.variable_monitoring_id, stream.stream_values.count()) == ("open", None, 2)


# --- CALLRESULTERROR ------------------------------------------------------------------------------------


def test_a_callresulterror_is_logged_with_the_call_it_was_about_and_not_answered(
    station: ChargePoint, caplog: pytest.LogCaptureFixture
) -> None:
    handle("Heartbeat", {}, "hb-1")
    result_errors_record(
        [
            frame(
                Kind.RESULT_ERROR,
                "",
                None,
                "hb-1",
                error_code="FormatViolation",
                error_description="currentTime is no date",
                error_details={"field": "currentTime"},
            )
        ]
    )
    row = MessageLog.objects.get(message_id="hb-1", kind="result_error")
    assert (row.direction, row.action, row.error_code, row.payload) == (
        "in",
        "Heartbeat",
        "FormatViolation",
        {"field": "currentTime"},
    )
    assert MessageLog.objects.filter(message_id="hb-1", direction="out").count() == 1  # the Heartbeat's reply only
    assert any("CALLRESULTERROR" in record.getMessage() for record in caplog.records)


# --- periodic event streams: the station's Calls and the CSMS's commands ---------------------------------


def test_open_and_close_a_stream(station: ChargePoint) -> None:
    assert handle("OpenPeriodicEventStream", {"constantStreamData": STREAM}).payload == {"status": "Accepted"}
    stream = PeriodicEventStream.objects.get(charge_point=station, stream_id=7)
    assert (stream.variable_monitoring_id, stream.interval, stream.values, stream.status) == (3, 10, 5, "open")
    assert handle("ClosePeriodicEventStream", {"id": 7}, "m2").payload == {}
    stream.refresh_from_db()
    assert stream.status == "closed" and stream.closed_at is not None


def test_adjust_accepted_changes_the_streams_parameters_rejected_does_not(station: ChargePoint) -> None:
    handle("OpenPeriodicEventStream", {"constantStreamData": STREAM})
    accepted = answer(sent(station, "AdjustPeriodicEventStream", {"id": 7, "params": {"interval": 60}}),
                      {"status": "Accepted"})  # fmt: skip
    assert accepted.status == "accepted"
    assert PeriodicEventStream.objects.get(stream_id=7).interval == 60
    answer(sent(station, "AdjustPeriodicEventStream", {"id": 7, "params": {"interval": 1}}), {"status": "Rejected"})
    assert PeriodicEventStream.objects.get(stream_id=7).interval == 60


def test_get_periodic_event_stream_reports_the_open_streams(station: ChargePoint) -> None:
    handle("OpenPeriodicEventStream", {"constantStreamData": STREAM})
    other = {"id": 8, "variableMonitoringId": 4, "params": {"interval": 5}}
    answer(sent(station, "GetPeriodicEventStream", {}), {"constantStreamData": [other]})
    streams = dict(PeriodicEventStream.objects.values_list("stream_id", "status"))
    assert streams == {7: "closed", 8: "open"}


def test_2_1_commands_are_checked_against_2_1s_schemas(station: ChargePoint) -> None:
    with pytest.raises(CommandError, match="params"):
        command_enqueue(charge_point=station, action="AdjustPeriodicEventStream", payload={"id": 7})
    with pytest.raises(CommandError, match="not an OCPP 2.1 command"):
        command_enqueue(charge_point=station, action="BootNotification", payload={})
    # A 2.0.1 station has no such command.
    station.ocpp_version = "2.0.1"
    with pytest.raises(CommandError, match="not an OCPP 2.0.1 command"):
        command_enqueue(charge_point=station, action="GetPeriodicEventStream", payload={})


def test_2_0_1s_state_checks_hold_for_2_1(station: ChargePoint) -> None:
    with pytest.raises(CommandError, match="not an active session"):
        command_enqueue(charge_point=station, action="RequestStopTransaction", payload={"transactionId": "nope"})
    # A 255-character token in a remote start: 2.1's schema takes it (2.0.1's stops at 36).
    command = command_enqueue(
        charge_point=station,
        action="RequestStartTransaction",
        payload={"idToken": {"idToken": LONG_TOKEN, "type": "Central"}, "remoteStartId": 5},
    )
    assert command.request["idToken"]["idToken"] == LONG_TOKEN


def test_2_1_takes_2_0_1s_spellings_in_the_domains_registries() -> None:
    assert BUILDERS["2.1"] is BUILDERS["2.0.1"]
    assert RENEWAL_TRIGGERS["2.1"] == RENEWAL_TRIGGERS["2.0.1"]
