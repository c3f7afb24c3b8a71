"""Plays the RabbitMQ Web OCPP plugin on a real RabbitMQ, for the AMQP transport's tests.

The plugin itself needs RabbitMQ 4.x (the machine has 3.10), so this does on the wire what it does
(WIRE.md, "Dialect 3"): a charger's frame is published verbatim to the exchange with routing key
``<ocpp16|ocpp201|ocpp21>.<Action>.<req|conf|error>`` and properties ``delivery_mode`` 1,
``content_type`` application/json, ``correlation_id`` = message id, ``reply_to`` = charger id, ``type``
= action; what reaches a charger is read from the durable queue ``ocpp.<cid>`` bound with key = cid;
a socket's end is the synthetic StatusNotification.

Tests get their broker from AMQP_URL (default: the machine's RabbitMQ) and skip when it is not
reachable; each uses exchanges and queues of its own, so parallel runs never share a message.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import amqp
import pytest
from kombu import Connection

from mqtt_bridge.transports.amqp import connection_create

AMQP_URL = os.environ.get("AMQP_URL") or "amqp://guest:guest@127.0.0.1:5672/"
PREFIXES = {"1.6": "ocpp16", "2.0.1": "ocpp201", "2.1": "ocpp21"}
_ACTION_CHARACTERS = re.compile(r"[^A-Za-z0-9]")


def _reachable() -> str:
    """Why the broker cannot be used, or "" when it can."""
    try:
        with Connection(AMQP_URL, connect_timeout=2) as connection:
            connection.connect()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


_PROBLEM = _reachable()
requires_rabbitmq = pytest.mark.skipif(
    bool(_PROBLEM), reason=f"no RabbitMQ at AMQP_URL={AMQP_URL!r} ({_PROBLEM}): set AMQP_URL to a reachable broker"
)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _channel() -> tuple[Connection, Any]:
    """A connection from the transport's own factory, and a py-amqp channel on it."""
    connection = connection_create(url=AMQP_URL)
    connection.connect()
    return connection, connection.channel()


