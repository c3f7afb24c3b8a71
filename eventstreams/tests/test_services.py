"""The periodic event stream services on the real database: open, values, adjust, report, close."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chargers.models import ChargePoint
from eventstreams import services
from eventstreams.models import PeriodicEventStream, StreamValue

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def station() -> ChargePoint:
    return ChargePoint.objects.create(charge_point_id="CS-ES", ocpp_version="2.1", registration_status="Accepted")


def test_a_stream_opened_again_is_the_same_stream_with_its_new_parameters(station: ChargePoint) -> None:
    services.event_stream_open(charge_point=station, params=services.StreamParams(1, 5, 10, 3), now=NOW)
    assert services.event_stream_close(charge_point=station, stream_id=1, now=NOW)
    assert not services.event_stream_close(charge_point=station, stream_id=1, now=NOW)  # closed already
    again = services.event_stream_open(charge_point=station, params=services.StreamParams(1, 6, 20), now=NOW)
    assert (again.status, again.variable_monitoring_id, again.interval, again.values, again.closed_at) == (
        "open",
        6,
        20,
        None,
        None,
    )
    assert PeriodicEventStream.objects.count() == 1


def test_values_are_stored_at_basetime_plus_t_once_each(station: ChargePoint) -> None:
    items = [(0.0, "1.5"), (2.5, "on"), (5.0, "nan")]
    added = services.stream_values_record(
        charge_point=station, stream_id=3, basetime=NOW, items=items, pending=4, now=NOW
    )
    assert added == 3
    rows = list(StreamValue.objects.values_list("timestamp", "value", "numeric_value"))
    assert rows == [
        (NOW, "1.5", 1.5),
        (NOW + timedelta(seconds=2.5), "on", None),
        (NOW + timedelta(seconds=5), "nan", None),
    ]
    again = services.stream_values_record(
        charge_point=station, stream_id=3, basetime=NOW, items=items[:1] + [(7.0, "2")], pending=0, now=NOW
    )
    assert again == 1 and StreamValue.objects.count() == 4
    stream = PeriodicEventStream.objects.get()
    assert (stream.pending, stream.last_value_at) == (0, NOW + timedelta(seconds=7))


def test_a_report_opens_what_the_station_has_and_closes_the_rest(station: ChargePoint) -> None:
    for stream_id in (1, 2):
        services.event_stream_open(charge_point=station, params=services.StreamParams(stream_id), now=NOW)
    services.event_streams_report(
        charge_point=station, streams=[services.StreamParams(2, 9, 60), services.StreamParams(3)], now=NOW
    )
    assert dict(PeriodicEventStream.objects.values_list("stream_id", "status")) == {1: "closed", 2: "open", 3: "open"}
    assert PeriodicEventStream.objects.get(stream_id=2).interval == 60


def test_adjust_changes_only_what_it_names(station: ChargePoint) -> None:
    services.event_stream_open(charge_point=station, params=services.StreamParams(1, 5, 10, 3), now=NOW)
    services.event_stream_adjust(charge_point=station, stream_id=1, interval=None, values=8, now=NOW)
    stream = PeriodicEventStream.objects.get()
    assert (stream.interval, stream.values) == (10, 8)
