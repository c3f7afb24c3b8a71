"""Every gateway at once (issue 16 item 3): one bridge, one worker, chargers on every transport.

The module's bridge runs the MQTT consumer (the EMQX-style routes, on topics of its own, and an MQTT
charger profile read every second) and the AMQP consumer (``AMQP_URL``, on an exchange and a queue of its
own, played as the RabbitMQ Web OCPP plugin). Four chargers: an EMQX-envelope one on the default topics,
a 1.6 firmware speaking OCPP-J on its profile's topics, a 1.6 charger and a 2.0.1 station behind the
plugin. Each is answered on the transport it spoke on and gets its commands there, presence is per
transport, the charger page and the API say which one, and the metrics count each transport apart.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as paho
import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from apikeys.services import api_token_create, roles_sync
from backoffice import metrics
from backoffice.celery import app
from chargers.commands import command_enqueue
from chargers.models import ChargePoint, Command
from conftest import RUN_ID, TOPIC_PREFIX, GatewayClient, Stack
from mqtt_bridge.ingest import Ingest
from mqtt_bridge.models import MessageLog
from mqtt_bridge.mqtt import broker_address, client_create
from mqtt_bridge.profiles import mqtt_profile_create
from mqtt_bridge.topics import Topics
from mqtt_bridge.transports.mqtt import MqttConsumer

from .amqp_plugin import AMQP_URL, Plugin, broker_cleanup, requires_rabbitmq, unique
from .test_amqp_e2e import boot, call_ok, wait_for
from .test_profiles_e2e import BOOT, Firmware

pytestmark = [requires_rabbitmq, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STATION_BOOT = {"reason": "PowerUp", "chargingStation": {"vendorName": "ACME", "model": "Station-201"}}
PRESENCE = "$SYS/brokers/+/gateway/ocpp/clients/{cid}"


class Emqx(GatewayClient):
    """The conftest's EMQX gateway, on the module's own topics (``base``) rather than the session's."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.downlinks: set[str] = set()  # the charger ids anything was sent to on the downstream topics
        super().__init__()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        self.downlinks.add(message.topic.rsplit("/", 1)[-1])
        super()._on_message(client, userdata, message)

    def listen_all(self) -> None:
        """Whatever we send on the downstream topics, to any charger."""
        assert self.client.subscribe(f"{self.base}ocpp/cs/+", qos=1)[0] == paho.MQTT_ERR_SUCCESS
        time.sleep(0.2)

    def listen(self, cid: str) -> None:
        topic = f"{self.base}ocpp/cs/{cid}"
        if topic not in self._subscribed:
            assert self.client.subscribe(topic, qos=1)[0] == paho.MQTT_ERR_SUCCESS
            self._subscribed.add(topic)
            time.sleep(0.2)  # let the SUBACK arrive before anything is published

    def publish(self, cid: str, payload: Any, topic: str | None = None) -> None:
        super().publish(cid, payload, topic or f"{self.base}ocpp/cp/{cid}")

    def answer(self, cid: str, message_id: str, payload: dict[str, Any]) -> None:
        reply = {"MessageTypeId": 3, "UniqueId": message_id, "Payload": payload}
        self.publish(cid, reply, topic=f"{self.base}ocpp/cp/{cid}/Reply")

    def disconnected(self, cid: str, reason: str) -> None:
        """EMQX's ``$SYS`` announcement that the charger's socket closed."""
        event = {"clientid": cid, "disconnected_at": int(time.time() * 1000), "reason": reason}
        self.publish(cid, event, topic=f"{self.base}{PRESENCE.replace('+', 'emqx@node1').format(cid=cid)}/disconnected")


class Everything:
    def __init__(self, stack: Stack, exchange: str, base: str) -> None:
        self.stack, self.exchange, self.base = stack, exchange, base


