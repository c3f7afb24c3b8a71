"""The 2.0.1 routes (issue 15, item 1): the built-in one of our gateway's 2.0.1 sockets
(CSMS_TOPIC_CALL_V201 / CSMS_TOPIC_REPLY_V201) and a raw OCPP-J route of chargers that speak 2.0.1 over
MQTT themselves (CSMS_MQTT_ROUTES ``ocppj@2.0.1:...``). A frame's version is its route's, never its payload's.

What is asserted is the Frame the ingest core hands the worker (version, dialect, transport, topic),
not a 2.0.1 reply: the handlers are the protocol package's business. The last tests go through the real
broker: our gateway with a real WebSocket client, the bridge's MQTT consumer, the ingest core's decoding.
"""

from __future__ import annotations

import asyncio
import json
import queue
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from gateway.server import GatewayConfig
from gateway.tests.conftest import GatewayThread
from mqtt_bridge.frames import Frame, Kind, Rejected
from mqtt_bridge.ingest import Acknowledge, Ingest
from mqtt_bridge.mqtt import broker_address, client_create
from mqtt_bridge.routes import Route, RouteMatch, RouteSpec
from mqtt_bridge.topics import DEFAULT_SPEC, V201_SPEC, Topics
from mqtt_bridge.transports import Token
from mqtt_bridge.transports.mqtt import MqttConsumer

BOOT_201 = {"chargingStation": {"model": "m1", "vendorName": "v1"}, "reason": "PowerUp"}
BOOT_16 = {"chargePointVendor": "v1", "chargePointModel": "m1"}


def emqx_defaults(**kwargs: Any) -> Topics:
    """The bridge's default topics, as a stock deployment has them."""
    return Topics(
        call="ocpp/cp/{cid}",
        reply="ocpp/cp/{cid}/Reply",
        downstream="ocpp/cs/{cid}",
        presence=["$SYS/brokers/+/gateway/ocpp/clients/{cid}/connected"],
        call_v201="ocpp/v201/cp/{cid}",
        reply_v201="ocpp/v201/cp/{cid}/Reply",
        **kwargs,
    )


