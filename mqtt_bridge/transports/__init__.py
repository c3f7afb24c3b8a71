"""The interfaces every transport implements: a consumer feeding the ingest core, a publisher for frames.

A transport is one way frames travel between the chargers' gateways and us (MQTT today; AMQP for
the RabbitMQ Web OCPP plugin next). It brings two things and touches nothing else:

- a **consumer** (``Consumer``): connects, receives, and for every message calls
  ``Ingest.receive(match=..., source=..., payload=..., ack=self.ack, token=...)``, where ``match`` (a
  ``routes.RouteMatch``) names the route (transport, dialects, OCPP version), the role and the charge
  point id, read from the message's address by the transport's own rules (MQTT: topic templates;
  AMQP: routing key and ``reply_to``); ``source`` is that address (kept in the message log); ``token``
  is whatever the transport needs to acknowledge the message (MQTT ``(mid, qos)``, an AMQP delivery
  tag). The core calls ``ack(tokens)`` once the task carrying them is in the Celery broker, never
  before: a consumer that dies in between gets the messages again.
- a **publisher** (``Publisher``): ``publish(frames)`` encodes each frame in its dialect, hands them to
  the broker and returns once the broker has them all, raising ``PublishError`` otherwise. It is
  registered by name in ``mqtt_bridge.outbound.TRANSPORTS``; a frame goes out through the publisher of
  its ``Frame.transport`` (the transport of the route its charger last spoke on).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..frames import Frame
    from ..ingest import Ingest

# What a consumer needs to acknowledge one message: MQTT (mid, qos), an AMQP delivery tag.
Token = Hashable


class PublishError(Exception):
    """Frames could not be handed to the broker in time (the task is retried)."""


class Publisher(Protocol):
    """Sends frames to chargers through one transport."""

    def publish(self, frames: Sequence[Frame]) -> None:
        """Hand every frame to the broker and wait for it to take them; raise PublishError otherwise."""
        ...


class Consumer(Protocol):
    """Receives the chargers' messages from one transport and hands them to the ingest core."""

    name: str

    def start(self, ingest: Ingest) -> None:
        """Connect (in the background) and deliver every message to ``ingest.receive``."""
        ...

    def ack(self, tokens: Sequence[Token]) -> None:
        """Acknowledge these messages to the broker: their task is in the Celery broker."""
        ...

    def wait_connected(self, timeout: float) -> bool:
        """Whether the consumer is connected and subscribed, waiting up to ``timeout`` seconds."""
        ...

    def stop(self) -> None:
        """Disconnect: whatever was not acknowledged stays with the broker."""
        ...
