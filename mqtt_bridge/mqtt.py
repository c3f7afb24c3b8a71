"""The one factory of MQTT clients (``client_create``), and the MQTT publisher of replies and commands.

Every paho client of the project is built here: the bridge's consumer, the workers' publisher, our
gateway's link, ``/healthz``, the benchmark's chargers and responder, the tests' gateways. So the URL
parsing (``mqtt[s]://user:pass@host:port``), the credentials, TLS (``CSMS_MQTT_CA_FILE``), the protocol
version, the reconnect delays and ``TCP_NODELAY`` are decided once. Given a ``url``, the factory needs no
Django settings: the benchmark's load generator runs in a process without them.

The publisher sends a frame to ``CSMS_TOPIC_DOWNSTREAM`` in its dialect, or, when its dialect is an MQTT
charger profile's name, to that profile's downlink topic in its reply encoding. The profiles live in
the database, which this module does not import (see above): ``downlinks_register`` is given the
lookup at start (``mqtt_bridge.apps``, from ``profiles.py``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from django.conf import settings

from backoffice import metrics

from . import dialects
from .frames import Frame, Kind
from .routes import MQTT
from .topics import Topics
from .transports import PublishError

__all__ = [
    "Downlink",
    "PublishError",
    "Publisher",
    "broker_address",
    "client_create",
    "downlinks_register",
    "publisher",
    "set_nodelay",
]

logger = logging.getLogger(__name__)


def _nodelay(sock: Any) -> None:
    # paho never sets TCP_NODELAY: with QoS 1, Nagle + delayed ACKs cost ~40 ms per hop (MEASURED.md).
    if isinstance(sock, socket.socket):  # ssl.SSLSocket included
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def set_nodelay(client: paho.Client) -> None:
    """Turn Nagle's algorithm off on a connected client's socket (``client_create`` already does it)."""
    _nodelay(client.socket())


def _setting(name: str, default: str) -> str:
    """A Django setting when settings are configured (the benchmark's processes have none)."""
    return str(getattr(settings, name, default)) if settings.configured else default


def client_create(
    *,
    client_id: str,
    clean_session: bool,
    url: str | None = None,
    ca_file: str | None = None,
    username_fallback: str | None = None,
    max_reconnect_delay: int = 30,
    **kwargs: Any,
) -> paho.Client:
    """A paho 2.x client for ``url`` (default MQTT_URL): credentials, TLS for mqtts://, not yet connected.

    MQTT 3.1.1 so that every broker we support (Mosquitto, EMQX, RabbitMQ, amqtt) takes it.
    ``username_fallback`` is sent when the URL has no user: amqtt keeps a persistent session only for a
    client that sends a username (MEASURED.md). ``TCP_NODELAY`` is set as soon as the socket opens,
    before CONNECT, whatever ``on_connect`` the caller installs.
    """
    parts = urlsplit(url or _setting("MQTT_URL", "mqtt://127.0.0.1:1883"))
    client = paho.Client(
        callback_api_version=paho.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean_session,
        protocol=paho.MQTTv311,
        **kwargs,
    )
    username = unquote(parts.username) if parts.username else username_fallback
    if username:
        client.username_pw_set(username, unquote(parts.password) if parts.password else None)
    if parts.scheme == "mqtts":
        ca = ca_file if ca_file is not None else _setting("CSMS_MQTT_CA_FILE", "")
        client.tls_set(ca_certs=ca or None, cert_reqs=ssl.CERT_REQUIRED)
    client.reconnect_delay_set(min_delay=1, max_delay=max_reconnect_delay)
    client.on_socket_open = lambda client, userdata, sock: _nodelay(sock)
    return client


def broker_address(url: str | None = None) -> tuple[str, int]:
    """``(host, port)`` of ``url`` (default MQTT_URL)."""
    parts = urlsplit(url or _setting("MQTT_URL", "mqtt://127.0.0.1:1883"))
    return parts.hostname or "127.0.0.1", parts.port or (8883 if parts.scheme == "mqtts" else 1883)


@dataclasses.dataclass(frozen=True)
class Downlink:
    """How frames reach the chargers of one MQTT charger profile: its topic template, its reply encoding,
    and whether they take Calls from us at all."""

    template: str
    encoding: str
    accepts_calls: bool = True

    def topic(self, charge_point_id: str) -> str:
        return self.template.replace("{cid}", charge_point_id)


# The profiles named, by name (a dialect no profile has is left out).
DownlinkLookup = Callable[[Collection[str]], dict[str, Downlink]]
_downlinks: DownlinkLookup = lambda names: {}  # noqa: E731 (until the app registers the database lookup)


def downlinks_register(lookup: DownlinkLookup) -> None:
    """Give the publisher the lookup of MQTT charger profiles (``mqtt_bridge.apps`` at start)."""
    global _downlinks
    _downlinks = lookup


class Publisher:
    """The MQTT transport's publisher: one connected client per process (workers, admin, API)."""

    def __init__(self) -> None:
        self.topics = Topics.from_settings()
        self._connected = threading.Event()
        client_id = f"csms-pub-{socket.gethostname()}-{os.getpid()}"[:64]
        self.client = client_create(client_id=client_id, clean_session=True)
        # paho keeps at most 20 QoS 1 messages in flight by default: a batch of 100 replies went
        # out in five waits for PUBACKs (5% of a worker's time, py-spy). The batch is the bound.
        self.client.max_inflight_messages_set(1000)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        host, port = broker_address()
        self.client.connect_async(host, port, keepalive=settings.CSMS_MQTT_KEEPALIVE)
        self.client.loop_start()

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            logger.error("publisher: broker refused the connection: %s", reason)
            return
        self._connected.set()

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self._connected.clear()

    def publish(self, frames: Sequence[Frame], *, timeout: float = 10.0) -> None:
        """Publish at QoS 1 and wait until the broker has them all; raise PublishError otherwise."""
        if not frames:
            return
        if not self._connected.wait(timeout):
            raise PublishError("not connected to the MQTT broker")
        deadline = time.monotonic() + timeout
        sent, infos = [], []
        for frame, (topic, payload) in self._addressed(frames):
            sent.append(frame)
            infos.append(self.client.publish(topic, payload, qos=1))
        for frame, info in zip(sent, infos, strict=True):
            try:
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            except (RuntimeError, ValueError) as exc:
                raise PublishError(str(exc)) from exc
            if not info.is_published():
                raise PublishError(f"no PUBACK within {timeout} s")
            metrics.count(
                "csms_frames_out_total", action=frame.action or "unknown", kind=frame.kind.name.lower(), transport=MQTT
            )

    def _addressed(self, frames: Sequence[Frame]) -> list[tuple[Frame, tuple[str, bytes]]]:
        """Each frame with its topic and payload; a frame no route can carry is logged, counted, left out.

        Left out rather than raising PublishError: that would retry the whole batch (and its other
        chargers' replies) forever for a profile that was deleted, or hold a chunk of commands back.
        A Call for a charger whose profile takes none is refused at queueing
        (``profiles.charge_points_refused``); one queued before its profile said so times out.
        """
        named = {frame.dialect for frame in frames if frame.dialect not in dialects.DIALECTS}
        profiles = _downlinks(named) if named else {}
        addressed = []
        for frame in frames:
            if frame.dialect in dialects.DIALECTS:
                addressed.append((frame, (self.topics.downstream_for(frame.charge_point_id), dialects.encode(frame))))
                continue
            downlink = profiles.get(frame.dialect)
            if downlink is None:
                reason = "no_profile"
            elif frame.kind == Kind.CALL and not downlink.accepts_calls:
                reason = "calls_refused"
            else:
                payload = dialects.encode(frame, encoding=downlink.encoding)
                addressed.append((frame, (downlink.topic(frame.charge_point_id), payload)))
                continue
            logger.warning(
                "not sent: reason=%s charger=%s profile=%s action=%s message_id=%s",
                reason,
                frame.charge_point_id,
                frame.dialect,
                frame.action or "-",
                frame.message_id,
            )
            metrics.count("csms_frames_unsent_total", reason=reason, kind=frame.kind.name.lower(), transport=MQTT)
        return addressed

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


_publisher: Publisher | None = None
_publisher_pid = 0
_publisher_lock = threading.Lock()


def publisher() -> Publisher:
    """This process's publisher, created on first use (after a Celery fork, a new one)."""
    global _publisher, _publisher_pid
    with _publisher_lock:
        if _publisher is None or _publisher_pid != os.getpid():
            _publisher = Publisher()
            _publisher_pid = os.getpid()
        return _publisher
