"""The bridge process: every registered transport's consumer feeds one ingest core."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest

from mqtt_bridge import bridge
from mqtt_bridge.ingest import Ingest
from mqtt_bridge.transports import Consumer, Token


class QueuedConsumer:
    """A transport whose messages were waiting on its broker: delivered as soon as it starts."""

    name = "queued"

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.events: list[object] = []
        self.started = threading.Event()

    def start(self, ingest: Ingest) -> None:
        for token in ("d1", "d2"):
            ingest.receive(match=None, source=f"queued/{token}", payload=b"{}", ack=self.ack, token=token)
        self.started.set()

    def ack(self, tokens: Sequence[Token]) -> None:
        self.events.append(("ack", list(tokens)))

    def wait_connected(self, timeout: float) -> bool:
        return self.started.wait(timeout)

    def stop(self) -> None:
        self.events.append("stop")


def test_the_bridge_runs_every_configured_consumer_and_drains_before_disconnecting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[QueuedConsumer] = []

    def queued(options: dict[str, Any]) -> Consumer | None:
        made.append(QueuedConsumer(options))
        return made[-1]

    def not_configured(options: dict[str, Any]) -> Consumer | None:
        return None

    monkeypatch.setattr(bridge, "CONSUMERS", {"queued": queued, "absent": not_configured})
    running = bridge.Bridge(client_id="cli-id", batch_size=100)
    assert [type(c) for c in running.consumers] == [QueuedConsumer] and made[0].options["client_id"] == "cli-id"
    thread = threading.Thread(target=running.run)
    thread.start()
    assert running.wait_connected(10)
    running.stop()  # at once: the two messages may still be waiting for the dispatcher
    thread.join(30)
    assert not thread.is_alive()
    # Enqueued and acknowledged while the consumer was still connected, then it was stopped.
    assert made[0].events == [("ack", ["d1", "d2"]), "stop"]
