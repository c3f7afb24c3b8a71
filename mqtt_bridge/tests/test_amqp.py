"""The AMQP transport on the real RabbitMQ: the consumer feeding the ingest core, the publisher, /healthz.

The broker plays the RabbitMQ Web OCPP plugin (``amqp_plugin.Plugin``). At this level the ingest core
is the real one except for its last step: ``RecordingIngest`` keeps each batch it would hand to
Celery instead of sending it (``test_amqp_e2e`` runs the real worker), then acknowledges as the core
does. One test keeps the real Celery hand-off with Redis down, to show nothing is acknowledged early.
"""

from __future__ import annotations

import logging
import queue
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from pytest_django.fixtures import Settings

from backoffice import metrics
from backoffice.celery import app
from backoffice.settings import _amqp_prefixes
from mqtt_bridge import bridge, outbound
from mqtt_bridge.frames import Frame, Kind, Rejected
from mqtt_bridge.ingest import Ingest, Received
from mqtt_bridge.models import MessageLog
from mqtt_bridge.processing import rejected_record
from mqtt_bridge.transports import PublishError, amqp
from mqtt_bridge.transports.amqp import AmqpConsumer, AmqpPublisher, AmqpRoutes, Refusal

from .amqp_plugin import AMQP_URL, Plugin, broker_cleanup, requires_rabbitmq, unique

pytestmark = requires_rabbitmq


