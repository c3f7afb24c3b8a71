"""The MQTT consumer: subscribe to every route's topics and hand each message to the ingest core.

The session is persistent (fixed client id, no clean start) and subscribed at QoS 1, so the broker
keeps what arrives while the bridge is down. PUBACKs are manual: a message is acknowledged by its
``mid`` when the ingest core says its task is in the Celery broker. With CSMS_MQTT_SHARED_GROUP set
the subscriptions are shared (``$share/<group>/...``): several bridges split the traffic.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import paho.mqtt.client as paho
from django.conf import settings

from backoffice import metrics

from ..mqtt import broker_address, client_create
from ..topics import Topics
from . import Token

if TYPE_CHECKING:
    from ..ingest import Ingest

logger = logging.getLogger(__name__)


class MqttConsumer:
    """A ``transports.Consumer`` for an MQTT broker (MQTT_URL), the routes of ``Topics``."""

    name = "mqtt"

    def __init__(self, *, client_id: str | None = None, topics: Topics | None = None) -> None:
        self.topics = topics or Topics.from_settings()
        self._ingest: Ingest | None = None
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._connections = 0
        self.client = client_create(
            client_id=client_id or settings.CSMS_MQTT_CLIENT_ID, clean_session=False, manual_ack=True
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    @property
    def subscriptions(self) -> list[str]:
        """The topic filters, as MQTT shared subscriptions when CSMS_MQTT_SHARED_GROUP is set.

        Several bridges in one group split the traffic; the broker hashes or round-robins per its
        own setting (EMQX: `broker.shared_subscription_strategy = hash_topic` keeps one charger on
        one bridge, preserving its order).
        """
        group = settings.CSMS_MQTT_SHARED_GROUP
        return [f"$share/{group}/{topic}" if group else topic for topic in self.topics.subscriptions]

    # --- the Consumer interface ---------------------------------------------------------------
    def start(self, ingest: Ingest) -> None:
        """Connect in the background (paho reconnects with backoff) and feed ``ingest``."""
        self._ingest = ingest
        host, port = broker_address()
        self.client.connect_async(host, port, keepalive=settings.CSMS_MQTT_KEEPALIVE)
        self.client.loop_start()

    def ack(self, tokens: Sequence[Token]) -> None:
        """PUBACK each ``(mid, qos)`` (QoS 0 has nothing to acknowledge)."""
        for token in tokens:
            mid, qos = cast(tuple[int, int], token)
            if qos > 0:
                self.client.ack(mid, qos)

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def stop(self) -> None:
        self._stopping.set()
        self.client.disconnect()
        self.client.loop_stop()

    # --- paho callbacks (paho's network thread) -----------------------------------------------
    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            logger.error("broker refused the connection: %s", reason)
            return
        self._connections += 1
        if self._connections > 1:
            metrics.count("csms_bridge_reconnects_total")
        logger.info(
            "connected to %s:%s (session present: %s); subscribing to %s",
            *broker_address(),
            flags.session_present,
            ", ".join(self.subscriptions),
        )
        # Subscribing again on a present session is harmless and covers a broker that lost it.
        client.subscribe([(topic, 1) for topic in self.subscriptions])
        self._connected.set()

    def _on_subscribe(self, client: paho.Client, userdata: Any, mid: int, reasons: list[Any], properties: Any) -> None:
        for reason in reasons:
            if reason.is_failure:
                # Typically `$SYS` presence topics hidden by the broker's ACL: the watchdog covers presence.
                logger.warning("a subscription was refused by the broker: %s", reason)

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self._connected.clear()
        if not self._stopping.is_set():
            logger.warning("disconnected from the broker (%s); reconnecting with backoff", reason)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        assert self._ingest is not None  # set by start(), before the first connection
        self._ingest.receive(
            match=self.topics.match(message.topic),
            source=message.topic,
            payload=bytes(message.payload),  # already bytes: no copy
            ack=self.ack,
            token=(message.mid, message.qos),
        )
