"""The charger page's display messages card (dashboard panel), for 2.0.1 and 2.1 stations only."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string

from chargers.models import ChargePoint
from dashboard.panels import CHARGER_PANELS, Panel
from displays.models import DisplayMessage

pytestmark = pytest.mark.django_db


def panel() -> Panel:
    # Only ours is rendered: the other apps' panels are theirs to test.
    return next(known for known in CHARGER_PANELS if known.element == "charger-display-messages")


def test_the_panel_lists_the_station_s_messages_and_only_on_2_0_1_stations() -> None:
    station = ChargePoint.objects.create(charge_point_id="CS-1", ocpp_version="2.0.1")
    DisplayMessage.objects.create(
        charge_point=station,
        message_id=3,
        priority="InFront",
        format="UTF8",
        content="Welcome",
        status="rejected",
        answer="NotSupportedPriority",
    )
    html = render_to_string(panel().template, {"panel": panel().context(station)})
    assert 'id="charger-display-messages"' in html
    assert 'id="display-message-3"' in html and "Welcome" in html and "NotSupportedPriority" in html
    assert panel().versions == frozenset({"2.0.1", "2.1"})