def ingested(topics: Topics, topic: str, payload: Any) -> Frame | Rejected:
    """What the ingest core makes of ``payload`` published on ``topic``."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    item = Ingest().decode(match=topics.match(topic), source=topic, payload=raw)
    if "frame" in item:
        return Frame.from_task(item["frame"])
    return Rejected.from_task(item["rejected"])


def test_the_201_route_is_our_gateways_envelope_or_ocpp_j_in_201_over_mqtt() -> None:
    assert V201_SPEC == RouteSpec(transport="mqtt", dialects=("emqx", "ocppj"), ocpp_version="2.0.1")
    topics = emqx_defaults()
    assert {"ocpp/v201/cp/+", "ocpp/v201/cp/+/Reply", "ocpp/cp/+", "ocpp/cp/+/Reply"} <= set(topics.subscriptions)
    call = topics.match("ocpp/v201/cp/CS-1")
    reply = topics.match("ocpp/v201/cp/CS-1/Reply")
    assert call == RouteMatch(Route.CALL, "CS-1", "", V201_SPEC)
    assert reply == RouteMatch(Route.REPLY, "CS-1", "", V201_SPEC)


def test_the_16_route_is_unchanged_beside_it() -> None:
    """A stock EMQX deployment changes nothing: its topics are still the 1.6 default route."""
    topics = emqx_defaults()
    for topic, route in (("ocpp/cp/CP-1", Route.CALL), ("ocpp/cp/CP-1/Reply", Route.REPLY)):
        assert topics.match(topic) == RouteMatch(route, "CP-1", "", DEFAULT_SPEC)
    # "v201" is a charge point id like any other on the 1.6 route
    assert topics.match("ocpp/cp/v201") == RouteMatch(Route.CALL, "v201", "", DEFAULT_SPEC)


def test_settings_subscribe_the_201_route_by_default(settings: Any) -> None:
    topics = Topics.from_settings()
    assert settings.CSMS_TOPIC_CALL_V201.replace("{cid}", "+") in topics.subscriptions
    assert settings.CSMS_TOPIC_REPLY_V201.replace("{cid}", "+") in topics.subscriptions
    match = topics.match(settings.CSMS_TOPIC_CALL_V201.replace("{cid}", "CS-1"))
    assert match is not None and match.spec == V201_SPEC
    # CSMS_DEFAULT_DIALECT orders the 1.6 route's dialects only: our gateway writes envelopes for 2.0.1
    settings.CSMS_DEFAULT_DIALECT = "ocppj"
    assert V201_SPEC in Topics.from_settings().specs


@pytest.mark.parametrize("setting", ["CSMS_TOPIC_CALL_V201", "CSMS_TOPIC_REPLY_V201"])
def test_an_empty_v201_topic_turns_the_route_off(settings: Any, setting: str) -> None:
    call = settings.CSMS_TOPIC_CALL_V201.replace("{cid}", "CS-1")
    setattr(settings, setting, "")
    topics = Topics.from_settings()
    assert V201_SPEC not in topics.specs
    assert not any("v201" in subscription for subscription in topics.subscriptions)
    refused = ingested(topics, call, {"MessageTypeId": 2, "UniqueId": "u", "Action": "Heartbeat", "Payload": {}})
    assert isinstance(refused, Rejected) and refused.reason == "bad_topic"


def test_a_frame_on_the_201_topics_is_a_201_frame() -> None:
    topics = emqx_defaults()
    frame = ingested(
        topics,
        "ocpp/v201/cp/CS-1",
        {"MessageTypeId": 2, "UniqueId": "b1", "Action": "BootNotification", "Payload": BOOT_201},
    )
    assert isinstance(frame, Frame)
    assert (frame.charge_point_id, frame.kind, frame.message_id, frame.action, frame.payload) == (
        "CS-1",
        Kind.CALL,
        "b1",
        "BootNotification",
        BOOT_201,
    )
    assert (frame.ocpp_version, frame.dialect, frame.transport, frame.topic) == (
        "2.0.1",
        "emqx",
        "mqtt",
        "ocpp/v201/cp/CS-1",
    )
    result = ingested(topics, "ocpp/v201/cp/CS-1/Reply", {"MessageTypeId": 3, "UniqueId": "c1", "Payload": {}})
    assert isinstance(result, Frame) and (result.kind, result.ocpp_version) == (Kind.RESULT, "2.0.1")
    error = ingested(
        topics,
        "ocpp/v201/cp/CS-1/Reply",
        {"MessageTypeId": 4, "UniqueId": "c2", "ErrorCode": "FormatViolation", "ErrorDescription": "x"},
    )
    assert isinstance(error, Frame) and (error.kind, error.error_code, error.ocpp_version) == (
        Kind.ERROR,
        "FormatViolation",
        "2.0.1",
    )
    raw = ingested(topics, "ocpp/v201/cp/CS-1", [2, "h1", "Heartbeat", {}])
    assert isinstance(raw, Frame) and (raw.dialect, raw.ocpp_version) == ("ocppj", "2.0.1")


def test_the_version_comes_from_the_route_never_from_the_payload() -> None:
    """A 1.6 payload on the 2.0.1 route is a 2.0.1 frame (its schema will refuse it), and the reverse."""
    topics = emqx_defaults()
    on_201 = ingested(
        topics,
        "ocpp/v201/cp/CS-1",
        {"MessageTypeId": 2, "UniqueId": "b", "Action": "BootNotification", "Payload": BOOT_16},
    )
    on_16 = ingested(
        topics, "ocpp/cp/CP-1", {"MessageTypeId": 2, "UniqueId": "b", "Action": "BootNotification", "Payload": BOOT_201}
    )
    assert isinstance(on_201, Frame) and on_201.ocpp_version == "2.0.1"
    assert isinstance(on_16, Frame) and on_16.ocpp_version == "1.6"


def test_a_poison_call_on_the_201_route_is_answered_in_201() -> None:
    topics = emqx_defaults()
    deep = b'{"MessageTypeId":2,"UniqueId":"d","Action":"DataTransfer","Payload":{"vendorId":"v","data":' + b"[" * 100
    refused = ingested(topics, "ocpp/v201/cp/CS-1", deep + b"]" * 100 + b"}}")
    assert isinstance(refused, Rejected) and refused.reply is not None
    reply = refused.reply
    assert (reply.kind, reply.message_id, reply.error_code) == (Kind.ERROR, "d", "FormatViolation")
    assert (reply.ocpp_version, reply.dialect) == ("2.0.1", "emqx")


# --- raw 2.0.1 chargers over MQTT: a CSMS_MQTT_ROUTES entry ---------------------------------------


@pytest.fixture
def raw_201(settings: Any) -> Topics:
    settings.CSMS_MQTT_ROUTES = ["ocppj@2.0.1:charger201/{cid}"]
    return Topics.from_settings()


def test_a_raw_201_route_entry(raw_201: Topics) -> None:
    match = raw_201.match("charger201/EVSE-7")
    assert match == RouteMatch(
        Route.CALL, "EVSE-7", "", RouteSpec(transport="mqtt", dialects=("ocppj",), ocpp_version="2.0.1")
    )
    assert "charger201/+" in raw_201.subscriptions
    assert V201_SPEC in raw_201.specs  # beside the built-in 2.0.1 route


def test_a_raw_201_route_takes_ocpp_j_arrays_as_201_frames(raw_201: Topics) -> None:
    call = ingested(raw_201, "charger201/EVSE-7", [2, "b1", "BootNotification", BOOT_201])
    assert isinstance(call, Frame)
    assert (call.kind, call.action, call.payload, call.ocpp_version, call.dialect, call.transport) == (
        Kind.CALL,
        "BootNotification",
        BOOT_201,
        "2.0.1",
        "ocppj",
        "mqtt",
    )
    # results and errors come on the same topic; the MessageTypeId tells them apart
    result = ingested(raw_201, "charger201/EVSE-7", [3, "c1", {"status": "Accepted"}])
    assert isinstance(result, Frame) and (result.kind, result.ocpp_version) == (Kind.RESULT, "2.0.1")
    error = ingested(raw_201, "charger201/EVSE-7", [4, "c2", "NotSupported", "no", {"why": 1}])
    assert isinstance(error, Frame) and (error.kind, error.error_code, error.ocpp_version) == (
        Kind.ERROR,
        "NotSupported",
        "2.0.1",
    )


def test_a_raw_201_route_refuses_an_envelope(raw_201: Topics) -> None:
    refused = ingested(
        raw_201, "charger201/EVSE-7", {"MessageTypeId": 2, "UniqueId": "e", "Action": "Heartbeat", "Payload": {}}
    )
    assert isinstance(refused, Rejected) and refused.reason == "bad_structure"


def test_a_poison_call_on_a_raw_201_route_is_answered_as_an_array_in_201(raw_201: Topics) -> None:
    refused = ingested(raw_201, "charger201/EVSE-7", b'[2,"d","DataTransfer",{"vendorId":"v","data":' + b"[" * 100)
    assert isinstance(refused, Rejected) and refused.reply is not None
    reply = refused.reply
    assert (reply.message_id, reply.error_code, reply.ocpp_version, reply.dialect) == (
        "d",
        "FormatViolation",
        "2.0.1",
        "ocppj",
    )


# --- through the real broker --------------------------------------------------------------------


class RecordingIngest(Ingest):
    """The ingest core's decoding, recorded instead of sent to Celery (the handlers are not under test)."""

    def __init__(self) -> None:
        super().__init__()
        self.items: queue.Queue[dict[str, Any]] = queue.Queue()

    def receive(self, *, match: RouteMatch | None, source: str, payload: bytes, ack: Acknowledge, token: Token) -> None:
        self.items.put(self.decode(match=match, source=source, payload=payload))
        ack([token])

    def frame(self, timeout: float = 10) -> Frame:
        try:
            item = self.items.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"nothing ingested within {timeout} s") from None
        assert "frame" in item, item
        return Frame.from_task(item["frame"])


