"""The bridge process (``manage.py run_mqtt_bridge``): the ingest core fed by one consumer per transport.

The core (``ingest.Ingest``: decode, batch, hand to Celery, acknowledge after enqueue) knows no
transport; each consumer (``transports.Consumer``) connects to its broker and calls the core for every
message. ``CONSUMERS`` holds one factory per transport, which returns None when its transport is not
configured here: MQTT always; AMQP (the RabbitMQ Web OCPP plugin's chargers) when ``AMQP_URL`` is set.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings

from .ingest import Ingest
from .topics import Topics
from .transports import Consumer
from .transports.amqp import AmqpConsumer
from .transports.mqtt import MqttConsumer

logger = logging.getLogger(__name__)


def _mqtt(options: dict[str, Any]) -> Consumer | None:
    return MqttConsumer(client_id=options.get("client_id"), topics=options.get("topics"))


def _amqp(options: dict[str, Any]) -> Consumer | None:
    return AmqpConsumer() if settings.AMQP_URL else None


# name -> factory(options) giving the transport's consumer, or None when it is not configured here.
CONSUMERS: dict[str, Callable[[dict[str, Any]], Consumer | None]] = {"mqtt": _mqtt, "amqp": _amqp}


class Bridge:
    """Ingest core + consumers. ``run()`` blocks until ``stop()`` is called (from a signal handler)."""

    def __init__(
        self,
        *,
        client_id: str | None = None,
        topics: Topics | None = None,
        batch_size: int | None = None,
        consumers: list[Consumer] | None = None,
    ) -> None:
        self.ingest = Ingest(batch_size=batch_size)
        if consumers is None:
            options: dict[str, Any] = {"client_id": client_id, "topics": topics}
            made = (factory(options) for factory in CONSUMERS.values())
            consumers = [consumer for consumer in made if consumer is not None]
        self.consumers: list[Consumer] = consumers
        self._stopping = threading.Event()

    def run(self) -> None:
        """Connect every consumer, consume until stopped, then send what was received and disconnect."""
        self.ingest.start()
        for consumer in self.consumers:
            consumer.start(self.ingest)
        try:
            self._stopping.wait()
        finally:
            # The consumers stay connected while the core drains: its last acks must reach them.
            self.ingest.stop()
            for consumer in self.consumers:
                consumer.stop()
            logger.info("bridge stopped")

    def wait_connected(self, timeout: float) -> bool:
        return all(consumer.wait_connected(timeout) for consumer in self.consumers)

    def stop(self) -> None:
        self._stopping.set()
