"""AMQP plumbing of the benchmark: the RabbitMQ Web OCPP plugin's wire, as the load generator plays it.

What the plugin puts on the wire (``mqtt_bridge/transports/amqp.py``, WIRE.md "Dialect 3"): a
charger's frame, the raw OCPP-J array, is published to the exchange with routing key
``<ocpp16|ocpp201|ocpp21>.<Action>.<req|conf|error>`` and properties ``delivery_mode`` 1,
``content_type`` application/json, ``correlation_id`` = message id, ``reply_to`` = charger id and
``type`` = action; whatever is published to the exchange with routing key = charger id reaches that
charger.

A run has an exchange of its own (``bench-<run>``, given to the bridge and worker as
``CSMS_AMQP_EXCHANGE``) and its own queue names, so nothing meets another run's frames or a real
deployment's. The plugin keeps a durable queue ``ocpp.<cid>`` per charger; a thousand of them cost
the broker more than the path we measure, so the load generator binds ONE queue with binding key
``*``: charger ids are one-word routing keys, the upstream keys have dots and never match it, and
replies are dispatched by their routing key.

Connections come from kombu (the client Celery already brings) by URL, so the load generator and
the bare responder need no Django settings; py-amqp sets ``TCP_NODELAY`` on its sockets itself.
"""

from __future__ import annotations

import json
import logging
import os
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kombu import Connection

logger = logging.getLogger(__name__)

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/"
# The plugin's prefix of each OCPP version's routing keys (CSMS_AMQP_PREFIXES' default).
PREFIXES = {"1.6": "ocpp16", "2.0.1": "ocpp201", "2.1": "ocpp21"}
CONTENT_TYPE = "application/json"
# Charger ids are routing keys of one word: the reply queue's binding.
REPLY_BINDING = "*"
_ACTION_CHARACTERS = re.compile(r"[^A-Za-z0-9]")


def url_from_env() -> str:
    """``AMQP_URL``, else the machine's RabbitMQ (guest/guest on 127.0.0.1:5672)."""
    return os.environ.get("AMQP_URL", "").strip() or DEFAULT_URL


def redact(url: str) -> str:
    """``url`` without its password."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def connect(url: str, timeout: float = 5.0) -> Connection:
    """A connected kombu connection (``amqps://`` verifies the broker's certificate and name)."""
    parts = urlsplit(url)
    ssl_options: dict[str, Any] | bool = False
    if parts.scheme == "amqps":
        ssl_options = {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": parts.hostname}
    connection = Connection(url, ssl=ssl_options, connect_timeout=timeout, heartbeat=0)
    connection.connect()
    return connection


def unreachable(url: str) -> str:
    """Why no broker takes a login at ``url``, or "" when one does."""
    try:
        connect(url, timeout=2.0).release()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


@dataclass(frozen=True)
class Names:
    """A run's exchange and queues: the bridge's (``CSMS_AMQP_QUEUE``), the ceiling's, and its prefix."""

    exchange: str
    bridge_queue: str
    ceiling_queue: str

    @classmethod
    def for_run(cls, run_id: str) -> Names:
        base = f"bench-{run_id}"
        return cls(exchange=base, bridge_queue=f"{base}.ocpp", ceiling_queue=f"{base}.ceiling")


def exchange_declare(channel: Any, name: str) -> None:
    """The exchange as the plugin (and the bridge's kombu binding) declare it: a durable topic exchange."""
    channel.exchange_declare(name, "topic", durable=True, auto_delete=False)


def cleanup(url: str, *, queues: Sequence[str] = (), exchanges: Sequence[str] = ()) -> None:
    """Delete a run's queues and exchanges; one already gone (or a broker gone) is only logged."""
    try:
        connection = connect(url)
    except Exception as exc:
        logger.warning("AMQP cleanup: %s: %s", type(exc).__name__, exc)
        return
    try:
        for kind, name in [*(("queue", q) for q in queues), *(("exchange", e) for e in exchanges)]:
            try:
                channel: Any = connection.channel()  # an error closes its channel: one each
                if kind == "queue":
                    channel.queue_delete(name)
                else:
                    channel.exchange_delete(name)
            except Exception as exc:
                logger.warning("AMQP cleanup of %s %s: %s", kind, name, exc)
    finally:
        connection.release()


def routing_key(frame: list[Any], version: str = "1.6", action_of_call: str = "") -> str:
    """The plugin's routing key for a charger's frame: a Call by its action, a CallResult as
    ``response`` (or the Call's action when known), a CallError by its error code."""
    prefix = PREFIXES[version]
    kind = frame[0]
    if kind in (2, 6):
        return f"{prefix}.{_ACTION_CHARACTERS.sub('', str(frame[2]))[:239] or 'unknown'}.req"
    if kind == 3:
        return f"{prefix}.{action_of_call or 'response'}.conf"
    return f"{prefix}.{action_of_call or _ACTION_CHARACTERS.sub('', str(frame[2])) or 'unknown'}.error"


def properties(frame: list[Any], cid: str) -> dict[str, Any]:
    """The plugin's message properties for a charger's frame."""
    props: dict[str, Any] = {
        "delivery_mode": 1,
        "content_type": CONTENT_TYPE,
        "correlation_id": str(frame[1]),
        "reply_to": cid,
    }
    if frame[0] in (2, 6) and isinstance(frame[2], str):
        props["type"] = frame[2]
    return props


def encode(frame: list[Any]) -> bytes:
    """Compact OCPP-J."""
    return json.dumps(frame, separators=(",", ":")).encode()


def as_envelope(frame: Any) -> dict[str, Any] | None:
    """An OCPP-J array in the load generator's dict form (EMQX's field names), None if it is none."""
    if not isinstance(frame, list) or len(frame) < 3:
        return None
    kind = frame[0]
    if kind == 2 and len(frame) == 4:
        return {"MessageTypeId": 2, "UniqueId": frame[1], "Action": frame[2], "Payload": frame[3]}
    if kind == 3:
        return {"MessageTypeId": 3, "UniqueId": frame[1], "Payload": frame[2]}
    if kind == 4:
        return {"MessageTypeId": 4, "UniqueId": frame[1], "ErrorCode": frame[2]}
    return None


def from_envelope(envelope: dict[str, Any]) -> list[Any]:
    """The load generator's dict form as an OCPP-J array."""
    kind = envelope["MessageTypeId"]
    if kind == 2:
        return [2, envelope["UniqueId"], envelope["Action"], envelope["Payload"]]
    if kind == 3:
        return [3, envelope["UniqueId"], envelope["Payload"]]
    return [4, envelope["UniqueId"], envelope["ErrorCode"], envelope.get("ErrorDescription", ""), {}]
