"""Reads of periodic event streams: the charger page's card."""

from __future__ import annotations

from typing import Any

from chargers.models import ChargePoint

from .models import PeriodicEventStream

#: The charger page shows this many of a stream's newest values.
LATEST_VALUES = 5


def charger_event_streams(charge_point: ChargePoint) -> dict[str, Any]:
    """The station's streams, open ones first, each with its newest values (newest first)."""
    streams = list(PeriodicEventStream.objects.filter(charge_point=charge_point).order_by("status", "stream_id"))
    for stream in streams:
        stream.latest = list(stream.stream_values.order_by("-timestamp")[:LATEST_VALUES])  # type: ignore[attr-defined]
    return {"streams": streams}
