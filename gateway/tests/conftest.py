"""Fixtures: a real gateway (in a thread of the test process), a plain paho client standing in for
the backoffice, and OCPP clients over real WebSockets. Everything talks to MQTT_URL's broker."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
import pytest
from django.conf import settings
from websockets.typing import Subprotocol

from apikeys.testing import api_client  # noqa: F401 (fixture: end-to-end tests read the API)
from gateway import lockout
from gateway.server import Gateway, GatewayConfig

RUN = uuid.uuid4().hex[:6]
# The subprotocol the chargers under test offer, typed as websockets wants it.
OCPP16 = Subprotocol("ocpp1.6")
# The gateway never publishes under $SYS/ (the broker's own topics); these tests ask it to announce
# presence on topics of their own.
PRESENCE = [
    "$SYS/brokers/+/gateway/ocpp/clients/{cid}/connected",
    "$SYS/brokers/+/gateway/ocpp/clients/{cid}/disconnected",
    f"gwtest-{RUN}/presence/+/{{cid}}/connected",
    f"gwtest-{RUN}/presence/+/{{cid}}/disconnected",
]


# The gateway's own tests play the backoffice themselves, on topics of their own: a real bridge and
# worker started by another test of the session (the `stack` fixture) must not answer for them.
TOPICS = {
    "topic_call": f"gwtest-{RUN}/ocpp/cp/{{cid}}",
    "topic_reply": f"gwtest-{RUN}/ocpp/cp/{{cid}}/Reply",
    "topic_call_v201": f"gwtest-{RUN}/ocpp/v201/cp/{{cid}}",
    "topic_reply_v201": f"gwtest-{RUN}/ocpp/v201/cp/{{cid}}/Reply",
    "topic_call_v21": f"gwtest-{RUN}/ocpp/v21/cp/{{cid}}",
    "topic_reply_v21": f"gwtest-{RUN}/ocpp/v21/cp/{{cid}}/Reply",
    "topic_downstream": f"gwtest-{RUN}/ocpp/cs/{{cid}}",
}


def stack_topics() -> dict[str, str]:
    """The topics of the real backoffice (settings in force), for end-to-end tests through it."""
    return {
        "topic_call": settings.CSMS_TOPIC_CALL,
        "topic_reply": settings.CSMS_TOPIC_REPLY,
        "topic_call_v201": settings.CSMS_TOPIC_CALL_V201,
        "topic_reply_v201": settings.CSMS_TOPIC_REPLY_V201,
        "topic_call_v21": settings.CSMS_TOPIC_CALL_V21,
        "topic_reply_v21": settings.CSMS_TOPIC_REPLY_V21,
        "topic_downstream": settings.CSMS_TOPIC_DOWNSTREAM,
    }


def call_topic(cid: str) -> str:
    """Where the gateway under test publishes a charger's Calls."""
    return TOPICS["topic_call"].replace("{cid}", cid)


def reply_topic(cid: str) -> str:
    return TOPICS["topic_reply"].replace("{cid}", cid)


def new_cid(prefix: str = "gw") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Backoffice:
    """A plain paho client: records everything the gateway publishes, publishes downlinks."""

    def __init__(self) -> None:
        parts = urlsplit(settings.MQTT_URL)
        self.messages: queue.Queue[tuple[str, Any, int]] = queue.Queue()
        self._seen: set[tuple[str, bytes]] = set()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"gwtest-bo-{uuid.uuid4().hex[:8]}")
        self.client.username_pw_set(unquote(parts.username) if parts.username else "gwtest", parts.password)
        self.client.on_message = self._on_message
        self.client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
        self.client.loop_start()
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: subscribed.set()
        # QoS 2 subscriptions so the delivered QoS shows the QoS the gateway published at.
        upstream = {t.replace("{cid}", "+") for t in (TOPICS["topic_call"], TOPICS["topic_reply"])}
        self.client.subscribe([(topic, 2) for topic in sorted(upstream)] + [(f"gwtest-{RUN}/#", 2)])
        assert subscribed.wait(5), "no SUBACK from the broker"

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        # amqtt (the embedded broker) may deliver a QoS 2 message twice; the gateway did not send it twice.
        key = (message.topic, bytes(message.payload))
        if key in self._seen:
            return
        self._seen.add(key)
        try:
            body = json.loads(message.payload)
        except ValueError:  # the malformed downlinks some tests send also pass by here
            body = message.payload
        self.messages.put((message.topic, body, message.qos))

    def expect(self, topic: str, timeout: float = 5.0) -> tuple[Any, int]:
        """The next message on ``topic`` (others are skipped); its parsed JSON and QoS."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"nothing on {topic} within {timeout} s")
            try:
                got_topic, body, qos = self.messages.get(timeout=remaining)
            except queue.Empty:
                continue
            if got_topic == topic:
                return body, qos

    def nothing_on(self, prefix: str, wait: float = 1.0) -> list[tuple[str, Any]]:
        """Whatever arrived on topics starting with ``prefix`` within ``wait`` seconds."""
        seen = []
        deadline = time.monotonic() + wait
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                topic, body, _ = self.messages.get(timeout=remaining)
            except queue.Empty:
                break
            if topic.startswith(prefix):
                seen.append((topic, body))
        return seen

    def send(self, cid: str, message: dict[str, Any] | list[Any] | str) -> None:
        payload = message if isinstance(message, str) else json.dumps(message)
        self.client.publish(TOPICS["topic_downstream"].replace("{cid}", cid), payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class GatewayThread:
    """A Gateway running on its own event loop in a background thread."""

    def __init__(self, config: GatewayConfig) -> None:
        self.gateway = Gateway(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="gateway-test", daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.gateway.start(), self.loop).result(15)
        assert self.gateway.mqtt.connected.wait(10), "gateway not connected to MQTT"

    @property
    def url(self) -> str:
        return f"{self.gateway.config.scheme}://127.0.0.1:{self.gateway.port}/ocpp"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.gateway.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(autouse=True)
def loopback_not_locked_out() -> Iterator[None]:
    """Every test charger connects from 127.0.0.1: failed logins of earlier tests (or runs: the counters
    live in Redis) must not lock a test out. Lockout tests use addresses of their own (127.0.0.x)."""
    lockout.lockout_reset(address="127.0.0.1")
    yield


@pytest.fixture
def backoffice() -> Iterator[Backoffice]:
    client = Backoffice()
    yield client
    client.close()


@pytest.fixture
def start_gateway() -> Iterator[Callable[..., GatewayThread]]:
    """Start a gateway on a free port; keyword arguments override its configuration."""
    started: list[GatewayThread] = []

    def start(**overrides: Any) -> GatewayThread:
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": 0,
            "mqtt_client_id": f"gwtest-gw-{uuid.uuid4().hex[:8]}",
            "presence_templates": PRESENCE,
            **TOPICS,
            "mqtt_clean_session": True,
            "auth_cache_seconds": 0,
            "stats_interval": 3600,
            **overrides,
        }
        running = GatewayThread(GatewayConfig.from_settings(**values))
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
