"""Decoding and encoding the gateways' payloads (WIRE.md), without a broker."""

from __future__ import annotations

import json

import pytest

from mqtt_bridge import dialects
from mqtt_bridge.frames import Frame, Kind, Rejected, utcnow
from mqtt_bridge.topics import Route, RouteSpec, TopicMatch

MATCH = TopicMatch(Route.CALL, "CP-1")


def decode(payload: bytes | str, match: TopicMatch = MATCH, max_bytes: int = 65536) -> Frame | Rejected:
    data = payload.encode() if isinstance(payload, str) else payload
    return dialects.decode(topic="ocpp/cp/CP-1", match=match, payload=data, received_at=utcnow(), max_bytes=max_bytes)


def test_emqx_call_result_and_error() -> None:
    call = decode(
        '{"MessageTypeId": 2, "UniqueId": "3335862321", "Action": "BootNotification",'
        ' "Payload": {"chargePointVendor": "vendor1", "chargePointModel": "model1"}}'
    )
    assert isinstance(call, Frame)
    assert (call.kind, call.message_id, call.action, call.dialect) == (
        Kind.CALL,
        "3335862321",
        "BootNotification",
        "emqx",
    )
    assert call.payload == {"chargePointVendor": "vendor1", "chargePointModel": "model1"}
    result = decode('{"MessageTypeId": 3, "UniqueId": "b7", "Payload": {"status": "Accepted"}}')
    assert isinstance(result, Frame) and result.kind == Kind.RESULT and result.action == ""
    error = decode('{"MessageTypeId": 4, "UniqueId": "b7", "ErrorCode": "NotSupported", "ErrorDescription": "no"}')
    assert isinstance(error, Frame) and (error.error_code, error.error_description) == ("NotSupported", "no")


def test_raw_ocpp_j_arrays() -> None:
    call = decode('[2, "id1", "Heartbeat", {}]')
    assert isinstance(call, Frame) and (call.kind, call.action, call.dialect) == (Kind.CALL, "Heartbeat", "ocppj")
    error = decode('[4, "id2", "GenericError", "boom", {"x": 1}]')
    assert isinstance(error, Frame) and error.error_details == {"x": 1}


def test_action_from_an_override_topic() -> None:
    frame = decode('{"MessageTypeId": 2, "UniqueId": "1", "Payload": {}}', TopicMatch(Route.CALL, "CP-1", "Heartbeat"))
    assert isinstance(frame, Frame) and frame.action == "Heartbeat"


@pytest.mark.parametrize(
    ("payload", "reason", "answered_with"),
    [
        (b"\xff garbage", "not_json", None),
        ("42", "bad_structure", None),
        ('{"MessageTypeId": "2", "UniqueId": "a", "Action": "Heartbeat", "Payload": {}}', "bad_message_type", None),
        ('{"MessageTypeId": true, "UniqueId": "a"}', "bad_message_type", None),
        ('[5, "a", {}]', "bad_message_type", None),
        (
            '{"MessageTypeId": 2, "UniqueId": "%s", "Action": "Heartbeat", "Payload": {}}' % ("x" * 37),
            "bad_message_id",
            None,
        ),
        ('{"MessageTypeId": 2, "UniqueId": 12, "Action": "Heartbeat", "Payload": {}}', "bad_message_id", None),
        ('{"MessageTypeId": 2, "UniqueId": "a", "Payload": {}}', "bad_structure", "ProtocolError"),
        ('{"MessageTypeId": 2, "UniqueId": "a", "Action": "Heartbeat"}', "bad_structure", "ProtocolError"),
        ('[2, "a", "Heartbeat", []]', "bad_structure", "FormationViolation"),
        # Longer than any action and than the columns that keep action names.
        ('[2, "a", "%s", {}]' % ("A" * 65), "bad_structure", "NotImplemented"),
        ("[2]", "bad_structure", None),
        # The fuzz run's short arrays: the id is readable, so the Call is answered.
        ('[2, "a"]', "bad_structure", "ProtocolError"),
        ('[3, "a"]', "bad_structure", None),
    ],
)
def test_unreadable_payloads_are_rejected_with_a_reason(
    payload: str | bytes, reason: str, answered_with: str | None
) -> None:
    rejected = decode(payload)
    assert isinstance(rejected, Rejected)
    assert rejected.reason == reason and rejected.charge_point_id == "CP-1"
    if answered_with is None:
        assert rejected.reply is None
    else:
        assert rejected.reply is not None and rejected.reply.error_code == answered_with
        assert rejected.reply.message_id == "a"


