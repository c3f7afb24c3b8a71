"""The AMQP transport: the RabbitMQ Web OCPP plugin's chargers, consumed and answered over AMQP 0-9-1.

What the plugin puts on the wire (WIRE.md, "Dialect 3"): every charger frame, verbatim, is published
to ``CSMS_AMQP_EXCHANGE`` (``amq.topic``) with routing key ``<ocpp16|ocpp201|ocpp21>.<Action>.<req|conf|error>``
and ``reply_to`` = the charger's id; it delivers to a charger whatever is published to that exchange
with routing key = the charger's id (from the durable queue ``ocpp.<cid>`` it binds). So:

- **Consumer** (``AmqpConsumer``): one durable queue (``CSMS_AMQP_QUEUE``, ``csms.ocpp``) bound with
  ``<prefix>.#`` for each prefix of ``CSMS_AMQP_PREFIXES``, declared when the bridge starts: the
  broker drops a frame no queue is bound for, so it must exist before chargers connect. The prefix
  gives the route (``RouteSpec(transport="amqp", dialects=("ocppj",), ocpp_version=...)``),
  ``reply_to`` the charge point id, the body is the OCPP-J array. A delivery is acknowledged when
  the ingest core says its task is in Celery (at most ``CSMS_AMQP_PREFETCH`` wait unacknowledged).
  One that names no route (no ``reply_to``, an id holding a routing wildcard, a routing key that is
  not the plugin's) is refused through the core: logged, counted, kept in the message log and
  acknowledged, never redelivered forever.
- **Presence**: when a charger's socket ends, the plugin publishes a synthetic StatusNotification
  (``OFFLINE_VENDOR_ID`` / ``OFFLINE_ERROR_CODE``): it becomes a DISCONNECTED presence event, and is
  never answered (nobody is there to read it). There is no online event: any frame marks its charger
  online (``charge_points_seen``).
- **Publisher** (``AmqpPublisher``, registered as ``"amqp"`` in ``outbound.TRANSPORTS``): each frame,
  OCPP-J, to the exchange with routing key = charger id, with publisher confirms (pipelined), one
  connection per process. Every downlink carries an ``expiration`` (``CSMS_AMQP_DOWNLINK_TTL_SECONDS``): the plugin
  hands a reconnecting charger its queue's backlog, and a reply or command older than that is stale.

``connection_create`` is the one factory of AMQP connections (consumer, publisher, ``/healthz``, tests).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import ssl
import struct
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import amqp
import amqp.serialization
import orjson
from amqp import spec
from django.conf import settings
from kombu import Connection, Consumer, Exchange, Message, Queue, binding

from backoffice import metrics

from .. import decoding, dialects
from ..frames import Frame
from ..routes import Route, RouteMatch, RouteSpec
from . import PublishError, Token

if TYPE_CHECKING:
    from ..ingest import Ingest

__all__ = [
    "AMQP",
    "AmqpConsumer",
    "AmqpPublisher",
    "AmqpRoutes",
    "Refusal",
    "connection_create",
    "publisher",
]

logger = logging.getLogger(__name__)

AMQP = "amqp"
CONTENT_TYPE = "application/json"
# The marker of the plugin's synthetic StatusNotification (1.x in the payload, 2.x under customData).
OFFLINE_VENDOR_ID = "rabbitmq"
OFFLINE_ERROR_CODE = "Offline"
# Seconds: the consumer sends heartbeats from its loop, so a dead broker is noticed within two of them.
HEARTBEAT = 30
# How long the consumer blocks reading before it sends the acknowledgements the core handed it.
DRAIN_TIMEOUT = 0.02
MAX_RECONNECT_DELAY = 30.0
# A charge point id: as long as our column, and free of what AMQP topic routing or PostgreSQL would
# misread (`.` separates routing-key words, `*` and `#` are wildcards; NUL and control characters).
MAX_CHARGE_POINT_ID_LENGTH = 48
_BAD_CID = re.compile(r"[.*#\x00-\x1f\x7f]")
_KINDS = {"req": Route.CALL, "conf": Route.REPLY, "error": Route.REPLY}


def connection_create(
    *, url: str | None = None, heartbeat: float = 0, confirm_publish: bool = False, connect_timeout: float = 5
) -> Connection:
    """A kombu connection to ``url`` (default AMQP_URL), not yet connected.

    ``amqps://`` verifies the broker's certificate and host name, against ``CSMS_AMQP_CA_FILE`` when set
    (else the system's CAs). py-amqp sets ``TCP_NODELAY`` on its sockets itself.
    """
    url = url or settings.AMQP_URL
    if not url:
        raise ValueError("AMQP_URL is not set")
    parts = urlsplit(url)
    ssl_options: dict[str, Any] | bool = False
    if parts.scheme == "amqps":
        ssl_options = {
            "cert_reqs": ssl.CERT_REQUIRED,
            "ca_certs": settings.CSMS_AMQP_CA_FILE or None,
            "server_hostname": parts.hostname,
        }
    return Connection(
        url,
        heartbeat=heartbeat,
        ssl=ssl_options,
        connect_timeout=connect_timeout,
        transport_options={"confirm_publish": confirm_publish},
    )


def _safe_url(url: str) -> str:
    """``url`` without its password, for logs."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{parts.hostname}{port}{parts.path or '/'}"


# --- routes ---------------------------------------------------------------------------------------


class Refusal:
    """Why a delivery names no route: a ``csms_frames_rejected_total`` reason and a sentence."""

    __slots__ = ("description", "reason")

    def __init__(self, reason: str, description: str) -> None:
        self.reason = reason
        self.description = description


class AmqpRoutes:
    """The plugin's routing keys, read: one route per prefix (``CSMS_AMQP_PREFIXES``)."""

    def __init__(self, prefixes: Mapping[str, str]) -> None:
        if not prefixes:
            raise ValueError("the AMQP transport needs at least one routing-key prefix")
        self.specs = {
            prefix: RouteSpec(transport=AMQP, dialects=(dialects.OCPPJ,), ocpp_version=version)
            for prefix, version in prefixes.items()
        }

    @classmethod
    def from_settings(cls) -> AmqpRoutes:
        return cls(settings.CSMS_AMQP_PREFIXES)

    @property
    def binding_keys(self) -> list[str]:
        return [f"{prefix}.#" for prefix in self.specs]

    def match(self, *, routing_key: str, reply_to: Any) -> RouteMatch | Refusal:
        """The route of a delivery, from its routing key and ``reply_to``; or why it has none."""
        words = routing_key.split(".")
        spec = self.specs.get(words[0])
        if len(words) != 3 or spec is None or words[2] not in _KINDS:
            known = ", ".join(f"{prefix}.<Action>.<req|conf|error>" for prefix in self.specs)
            return Refusal("bad_routing_key", f"routing key {routing_key[:120]!r} is none of {known}")
        if not isinstance(reply_to, str) or not reply_to:
            return Refusal("no_charge_point_id", "no reply_to: the delivery names no charge point")
        problem = _charge_point_id_problem(reply_to)
        if problem:
            return Refusal("bad_charge_point_id", f"reply_to {reply_to[:60]!r} {problem}")
        route = _KINDS[words[2]]
        return RouteMatch(route, reply_to, words[1] if route == Route.CALL else "", spec)


def _charge_point_id_problem(cid: str) -> str:
    if len(cid) > MAX_CHARGE_POINT_ID_LENGTH:
        return f"is {len(cid)} characters, at most {MAX_CHARGE_POINT_ID_LENGTH} are allowed"
    if _BAD_CID.search(cid):
        return "holds '.', '*', '#' or a control character (a routing wildcard, or unstorable)"
    try:
        cid.encode("utf-8")
    except UnicodeEncodeError:
        return "is not UTF-8 text"
    return ""


def offline_notice_at(payload: bytes, *, ocpp_version: str, max_bytes: int) -> datetime | None:
    """When the plugin's synthetic offline StatusNotification was sent, if ``payload`` is one; else None.

    1.x: ``connectorId 0, status Unavailable, vendorId "rabbitmq", vendorErrorCode "Offline"``; 2.x:
    ``evseId 0, connectorId 0, connectorStatus Unavailable`` with the vendor pair under ``customData``.
    Anything else, a charger's own StatusNotification included, is an ordinary Call.
    """
    if OFFLINE_VENDOR_ID.encode() not in payload or OFFLINE_ERROR_CODE.encode() not in payload:
        return None
    try:
        data = decoding.loads(payload, max_bytes=max_bytes)
    except decoding.DecodeError:
        return None
    if not (isinstance(data, list) and len(data) == 4 and data[0] == 2 and data[2] == "StatusNotification"):
        return None
    body = data[3]
    if not isinstance(body, dict):
        return None
    marker: Any
    if ocpp_version.startswith("1."):
        marker, status = body, body.get("status")
        where = body.get("connectorId") == 0
    else:
        marker, status = body.get("customData"), body.get("connectorStatus")
        where = body.get("evseId") == 0 and body.get("connectorId") == 0
    if not (where and status == "Unavailable" and isinstance(marker, dict)):
        return None
    if marker.get("vendorId") != OFFLINE_VENDOR_ID or marker.get("vendorErrorCode") != OFFLINE_ERROR_CODE:
        return None
    try:
        at = datetime.fromisoformat(str(body.get("timestamp")))
    except ValueError:
        return datetime.now(UTC)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _presence_payload(at: datetime) -> bytes:
    """The DISCONNECTED event as the ingest core reads presence (EMQX's JSON: milliseconds, a reason)."""
    return orjson.dumps({"disconnected_at": int(at.timestamp() * 1000), "reason": "rabbitmq: socket closed"})


# --- a delivery whose properties are not UTF-8 -------------------------------------------------------


def _tolerant_properties(decode: Callable[[Any, int], tuple[dict[str, Any], int]]) -> Callable[..., Any]:
    """py-amqp's Basic properties decoder, made to survive short strings that are not UTF-8.

    py-amqp decodes them strictly: a delivery whose ``reply_to`` is not UTF-8 raised inside its frame
    reader, left the connection out of step (``UnexpectedFrame``), and came back after every reconnect,
    forever. Such strings are read with ``surrogateescape`` instead, which ``_charge_point_id_problem``
    then refuses; the header table, which we never read, is skipped when it is the culprit.
    """

    def tolerant(buf: Any, offset: int) -> tuple[dict[str, Any], int]:
        try:
            return decode(buf, offset)
        except UnicodeDecodeError:
            return _properties_escaped(buf, offset)

    tolerant.__wrapped__ = decode  # type: ignore[attr-defined]
    return tolerant


# Basic's property flags, in wire order: (flag, name, kind) with kind s(hortstr), F (table), B (octet), Q.
_BASIC_PROPERTIES = (
    (0x8000, "content_type", "s"),
    (0x4000, "content_encoding", "s"),
    (0x2000, "application_headers", "F"),
    (0x1000, "delivery_mode", "B"),
    (0x0800, "priority", "B"),
    (0x0400, "correlation_id", "s"),
    (0x0200, "reply_to", "s"),
    (0x0100, "expiration", "s"),
    (0x0080, "message_id", "s"),
    (0x0040, "timestamp", "Q"),
    (0x0020, "type", "s"),
    (0x0010, "user_id", "s"),
    (0x0008, "app_id", "s"),
    (0x0004, "cluster_id", "s"),
)


def _properties_escaped(buf: Any, offset: int) -> tuple[dict[str, Any], int]:
    properties: dict[str, Any] = {}
    (flags,) = struct.unpack_from(">H", buf, offset)
    offset += 2
    for flag, name, kind in _BASIC_PROPERTIES:
        if not flags & flag:
            continue
        if kind == "s":
            (length,) = struct.unpack_from(">B", buf, offset)
            properties[name] = bytes(buf[offset + 1 : offset + 1 + length]).decode("utf-8", "surrogateescape")
            offset += 1 + length
        elif kind == "F":
            (length,) = struct.unpack_from(">I", buf, offset)
            try:
                (properties[name],), _ = amqp.serialization.loads("F", buf, offset)
            except UnicodeDecodeError:
                properties[name] = {}
            offset += 4 + length
        elif kind == "B":
            (properties[name],) = struct.unpack_from(">B", buf, offset)
            offset += 1
        else:
            (properties[name],) = struct.unpack_from(">Q", buf, offset)
            offset += 8
    return properties, offset


def _install_tolerant_properties() -> None:
    classes = cast(dict[int, Any], amqp.serialization.PROPERTY_CLASSES)
    current = classes[spec.Basic.CLASS_ID]
    if not hasattr(current, "__wrapped__"):
        classes[spec.Basic.CLASS_ID] = _tolerant_properties(current)


# --- the consumer -------------------------------------------------------------------------------------


class AmqpConsumer:
    """A ``transports.Consumer`` for the RabbitMQ Web OCPP plugin (AMQP_URL).

    kombu/py-amqp connections are not thread-safe, so one thread owns the connection: it reads,
    sends heartbeats, and sends the acknowledgements the ingest core hands to ``ack`` (from its
    dispatcher thread) through a queue. A token is ``(connection number, delivery tag)``: a tag is
    only meaningful on the channel that delivered it, and after a reconnect the broker delivers
    again whatever the old channel had not acknowledged.
    """

    name = AMQP

    def __init__(
        self,
        *,
        url: str | None = None,
        queue_name: str | None = None,
        exchange: str | None = None,
        prefixes: Mapping[str, str] | None = None,
        prefetch: int | None = None,
    ) -> None:
        self.url = url or settings.AMQP_URL
        self.queue_name = queue_name or settings.CSMS_AMQP_QUEUE
        self.exchange_name = exchange if exchange is not None else settings.CSMS_AMQP_EXCHANGE
        self.routes = AmqpRoutes(prefixes if prefixes is not None else settings.CSMS_AMQP_PREFIXES)
        self.prefetch = prefetch or settings.CSMS_AMQP_PREFETCH
        self.max_bytes = settings.CSMS_MAX_PAYLOAD_BYTES
        self._ingest: Ingest | None = None
        self._acks: queue.SimpleQueue[Sequence[Token]] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._generation = 0
        self._thread: threading.Thread | None = None

    @property
    def declared_queue(self) -> Queue:
        """Our queue and its bindings. The plugin declares its exchange as a durable topic exchange
        too; kombu never declares an ``amq.*`` one (the broker's own), it only binds to it."""
        exchange = Exchange(self.exchange_name, type="topic", durable=True)
        return Queue(
            self.queue_name,
            bindings=[binding(exchange, routing_key=key) for key in self.routes.binding_keys],
            durable=True,
            auto_delete=False,
        )

    # --- the Consumer interface ---------------------------------------------------------------
    def start(self, ingest: Ingest) -> None:
        """Connect in the background (reconnecting with backoff) and feed ``ingest``."""
        _install_tolerant_properties()
        self._ingest = ingest
        self._thread = threading.Thread(target=self._run, name="amqp-consumer", daemon=True)
        self._thread.start()

    def ack(self, tokens: Sequence[Token]) -> None:
        """Hand the tokens to the connection's thread, which acknowledges them."""
        self._acks.put(list(tokens))

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def stop(self) -> None:
        """Send the acknowledgements handed over so far, then disconnect."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

    # --- the connection's thread --------------------------------------------------------------
    def _run(self) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            connection = connection_create(url=self.url, heartbeat=HEARTBEAT)
            try:
                connection.connect()
                channel: Any = connection.channel()  # py-amqp's Channel (kombu types it as its StdChannel)
                bound = self.declared_queue(channel)
                bound.declare()
                channel.basic_qos(prefetch_size=0, prefetch_count=self.prefetch, a_global=False)
                self._generation += 1
                consumer = Consumer(
                    channel, queues=[bound], on_message=self._on_message, no_ack=False, auto_declare=False
                )
                consumer.consume()
                if self._generation > 1:
                    metrics.count("csms_bridge_reconnects_total", transport=AMQP)
                logger.info(
                    "connected to %s; queue %s bound to exchange %s with %s",
                    _safe_url(self.url),
                    self.queue_name,
                    self.exchange_name or "(default)",
                    ", ".join(self.routes.binding_keys),
                )
                self._connected.set()
                delay = 1.0
                self._drain(connection, channel)
                with contextlib.suppress(Exception):  # closing what may already be broken
                    consumer.cancel()
            except Exception as exc:  # the broker went away or refused: reconnect, never die
                self._connected.clear()
                if self._stopping.is_set():
                    break
                logger.warning("AMQP consumer: %s: %s; reconnecting in %.0f s", type(exc).__name__, exc, delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, MAX_RECONNECT_DELAY)
            finally:
                self._connected.clear()
                with contextlib.suppress(Exception):  # closing what may already be broken
                    connection.release()

    def _drain(self, connection: Connection, channel: Any) -> None:
        """Read deliveries until stopped; between reads, acknowledge and keep the heartbeat."""
        next_tick = 0.0
        while not self._stopping.is_set():
            self._send_acks(channel)
            try:
                connection.drain_events(timeout=DRAIN_TIMEOUT)
            except TimeoutError:
                pass
            now = time.monotonic()
            if now >= next_tick:  # py-amqp wants about one tick a second
                connection.heartbeat_check()
                next_tick = now + 1
        self._send_acks(channel)

    def _send_acks(self, channel: Any) -> None:
        while True:
            try:
                tokens = self._acks.get_nowait()
            except queue.Empty:
                return
            for token in tokens:
                generation, tag = cast(tuple[int, int], token)
                # A tag of an earlier connection: the broker has delivered that message again since.
                if generation == self._generation:
                    channel.basic_ack(delivery_tag=tag)

    def _on_message(self, message: Message) -> None:
        assert self._ingest is not None  # set by start(), before the first connection
        routing_key = str(message.delivery_info.get("routing_key") or "")
        body = message.body
        payload = bytes(body) if isinstance(body, bytes | bytearray | memoryview) else str(body or "").encode()
        token = (self._generation, message.delivery_tag)
        source = routing_key[:255]
        match = self.routes.match(routing_key=routing_key, reply_to=message.properties.get("reply_to"))
        if isinstance(match, Refusal):
            self._ingest.refuse(
                reason=match.reason,
                description=match.description,
                source=source,
                payload=payload,
                ack=self.ack,
                token=token,
            )
            return
        if match.route == Route.CALL and match.action == "StatusNotification":
            at = offline_notice_at(payload, ocpp_version=match.spec.ocpp_version, max_bytes=self.max_bytes)
            if at is not None:
                match = RouteMatch(Route.DISCONNECTED, match.charge_point_id, spec=match.spec)
                payload = _presence_payload(at)
        self._ingest.receive(match=match, source=source, payload=payload, ack=self.ack, token=token)


# --- the publisher ------------------------------------------------------------------------------------


class AmqpPublisher:
    """The AMQP transport's publisher: one connection per process (workers, web), publisher confirms.

    The frames of a call are published at once and their confirms awaited together, as the MQTT
    publisher awaits its PUBACKs: a confirm per frame made a batch of 100 replies take 49 ms (2,000
    frames/s on this machine), pipelined it takes a few. Frames go in order on one channel, and the
    broker keeps that order into each charger's queue.

    A connection found broken (a broker restart while idle) is replaced once, and publishing goes on
    from the first frame not yet confirmed (which may then reach the charger twice: at least once, as
    over MQTT); a second failure, a nack or no confirm within ``timeout`` raises PublishError. A downlink
    no queue is bound for (a charger the plugin has never seen) is dropped by the broker: logged and
    counted (``csms_frames_unroutable_total``), as an MQTT downlink to an offline charger.
    """

    def __init__(self, *, url: str | None = None, exchange: str | None = None, ttl_seconds: int | None = None) -> None:
        self.url = url or settings.AMQP_URL
        self.exchange_name = exchange if exchange is not None else settings.CSMS_AMQP_EXCHANGE
        self.expiration = str(int(ttl_seconds or settings.CSMS_AMQP_DOWNLINK_TTL_SECONDS) * 1000)
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._channel: Any = None
        self._sequence = 0  # the delivery tag of the channel's last publish (confirm mode numbers them)
        self._pending: set[int] = set()
        self._nacked: set[int] = set()

    def publish(self, frames: Sequence[Frame], *, timeout: float = 10.0) -> None:
        """Publish the frames (OCPP-J, routing key = each one's charger id) and wait until all are confirmed."""
        if not frames:
            return
        if not self.url:
            raise PublishError(f"transport {AMQP!r} is not running here: AMQP_URL is not set")
        with self._lock:
            done = 0
            retried = False
            while done < len(frames):
                tags: list[int] = []
                try:
                    channel = self._channel_get(timeout)
                    for frame in frames[done:]:
                        channel.basic_publish(self._message(frame), self.exchange_name, frame.charge_point_id, True)
                        self._sequence += 1
                        self._pending.add(self._sequence)
                        tags.append(self._sequence)
                    self._await_confirms(timeout)
                except PublishError:
                    self._close()
                    raise
                except Exception as exc:  # the connection or the channel is gone
                    confirmed = next((i for i, tag in enumerate(tags) if tag in self._pending), len(tags))
                    self._count(frames[done : done + confirmed])
                    done += confirmed
                    self._close()
                    if retried:
                        raise PublishError(f"AMQP publish failed: {type(exc).__name__}: {exc}") from exc
                    retried = True
                    logger.info("AMQP publisher: %s: %s; reconnecting once", type(exc).__name__, exc)
                    continue
                self._count(frames[done:])
                done = len(frames)

    def _message(self, frame: Frame) -> amqp.Message:
        return amqp.Message(
            dialects.encode(frame),
            content_type=CONTENT_TYPE,
            content_encoding="utf-8",
            delivery_mode=1,
            expiration=self.expiration,
            correlation_id=frame.message_id,
            type=frame.action,
        )

    def _await_confirms(self, timeout: float) -> None:
        assert self._connection is not None
        deadline = time.monotonic() + timeout
        while self._pending and not self._nacked:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PublishError(f"{len(self._pending)} frames not confirmed by the broker within {timeout} s")
            try:
                self._connection.drain_events(timeout=remaining)
            except TimeoutError:
                continue
        if self._nacked:
            raise PublishError(f"the broker refused {len(self._nacked)} frames (basic.nack)")

    def _count(self, frames: Sequence[Frame]) -> None:
        for frame in frames:
            metrics.count(
                "csms_frames_out_total", action=frame.action or "unknown", kind=frame.kind.name.lower(), transport=AMQP
            )

    def _channel_get(self, timeout: float) -> Any:
        if self._channel is None:
            connection = connection_create(url=self.url, connect_timeout=min(timeout, 5))
            connection.connect()
            channel: Any = connection.channel()
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            channel.events["basic_return"].add(self._on_return)
            self._connection, self._channel, self._sequence = connection, channel, 0
        return self._channel

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        if multiple:
            self._pending = {tag for tag in self._pending if tag > delivery_tag}
        else:
            self._pending.discard(delivery_tag)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        refused = {tag for tag in self._pending if tag <= delivery_tag} if multiple else {delivery_tag}
        self._nacked |= refused
        self._pending -= refused

    def _on_return(self, exception: Exception, exchange: str, routing_key: str, message: Any) -> None:
        logger.warning(
            "AMQP downlink to %s dropped by the broker: no queue is bound for it (has the charger ever connected?)",
            routing_key[:64],
        )
        metrics.count("csms_frames_unroutable_total", transport=AMQP)

    def _close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        self._pending, self._nacked = set(), set()
        if connection is not None:
            with contextlib.suppress(Exception):  # closing what may already be broken
                connection.release()

    def close(self) -> None:
        with self._lock:
            self._close()


_publisher: AmqpPublisher | None = None
_publisher_pid = 0
_publisher_lock = threading.Lock()


def publisher() -> AmqpPublisher:
    """This process's AMQP publisher, created on first use (after a Celery fork, a new one)."""
    global _publisher, _publisher_pid
    with _publisher_lock:
        if _publisher is None or _publisher_pid != os.getpid():
            _publisher = AmqpPublisher()
            _publisher_pid = os.getpid()
        return _publisher


def connection_check(*, url: str | None = None, timeout: float = 2.0) -> None:
    """Raise unless the broker of ``url`` (AMQP_URL) takes a login and has the plugin's exchange (``/healthz``)."""
    connection = connection_create(url=url, connect_timeout=timeout)
    try:
        connection.connect()
        channel: Any = connection.channel()
        exchange = settings.CSMS_AMQP_EXCHANGE
        if exchange:
            channel.exchange_declare(exchange=exchange, type="topic", passive=True)
    finally:
        with contextlib.suppress(Exception):  # closing what may already be broken
            connection.release()
