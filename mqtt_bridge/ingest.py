"""The ingest core: decode what a transport's consumer receives, batch it, hand it to Celery, then acknowledge.

Independent of any transport. A consumer (``transports.Consumer``: MQTT today, AMQP next) calls
``receive`` for every message with the route it came by (a ``RouteMatch``: role, charge point id,
transport, dialects, OCPP version), where it came from (``source``, for the message log), the payload
as received, and an ``ack`` callback with the ``token`` it needs to acknowledge that message.

Durability: the core acknowledges a message (``ack([token, ...])``) only once the Celery task carrying
it is in the broker (Redis): if the process dies in between, the transport delivers it again, and the
idempotent handlers absorb the duplicate. While Redis is down nothing is acknowledged; the batch is
retried with backoff.

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
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from kombu.exceptions import EncodeError

from backoffice import metrics

from . import decoding, dialects
from .frames import Rejected, storable_text, utcnow
from .routes import Route, RouteMatch
from .tasks import handle_frames
from .transports import Token

logger = logging.getLogger(__name__)

Acknowledge = Callable[[Sequence[Token]], None]


@dataclasses.dataclass(frozen=True, slots=True)
class Received:
    """One message on its way from a consumer to a task: the task item, and how to acknowledge it."""

    item: dict[str, Any]
    source: str
    payload: bytes
    ack: Acknowledge
    token: Token


class Ingest:
    """Decoder + dispatcher. ``start()`` runs the dispatcher thread; ``stop()`` drains it."""

    def __init__(self, *, batch_size: int | None = None) -> None:
        self.batch_size = batch_size or settings.CSMS_BRIDGE_BATCH_SIZE
        self.max_bytes = settings.CSMS_MAX_PAYLOAD_BYTES
        self.linger = settings.CSMS_BRIDGE_LINGER_MS / 1000
        self.idle_linger = settings.CSMS_BRIDGE_IDLE_LINGER_MS / 1000
        self._backlog = False
        self._backlog_checked_at = 0.0
        self._queue: queue.Queue[Received] = queue.Queue()
        self._stopping = threading.Event()
        self._dispatcher: threading.Thread | None = None

    # --- what consumers call (from their own threads) -----------------------------------------
    def receive(self, *, match: RouteMatch | None, source: str, payload: bytes, ack: Acknowledge, token: Token) -> None:
        """Decode one message and queue it for the next batch; ``match`` None: it came by no route."""
        try:
            item = self.decode(match=match, source=source, payload=payload)
        except Exception:  # never let one message kill a consumer's thread
            logger.exception("could not decode a message from %s", source)
            item = self._rejected("internal_error", "the bridge could not decode this message", source, payload)
        self._queue.put(Received(item=item, source=source, payload=payload, ack=ack, token=token))

    def refuse(
        self, *, reason: str, description: str, source: str, payload: bytes, ack: Acknowledge, token: Token
    ) -> None:
        """Queue a message the consumer itself could not route (e.g. an AMQP delivery without ``reply_to``).

        It is logged and counted as a rejection with ``reason``, and acknowledged like any other once
        its task is enqueued: never redelivered forever.
        """
        item = self._rejected(reason, description, source, payload)
        self._queue.put(Received(item=item, source=source, payload=payload, ack=ack, token=token))

    # --- decoding -----------------------------------------------------------------------------
    def decode(self, *, match: RouteMatch | None, source: str, payload: bytes) -> dict[str, Any]:
        """Turn one message into a task item: a frame, a presence event or a rejection."""
        received_at = utcnow()
        if match is None:
            return self._rejected("bad_topic", f"{source!r} matches no configured route", source, payload, received_at)
        if match.route in (Route.CONNECTED, Route.DISCONNECTED):
            connected = match.route == Route.CONNECTED
            return self.presence(
                source, match.charge_point_id, connected, payload, received_at, transport=match.spec.transport
            )
        decoded = dialects.decode(
            topic=source, match=match, payload=payload, received_at=received_at, max_bytes=self.max_bytes
        )
        if isinstance(decoded, Rejected):
            return {"rejected": dataclasses.replace(decoded, size=len(payload)).to_task()}
        return {"frame": decoded.to_task()}

    def _text(self, payload: bytes) -> str:
        """What the message log keeps of an unreadable payload."""
        return payload[: self.max_bytes].decode("utf-8", errors="replace")

    def _rejected(
        self, reason: str, description: str, source: str, payload: bytes, received_at: datetime | None = None
    ) -> dict[str, Any]:
        rejected = Rejected(
            reason=reason,
            description=description,
            topic=source,
            raw=self._text(payload),
            received_at=received_at or utcnow(),
            size=len(payload),
        )
        return {"rejected": rejected.to_task()}

    def presence(
        self, topic: str, cid: str, connected: bool, payload: bytes, received_at: datetime, *, transport: str = ""
    ) -> dict[str, Any]:
        """A gateway's connected/disconnected announcement (EMQX JSON), as a presence item.

        It carries the transport it was announced on: a disconnect applies only to a charger last seen there.
        """
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
                "transport": transport,
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

    def _fill(self, batch: list[Received], *, deadline: float | None) -> None:
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

    def _send(self, batch: list[Received]) -> None:
        """Enqueue the batch as one task, then acknowledge its messages, each to its consumer."""
        delay = 0.5
        while True:
            try:
                self._enqueue(batch)
                break
            except Exception as exc:
                # Redis is down: keep the messages unacknowledged (the transport keeps them) and retry.
                logger.error("could not enqueue %d frames (%s); retrying in %.1f s", len(batch), exc, delay)
                metrics.count("csms_bridge_enqueue_failures_total")
                time.sleep(delay)
                delay = min(delay * 2, 30)
        tokens: dict[Acknowledge, list[Token]] = {}
        for received in batch:
            tokens.setdefault(received.ack, []).append(received.token)
        for ack, group in tokens.items():
            ack(group)

    def _enqueue(self, batch: list[Received]) -> None:
        """One task for the batch; an item the task serializer refuses is split off, never retried.

        Bounded decoding should leave nothing Celery cannot encode; should something slip through,
        retrying it would wedge the bridge (the item never acknowledged, handed back after every
        restart), so the batch is halved until the culprit is alone, and it travels as a rejection.
        """
        try:
            handle_frames.apply_async(args=([received.item for received in batch],))
        except (EncodeError, RecursionError, TypeError, ValueError) as exc:
            if len(batch) > 1:
                middle = len(batch) // 2
                self._enqueue(batch[:middle])
                self._enqueue(batch[middle:])
                return
            culprit = batch[0]
            logger.warning(
                "rejected frame: reason=unencodable topic=%s size=%d: %s", culprit.source, len(culprit.payload), exc
            )
            description = f"the bridge could not put this message in a task: {type(exc).__name__}"
            item = self._rejected("unencodable", description, culprit.source, culprit.payload)
            handle_frames.apply_async(args=([item],))

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the dispatcher thread."""
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="ingest-dispatcher", daemon=True)
        self._dispatcher.start()

    def stop(self, timeout: float = 30) -> None:
        """Send what was received (the consumers have stopped receiving), then end the dispatcher."""
        self._stopping.set()
        if self._dispatcher is not None:
            self._dispatcher.join(timeout=timeout)