@pytest.fixture
def prefix() -> str:
    return f"v201test-{uuid.uuid4().hex[:8]}/"


@pytest.fixture
def consumer(prefix: str) -> Iterator[tuple[MqttConsumer, RecordingIngest]]:
    """The bridge's MQTT consumer on the default routes (under ``prefix``), feeding a RecordingIngest."""
    topics = Topics(
        call=prefix + "ocpp/cp/{cid}",
        reply=prefix + "ocpp/cp/{cid}/Reply",
        downstream=prefix + "ocpp/cs/{cid}",
        call_v201=prefix + "ocpp/v201/cp/{cid}",
        reply_v201=prefix + "ocpp/v201/cp/{cid}/Reply",
    )
    client_id = f"v201test-bridge-{uuid.uuid4().hex[:8]}"
    running = MqttConsumer(client_id=client_id, topics=topics)
    ingest = RecordingIngest()
    subacks: queue.Queue[int] = queue.Queue()
    logs_refusals = running.client.on_subscribe
    assert logs_refusals is not None

    def on_subscribe(*args: Any) -> None:
        logs_refusals(*args)
        subacks.put(1)

    running.client.on_subscribe = on_subscribe
    running.start(ingest)
    assert running.wait_connected(10), "the consumer did not connect"
    subacks.get(timeout=10)  # SUBACK: what is published from now on is delivered
    try:
        yield running, ingest
    finally:
        running.stop()
        # The consumer's session is persistent: leave none behind in the broker.
        cleaner = client_create(client_id=client_id, clean_session=True)
        cleaner.connect(*broker_address())
        cleaner.disconnect()


