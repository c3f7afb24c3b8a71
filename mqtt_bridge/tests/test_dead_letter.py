"""A quarantined Call is answered on its own route, whatever the item it came in lacks."""

from __future__ import annotations

from typing import Any

import pytest

from mqtt_bridge.frames import Kind
from mqtt_bridge.models import DeadLetter
from mqtt_bridge.processing import dead_letter_record

pytestmark = pytest.mark.django_db


def quarantine(frame: dict[str, Any]) -> Any:
    return dead_letter_record(item={"frame": frame}, reason="worker_lost", description="test", deliveries=3)


def test_a_quarantined_call_naming_no_route_is_answered_in_the_default_version_dialect_and_transport() -> None:
    # An item from an older bridge, or a damaged one, may carry only the envelope.
    envelope = {"charge_point_id": "CP-DL1", "kind": int(Kind.CALL), "message_id": "m-1", "action": "Heartbeat"}
    reply = quarantine(envelope)
    assert reply is not None
    assert (reply.kind, reply.message_id, reply.error_code) == (Kind.ERROR, "m-1", "InternalError")
    assert (reply.ocpp_version, reply.dialect, reply.transport) == ("1.6", "emqx", "mqtt")
    assert DeadLetter.objects.get(charge_point_id="CP-DL1").answered


def test_a_quarantined_call_is_answered_on_the_route_it_came_in() -> None:
    frame = {"charge_point_id": "CP-DL2", "kind": int(Kind.CALL), "message_id": "m-2", "action": "Heartbeat"}
    reply = quarantine(frame | {"ocpp_version": "2.0.1", "dialect": "ocppj", "transport": "amqp"})
    assert reply is not None
    assert (reply.ocpp_version, reply.dialect, reply.transport) == ("2.0.1", "ocppj", "amqp")
