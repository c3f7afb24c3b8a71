"""Sending frames to chargers: each frame through the publisher of its transport.

A frame's ``transport`` is the transport of the route its charger last spoke on (a reply carries the
inbound frame's, a command the charger's ``ChargePoint.transport``). ``TRANSPORTS`` maps each name to
the function giving this process's publisher (a ``transports.Publisher``), as healthchecks keeps one
``TRANSPORTS`` dict for its integrations: adding a transport means registering its publisher here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from . import mqtt
from .frames import Frame
from .transports import Publisher, PublishError, amqp

__all__ = ["TRANSPORTS", "PublishError", "publish"]

TRANSPORTS: dict[str, Callable[[], Publisher]] = {
    "mqtt": mqtt.publisher,
    "amqp": amqp.publisher,
}


def publish(frames: Sequence[Frame]) -> None:
    """Publish ``frames``, grouped by transport, each group in order; raise PublishError if any is not taken.

    A frame whose transport is not registered raises PublishError too (a charger recorded on a transport
    this deployment does not run): the caller retries or puts its command back, as for a broker down.
    """
    groups: dict[str, list[Frame]] = {}
    for frame in frames:
        groups.setdefault(frame.transport, []).append(frame)
    for transport, group in groups.items():
        factory = TRANSPORTS.get(transport)
        if factory is None:
            raise PublishError(f"no publisher for transport {transport!r} (known: {', '.join(TRANSPORTS)})")
        factory().publish(group)
