"""One read side for both versions: a 2.0.1 session's energy, a 2.0.1 station's state and the new
filters are the same figures and the same rows on the dashboard, the API and the CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from rest_framework.test import APIClient

from chargers.api.tests.v201 import CID, v201_station
from chargers.models import ChargePoint, Connector
from dashboard import selectors as dashboard
from dashboard.tests import factories as f
from fleet import selectors
from fleet.selectors import State
from transactions.models import Transaction

pytestmark = pytest.mark.django_db


def _streamed(response: object) -> str:
    # ``object``: APIClient is typed as answering a DRF Response, which cannot also be a StreamingHttpResponse.
    assert isinstance(response, StreamingHttpResponse), type(response)
    return response.getvalue().decode()


def _csv(viewer_api: APIClient) -> dict[str, dict[str, str]]:
    body = _streamed(viewer_api.get("/api/v1/transactions/export/"))
    return {row["id"]: row for row in csv.DictReader(io.StringIO(body))}


def test_a_2_0_1_sessions_energy_is_one_figure_everywhere(viewer_api: APIClient) -> None:
    station = v201_station()
    rows = _csv(viewer_api)
    for tx, expected in ((station.active, 10_000), (station.ended, None)):
        detail = dashboard.session_detail(tx.pk)
        assert detail is not None
        api = viewer_api.get(f"/api/v1/transactions/{tx.pk}/").json()["energy_wh"]
        listed = next(row for row in dashboard.session_page({}).rows if row.transaction.pk == tx.pk)
        assert (detail.summary.energy_wh, api, listed.energy_wh) == (expected, expected, expected), tx
        assert rows[str(tx.pk)]["energy_wh"] == ("" if expected is None else str(expected))


def test_a_2_0_1_station_charges_when_its_session_says_so() -> None:
    """2.0.1 connectors say Occupied, not Charging: the open session's chargingState tells."""
    station = v201_station()
    assert selectors.charger_state(station.cp) == State.CHARGING
    annotated = selectors.with_charger_state(ChargePoint.objects.filter(pk=station.cp.pk)).get()
    assert selectors.charger_state(annotated) == State.CHARGING
    assert dashboard.fleet_counts().charging == 1

    Transaction.objects.filter(pk=station.active.pk).update(charging_state="EVConnected")
    assert selectors.charger_state(station.cp) == State.AVAILABLE  # EVSE 2's connector is Available
    Connector.objects.filter(charge_point=station.cp).update(status="Unavailable")
    assert selectors.charger_state(station.cp) == State.UNAVAILABLE


def test_dashboard_and_api_list_the_same_rows_for_the_new_filters(
    viewer_api: APIClient, operator_client: Client
) -> None:
    station = v201_station()
    f.session(f.charger("CP-16-A"), id_tag="TAG-A")

    for query in (
        "?transaction_id=abc-123",
        "?ocpp_version=2.0.1",
        "?ocpp_version=1.6",
        "?evse_id=2",
        f"?charger={CID.lower()}&evse_id=1",
    ):
        api = {str(row["id"]) for row in viewer_api.get("/api/v1/transactions/" + query).json()["results"]}
        html = operator_client.get("/sessions/" + query).content.decode()
        assert set(re.findall(r'<tr data-transaction="([^"]+)"', html)) == api, query
    assert {row["id"] for row in viewer_api.get("/api/v1/transactions/?evse_id=2").json()["results"]} == {
        station.ended.pk
    }

    for query in ("?ocpp_version=2.0.1", "?ocpp_version=1.6", "?status=Occupied"):
        api = {row["charge_point_id"] for row in viewer_api.get("/api/v1/chargers/" + query).json()["results"]}
        html = operator_client.get("/" + query).content.decode()
        assert set(re.findall(r'<tr id="cp-\d+" data-charge-point="([^"]+)"', html)) == api, query
    assert {
        row["charge_point_id"] for row in viewer_api.get("/api/v1/chargers/?status=Occupied").json()["results"]
    } == {CID}