class Plugin:
    """The plugin's side of one exchange: chargers' frames in, their queues read."""

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self.connection, self.channel = _channel()
        self.queues: set[str] = set()
        self._calls: dict[str, list[tuple[list[Any], dict[str, Any]]]] = {}
        if not exchange.startswith("amq."):  # as the plugin's ensure_exchange: a durable topic exchange
            self.channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False)

    def connect(self, cid: str) -> None:
        """What the plugin does when a charger connects: its durable queue, bound with key = cid."""
        queue = f"ocpp.{cid}"
        if queue not in self.queues:
            self.channel.queue_declare(queue, durable=True, auto_delete=False)
            self.channel.queue_bind(queue, exchange=self.exchange, routing_key=cid)
            self.queues.add(queue)

    def publish(
        self,
        body: bytes | list[Any],
        *,
        routing_key: str,
        reply_to: str | bytes | None,
        correlation_id: str | None = None,
        action: str | None = None,
        exchange: str | None = None,
    ) -> None:
        properties: dict[str, Any] = {"delivery_mode": 1, "content_type": "application/json"}
        if reply_to is not None:
            properties["reply_to"] = reply_to
        if correlation_id is not None:
            properties["correlation_id"] = correlation_id
        if action is not None:
            properties["type"] = action
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        # Confirmed: once this returns the frame is in every queue bound for it, as a test expects.
        self.channel.basic_publish_confirm(
            amqp.Message(payload, **properties),
            exchange=self.exchange if exchange is None else exchange,
            routing_key=routing_key,
        )

    def send(self, cid: str, frame: list[Any], *, version: str = "1.6", action_of_call: str = "") -> None:
        """A charger's frame, routed as the plugin routes it."""
        self.connect(cid)
        kind = frame[0]
        if kind in (2, 6):
            action, suffix = _ACTION_CHARACTERS.sub("", str(frame[2]))[:239] or "unknown", "req"
        elif kind == 3:
            action, suffix = action_of_call or "response", "conf"
        else:
            action, suffix = action_of_call or _ACTION_CHARACTERS.sub("", str(frame[2])) or "unknown", "error"
        self.publish(
            frame,
            routing_key=f"{PREFIXES[version]}.{action}.{suffix}",
            reply_to=cid,
            correlation_id=str(frame[1]),
            action=frame[2] if kind in (2, 6) and isinstance(frame[2], str) else None,
        )

    def call(self, cid: str, action: str, payload: dict[str, Any], *, version: str = "1.6") -> str:
        message_id = uuid.uuid4().hex[:20]
        self.send(cid, [2, message_id, action, payload], version=version)
        return message_id

    def offline(self, cid: str, *, version: str = "1.6", at: datetime | None = None) -> str:
        """The synthetic StatusNotification the plugin publishes when a charger's socket ends."""
        stamp = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        if version.startswith("1."):
            payload: dict[str, Any] = {
                "connectorId": 0,
                "status": "Unavailable",
                "errorCode": "NoError",
                "timestamp": stamp,
                "vendorId": "rabbitmq",
                "vendorErrorCode": "Offline",
            }
        else:
            payload = {
                "timestamp": stamp,
                "connectorStatus": "Unavailable",
                "evseId": 0,
                "connectorId": 0,
                "customData": {"vendorId": "rabbitmq", "vendorErrorCode": "Offline"},
            }
        return self.call(cid, "StatusNotification", payload, version=version)

    def downlink(self, cid: str, timeout: float = 15) -> tuple[Any, dict[str, Any]]:
        """The next message in the charger's queue: (parsed body, properties)."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.channel.basic_get(f"ocpp.{cid}", no_ack=True)
            if message is not None:
                return json.loads(message.body), dict(message.properties)
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing for {cid} in ocpp.{cid} within {timeout} s")
            time.sleep(0.05)

    def reply(self, cid: str, message_id: str, timeout: float = 15) -> tuple[list[Any], dict[str, Any]]:
        """Our answer to the charger's Call ``message_id`` and its properties; Calls of ours met on the
        way are kept for ``next_call``, anything else fails the test."""
        deadline = time.monotonic() + timeout
        while True:
            body, properties = self.downlink(cid, max(0.0, deadline - time.monotonic()))
            assert isinstance(body, list), body
            if body[0] == 2:
                self._calls.setdefault(cid, []).append((body, properties))
                continue
            assert body[0] in (3, 4) and body[1] == message_id, body
            return body, properties

    def next_call(self, cid: str, timeout: float = 15) -> list[Any]:
        """The next Call (a command) we sent the charger."""
        kept = self._calls.get(cid)
        if kept:
            return kept.pop(0)[0]
        body, _ = self.downlink(cid, timeout)
        assert isinstance(body, list) and body[0] == 2, body
        return body

    def nothing_for(self, cid: str, wait: float = 1.5) -> bool:
        try:
            body, _ = self.downlink(cid, wait)
        except AssertionError:
            return True
        raise AssertionError(f"{cid} got {body!r}")

    def queue_depth(self, queue: str) -> int:
        """Messages ready in ``queue`` (not those delivered and not yet acknowledged)."""
        _, count, _ = self.channel.queue_declare(queue, passive=True)
        return int(count)

    def close(self) -> None:
        for queue in self.queues:
            self.channel.queue_delete(queue)
        self.connection.release()


def broker_cleanup(*, exchanges: Sequence[str] = (), queues: Sequence[str] = ()) -> None:
    """Delete what a test declared (its exchange and our queue for it)."""
    connection, channel = _channel()
    try:
        for queue in queues:
            channel.queue_delete(queue)
        for exchange in exchanges:
            if not exchange.startswith("amq."):
                channel.exchange_delete(exchange)
    finally:
        connection.release()
