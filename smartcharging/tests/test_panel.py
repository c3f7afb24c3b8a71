"""The charger page's smart charging card: profiles per EVSE, the composite schedule drawn (inline SVG), limits
and EV needs; shown for 2.0.1 and 2.1 stations only."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from chargers.models import ChargePoint
from dashboard.panels import charger_panels
from smartcharging.charts import step_chart

from .helpers import AT, call, handle, profile, station

pytestmark = pytest.mark.django_db


def card(charge_point: ChargePoint) -> str:
    [html] = [panel.html for panel in charger_panels(charge_point, {}) if panel.element == "charger-smart-charging"]
    return html


def test_the_card_shows_profiles_per_evse_the_drawn_schedule_limits_and_needs() -> None:
    cs = station()
    call(
        cs,
        "SetChargingProfile",
        {"evseId": 0, "chargingProfile": profile(1, "ChargingStationMaxProfile")},
        {"status": "Accepted"},
    )
    call(cs, "SetChargingProfile", {"evseId": 2, "chargingProfile": profile(2, stack_level=3)}, {"status": "Accepted"})
    periods = [{"startPeriod": 0, "limit": 16.0}, {"startPeriod": 1800, "limit": 8.0}]
    schedule = {
        "evseId": 2,
        "duration": 3600,
        "scheduleStart": AT,
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": periods,
    }
    call(cs, "GetCompositeSchedule", {"duration": 3600, "evseId": 2}, {"status": "Accepted", "schedule": schedule})
    handle(
        "NotifyChargingLimit",
        {"chargingLimit": {"chargingLimitSource": "SO", "isGridCritical": True}, "evseId": 2},
        "n1",
    )
    handle(
        "NotifyEVChargingNeeds", {"evseId": 2, "chargingNeeds": {"requestedEnergyTransfer": "AC_single_phase"}}, "n2"
    )
    html = card(cs)
    assert re.findall(r'data-profile="(\d+)" data-evse="(\d+)"', html) == [("1", "0"), ("2", "2")]
    assert "16.0 A from 0 s" in html and "set by the CSMS · CSO" in html
    chart = step_chart(periods, duration=3600, unit="A")
    assert chart is not None and f'points="{chart.points}"' in html and "<svg" in html
    assert 'data-limit="SO"' in html and 'data-needs-evse="2"' in html and "AC_single_phase" in html


def test_the_step_chart_steps_down_at_each_period() -> None:
    chart = step_chart([{"startPeriod": 0, "limit": 10}, {"startPeriod": 50, "limit": 5}], duration=100, unit="W")
    assert chart is not None
    points = [tuple(map(float, point.split(","))) for point in chart.points.split()]
    # Four corners: high from 0 to the middle, then half as high to the end.
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points
    assert y0 == y1 == chart.peak_y and y2 == y3 and x1 == x2 and x0 == chart.left and x3 == chart.width - 4
    assert chart.baseline_y - y2 == pytest.approx((chart.baseline_y - y0) / 2, abs=0.1)
    assert step_chart([], duration=10, unit="A") is None


def test_the_card_is_for_2_0_1_and_2_1_stations_only() -> None:
    assert "No charging profile" in card(station())
    v16 = ChargePoint.objects.create(charge_point_id="CP-16", ocpp_version="1.6", registration_status="Accepted")
    assert all(panel.element != "charger-smart-charging" for panel in charger_panels(v16, {}))


def test_the_charger_page_renders_the_card(admin_client: Client) -> None:
    station()
    response = admin_client.get("/chargers/CS-1/")
    assert response.status_code == 200
    assert 'id="charger-smart-charging"' in response.content.decode()


@pytest.mark.parametrize(
    "model", ["profilereport", "compositeschedule", "charginglimit", "evchargingneeds", "evchargingschedule"]
)
def test_the_admin_lists_what_stations_reported(admin_client: Client, model: str) -> None:
    cs = station()
    handle("NotifyChargingLimit", {"chargingLimit": {"chargingLimitSource": "EMS"}, "evseId": 1}, "n1")
    handle("NotifyEVChargingNeeds", {"evseId": 1, "chargingNeeds": {"requestedEnergyTransfer": "DC"}}, "n2")
    assert cs.charging_limits.exists()
    assert admin_client.get(f"/admin/smartcharging/{model}/").status_code == 200
    assert admin_client.get(f"/admin/smartcharging/{model}/add/").status_code == 403
