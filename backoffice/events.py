"""Live events for the dashboard: what changed, sent to Channels groups after the change commits.

Groups: ``fleet`` (every event, for the overview) and ``charger.<group-safe id>`` (one charger's
page). Events are small dicts ``{"type": "fleet.event", "kind": ..., "charge_point_id": ..., ...}``
(the fleet group gets a batch's events as one ``{"type": "fleet.events", "events": [...]}``);
a consumer re-reads what it shows from the database, so a lost event costs freshness, never truth.
Sending never raises: the dashboard must not be able to break OCPP message handling.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
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


def charger_group(charge_point_id: str) -> str:
    """Channels group names allow only ASCII alphanumerics, hyphens, underscores and periods (< 100)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", charge_point_id)
    if safe != charge_point_id:
        safe = f"{safe[:40]}.{hashlib.sha1(charge_point_id.encode()).hexdigest()[:10]}"
    return f"charger.{safe}"


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


# Per-charger group sends in flight at once (each is two Redis round trips when nobody watches).
_CONCURRENT_SENDS = 16


async def _send_all(layer: Any, events: list[dict[str, Any]]) -> None:
    """The fleet group gets the whole batch as one message; each charger's group its own events."""
    fleet = events[0] if len(events) == 1 else {"type": "fleet.events", "events": events}
    gate = asyncio.Semaphore(_CONCURRENT_SENDS)

    async def send(group: str, message: dict[str, Any]) -> None:
        async with gate:
            await layer.group_send(group, message)

    await asyncio.gather(
        send(FLEET_GROUP, fleet), *(send(charger_group(event["charge_point_id"]), event) for event in events)
    )


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
