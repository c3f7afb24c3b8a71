"""outbound.publish: each frame through the publisher of its transport (the route its charger spoke on)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from conftest import GatewayClient, unique_cid
from mqtt_bridge import outbound
from mqtt_bridge.frames import Frame, Kind
from mqtt_bridge.transports import PublishError


class RecordingPublisher:
    """A second transport's publisher, as the registry sees one: it takes frames."""

    def __init__(self) -> None:
        self.published: list[list[Frame]] = []

    def publish(self, frames: Sequence[Frame]) -> None:
        self.published.append(list(frames))


def _heartbeat_reply(cid: str, message_id: str, transport: str) -> Frame:
    call = Frame(charge_point_id=cid, kind=Kind.CALL, message_id=message_id, action="Heartbeat", transport=transport)
    return call.reply({"currentTime": "2026-12-01T09:00:00Z"})


def test_frames_go_out_through_the_publisher_of_their_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    other = RecordingPublisher()
    monkeypatch.setitem(outbound.TRANSPORTS, "other", lambda: other)
    cid = unique_cid()
    gateway = GatewayClient()
    try:
        gateway.listen(cid)
        frames = [
            _heartbeat_reply(cid, "by-mqtt", "mqtt"),
            _heartbeat_reply(cid, "by-other-1", "other"),
            _heartbeat_reply(cid, "by-other-2", "other"),
        ]
        outbound.publish(frames)
        assert other.published == [frames[1:]]
        reply = gateway.reply("by-mqtt", timeout=10)
        assert isinstance(reply, dict) and reply["UniqueId"] == "by-mqtt"
        assert gateway.no_reply("by-other-1", wait=0.5)
    finally:
        gateway.close()


def test_a_frame_for_a_transport_not_running_here_is_a_publish_error() -> None:
    with pytest.raises(PublishError, match="amqp"):
        outbound.publish([_heartbeat_reply("CP-1", "m", "amqp")])


def test_a_reply_keeps_the_transport_of_the_call() -> None:
    assert _heartbeat_reply("CP-1", "m", "other").transport == "other"
    call = Frame(charge_point_id="CP-1", kind=Kind.CALL, message_id="m", action="Heartbeat", transport="other")
    assert call.error("GenericError", "x").transport == "other"
