"""The gateway's MQTT connection: paho's network thread, bridged to the asyncio loop.

One connection for the whole gateway (not one per charger): it publishes every upstream frame and
presence event, and holds ONE subscription to the downstream template (``ocpp/cs/+``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import paho.mqtt.client as mqtt

from mqtt_bridge.mqtt import broker_address, client_create

logger = logging.getLogger(__name__)

MessageCallback = Callable[[str, bytes], None]


class MqttLink:
    """A persistent-session paho client; ``on_message`` runs on paho's thread (bridge it yourself)."""

    def __init__(
        self,
        *,
        url: str,
        client_id: str,
        subscriptions: list[str],
        on_message: MessageCallback,
        keepalive: int = 30,
        ca_file: str = "",
        clean_session: bool = False,
    ) -> None:
        self.host, self.port = broker_address(url)
        self.keepalive = keepalive
        self.subscriptions = subscriptions
        self._on_message_cb = on_message
        self.connected = threading.Event()
        self._stopping = False
        # A persistent session (clean_session False) keeps QoS 1 downlinks queued in the broker
        # while our link is down for a moment; the chargers' WebSockets stay open meanwhile.
        # amqtt only keeps a persistent session for a client that sends a username (MEASURED.md).
        self.client = client_create(
            client_id=client_id,
            clean_session=clean_session,
            url=url,
            ca_file=ca_file,
            username_fallback=client_id,
            max_reconnect_delay=10,
        )
        # A reboot storm publishes ~4 messages per charger at once: do not cap the in-flight window
        # at paho's default of 20, and never drop a queued message.
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def start(self, timeout: float = 10.0) -> None:
        """Connect in the background and wait (up to ``timeout``) for the first CONNACK."""
        self.client.connect_async(self.host, self.port, keepalive=self.keepalive)
        self.client.loop_start()
        if not self.connected.wait(timeout):
            logger.warning("MQTT broker %s:%s not reachable yet; retrying in the background", self.host, self.port)

    def stop(self) -> None:
        """Disconnect cleanly and stop the network thread."""
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: str, qos: int) -> mqtt.MQTTMessageInfo:
        """Publish (thread-safe; queued by paho while disconnected)."""
        return self.client.publish(topic, payload, qos=qos)

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        if getattr(reason, "is_failure", False):
            logger.error("MQTT connection refused: %s", reason)
            return
        for topic in self.subscriptions:
            client.subscribe(topic, qos=1)
        logger.info("MQTT connected to %s:%s, subscribed to %s", self.host, self.port, ", ".join(self.subscriptions))
        self.connected.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object
    ) -> None:
        self.connected.clear()
        if self._stopping:
            # Our own DISCONNECT at shutdown: nothing went wrong, and paho will not reconnect.
            logger.info("MQTT disconnected from %s:%s", self.host, self.port)
            return
        logger.warning("MQTT disconnected (%s); paho reconnects", reason)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self._on_message_cb(message.topic, bytes(message.payload))  # already bytes: no copy
