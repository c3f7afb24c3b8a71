"""The charger page's customer information card (dashboard panel), for 2.0.1 and 2.1 stations only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.template.loader import render_to_string

from chargers.models import ChargePoint
from dashboard.panels import CHARGER_PANELS, Panel
from privacy.models import CustomerInformationPart, CustomerInformationRequest

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def panel() -> Panel:
    # Only ours is rendered: the other apps' panels are theirs to test.
    return next(known for known in CHARGER_PANELS if known.element == "charger-customer-information")


def test_the_panel_lists_the_requests_with_their_parts() -> None:
    station = ChargePoint.objects.create(charge_point_id="CS-1", ocpp_version="2.0.1")
    asked = CustomerInformationRequest.objects.create(
        charge_point=station, request_id=3, report=True, clear=True, id_token="TOKEN-9", status="accepted"
    )
    for seq_no in (0, 1):
        CustomerInformationPart.objects.create(
            request=asked, seq_no=seq_no, data="x", tbc=seq_no == 0, generated_at=NOW, received_at=NOW
        )
    html = render_to_string(panel().template, {"panel": panel().context(station)})
    assert 'id="charger-customer-information"' in html and 'id="customer-information-3"' in html
    assert "TOKEN-9" in html and "report + clear" in html and "2 parts" in html and "accepted" in html
    assert panel().versions == frozenset({"2.0.1", "2.1"})