def test_oversized_payload_is_rejected_before_parsing() -> None:
    rejected = decode(
        '{"MessageTypeId": 2, "UniqueId": "a", "Action": "DataTransfer", "Payload": {"data": "%s"}}' % ("z" * 600),
        max_bytes=256,
    )
    assert isinstance(rejected, Rejected) and rejected.reason == "oversized" and len(rejected.raw) == 256


def test_encode_matches_wire_md() -> None:
    call = Frame(charge_point_id="CP-1", kind=Kind.CALL, message_id="3335862321", action="BootNotification")
    reply = call.reply({"currentTime": "2026-11-22T14:20:39Z", "interval": 300, "status": "Accepted"})
    assert json.loads(dialects.encode(reply)) == {
        "MessageTypeId": 3,
        "UniqueId": "3335862321",
        "Payload": {"currentTime": "2026-11-22T14:20:39Z", "interval": 300, "status": "Accepted"},
    }
    error = call.error("FormationViolation", "...")
    assert json.loads(dialects.encode(error)) == {
        "MessageTypeId": 4,
        "UniqueId": "3335862321",
        "ErrorCode": "FormationViolation",
        "ErrorDescription": "...",
    }
    remote = Frame(
        charge_point_id="CP-1",
        kind=Kind.CALL,
        message_id="c0ffee01",
        action="RemoteStartTransaction",
        payload={"idTag": "04A2B3C4", "connectorId": 1},
    )
    assert json.loads(dialects.encode(remote)) == {
        "MessageTypeId": 2,
        "UniqueId": "c0ffee01",
        "Action": "RemoteStartTransaction",
        "Payload": {"idTag": "04A2B3C4", "connectorId": 1},
    }
    array_error = Frame(charge_point_id="CP-1", kind=Kind.CALL, message_id="m", dialect="ocppj").error(
        "NotImplemented", "d"
    )
    assert json.loads(dialects.encode(array_error)) == [4, "m", "NotImplemented", "d", {}]


def test_frame_survives_the_task_round_trip() -> None:
    frame = decode('[2, "id1", "Heartbeat", {}]')
    assert isinstance(frame, Frame)
    assert Frame.from_task(json.loads(json.dumps(frame.to_task()))) == frame


RAW_16 = TopicMatch(Route.CALL, "CP-1", spec=RouteSpec(dialects=("ocppj",), ocpp_version="1.6"))
RAW_201 = TopicMatch(Route.CALL, "CP-1", spec=RouteSpec(dialects=("ocppj",), ocpp_version="2.0.1"))


def test_the_frame_takes_its_version_and_transport_from_the_route() -> None:
    frame = decode('[2, "id1", "Heartbeat", {}]', RAW_201)
    assert isinstance(frame, Frame)
    assert (frame.ocpp_version, frame.transport, frame.dialect) == ("2.0.1", "mqtt", "ocppj")
    default = decode('{"MessageTypeId": 2, "UniqueId": "1", "Action": "Heartbeat", "Payload": {}}')
    assert isinstance(default, Frame) and (default.ocpp_version, default.transport) == ("1.6", "mqtt")


def test_a_route_refuses_a_dialect_it_does_not_declare() -> None:
    rejected = decode('{"MessageTypeId": 2, "UniqueId": "a", "Action": "Heartbeat", "Payload": {}}', RAW_16)
    assert isinstance(rejected, Rejected) and rejected.reason == "bad_structure" and rejected.reply is None
    assert "ocppj" in rejected.description


def test_a_reply_to_an_unreadable_call_is_spelt_in_the_route_version() -> None:
    rejected = decode('[2, "a", "Heartbeat", []]', RAW_201)
    assert isinstance(rejected, Rejected) and rejected.reply is not None
    assert (rejected.reply.error_code, rejected.reply.ocpp_version) == ("FormatViolation", "2.0.1")


def test_a_reply_to_a_refused_payload_is_in_the_route_dialect_when_its_head_is_not() -> None:
    # Too deep for the decoder; its head reads as an EMQX envelope, which this route does not take.
    deep = '{"MessageTypeId": 2, "UniqueId": "a", "Action": "DataTransfer", "Payload": %s}' % ("[" * 200 + "]" * 200)
    rejected = decode(deep, RAW_16)
    assert isinstance(rejected, Rejected) and rejected.reply is not None
    assert rejected.reply.dialect == "ocppj" and json.loads(dialects.encode(rejected.reply))[0] == 4
    # On the default route the head's structure is kept: an envelope is answered with an envelope.
    default = decode(deep)
    assert isinstance(default, Rejected) and default.reply is not None and default.reply.dialect == "emqx"