@pytest.fixture(scope="module")
def everything(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Everything]:
    own = f"{RUN_ID}-{uuid.uuid4().hex[:6]}"
    exchange, queue_name, celery_queue = f"csms-test-x-{own}", f"csms-test-q-{own}", f"test-{own}-all"
    base = f"{TOPIC_PREFIX}all-{own}/"
    stack = Stack(
        tmp_path_factory.mktemp("all-transports"),
        AMQP_URL=AMQP_URL,
        CSMS_AMQP_EXCHANGE=exchange,
        CSMS_AMQP_QUEUE=queue_name,
        CSMS_CELERY_QUEUE=celery_queue,
        CSMS_MQTT_CLIENT_ID=f"test-bridge-all-{own}",
        CSMS_MQTT_PROFILES_RELOAD="1",
        CSMS_TOPIC_CALL=base + "ocpp/cp/{cid}",
        CSMS_TOPIC_REPLY=base + "ocpp/cp/{cid}/Reply",
        CSMS_TOPIC_DOWNSTREAM=base + "ocpp/cs/{cid}",
        CSMS_TOPIC_PRESENCE=f"{base}{PRESENCE}/connected,{base}{PRESENCE}/disconnected",
        CSMS_TOPIC_CALL_V201=base + "ocpp/v201/cp/{cid}",
        CSMS_TOPIC_REPLY_V201=base + "ocpp/v201/cp/{cid}/Reply",
    )
    default_queue = app.conf.task_default_queue
    app.conf.task_default_queue = celery_queue  # the commands the tests queue reach this stack's worker
    plugin, gateway = Plugin(exchange), Emqx(base)
    try:
        stack.start_worker()
        stack.start_bridge()
        deadline = time.monotonic() + 60
        while True:  # both consumers answer
            try:
                probe = unique("probe")
                plugin.reply(probe, plugin.call(probe, "Heartbeat", {}), timeout=3)
                gateway.call(unique("probe"), "Heartbeat", {}, timeout=3)
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise AssertionError("the stack did not answer within 60 s\n" + stack.logs()) from None
        yield Everything(stack, exchange, base)
    finally:
        app.conf.task_default_queue = default_queue
        gateway.close()
        plugin.close()
        stack.stop()
        broker_cleanup(exchanges=[exchange], queues=[queue_name])


@pytest.fixture
def plugin(everything: Everything) -> Iterator[Plugin]:
    played = Plugin(everything.exchange)
    yield played
    played.close()
    everything.stack.drain()


@pytest.fixture
def gateway(everything: Everything) -> Iterator[Emqx]:
    client = Emqx(everything.base)
    yield client
    client.close()


@pytest.fixture
def firmware(everything: Everything) -> Iterator[Firmware]:
    """An MQTT charger profile (esp32-...) that takes Calls and wants the action in a result's id slot."""
    tag = uuid.uuid4().hex[:8]
    profile = mqtt_profile_create(
        name=f"esp32-{tag}",
        uplink_template=f"/{TOPIC_PREFIX}charger-{tag}/{{cid}}",
        downlink_template=f"/{TOPIC_PREFIX}system-{tag}/{{cid}}",
        reply_encoding="ocppj-action-id",
        accepts_calls=True,
        ids_restart_at_boot=True,
    )
    played = Firmware(profile)
    deadline = time.monotonic() + 30
    probe = unique("probe")
    while True:  # served once the bridge has read the profile (every second) and subscribed
        played.send(probe, [2, uuid.uuid4().hex[:8], "Heartbeat", {}])
        if not played.nothing(probe, wait=2):
            break
        if time.monotonic() > deadline:
            raise AssertionError("the profile was not served within 30 s\n" + everything.stack.logs())
    yield played
    everything.stack.drain()
    played.close()


class Chargers:
    """The four chargers' ids: EMQX envelope, MQTT profile, 1.6 over AMQP, 2.0.1 over AMQP."""

    def __init__(self) -> None:
        self.emqx, self.profile, self.amqp, self.station = (unique(p) for p in ("EMQX", "ESP", "RMQ", "RMQ201"))

    def all(self) -> list[str]:
        return [self.emqx, self.profile, self.amqp, self.station]


@pytest.fixture
def chargers() -> Chargers:
    return Chargers()


def counter(name: str, **labels: str) -> float:
    """The value of one counter series (0 when it was never counted)."""
    raw = metrics.get_redis().hget(metrics.COUNTER_PREFIX + name, metrics.encode_labels(labels))
    return float(raw or 0)


def latency_counts() -> dict[str, float]:
    """csms_reply_latency_seconds observations by transport."""
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        if family.name == "csms_reply_latency_seconds":
            for sample in family.samples:
                if sample.name.endswith("_count"):
                    transport = sample.labels.get("transport", "")
                    counts[transport] = counts.get(transport, 0) + sample.value
    return counts


def operator_api() -> APIClient:
    roles_sync()
    user = User.objects.create_user(username=f"operator-{uuid.uuid4().hex[:8]}")
    user.groups.add(Group.objects.get(name="operator"))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user, name='e2e')[1]}")
    return api


def no_command_in_flight(cid: str) -> bool:
    return not Command.objects.filter(charge_point__charge_point_id=cid, status=Command.Status.SENT).exists()