class RecordingIngest(Ingest):
    """The ingest core, its Celery hand-off replaced by a record of the items (acknowledged after it)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.items: queue.Queue[dict[str, Any]] = queue.Queue()

    def _enqueue(self, batch: list[Received]) -> None:
        for received in batch:
            self.items.put(received.item)

    def next_item(self, timeout: float = 10) -> dict[str, Any]:
        try:
            return self.items.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the consumer handed nothing to the core within {timeout} s") from None


class Running:
    def __init__(self, consumer: AmqpConsumer, ingest: Ingest, queue_name: str) -> None:
        self.consumer, self.ingest, self.queue_name = consumer, ingest, queue_name

    def stop(self) -> None:
        # As the bridge does: the core drains (its last acks reach the consumer), then the consumer closes.
        self.ingest.stop()
        self.consumer.stop()


def _start(exchange: str, queue_name: str, ingest: Ingest, **kwargs: Any) -> Running:
    consumer = AmqpConsumer(url=AMQP_URL, queue_name=queue_name, exchange=exchange, **kwargs)
    ingest.start()
    consumer.start(ingest)
    assert consumer.wait_connected(10), "the AMQP consumer did not connect"
    return Running(consumer, ingest, queue_name)


@pytest.fixture
def exchange() -> Iterator[str]:
    name = unique("csms-test-x")
    yield name
    broker_cleanup(exchanges=[name])


@pytest.fixture
def queue_name() -> Iterator[str]:
    name = unique("csms-test-q")
    yield name
    broker_cleanup(queues=[name])


@pytest.fixture
def running(exchange: str, queue_name: str) -> Iterator[Running]:
    started = _start(exchange, queue_name, RecordingIngest())
    yield started
    started.stop()


@pytest.fixture
def plugin(exchange: str) -> Iterator[Plugin]:
    played = Plugin(exchange)
    yield played
    played.close()


def _recorded(running: Running) -> RecordingIngest:
    assert isinstance(running.ingest, RecordingIngest)
    return running.ingest


def _rejected_counts() -> dict[str, int]:
    raw = metrics.get_redis().hgetall(metrics.COUNTER_PREFIX + "csms_frames_rejected_total")
    return {key.decode() if isinstance(key, bytes) else key: int(value) for key, value in raw.items()}


# --- routes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("routing_key", "reply_to", "reason"),
    [
        ("ocpp16.Heartbeat.req", None, "no_charge_point_id"),
        ("ocpp16.Heartbeat.req", "", "no_charge_point_id"),
        ("ocpp16.Heartbeat.req", "CP.1", "bad_charge_point_id"),
        ("ocpp16.Heartbeat.req", "CP*", "bad_charge_point_id"),
        ("ocpp16.Heartbeat.req", "CP#", "bad_charge_point_id"),
        ("ocpp16.Heartbeat.req", "CP\x00", "bad_charge_point_id"),
        ("ocpp16.Heartbeat.req", "C" * 49, "bad_charge_point_id"),
        ("ocpp16.Heartbeat.req", "CP\udcff", "bad_charge_point_id"),
        ("ocpp15.Heartbeat.req", "CP1", "bad_routing_key"),
        ("ocpp16.Heartbeat", "CP1", "bad_routing_key"),
        ("ocpp16.Heartbeat.reply", "CP1", "bad_routing_key"),
        ("csms.ocpp", "CP1", "bad_routing_key"),
    ],
)
def test_a_routing_key_or_charger_id_the_plugin_never_writes_names_no_route(
    routing_key: str, reply_to: str | None, reason: str
) -> None:
    refusal = AmqpRoutes({"ocpp16": "1.6"}).match(routing_key=routing_key, reply_to=reply_to)
    assert isinstance(refusal, Refusal) and refusal.reason == reason, refusal


def test_settings_read_the_prefixes_loudly() -> None:
    assert _amqp_prefixes("ocpp16=1.6, ocpp201 = 2.0.1") == {"ocpp16": "1.6", "ocpp201": "2.0.1"}
    for bad in ("ocpp16", "ocpp.16=1.6", "ocpp#=1.6", "ocpp16=one", "ocpp16=1..6", "ocpp16=1.6,"):
        with pytest.raises(ImproperlyConfigured):
            _amqp_prefixes(bad)


# --- the consumer -------------------------------------------------------------------------------------


def test_a_1_6_call_becomes_a_frame_of_the_amqp_route_and_is_acknowledged(running: Running, plugin: Plugin) -> None:
    cid = unique("CP")
    message_id = plugin.call(cid, "BootNotification", {"chargePointVendor": "ACME", "chargePointModel": "M"})
    frame = _recorded(running).next_item()["frame"]
    assert (frame["charge_point_id"], frame["message_id"], frame["action"]) == (cid, message_id, "BootNotification")
    assert (frame["transport"], frame["dialect"], frame["ocpp_version"]) == ("amqp", "ocppj", "1.6")
    assert frame["topic"] == "ocpp16.BootNotification.req"
    assert frame["payload"] == {"chargePointVendor": "ACME", "chargePointModel": "M"}
    running.stop()
    assert plugin.queue_depth(running.queue_name) == 0  # acknowledged: not handed back on close


@pytest.mark.parametrize(("version", "prefix"), [("2.0.1", "ocpp201"), ("2.1", "ocpp21")])
def test_a_2_x_delivery_becomes_a_frame_of_its_routing_keys_version(
    running: Running, plugin: Plugin, version: str, prefix: str
) -> None:
    cid = unique("CS")
    boot = {"reason": "PowerUp", "chargingStation": {"vendorName": "ACME", "model": "M"}}
    plugin.call(cid, "BootNotification", boot, version=version)
    frame = _recorded(running).next_item()["frame"]
    assert (frame["ocpp_version"], frame["transport"], frame["charge_point_id"]) == (version, "amqp", cid)
    assert frame["topic"] == f"{prefix}.BootNotification.req" and frame["payload"] == boot


def test_a_chargers_result_and_error_are_frames_of_their_kind(running: Running, plugin: Plugin) -> None:
    cid = unique("CP")
    plugin.send(cid, [3, "ours-1", {"status": "Accepted"}], action_of_call="Reset")
    plugin.send(cid, [4, "ours-2", "NotSupported", "no", {}])
    result, error = _recorded(running).next_item()["frame"], _recorded(running).next_item()["frame"]
    assert (result["kind"], result["message_id"], result["payload"]) == (3, "ours-1", {"status": "Accepted"})
    assert result["topic"] == "ocpp16.Reset.conf"
    assert (error["kind"], error["message_id"], error["error_code"]) == (4, "ours-2", "NotSupported")
    assert error["topic"] == "ocpp16.NotSupported.error"


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_the_plugins_offline_notice_is_a_disconnected_presence_event(
    running: Running, plugin: Plugin, version: str
) -> None:
    cid = unique("CP")
    plugin.offline(cid, version=version, at=datetime(2026, 11, 23, 10, 0, 5, tzinfo=UTC))
    item = _recorded(running).next_item()
    assert "frame" not in item, item  # never a Call: nothing answers it
    presence = item["presence"]
    assert (presence["charge_point_id"], presence["connected"]) == (cid, False)
    assert datetime.fromisoformat(presence["at"]) == datetime(2026, 11, 23, 10, 0, 5, tzinfo=UTC)
    assert presence["topic"] == f"{'ocpp16' if version == '1.6' else 'ocpp201'}.StatusNotification.req"


def test_a_chargers_own_unavailable_status_is_an_ordinary_call(running: Running, plugin: Plugin) -> None:
    cid = unique("CP")
    # The shape of the plugin's notice, but a charger's own vendor: it must be answered.
    own = {
        "connectorId": 0,
        "status": "Unavailable",
        "errorCode": "NoError",
        "vendorId": "acme",
        "vendorErrorCode": "Offline",
    }
    plugin.call(cid, "StatusNotification", own)
    # 2.0.1's marker is under customData: in the payload itself it is the charger's.
    v201 = {"timestamp": "2026-11-23T10:00:00Z", "connectorStatus": "Unavailable", "evseId": 0, "connectorId": 0,
            "vendorId": "rabbitmq", "vendorErrorCode": "Offline"}  # fmt: skip
    plugin.call(cid, "StatusNotification", v201, version="2.0.1")
    assert _recorded(running).next_item()["frame"]["payload"] == own
    assert _recorded(running).next_item()["frame"]["payload"] == v201


def test_deliveries_that_name_no_route_are_refused_acknowledged_and_do_not_block_the_queue(
    running: Running, plugin: Plugin, exchange: str
) -> None:
    cid = unique("CP")
    # A binding left from an earlier configuration, and a message published to our queue directly.
    plugin.channel.queue_bind(running.queue_name, exchange=exchange, routing_key="ocpp15.#")
    body = [2, "m1", "Heartbeat", {}]
    plugin.publish(body, routing_key="ocpp16.Heartbeat.req", reply_to=None)
    plugin.publish(body, routing_key="ocpp16.Heartbeat.req", reply_to="CP.7")
    plugin.publish(body, routing_key="ocpp16.Heartbeat.req", reply_to="CP*")
    plugin.publish(body, routing_key="ocpp15.Heartbeat.req", reply_to=cid)
    plugin.publish(body, routing_key=running.queue_name, reply_to=cid, exchange="")
    plugin.call(cid, "Heartbeat", {})
    ingest = _recorded(running)
    reasons = [ingest.next_item()["rejected"]["reason"] for _ in range(5)]
    assert reasons == [
        "no_charge_point_id",
        "bad_charge_point_id",
        "bad_charge_point_id",
        "bad_routing_key",
        "bad_routing_key",
    ]
    assert ingest.next_item()["frame"]["charge_point_id"] == cid  # the queue goes on
    running.stop()
    assert plugin.queue_depth(running.queue_name) == 0


def test_a_reply_to_that_is_not_utf8_is_refused_without_wedging_the_consumer(running: Running, plugin: Plugin) -> None:
    # py-amqp decodes properties strictly: without the tolerant decoder this delivery broke the
    # connection's framing and came back after every reconnect, and nothing behind it was read.
    cid = unique("CP")
    plugin.publish([2, "m1", "Heartbeat", {}], routing_key="ocpp16.Heartbeat.req", reply_to=b"\xff\xfeCP")
    plugin.call(cid, "Heartbeat", {})
    ingest = _recorded(running)
    assert ingest.next_item()["rejected"]["reason"] == "bad_charge_point_id"
    assert ingest.next_item()["frame"]["charge_point_id"] == cid
    running.stop()
    assert plugin.queue_depth(running.queue_name) == 0


def test_frames_published_while_the_bridge_is_down_wait_in_the_durable_queue(
    exchange: str, queue_name: str, plugin: Plugin
) -> None:
    # Declared and bound at the bridge's first start: from then on nothing is dropped while it is away.
    _start(exchange, queue_name, RecordingIngest()).stop()
    cid = unique("CP")
    sent = [plugin.call(cid, "Heartbeat", {}) for _ in range(3)]
    assert plugin.queue_depth(queue_name) == 3
    again = _start(exchange, queue_name, RecordingIngest())
    try:
        ingest = _recorded(again)
        assert [ingest.next_item()["frame"]["message_id"] for _ in sent] == sent
    finally:
        again.stop()
    assert plugin.queue_depth(queue_name) == 0


def test_a_consumer_whose_queue_was_deleted_reconnects_and_declares_it_again(running: Running, plugin: Plugin) -> None:
    key = metrics.encode_labels({"transport": "amqp"})
    name = metrics.COUNTER_PREFIX + "csms_bridge_reconnects_total"
    before = int(metrics.get_redis().hget(name, key) or 0)
    plugin.channel.queue_delete(running.queue_name)  # an operator's mistake: the broker cancels our consumer
    deadline = time.monotonic() + 15
    while int(metrics.get_redis().hget(name, key) or 0) == before:
        assert time.monotonic() < deadline, "the consumer never reconnected"
        time.sleep(0.1)
    assert running.consumer.wait_connected(10)
    cid = unique("CP")
    plugin.call(cid, "Heartbeat", {})
    assert _recorded(running).next_item()["frame"]["charge_point_id"] == cid


def test_the_default_exchange_is_amq_topic(queue_name: str, settings: Settings) -> None:
    # A prefix of this test's own, so that no other consumer bound to amq.topic sees its frames.
    prefix = f"ocpp16t{uuid.uuid4().hex[:8]}"
    consumer = AmqpConsumer(url=AMQP_URL, queue_name=queue_name, prefixes={prefix: "1.6"})
    assert consumer.exchange_name == "amq.topic"
    ingest = RecordingIngest()
    ingest.start()
    consumer.start(ingest)
    played = Plugin("amq.topic")
    try:
        assert consumer.wait_connected(10)
        played.publish([2, "d1", "Heartbeat", {}], routing_key=f"{prefix}.Heartbeat.req", reply_to="CP-DEFAULT")
        assert ingest.next_item()["frame"]["charge_point_id"] == "CP-DEFAULT"
    finally:
        played.close()
        Running(consumer, ingest, queue_name).stop()


@pytest.fixture
def redis_down() -> Iterator[Callable[[], None]]:
    """The Celery broker unreachable until the test calls what it gets (test_ingest's, for this module)."""

    def broker(url: str) -> None:
        app.conf.update(broker_url=url)
        app._pool = None  # type: ignore[attr-defined]
        app.amqp._producer_pool = None  # type: ignore[attr-defined]

    good = app.conf.broker_url
    broker("redis://127.0.0.1:1/0")
    yield lambda: broker(good)
    broker(good)


def test_deliveries_are_acknowledged_only_once_their_task_is_in_celery_and_prefetch_is_bounded(
    exchange: str,
    queue_name: str,
    plugin: Plugin,
    redis_down: Callable[[], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="mqtt_bridge.ingest")
    first = _start(exchange, queue_name, Ingest(batch_size=100), prefetch=5)
    cid = unique("CP")
    for _ in range(8):
        plugin.call(cid, "Heartbeat", {})
    deadline = time.monotonic() + 15
    while sum("could not enqueue" in r.getMessage() for r in caplog.records) < 2 or plugin.queue_depth(queue_name) > 3:
        assert time.monotonic() < deadline, "the core never tried to enqueue the deliveries"
        time.sleep(0.1)
    assert plugin.queue_depth(queue_name) == 3  # five delivered (the prefetch), three still waiting
    first.consumer.stop()  # unacknowledged: the broker keeps all eight
    assert plugin.queue_depth(queue_name) == 8
    redis_down()  # Redis back: the core's late acks find the old connection gone
    first.ingest.stop()
    # A new consumer gets everything again, and this time acknowledges it.
    second = _start(exchange, queue_name, RecordingIngest())
    ingest = _recorded(second)
    handed = [ingest.next_item() for _ in range(8)]
    second.stop()
    assert {item["frame"]["charge_point_id"] for item in handed} == {cid}
    assert plugin.queue_depth(queue_name) == 0


@pytest.mark.django_db
def test_a_refusal_is_logged_counted_and_kept_once_a_worker_records_it(running: Running, plugin: Plugin) -> None:
    before = _rejected_counts()
    plugin.publish([2, "m1", "Heartbeat", {}], routing_key="ocpp16.Heartbeat.req", reply_to="a#b")
    item = _recorded(running).next_item()
    assert rejected_record(Rejected.from_task(item["rejected"])) is None  # no charger to answer
    key = metrics.encode_labels({"reason": "bad_charge_point_id"})
    assert _rejected_counts().get(key, 0) == before.get(key, 0) + 1
    kept = MessageLog.objects.get(topic="ocpp16.Heartbeat.req", error_code="bad_charge_point_id")
    assert kept.raw == '[2, "m1", "Heartbeat", {}]' and "a#b" in kept.error_description


# --- the publisher --------------------------------------------------------------------------------------


def _reply(cid: str, message_id: str = "m-1") -> Frame:
    call = Frame(
        charge_point_id=cid,
        kind=Kind.CALL,
        message_id=message_id,
        action="Heartbeat",
        dialect="ocppj",
        transport="amqp",
    )
    return call.reply({"currentTime": "2026-11-23T10:00:00Z"})


def test_a_frame_goes_to_the_chargers_queue_as_ocpp_j_with_an_expiration(plugin: Plugin) -> None:
    cid = unique("CP")
    plugin.connect(cid)
    command = Frame(
        charge_point_id=cid,
        kind=Kind.CALL,
        message_id="c-1",
        action="Reset",
        payload={"type": "Soft"},
        dialect="ocppj",
        transport="amqp",
    )
    sender = AmqpPublisher(url=AMQP_URL, exchange=plugin.exchange, ttl_seconds=17)
    try:
        sender.publish([_reply(cid), command])
    finally:
        sender.close()
    body, properties = plugin.downlink(cid)
    assert body == [3, "m-1", {"currentTime": "2026-11-23T10:00:00Z"}]
    assert properties["content_type"] == "application/json" and properties["expiration"] == "17000"
    assert properties["correlation_id"] == "m-1"
    body, properties = plugin.downlink(cid)
    assert body == [2, "c-1", "Reset", {"type": "Soft"}] and properties["type"] == "Reset"


def test_outbound_sends_an_amqp_frame_through_the_amqp_publisher(
    plugin: Plugin, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.AMQP_URL, settings.CSMS_AMQP_EXCHANGE = AMQP_URL, plugin.exchange
    monkeypatch.setattr(amqp, "_publisher", None)  # this process's publisher, built with these settings
    assert outbound.TRANSPORTS["amqp"] is amqp.publisher
    cid = unique("CP")
    plugin.connect(cid)
    try:
        outbound.publish([_reply(cid)])
        assert plugin.downlink(cid)[0][:2] == [3, "m-1"]
    finally:
        amqp.publisher().close()


def test_the_publisher_replaces_a_broken_connection_and_goes_on(plugin: Plugin) -> None:
    cid = unique("CP")
    plugin.connect(cid)
    sender = AmqpPublisher(url=AMQP_URL, exchange=plugin.exchange)
    try:
        sender.publish([_reply(cid, "before")])
        assert sender._connection is not None
        sender._connection.connection.sock.close()  # the socket dies under the idle publisher
        sender.publish([_reply(cid, "after")])
    finally:
        sender.close()
    assert [plugin.downlink(cid)[0][1] for _ in range(2)] == ["before", "after"]


def test_publishing_raises_publish_error_when_the_broker_cannot_take_it(plugin: Plugin) -> None:
    unreachable = AmqpPublisher(url="amqp://guest:guest@127.0.0.1:1/", exchange=plugin.exchange)
    with pytest.raises(PublishError):
        unreachable.publish([_reply(unique("CP"))], timeout=2)
    missing = AmqpPublisher(url=AMQP_URL, exchange=unique("csms-test-missing"))
    with pytest.raises(PublishError):
        missing.publish([_reply(unique("CP"))], timeout=2)
    with pytest.raises(PublishError):
        AmqpPublisher(url="", exchange="").publish([_reply("CP")])


def test_a_frame_the_broker_refuses_is_a_publish_error(plugin: Plugin) -> None:
    # A charger's queue limited by its operator (a backlog bound): the broker nacks what does not fit.
    cid = unique("CP")
    queue = f"ocpp.{cid}"
    plugin.channel.queue_declare(
        queue, durable=True, auto_delete=False, arguments={"x-max-length": 1, "x-overflow": "reject-publish"}
    )
    plugin.channel.queue_bind(queue, exchange=plugin.exchange, routing_key=cid)
    plugin.queues.add(queue)
    sender = AmqpPublisher(url=AMQP_URL, exchange=plugin.exchange)
    try:
        with pytest.raises(PublishError, match="refused 1 frame"):
            sender.publish([_reply(cid, "fits"), _reply(cid, "does-not-fit")])
        plugin.downlink(cid)  # room again
        sender.publish([_reply(cid, "next")])  # the publisher goes on
    finally:
        sender.close()
    assert plugin.downlink(cid)[0][1] == "next"


def test_a_downlink_no_queue_is_bound_for_is_dropped_and_counted(plugin: Plugin) -> None:
    key = metrics.encode_labels({"transport": "amqp"})
    name = metrics.COUNTER_PREFIX + "csms_frames_unroutable_total"
    before = int(metrics.get_redis().hget(name, key) or 0)
    sender = AmqpPublisher(url=AMQP_URL, exchange=plugin.exchange)
    try:
        sender.publish([_reply(unique("NEVER"))])  # confirmed: the broker took it, then had nowhere to put it
    finally:
        sender.close()
    assert int(metrics.get_redis().hget(name, key) or 0) == before + 1


# --- the bridge and /healthz ---------------------------------------------------------------------------


def test_the_bridge_runs_an_amqp_consumer_only_when_amqp_url_is_set(settings: Settings) -> None:
    settings.AMQP_URL = ""
    assert bridge.CONSUMERS["amqp"]({}) is None
    settings.AMQP_URL = AMQP_URL
    assert isinstance(bridge.CONSUMERS["amqp"]({}), AmqpConsumer)


@pytest.mark.django_db
def test_healthz_checks_rabbitmq_when_amqp_is_enabled(client: Client, settings: Settings, plugin: Plugin) -> None:
    settings.AMQP_URL = ""
    assert "amqp" not in client.get("/healthz").json()
    settings.AMQP_URL, settings.CSMS_AMQP_EXCHANGE = AMQP_URL, plugin.exchange
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["amqp"]["status"] == "ok", response.json()
    settings.CSMS_AMQP_EXCHANGE = unique("csms-test-missing")  # the plugin's exchange is not there
    response = client.get("/healthz")
    assert response.status_code == 503 and "NOT_FOUND" in response.json()["amqp"]["reason"]
    settings.AMQP_URL = "amqp://guest:guest@127.0.0.1:1/"
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["amqp"]["status"] == "error"
    assert response.json()["database"]["status"] == "ok"
