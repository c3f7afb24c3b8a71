"""The bridge process (``manage.py run_mqtt_bridge``): the ingest core fed by one consumer per transport.

The core (``ingest.Ingest``: decode, batch, hand to Celery, acknowledge after enqueue) knows no
transport; each consumer (``transports.Consumer``) connects to its broker and calls the core for every
message. MQTT is the one consumer today; the AMQP consumer for the RabbitMQ Web OCPP plugin is added
to ``consumers`` beside it.
"""

from __future__ import annotations

import logging
import threading

from .ingest import Ingest
from .topics import Topics
from .transports import Consumer
from .transports.mqtt import MqttConsumer

logger = logging.getLogger(__name__)


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
        self.consumers: list[Consumer] = consumers or [MqttConsumer(client_id=client_id, topics=topics)]
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
