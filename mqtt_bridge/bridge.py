"""The MQTT bridge: subscribe to the upstream topics, decode every message, hand it to the workers.

Durability: the session is persistent (fixed client id, no clean start) and subscribed at QoS 1,
so the broker keeps what arrives while the bridge is down. A message is acknowledged to the
broker (manual PUBACK) only once the Celery task carrying it is in Redis: if the bridge dies in
between, the broker delivers it again, and the idempotent handlers absorb the duplicate.

Batching: a dispatcher thread sends what arrives as one task (up to CSMS_BRIDGE_BATCH_SIZE), a
worker applying a batch of a hundred Calls in about the statements of one
(``processing.calls_handle``). A batch waits up to CSMS_BRIDGE_IDLE_LINGER_MS (10) to fill when
the workers keep up, and up to CSMS_BRIDGE_LINGER_MS (35) while tasks wait in the Celery queue:
the frames would wait there anyway. Without the second the bridge, always faster than the workers,
kept sending batches of one or two and the backlog never shrank; without the first, a moderate
load (500 Calls/s) went out in tasks of a few frames, each paying a task's and a transaction's
fixed cost (p99 141 ms and 86% of the machine, against 76 ms and 72% with 10 ms).
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as paho
from django.conf import settings
from kombu.exceptions import EncodeError

from backoffice import metrics

from . import decoding, dialects
from .frames import Rejected, storable_text, utcnow
from .mqtt import broker_address, client_create, set_nodelay
from .tasks import handle_frames
from .topics import Route, Topics

logger = logging.getLogger(__name__)

# What the network thread hands the dispatcher: (mid, qos, task item, topic, payload as received).
_Received = tuple[int, int, dict[str, Any], str, bytes]


class Bridge:
    """Subscriber + dispatcher. ``run()`` blocks until ``stop()`` is called (from a signal handler)."""

    def __init__(self, *, client_id: str | None = None, topics: Topics | None = None, batch_size: int | None = None):
        self.topics = topics or Topics.from_settings()
        self.batch_size = batch_size or settings.CSMS_BRIDGE_BATCH_SIZE
        self.max_bytes = settings.CSMS_MAX_PAYLOAD_BYTES
        self.linger = settings.CSMS_BRIDGE_LINGER_MS / 1000
        self.idle_linger = settings.CSMS_BRIDGE_IDLE_LINGER_MS / 1000
        self._backlog = False
        self._backlog_checked_at = 0.0
        self._queue: queue.Queue[_Received] = queue.Queue()
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

    # --- MQTT callbacks (paho's network thread) ---------------------------------------------
    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            logger.error("broker refused the connection: %s", reason)
            return
        set_nodelay(client)
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

    @property
    def subscriptions(self) -> list[str]:
        """The topic filters, as MQTT shared subscriptions when CSMS_MQTT_SHARED_GROUP is set.

        Several bridges in one group split the traffic; the broker hashes or round-robins per its
        own setting (EMQX: `broker.shared_subscription_strategy = hash_topic` keeps one charger on
        one bridge, preserving its order).
        """
        group = settings.CSMS_MQTT_SHARED_GROUP
        return [f"$share/{group}/{topic}" if group else topic for topic in self.topics.subscriptions]

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
        try:
            item = self.decode(message.topic, message.payload)
        except Exception:  # never let one message kill the network thread
            logger.exception("could not decode a message on %s", message.topic)
            item = {
                "rejected": Rejected(
                    reason="internal_error",
                    description="the bridge could not decode this message",
                    topic=message.topic,
                    raw=self._text(message.payload),
                    received_at=utcnow(),
                    size=len(message.payload),
                ).to_task()
            }
        self._queue.put((message.mid, message.qos, item, message.topic, message.payload))

    # --- decoding -----------------------------------------------------------------------------
    def decode(self, topic: str, payload: bytes) -> dict[str, Any]:
        """Turn one MQTT message into a task item: a frame, a presence event or a rejection."""
        received_at = utcnow()
        match = self.topics.match(topic)
        if match is None:
            return {
                "rejected": Rejected(
                    reason="bad_topic",
                    description=f"topic {topic!r} matches no configured template",
                    topic=topic,
                    raw=self._text(payload),
                    received_at=received_at,
                ).to_task()
            }
        if match.route in (Route.CONNECTED, Route.DISCONNECTED):
            return self._presence(topic, match.charge_point_id, match.route == Route.CONNECTED, payload, received_at)
        decoded = dialects.decode(
            topic=topic, match=match, payload=payload, received_at=received_at, max_bytes=self.max_bytes
        )
        if isinstance(decoded, Rejected):
            return {"rejected": dataclasses.replace(decoded, size=len(payload)).to_task()}
        return {"frame": decoded.to_task()}

    def _text(self, payload: bytes) -> str:
        """What the message log keeps of an unreadable payload."""
        return payload[: self.max_bytes].decode("utf-8", errors="replace")

    def _presence(self, topic: str, cid: str, connected: bool, payload: bytes, received_at: datetime) -> dict[str, Any]:
        try:
            data = decoding.loads(payload)
            stamp = data.get("connected_at" if connected else "disconnected_at") or data.get("ts")
            at = datetime.fromtimestamp(stamp / 1000, UTC) if isinstance(stamp, int | float) else received_at
            # A gateway's free text: kept storable (PostgreSQL holds no NUL), and short.
            reason = storable_text(str(data.get("reason", "") or ""))[:200]
        except (decoding.DecodeError, ValueError, AttributeError, OverflowError, OSError) as exc:
            return {
                "rejected": Rejected(
                    reason="bad_presence",
                    description=f"presence event is not EMQX JSON: {exc}",
                    topic=topic,
                    raw=self._text(payload),
                    charge_point_id=cid,
                    received_at=received_at,
                ).to_task()
            }
        return {
            "presence": {
                "charge_point_id": cid,
                "connected": connected,
                "at": at.isoformat(),
                "reason": reason,
                "topic": topic,
            }
        }

    # --- dispatching (the dispatcher thread) ---------------------------------------------------
    def _dispatch_loop(self) -> None:
        while not (self._stopping.is_set() and self._queue.empty()):
            try:
                batch = [self._queue.get(timeout=0.2)]
            except queue.Empty:
                continue
            self._fill(batch, deadline=None)
            if len(batch) < self.batch_size:
                linger = self.linger if self.linger > 0 and self._backlogged() else self.idle_linger
                if linger > 0:
                    self._fill(batch, deadline=time.monotonic() + linger)
            self._send(batch)

    def _fill(self, batch: list[_Received], *, deadline: float | None) -> None:
        """Add what has arrived (``deadline`` None), or what arrives until ``deadline``, up to the batch size."""
        while len(batch) < self.batch_size:
            try:
                if deadline is None:
                    batch.append(self._queue.get_nowait())
                else:
                    batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                return

    def _backlogged(self) -> bool:
        """Whether tasks are waiting for a worker (looked up at most every 20 ms)."""
        now = time.monotonic()
        if now - self._backlog_checked_at > 0.02:
            self._backlog_checked_at = now
            try:
                self._backlog = metrics.queue_depth() > 0
            except Exception:  # Redis down: _send will say so, and retry
                self._backlog = False
        return self._backlog

    def _send(self, batch: list[_Received]) -> None:
        """Enqueue the batch as one task, then acknowledge its messages to the broker."""
        delay = 0.5
        while True:
            try:
                self._enqueue(batch)
                break
            except Exception as exc:
                # Redis is down: keep the messages unacknowledged (the broker keeps them) and retry.
                logger.error("could not enqueue %d frames (%s); retrying in %.1f s", len(batch), exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 30)
        for mid, qos, *_ in batch:
            if qos > 0:
                self.client.ack(mid, qos)

    def _enqueue(self, batch: list[_Received]) -> None:
        """One task for the batch; an item the task serializer refuses is split off, never retried.

        Bounded decoding should leave nothing Celery cannot encode; should something slip through,
        retrying it would wedge the bridge (the item never acknowledged, handed back after every
        restart), so the batch is halved until the culprit is alone, and it travels as a rejection.
        """
        try:
            handle_frames.apply_async(args=[[item for _, _, item, _, _ in batch]])
        except (EncodeError, RecursionError, TypeError, ValueError) as exc:
            if len(batch) > 1:
                middle = len(batch) // 2
                self._enqueue(batch[:middle])
                self._enqueue(batch[middle:])
                return
            mid, qos, _, topic, payload = batch[0]
            logger.warning("rejected frame: reason=unencodable topic=%s size=%d: %s", topic, len(payload), exc)
            rejected = Rejected(
                reason="unencodable",
                description=f"the bridge could not put this message in a task: {type(exc).__name__}",
                topic=topic,
                raw=self._text(payload),
                received_at=utcnow(),
                size=len(payload),
            )
            handle_frames.apply_async(args=[[{"rejected": rejected.to_task()}]])

    # --- lifecycle ----------------------------------------------------------------------------
    def run(self) -> None:
        """Connect, consume until stopped, then drain what was received and disconnect."""
        dispatcher = threading.Thread(target=self._dispatch_loop, name="bridge-dispatcher", daemon=True)
        dispatcher.start()
        host, port = broker_address()
        self.client.connect_async(host, port, keepalive=settings.CSMS_MQTT_KEEPALIVE)
        self.client.loop_start()
        try:
            self._stopping.wait()
        finally:
            dispatcher.join(timeout=30)
            self.client.disconnect()
            self.client.loop_stop()
            logger.info("bridge stopped")

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def stop(self) -> None:
        self._stopping.set()
