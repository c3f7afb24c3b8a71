"""The MQTT consumer: subscribe to every route's topics and hand each message to the ingest core.

The session is persistent (fixed client id, no clean start) and subscribed at QoS 1, so the broker
keeps what arrives while the bridge is down. PUBACKs are manual: a message is acknowledged by its
``mid`` when the ingest core says its task is in the Celery broker. With CSMS_MQTT_SHARED_GROUP set
the subscriptions are shared (``$share/<group>/...``): several bridges split the traffic.

The routes are the settings' and those of the MQTT charger profiles (``profiles.py``), read from the
database when the consumer is made (retried in the background until the database answers), and
again every CSMS_MQTT_PROFILES_RELOAD seconds when set: a changed set of profiles swaps the routes,
subscribes to the new uplinks and unsubscribes from the removed ones.

On a profile's route a retained delivery (the retain flag set: the broker hands its stored copy to a
new subscription, at every start or reconnect of ours) is never the charger's new message: it is
refused as ``retained`` (message log, metric), acknowledged, and has no effect, however old it is.
Any other delivery carries its DUP flag to the decoder (``topics.ProfileMatch``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import paho.mqtt.client as paho
from django.conf import settings
from django.db import connection

from backoffice import metrics

from .. import profiles
from ..mqtt import broker_address, client_create
from ..topics import ProfileMatch, ProfileSpec, Topics
from . import Token

if TYPE_CHECKING:
    from ..ingest import Ingest

logger = logging.getLogger(__name__)


class MqttConsumer:
    """A ``transports.Consumer`` for an MQTT broker (MQTT_URL), the routes of ``Topics``."""

    name = "mqtt"

    # How soon a bridge that could not read the profiles at start tries again.
    PROFILES_RETRY = 5.0

    def __init__(
        self, *, client_id: str | None = None, topics: Topics | None = None, profiles_reload: float | None = None
    ) -> None:
        """``topics`` given: those routes only (no profiles); else the settings' and the profiles'."""
        self._profiles_served = topics is None
        self._reload = settings.CSMS_MQTT_PROFILES_RELOAD if profiles_reload is None else profiles_reload
        self._signature: list[Any] | None = None
        # Filters of removed profiles, unsubscribed at the next connection when we were not connected.
        self._removed: set[str] = set()
        self._ingest: Ingest | None = None
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._connections = 0
        self.topics = topics or Topics.from_settings()
        self.client = client_create(
            client_id=client_id or settings.CSMS_MQTT_CLIENT_ID, clean_session=False, manual_ack=True
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        if self._profiles_served:
            self._profiles_read()

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
        if self._profiles_served and (self._reload > 0 or self._signature is None):
            threading.Thread(target=self._profiles_loop, name="mqtt-profiles", daemon=True).start()

    # --- MQTT charger profiles ------------------------------------------------------------------
    def _profiles_read(self) -> bool:
        """Take the profiles' routes if they changed; True when they did. A database error is logged."""
        try:
            signature = profiles.profiles_signature()
            if signature == self._signature:
                return False
            base = Topics.from_settings()
            topics = Topics.from_settings(profiles=profiles.profile_routes(base=base))
        except Exception as exc:  # the database is down: keep the routes we have, and try again
            logger.error("could not read the MQTT charger profiles (%s); serving the routes we had", exc)
            return False
        finally:
            if not connection.in_atomic_block:
                connection.close()  # this thread's: reads come far apart
        before = set(self.subscriptions)
        self.topics, self._signature = topics, signature
        after = set(self.subscriptions)
        self._removed = (self._removed | (before - after)) - after
        if self._connected.is_set():
            # Subscribing to a new uplink hands us its retained messages: dropped as redeliveries.
            if after - before:
                self.client.subscribe([(topic, 1) for topic in sorted(after - before)])
            if self._removed:
                self.client.unsubscribe(sorted(self._removed))
                self._removed = set()
        served = [spec.profile for spec in self.topics.specs if isinstance(spec, ProfileSpec)]
        logger.info("MQTT charger profiles served: %s", ", ".join(served) or "none")
        return True

    def _profiles_loop(self) -> None:
        """Read the profiles again every CSMS_MQTT_PROFILES_RELOAD seconds (until a first read, sooner)."""
        while True:
            wait = self._reload if self._signature is not None else self.PROFILES_RETRY
            if wait <= 0 or self._stopping.wait(wait):
                return
            self._profiles_read()

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
            metrics.count("csms_bridge_reconnects_total", transport=self.name)
        logger.info(
            "connected to %s:%s (session present: %s); subscribing to %s",
            *broker_address(),
            flags.session_present,
            ", ".join(self.subscriptions),
        )
        # Subscribing again on a present session is harmless and covers a broker that lost it.
        client.subscribe([(topic, 1) for topic in self.subscriptions])
        if self._removed:  # removed profiles' filters the persistent session still holds
            client.unsubscribe(sorted(self._removed))
            self._removed = set()
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
        match = self.topics.match(message.topic)
        payload = bytes(message.payload)  # already bytes: no copy
        token = (message.mid, message.qos)
        if match is not None and isinstance(match.spec, ProfileSpec):
            if message.retain:
                self._ingest.refuse(
                    reason="retained",
                    description=f"a retained message of {match.charge_point_id} handed again by the broker on "
                    f"subscribing (profile {match.spec.profile!r}): a redelivery, not applied",
                    source=message.topic,
                    payload=payload,
                    ack=self.ack,
                    token=token,
                )
                return
            match = ProfileMatch(
                match.route, match.charge_point_id, match.action, match.spec, redelivered=bool(message.dup)
            )
        self._ingest.receive(match=match, source=message.topic, payload=payload, ack=self.ack, token=token)
