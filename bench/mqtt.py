"""MQTT plumbing shared by the load generator and the bare responder.

Clients come from the project's one factory (``mqtt_bridge.mqtt.client_create``), given the URL so
that no Django settings are needed in the load generator's processes: paho-mqtt 2.2 with
``TCP_NODELAY`` set on their socket as soon as it opens (paho never sets it, and without it every
QoS 1 hop waits on a delayed ACK: p50 88 ms instead of 5 ms through the broker, MEASURED.md).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt

from mqtt_bridge.mqtt import client_create

CONNECT_TIMEOUT = 10.0
MAX_INFLIGHT = 1000


@dataclass(frozen=True)
class Topics:
    """Topic templates with a ``{cid}`` placeholder, as the EMQX OCPP gateway uses them."""

    call: str = "ocpp/cp/{cid}"
    reply: str = "ocpp/cp/{cid}/Reply"
    downstream: str = "ocpp/cs/{cid}"

    @staticmethod
    def subscription(template: str) -> str:
        """The MQTT filter matching every charger of ``template``."""
        return template.replace("{cid}", "+")

    @staticmethod
    def cid(template: str, topic: str) -> str | None:
        """The charger id in ``topic`` according to ``template``, None if it does not match."""
        prefix, _, suffix = template.partition("{cid}")
        if not topic.startswith(prefix) or not topic.endswith(suffix) or len(topic) <= len(prefix + suffix):
            return None
        cid = topic[len(prefix) : len(topic) - len(suffix)]
        return None if "/" in cid else cid


DEFAULT_TOPICS = Topics()
# Our gateway's 2.0.1 sockets (``CSMS_TOPIC_CALL_V201`` / ``_REPLY_V201``); replies on the same downstream topic.
V201_TOPICS = Topics(call="ocpp/v201/cp/{cid}", reply="ocpp/v201/cp/{cid}/Reply")


def topics_from_env() -> Topics:
    """The backoffice's topic templates (``CSMS_TOPIC_CALL``/``_REPLY``/``_DOWNSTREAM``)."""
    return Topics(
        call=os.environ.get("CSMS_TOPIC_CALL") or DEFAULT_TOPICS.call,
        reply=os.environ.get("CSMS_TOPIC_REPLY") or DEFAULT_TOPICS.reply,
        downstream=os.environ.get("CSMS_TOPIC_DOWNSTREAM") or DEFAULT_TOPICS.downstream,
    )


@dataclass(frozen=True)
class BrokerUrl:
    """Where the broker is and how to log in (from ``mqtt://user:pass@host:port``)."""

    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    @classmethod
    def parse(cls, url: str) -> BrokerUrl:
        """Read an ``mqtt://`` or ``mqtts://`` URL."""
        parts = urlsplit(url)
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )


def connect(
    url: str,
    client_id: str,
    subscriptions: list[str],
    on_message: Callable[[mqtt.Client, object, mqtt.MQTTMessage], None],
) -> mqtt.Client:
    """A connected client with a running network thread, subscribed (QoS 1) to ``subscriptions``.

    Returns once the broker acknowledged every subscription; raises TimeoutError otherwise.
    """
    broker = BrokerUrl.parse(url)
    # Any username makes amqtt keep sessions; harmless elsewhere. The system's CAs for mqtts://.
    client = client_create(client_id=client_id, clean_session=True, url=url, ca_file="", username_fallback=client_id)
    client.max_inflight_messages_set(MAX_INFLIGHT)
    ready = threading.Event()

    def on_connect(client: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        client.subscribe([(topic, 1) for topic in subscriptions])

    def on_subscribe(client: mqtt.Client, userdata: object, mid: int, codes: object, props: object) -> None:
        ready.set()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect(broker.host, broker.port, keepalive=60)
    client.loop_start()
    if not ready.wait(CONNECT_TIMEOUT):
        client.loop_stop()
        raise TimeoutError(f"no SUBACK from {broker.host}:{broker.port} within {CONNECT_TIMEOUT:.0f} s")
    return client


def close(client: mqtt.Client) -> None:
    """Disconnect and stop the network thread."""
    client.disconnect()
    client.loop_stop()
