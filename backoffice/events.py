"""Live events for the dashboard: what changed, sent to a Channels group after the change commits.

One group, ``fleet``: every page joins it and keeps the events it cares about (a charger's page,
its charger's). Events are small dicts ``{"type": "fleet.event", "kind": ..., "charge_point_id":
..., ...}``; a batch of them travels as one ``{"type": "fleet.events", "events": [...]}``, so a
worker's hundred frames cost one channel layer send (a group per charger cost two Redis round
trips per event, 17% of a worker's time). A consumer re-reads what it shows from the database,
so a lost event costs freshness, never truth.
Sending never raises: the dashboard must not be able to break OCPP message handling.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)
FLEET_GROUP = "fleet"
SEND_TIMEOUT = 5.0
_last_failure_log = 0.0
_local = threading.local()


def fleet_event(kind: str, charge_point_id: str, **data: Any) -> None:
    """Send an event to the dashboards once the current transaction commits (at once outside one).

    Inside ``batched()`` the event waits for the end of the block instead, so that a worker task
    handling a hundred frames talks to the channel layer once, not two hundred times.
    """
    event = {"type": "fleet.event", "kind": kind, "charge_point_id": charge_point_id, **data}
    batch = getattr(_local, "batch", None)
    if batch is not None:
        transaction.on_commit(lambda: batch.append(event))
    else:
        transaction.on_commit(lambda: _send([event]))


@contextmanager
def batched() -> Iterator[None]:
    """Collect the events committed inside the block and send them in one go when it ends.

    Repeated events (same kind, charger and data) are sent once: a dashboard re-reads the charger
    anyway. Nested blocks join the outermost one.
    """
    if getattr(_local, "batch", None) is not None:
        yield
        return
    _local.batch = []
    try:
        yield
    finally:
        events, _local.batch = _local.batch, None
        unique = list({json.dumps(event, sort_keys=True, default=str): event for event in events}.values())
        if unique:
            _send(unique)


async def _send_all(layer: Any, events: list[dict[str, Any]]) -> None:
    """One message for the whole batch (a worker's hundred frames are one channel layer send)."""
    await layer.group_send(FLEET_GROUP, events[0] if len(events) == 1 else {"type": "fleet.events", "events": events})


class _LoopThread:
    """One event loop per process, kept running in a daemon thread.

    The channel layer keeps its Redis connections per event loop: ``async_to_sync`` made a new
    loop (so new connections, a handshake each) for every batch; this loop keeps them.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="fleet-events", daemon=True).start()

    def run(self, coroutine: Coroutine[Any, Any, None], timeout: float) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


_loop_thread: _LoopThread | None = None
_loop_lock = threading.Lock()


def _loop() -> _LoopThread:
    global _loop_thread
    with _loop_lock:
        if _loop_thread is None or _loop_thread.pid != os.getpid():  # a forked worker needs its own
            _loop_thread = _LoopThread()
        return _loop_thread


def _send(events: list[dict[str, Any]]) -> None:
    global _last_failure_log
    try:
        layer = get_channel_layer()
        if layer is not None:
            _loop().run(_send_all(layer, events), timeout=SEND_TIMEOUT)
    except Exception:  # the dashboard must never break message handling
        if time.monotonic() - _last_failure_log > 60:
            _last_failure_log = time.monotonic()
            logger.exception("could not send a dashboard event")
