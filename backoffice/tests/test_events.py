"""Dashboard events: sent after the change commits, and only for new work.

A real Redis channel layer: the test's channel joins the ``fleet`` group as a dashboard does. An
absence is shown by order, not by waiting: a sentinel sent after the moment in question must be
the next message.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from channels.layers import get_channel_layer
from django.db import transaction

from backoffice import events
from chargers.models import ChargePoint
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.processing import calls_handle


class Dashboard:
    """A channel in the ``fleet`` group, read as a dashboard consumer reads it.

    Every call runs on one event loop of its own: the Redis channel layer keeps its connections
    and receive buffers per loop.
    """

    def __init__(self) -> None:
        layer = get_channel_layer()
        assert layer is not None, "settings.CHANNEL_LAYERS has no default layer"
        self.layer = layer
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.channel: str = self._run(self.layer.new_channel())
        self._run(self.layer.group_add(events.FLEET_GROUP, self.channel))

    def _run(self, coroutine: Any, timeout: float = 20) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def sentinel(self) -> str:
        """Send a marker through the group; the dashboard gets it after whatever was sent before."""
        marker = uuid.uuid4().hex
        self._run(self.layer.group_send(events.FLEET_GROUP, {"type": "test.sentinel", "marker": marker}))
        return marker

    def events_until(self, marker: str) -> list[dict[str, Any]]:
        """Every fleet event received before the sentinel ``marker`` (batches unpacked)."""
        received: list[dict[str, Any]] = []
        while True:
            message: dict[str, Any] = self._run(self.layer.receive(self.channel))
            if message.get("marker") == marker:
                return received
            received += message["events"] if message["type"] == "fleet.events" else [message]

    def close(self) -> None:
        self._run(self.layer.group_discard(events.FLEET_GROUP, self.channel))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


@pytest.fixture
def dashboard() -> Iterator[Dashboard]:
    board = Dashboard()
    yield board
    board.close()


def heartbeat(cid: str, message_id: str) -> Frame:
    return Frame(
        charge_point_id=cid,
        kind=Kind.CALL,
        message_id=message_id,
        action="Heartbeat",
        payload={},
        received_at=utcnow(),
    )


@pytest.mark.django_db(transaction=True)
def test_fleet_event_is_sent_after_commit_not_before(dashboard: Dashboard) -> None:
    with transaction.atomic():
        events.fleet_event("presence", "CP-EVT", online=True)
        before_commit = dashboard.sentinel()
        assert dashboard.events_until(before_commit) == []
    after_commit = dashboard.sentinel()
    sent = dashboard.events_until(after_commit)
    assert [(event["kind"], event["charge_point_id"]) for event in sent] == [("presence", "CP-EVT")]


@pytest.mark.django_db(transaction=True)
def test_fleet_event_of_a_rolled_back_change_is_never_sent(dashboard: Dashboard) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        events.fleet_event("presence", "CP-GONE", online=True)
        raise RuntimeError("rolled back")
    assert dashboard.events_until(dashboard.sentinel()) == []


@pytest.mark.django_db(transaction=True)
def test_dashboard_events_for_new_work_only_never_for_a_redelivery(dashboard: Dashboard, settings: Any) -> None:
    settings.CSMS_BOOT_POLICY = "accept"
    cid = "CP-" + uuid.uuid4().hex[:8]
    ChargePoint.objects.create(charge_point_id=cid, registration_status="Accepted")
    frame = heartbeat(cid, "m-1")

    with events.batched():
        first = calls_handle([frame])
    assert [(e["kind"], e.get("action")) for e in dashboard.events_until(dashboard.sentinel())] == [
        ("ocpp", "Heartbeat")
    ]
    # The same frame again (a QoS 1 redelivery): the same reply, and not a word to the dashboards.
    with events.batched():
        again = calls_handle([frame])
    assert again == first
    assert dashboard.events_until(dashboard.sentinel()) == []
