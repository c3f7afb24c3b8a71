"""What a 2.0.1 route answers that 1.6 drops: OCPP-J 2.0.1's RpcFrameworkError and MessageTypeNotSupported."""

from __future__ import annotations

import pytest

from mqtt_bridge import dialects
from mqtt_bridge.frames import Frame, Rejected, utcnow
from mqtt_bridge.topics import Route, RouteSpec, TopicMatch

V201 = TopicMatch(Route.CALL, "CS-1", spec=RouteSpec(dialects=("ocppj",), ocpp_version="2.0.1"))
V16 = TopicMatch(Route.CALL, "CS-1", spec=RouteSpec(dialects=("ocppj",), ocpp_version="1.6"))


def decode(payload: str, match: TopicMatch) -> Frame | Rejected:
    return dialects.decode(
        topic="charger/CS-1", match=match, payload=payload.encode(), received_at=utcnow(), max_bytes=65536
    )


@pytest.mark.parametrize(
    "payload", ["not json", "{}", '"text"', "[2]", '[2, 17, "Heartbeat", {}]', '[2, "", "Heartbeat", {}]']
)
def test_a_message_whose_id_cannot_be_read_is_answered_rpc_framework_error_to_minus_one(payload: str) -> None:
    rejected = decode(payload, V201)
    assert isinstance(rejected, Rejected) and rejected.reply is not None
    assert (rejected.reply.message_id, rejected.reply.error_code) == ("-1", "RpcFrameworkError")
    assert rejected.reply.ocpp_version == "2.0.1"
    # 1.6 has no such rule: logged and dropped, as always.
    old = decode(payload, V16)
    assert isinstance(old, Rejected) and old.reply is None


def test_an_unknown_message_type_with_a_readable_id_is_message_type_not_supported() -> None:
    rejected = decode('[7, "m-1", "Heartbeat", {}]', V201)
    assert isinstance(rejected, Rejected) and rejected.reply is not None
    assert (rejected.reply.message_id, rejected.reply.error_code) == ("m-1", "MessageTypeNotSupported")
    old = decode('[7, "m-1", "Heartbeat", {}]', V16)
    assert isinstance(old, Rejected) and old.reply is None


def test_a_readable_call_keeps_its_own_id_and_the_2_0_1_spelling() -> None:
    rejected = decode('[2, "m-2", "Heartbeat", []]', V201)
    assert isinstance(rejected, Rejected) and rejected.reply is not None
    assert (rejected.reply.message_id, rejected.reply.error_code) == ("m-2", "FormatViolation")
