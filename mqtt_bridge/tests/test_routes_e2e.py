"""A dedicated route of raw OCPP-J chargers (CSMS_MQTT_ROUTES), end to end through the real broker.

A second bridge process serves only that route (its default topics moved out of the way), beside the
session's stack whose worker handles what both bridges enqueue.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import RUN_ID, TOPIC_PREFIX, GatewayClient, Stack, unique_cid
from mqtt_bridge.models import MessageLog

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RAW_TOPIC = TOPIC_PREFIX + "charger/{cid}"


@pytest.fixture(scope="module")
def raw_bridge(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    unused = TOPIC_PREFIX + "raw-bridge-unused/"
    bridge = Stack(
        Path(tmp_path_factory.mktemp("raw-bridge")),
        CSMS_MQTT_CLIENT_ID=f"test-raw-bridge-{RUN_ID}",
        CSMS_MQTT_ROUTES=f"ocppj@1.6:{RAW_TOPIC}",
        CSMS_TOPIC_CALL=unused + "cp/{cid}",
        CSMS_TOPIC_REPLY=unused + "cp/{cid}/Reply",
        CSMS_TOPIC_PRESENCE=unused + "presence/{cid}/connected",
        CSMS_TOPIC_CALL_V201="",  # the session stack's bridge serves the built-in 2.0.1 route
    )
    bridge.start_bridge()
    client = GatewayClient()
    try:
        deadline = time.monotonic() + 60
        probe = unique_cid("rawprobe")
        while True:  # answered once the bridge is subscribed
            message_id = uuid.uuid4().hex[:12]
            client.publish(probe, [2, message_id, "Heartbeat", {}], topic=RAW_TOPIC.format(cid=probe))
            if not client.no_reply(message_id, wait=3):
                break
            if time.monotonic() > deadline:
                raise AssertionError("the raw route was not served within 60 s\n" + bridge.logs())
        yield bridge
    finally:
        client.close()
        if bridge.bridge is not None:
            bridge.stop_bridge()


def test_a_raw_ocpp_j_route_answers_arrays(raw_bridge: Stack, gateway: GatewayClient, cid: str) -> None:
    gateway.publish(cid, [2, "raw-1", "Heartbeat", {}], topic=RAW_TOPIC.format(cid=cid))
    reply = gateway.reply("raw-1")
    assert isinstance(reply, list) and reply[:2] == [3, "raw-1"] and "currentTime" in reply[2]


def test_a_raw_route_refuses_an_emqx_envelope(raw_bridge: Stack, gateway: GatewayClient, cid: str) -> None:
    envelope = {"MessageTypeId": 2, "UniqueId": "env-1", "Action": "Heartbeat", "Payload": {}}
    gateway.publish(cid, envelope, topic=RAW_TOPIC.format(cid=cid))
    deadline = time.monotonic() + 15
    while not MessageLog.objects.filter(charge_point_id=cid, error_code="bad_structure").exists():
        assert time.monotonic() < deadline, "the envelope was not logged as refused"
        time.sleep(0.1)
    assert gateway.no_reply("env-1")