def test_four_chargers_on_every_transport_are_answered_and_commanded_on_their_own(
    plugin: Plugin, gateway: Emqx, firmware: Firmware, chargers: Chargers
) -> None:
    boots = {
        t: counter("csms_frames_in_total", action="BootNotification", outcome="ok", transport=t)
        for t in ("mqtt", "amqp")
    }
    clears = {
        t: counter("csms_frames_out_total", action="ClearCache", kind="call", transport=t) for t in ("mqtt", "amqp")
    }
    latencies = latency_counts()
    for cid in chargers.all():  # each charger's AMQP queue exists: what reaches it over AMQP is seen
        plugin.connect(cid)
    gateway.listen_all()

    # EMQX's envelope on the default topics; the configuration read after its boot in the envelope too.
    booted = gateway.call(chargers.emqx, "BootNotification", {"chargePointVendor": "ACME", "chargePointModel": "E"})
    assert booted["MessageTypeId"] == 3 and booted["Payload"]["status"] == "Accepted"
    envelope = gateway.next_call(chargers.emqx)
    assert envelope["Action"] == "GetConfiguration"
    gateway.answer(chargers.emqx, envelope["UniqueId"], {"configurationKey": []})
    # OCPP-J on the profile's topics, its reply quirk (the action in the id slot), its commands there.
    reply = firmware.call(chargers.profile, "1", "BootNotification", BOOT)
    assert reply[:2] == [3, "BootNotification"] and reply[2]["status"] == "Accepted"
    read = firmware_call(firmware, chargers.profile)
    assert read[2] == "GetConfiguration"
    firmware.send(chargers.profile, [3, read[1], {"configurationKey": []}])
    # The plugin's 1.6 charger and 2.0.1 station: replies and commands in their ocpp.<cid> queues.
    boot(plugin, chargers.amqp)
    accepted = call_ok(plugin, chargers.station, "BootNotification", STATION_BOOT, version="2.0.1")
    assert accepted["status"] == "Accepted"
    report = plugin.next_call(chargers.station)
    assert report[2] == "GetBaseReport"
    plugin.send(
        chargers.station, [3, report[1], {"status": "Accepted"}], version="2.0.1", action_of_call="GetBaseReport"
    )

    routes = {
        cid: ChargePoint.objects.values_list("transport", "dialect", "ocpp_version").get(charge_point_id=cid)
        for cid in chargers.all()
    }
    assert routes == {
        chargers.emqx: ("mqtt", "emqx", "1.6"),
        chargers.profile: ("mqtt", firmware.name, "1.6"),
        chargers.amqp: ("amqp", "ocppj", "1.6"),
        chargers.station: ("amqp", "ocppj", "2.0.1"),
    }

    # A command to each goes out on the transport it spoke on, and its result is recorded.
    for cid in chargers.all():
        wait_for(lambda cid=cid: no_command_in_flight(cid), what=f"{cid}'s boot command answered")
    commands = {
        cid: command_enqueue(charge_point=ChargePoint.objects.get(charge_point_id=cid), action="ClearCache", payload={})
        for cid in chargers.all()
    }
    envelope = gateway.next_call(chargers.emqx)
    assert (envelope["UniqueId"], envelope["Action"]) == (commands[chargers.emqx].message_id, "ClearCache")
    gateway.answer(chargers.emqx, envelope["UniqueId"], {"status": "Accepted"})
    call = firmware_call(firmware, chargers.profile)
    assert call == [2, commands[chargers.profile].message_id, "ClearCache", {}]
    firmware.send(chargers.profile, [3, call[1], {"status": "Accepted"}])
    for cid, version in ((chargers.amqp, "1.6"), (chargers.station, "2.0.1")):
        call = plugin.next_call(cid)
        assert call == [2, commands[cid].message_id, "ClearCache", {}]
        plugin.send(cid, [3, call[1], {"status": "Accepted"}], version=version, action_of_call="ClearCache")
    for cid, command in commands.items():
        wait_for(lambda pk=command.pk: Command.objects.get(pk=pk).status == Command.Status.ACCEPTED, what=cid)

    # Nothing went out on a transport the charger does not speak on.
    assert plugin.nothing_for(chargers.emqx, wait=0.5) and plugin.nothing_for(chargers.profile, wait=0.5)
    assert gateway.downlinks == {chargers.emqx}
    assert {cid for cid in firmware.received if not cid.startswith("probe")} == {chargers.profile}

    # Every transport is counted apart: frames in and out, reply latencies.
    for transport, before in boots.items():
        assert (
            counter("csms_frames_in_total", action="BootNotification", outcome="ok", transport=transport) >= before + 2
        )
    for transport, before in clears.items():
        assert counter("csms_frames_out_total", action="ClearCache", kind="call", transport=transport) >= before + 2
    after = latency_counts()
    assert after.get("mqtt", 0) > latencies.get("mqtt", 0) and after.get("amqp", 0) > latencies.get("amqp", 0)


def firmware_call(firmware: Firmware, cid: str) -> list[Any]:
    """The next Call we sent a profile's charger, as its firmware reads it."""
    body = json.loads(firmware.next(cid))
    assert isinstance(body, list) and body[0] == 2, body
    return body


