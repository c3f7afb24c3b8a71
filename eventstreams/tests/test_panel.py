"""The charger page's card of a 2.1 station's streams (and none on a 2.0.1 station's page)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chargers.models import ChargePoint
from dashboard.panels import charger_panels
from eventstreams import services

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_the_card_shows_the_streams_and_their_newest_values() -> None:
    station = ChargePoint.objects.create(charge_point_id="CS-P", ocpp_version="2.1")
    services.event_stream_open(charge_point=station, params=services.StreamParams(4, 12, 10), now=NOW)
    services.stream_values_record(
        charge_point=station, stream_id=4, basetime=NOW, items=[(0, "230.1"), (10, "231.7")], pending=3, now=NOW
    )
    [card] = [panel for panel in charger_panels(station, {}) if panel.element == "charger-event-streams"]
    assert 'id="event-stream-4"' in card.html and "every 10 s" in card.html
    assert card.html.index("231.7") < card.html.index("230.1")  # newest first
    assert "3 pending" in card.html
    older = ChargePoint.objects.create(charge_point_id="CS-201", ocpp_version="2.0.1")
    assert not [panel for panel in charger_panels(older, {}) if panel.element == "charger-event-streams"]