def test_our_gateways_201_frames_are_ingested_as_201(
    consumer: tuple[MqttConsumer, RecordingIngest], prefix: str
) -> None:
    """A 2.0.1 WebSocket client -> our gateway -> the v201 topic -> the bridge's consumer -> a 2.0.1 Frame;
    a 1.6 client on the same gateway -> a 1.6 Frame, as before."""
    _, ingest = consumer
    config = GatewayConfig.from_settings(
        host="127.0.0.1",
        port=0,
        allow_anonymous=True,
        mqtt_client_id=f"v201test-gw-{uuid.uuid4().hex[:8]}",
        mqtt_clean_session=True,
        presence_templates=[],
        stats_interval=3600,
        topic_call=prefix + "ocpp/cp/{cid}",
        topic_reply=prefix + "ocpp/cp/{cid}/Reply",
        topic_call_v201=prefix + "ocpp/v201/cp/{cid}",
        topic_reply_v201=prefix + "ocpp/v201/cp/{cid}/Reply",
        topic_downstream=prefix + "ocpp/cs/{cid}",
    )
    gateway = GatewayThread(config)
    url = gateway.url

    async def send(cid: str, offered: Sequence[str], frames: list[list[Any]]) -> str | None:
        async with connect(f"{url}/{cid}", subprotocols=[Subprotocol(p) for p in offered]) as ws:
            for frame in frames:
                await ws.send(json.dumps(frame))
            await asyncio.sleep(0.2)
            return ws.subprotocol

    try:
        assert asyncio.run(send("CS-201", ["ocpp2.0.1", "ocpp1.6"], [[2, "b1", "BootNotification", BOOT_201]])) == (
            "ocpp2.0.1"
        )
        boot = ingest.frame()
        assert asyncio.run(send("CS-201", ["ocpp2.0.1"], [[3, "r1", {"status": "Accepted"}]])) == "ocpp2.0.1"
        result = ingest.frame()
        assert asyncio.run(send("CP-16", ["ocpp1.6"], [[2, "b2", "BootNotification", BOOT_16]])) == "ocpp1.6"
        old = ingest.frame()
    finally:
        gateway.stop()
    assert (boot.charge_point_id, boot.kind, boot.action, boot.payload) == (
        "CS-201",
        Kind.CALL,
        "BootNotification",
        BOOT_201,
    )
    assert (boot.ocpp_version, boot.dialect, boot.transport, boot.topic) == (
        "2.0.1",
        "emqx",
        "mqtt",
        prefix + "ocpp/v201/cp/CS-201",
    )
    assert (result.kind, result.message_id, result.ocpp_version, result.topic) == (
        Kind.RESULT,
        "r1",
        "2.0.1",
        prefix + "ocpp/v201/cp/CS-201/Reply",
    )
    assert (old.charge_point_id, old.ocpp_version, old.dialect, old.topic) == (
        "CP-16",
        "1.6",
        "emqx",
        prefix + "ocpp/cp/CP-16",
    )
