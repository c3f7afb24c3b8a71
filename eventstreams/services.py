"""Every write of periodic event streams (OCPP 2.1): opened, values recorded, adjusted, closed, reported.

Called by the 2.1 protocol package (the station's OpenPeriodicEventStream, ClosePeriodicEventStream and
SEND NotifyPeriodicEventStream; the answers to our AdjustPeriodicEventStream and GetPeriodicEventStream)
with Python values. The processing holds the station's row locked while it applies a station's message,
so one station's stream messages apply one at a time, in order; every write is an upsert on a natural
key (the station's stream id, a value's time), so a message delivered twice changes nothing the second time.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import transaction

from backoffice.events import fleet_event
from chargers.models import ChargePoint

from .models import PeriodicEventStream, StreamValue


@dataclasses.dataclass(frozen=True)
class StreamParams:
    """A stream as a station describes it: its id, its monitor, its parameters (None: the station's default)."""

    stream_id: int
    variable_monitoring_id: int | None = None
    interval: int | None = None
    values: int | None = None


def event_stream_open(*, charge_point: ChargePoint, params: StreamParams, now: datetime) -> PeriodicEventStream:
    """A station opened a stream: the stream is open with these parameters (a known id opens again)."""
    with transaction.atomic():
        stream, _ = PeriodicEventStream.objects.update_or_create(
            charge_point=charge_point,
            stream_id=params.stream_id,
            defaults={
                "variable_monitoring_id": params.variable_monitoring_id,
                "interval": params.interval,
                "values": params.values,
                "status": PeriodicEventStream.Status.OPEN,
                "opened_at": now,
                "closed_at": None,
                "updated_at": now,
            },
        )
        fleet_event("eventstream", charge_point.charge_point_id, stream_id=params.stream_id, status="open")
    return stream


def event_stream_close(*, charge_point: ChargePoint, stream_id: int, now: datetime) -> bool:
    """A station closed a stream; whether the stream was open (a close of an unknown or closed one changes nothing)."""
    with transaction.atomic():
        closed = PeriodicEventStream.objects.filter(
            charge_point=charge_point, stream_id=stream_id, status=PeriodicEventStream.Status.OPEN
        ).update(status=PeriodicEventStream.Status.CLOSED, closed_at=now, updated_at=now)
        if closed:
            fleet_event("eventstream", charge_point.charge_point_id, stream_id=stream_id, status="closed")
    return bool(closed)


def stream_values_record(
    *,
    charge_point: ChargePoint,
    stream_id: int,
    basetime: datetime,
    items: Sequence[tuple[float, str]],
    pending: int,
    now: datetime,
) -> int:
    """Store one NotifyPeriodicEventStream: each ``(t, v)`` at ``basetime + t`` seconds; return how many were new.

    The values of a stream we never saw opened are kept: the stream is recorded open, its monitor unknown
    (a SEND cannot be refused, and the station's data is not ours to drop).
    """
    with transaction.atomic():
        stream, _ = PeriodicEventStream.objects.get_or_create(
            charge_point=charge_point, stream_id=stream_id, defaults={"opened_at": now, "updated_at": now}
        )
        rows = [
            StreamValue(
                stream=stream,
                timestamp=basetime + timedelta(seconds=offset),
                value=value,
                numeric_value=_number(value),
                received_at=now,
            )
            for offset, value in items
        ]
        before = StreamValue.objects.filter(stream=stream).count()
        # The same value twice (a redelivery, or twice in one message) is stored once.
        StreamValue.objects.bulk_create(rows, ignore_conflicts=True)
        added = StreamValue.objects.filter(stream=stream).count() - before
        newest = max((row.timestamp for row in rows), default=None)
        changes: dict[str, object] = {"pending": pending, "updated_at": now}
        if newest is not None and (stream.last_value_at is None or newest > stream.last_value_at):
            changes["last_value_at"] = newest
        PeriodicEventStream.objects.filter(pk=stream.pk).update(**changes)
        if added:
            fleet_event("eventstream", charge_point.charge_point_id, stream_id=stream_id, values=added)
    return added


def event_stream_adjust(*, charge_point: ChargePoint, stream_id: int, interval: int | None, values: int | None,
                        now: datetime) -> None:  # fmt: skip
    """The station accepted new parameters for a stream (AdjustPeriodicEventStream): they are the stream's."""
    changes: dict[str, object] = {"updated_at": now}
    if interval is not None:
        changes["interval"] = interval
    if values is not None:
        changes["values"] = values
    PeriodicEventStream.objects.filter(charge_point=charge_point, stream_id=stream_id).update(**changes)
    fleet_event("eventstream", charge_point.charge_point_id, stream_id=stream_id, status="adjusted")


def event_streams_report(*, charge_point: ChargePoint, streams: Sequence[StreamParams], now: datetime) -> None:
    """The station's open streams, as it answered GetPeriodicEventStream: those are open with those
    parameters, and every other stream of the station we had open is closed."""
    with transaction.atomic():
        for params in streams:
            PeriodicEventStream.objects.update_or_create(
                charge_point=charge_point,
                stream_id=params.stream_id,
                defaults={
                    "variable_monitoring_id": params.variable_monitoring_id,
                    "interval": params.interval,
                    "values": params.values,
                    "status": PeriodicEventStream.Status.OPEN,
                    "closed_at": None,
                    "updated_at": now,
                },
                create_defaults={
                    "variable_monitoring_id": params.variable_monitoring_id,
                    "interval": params.interval,
                    "values": params.values,
                    "opened_at": now,
                    "updated_at": now,
                },
            )
        PeriodicEventStream.objects.filter(charge_point=charge_point, status=PeriodicEventStream.Status.OPEN).exclude(
            stream_id__in=[params.stream_id for params in streams]
        ).update(status=PeriodicEventStream.Status.CLOSED, closed_at=now, updated_at=now)
        fleet_event("eventstream", charge_point.charge_point_id, status="reported")


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
