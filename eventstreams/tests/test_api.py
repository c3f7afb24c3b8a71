"""GET /api/v1/event-streams/ (and a stream's values), POST .../adjust/ (an AdjustPeriodicEventStream)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apikeys.testing import ApiClientFactory
from chargers.models import ChargePoint, Command
from eventstreams import services
from eventstreams.models import PeriodicEventStream

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def stream() -> PeriodicEventStream:
    station = ChargePoint.objects.create(charge_point_id="CS-API", ocpp_version="2.1", registration_status="Accepted")
    opened = services.event_stream_open(charge_point=station, params=services.StreamParams(4, 2, 10, 1), now=NOW)
    services.stream_values_record(
        charge_point=station, stream_id=4, basetime=NOW, items=[(0, "1"), (10, "2"), (20, "3")], pending=0, now=NOW
    )
    return opened


def test_streams_and_their_values_are_read(stream: PeriodicEventStream, api_client: ApiClientFactory) -> None:
    client = api_client("viewer")
    listed = client.get("/api/v1/event-streams/", {"charge_point": "CS-API"}).json()["results"]
    assert [(item["charge_point"], item["stream_id"], item["status"]) for item in listed] == [("CS-API", 4, "open")]
    assert client.get("/api/v1/event-streams/", {"charge_point": "other"}).json()["results"] == []
    values = client.get(f"/api/v1/event-streams/{stream.pk}/values/", {"from": "2026-12-01T10:00:05Z"}).json()
    assert [item["value"] for item in values] == ["2", "3"]
    bad = client.get(f"/api/v1/event-streams/{stream.pk}/values/", {"from": "yesterday"})
    assert bad.status_code == 400 and "from" in bad.json()
    assert api_client("anonymous").get("/api/v1/event-streams/").status_code in (401, 403)


def test_adjust_queues_the_command_and_refuses_bad_input(
    stream: PeriodicEventStream, api_client: ApiClientFactory
) -> None:
    operator = api_client("operator")
    created = operator.post(f"/api/v1/event-streams/{stream.pk}/adjust/", {"interval": 30}, format="json")
    assert created.status_code == 202, created.content
    command = Command.objects.get(pk=created.json()["id"])
    assert (command.action, command.request) == ("AdjustPeriodicEventStream", {"id": 4, "params": {"interval": 30}})
    empty = operator.post(f"/api/v1/event-streams/{stream.pk}/adjust/", {}, format="json")
    assert empty.status_code == 400
    negative = operator.post(f"/api/v1/event-streams/{stream.pk}/adjust/", {"values": -1}, format="json")
    assert negative.status_code == 400 and "values" in negative.json()
    assert (
        api_client("viewer")
        .post(f"/api/v1/event-streams/{stream.pk}/adjust/", {"interval": 5}, format="json")
        .status_code
        == 403
    )
    services.event_stream_close(charge_point=stream.charge_point, stream_id=4, now=NOW)
    closed = operator.post(f"/api/v1/event-streams/{stream.pk}/adjust/", {"interval": 5}, format="json")
    assert closed.status_code == 400 and "closed" in str(closed.json())
