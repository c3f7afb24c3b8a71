"""Periodic event streams (OCPP 2.1): a station streams one monitor's values at a fixed pace.

The station opens a stream (OpenPeriodicEventStream: its id, the monitor, interval and values per message),
sends its values in NotifyPeriodicEventStream SENDs (message type 6: never answered) and closes it
(ClosePeriodicEventStream); the CSMS may change its pace (AdjustPeriodicEventStream) and ask which
streams are open (GetPeriodicEventStream). Every value is kept at its own time, ``basetime + t``
(``eventstreams``).

An Open is Accepted: the CSMS keeps whatever a station streams (its monitors are the station's to set up).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chargers.models import ChargePoint, Command
from eventstreams import services as streams

from .. import Handler
from ..blocks import Block, Effect
from ..payloads import timestamp


def _params(data: dict[str, Any]) -> streams.StreamParams:
    params = data.get("params") or {}
    return streams.StreamParams(
        stream_id=data["id"],
        variable_monitoring_id=data.get("variableMonitoringId"),
        interval=params.get("interval"),
        values=params.get("values"),
    )


def open_periodic_event_stream(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    streams.event_stream_open(charge_point=cp, params=_params(payload["constantStreamData"]), now=now)
    return {"status": "Accepted"}


def close_periodic_event_stream(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    streams.event_stream_close(charge_point=cp, stream_id=payload["id"], now=now)
    return {}


def notify_periodic_event_stream(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A SEND: the values stored; what this returns is never sent."""
    basetime = timestamp(payload, "basetime")
    streams.stream_values_record(
        charge_point=cp,
        stream_id=payload["id"],
        basetime=basetime,
        items=[(float(item["t"]), item["v"]) for item in payload["data"]],
        pending=payload["pending"],
        now=now,
    )
    return {}


def _adjusted(command: Command, response: dict[str, Any], now: datetime) -> None:
    if response.get("status") == "Accepted":
        params = command.request.get("params") or {}
        streams.event_stream_adjust(
            charge_point=command.charge_point,
            stream_id=command.request["id"],
            interval=params.get("interval"),
            values=params.get("values"),
            now=now,
        )


def _reported(command: Command, response: dict[str, Any], now: datetime) -> None:
    reported = [_params(item) for item in response.get("constantStreamData", [])]
    streams.event_streams_report(charge_point=command.charge_point, streams=reported, now=now)


EFFECTS: dict[str, Effect] = {"AdjustPeriodicEventStream": _adjusted, "GetPeriodicEventStream": _reported}

BLOCK = Block(
    "eventstreams",
    handlers={
        "OpenPeriodicEventStream": open_periodic_event_stream,
        "ClosePeriodicEventStream": close_periodic_event_stream,
    },
    effects=EFFECTS,
)

#: The SEND messages of the block (message type 6), by action.
SEND_HANDLERS: dict[str, Handler] = {"NotifyPeriodicEventStream": notify_periodic_event_stream}