def heartbeats(plugin: Plugin, gateway: Emqx, firmware: Firmware, chargers: Chargers) -> None:
    """A frame from each charger on its own transport: each is online, on that route."""
    gateway.call(chargers.emqx, "Heartbeat", {})
    assert firmware.call(chargers.profile, "1", "Heartbeat", {})[:2] == [3, "Heartbeat"]
    call_ok(plugin, chargers.amqp, "Heartbeat", {})
    call_ok(plugin, chargers.station, "Heartbeat", {}, version="2.0.1")
    assert ChargePoint.objects.filter(charge_point_id__in=chargers.all(), online=True).count() == 4


def presence_logged(cid: str, count: int = 1) -> bool:
    return MessageLog.objects.filter(charge_point_id=cid, kind="presence", action="disconnected").count() >= count


def test_presence_is_per_transport(plugin: Plugin, gateway: Emqx, firmware: Firmware, chargers: Chargers) -> None:
    heartbeats(plugin, gateway, firmware, chargers)
    # Announcements about a socket on the other transport (a charger that moved): logged, not applied.
    plugin.offline(chargers.emqx)
    gateway.disconnected(chargers.station, "keepalive_timeout")
    # The plugin's offline notice for its own charger.
    plugin.offline(chargers.amqp)
    for cid in (chargers.emqx, chargers.station, chargers.amqp):
        wait_for(lambda cid=cid: presence_logged(cid), what=f"{cid}'s disconnect handled")
    online = dict(
        ChargePoint.objects.filter(charge_point_id__in=chargers.all()).values_list("charge_point_id", "online")
    )
    assert online == {chargers.emqx: True, chargers.profile: True, chargers.amqp: False, chargers.station: True}
    assert plugin.nothing_for(chargers.amqp, wait=0.5)  # the notice is never answered
    # EMQX's announcement about its own charger applies.
    gateway.disconnected(chargers.emqx, "keepalive_timeout")
    wait_for(lambda: presence_logged(chargers.emqx, 2), what="the EMQX disconnect handled")
    emqx = ChargePoint.objects.get(charge_point_id=chargers.emqx)
    assert not emqx.online and emqx.last_disconnect_reason == "keepalive_timeout"
    assert ChargePoint.objects.get(charge_point_id=chargers.station).online


def test_the_charger_page_and_the_api_name_each_chargers_transport(
    plugin: Plugin, gateway: Emqx, firmware: Firmware, chargers: Chargers
) -> None:
    heartbeats(plugin, gateway, firmware, chargers)
    expected = {
        chargers.emqx: ("mqtt", "emqx", "1.6", "via MQTT (EMQX envelope)"),
        chargers.profile: ("mqtt", firmware.name, "1.6", f"via MQTT profile {firmware.name}"),
        chargers.amqp: ("amqp", "ocppj", "1.6", "via AMQP (RabbitMQ Web OCPP)"),
        chargers.station: ("amqp", "ocppj", "2.0.1", "via AMQP (RabbitMQ Web OCPP)"),
    }
    page = Client()
    page.force_login(User.objects.create_user(username=f"viewer-{uuid.uuid4().hex[:8]}"))
    api = operator_api()
    for cid, (transport, dialect, version, route) in expected.items():
        html = page.get(f"/chargers/{cid}/").content.decode()
        assert "<dd data-route" in html and f">{route}</dd>" in html, html
        assert f"<dd data-ocpp-version>{version}</dd>" in html
        detail = api.get(f"/api/v1/chargers/{cid}/").json()
        assert (detail["transport"], detail["dialect"], detail["ocpp_version"]) == (transport, dialect, version)


def test_healthz_checks_every_transport_enabled(everything: Everything, client: Client, settings: Settings) -> None:
    settings.AMQP_URL, settings.CSMS_AMQP_EXCHANGE = AMQP_URL, everything.exchange
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["mqtt"]["status"] == "ok" and body["amqp"]["status"] == "ok" and body["status"] == "ok"


def test_an_mqtt_reconnect_is_counted_with_its_transport() -> None:
    before = counter("csms_bridge_reconnects_total", transport="mqtt")
    base = f"{TOPIC_PREFIX}reconnect-{uuid.uuid4().hex[:8]}/"
    client_id = unique("test-reconnect")
    topics = Topics(call=base + "cp/{cid}", reply=base + "cp/{cid}/Reply", downstream=base + "cs/{cid}")
    consumer = MqttConsumer(client_id=client_id, topics=topics)
    consumer.start(Ingest())
    try:
        assert consumer.wait_connected(10)
        # Another client with its id takes the session over: the broker drops ours, which reconnects.
        intruder = client_create(client_id=client_id, clean_session=True)
        intruder.connect(*broker_address())
        intruder.loop(timeout=1)
        intruder.disconnect()
        wait_for(lambda: counter("csms_bridge_reconnects_total", transport="mqtt") > before, what="counted")
        assert consumer.wait_connected(10)
    finally:
        consumer.stop()
