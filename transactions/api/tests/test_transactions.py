"""Sessions through the API: filters, energy and duration, meter values (cursor), CSV export, query counts."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.http import StreamingHttpResponse
from rest_framework.test import APIClient

from transactions.models import MeterValue, Transaction

pytestmark = pytest.mark.django_db


def _streamed(response: object) -> bytes:
    """The body of a streamed response (APIClient is typed as answering a DRF Response; the export streams)."""
    assert isinstance(response, StreamingHttpResponse), type(response)
    return response.getvalue()


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_filters(viewer_api: APIClient, fleet: SimpleNamespace) -> None:
    active, done, other = fleet.active.pk, fleet.done.pk, fleet.other.pk
    hours_ago = (fleet.now - timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    cases = {
        "": [active, done, other],
        "?charge_point=CP-1.a:b": [active, done],
        "?charge_point=CP-1.a:b&connector=2": [done],
        "?id_tag=TAG1": [active],
        "?active=true": [active],
        "?active=false": [done, other],
        f"?started_after={hours_ago}": [active],
        f"?started_before={hours_ago}": [done, other],
        f"?stopped_after={hours_ago}": [],
        "?charge_point=unknown": [],
    }
    for query, expected in cases.items():
        assert ids(viewer_api.get(f"/api/v1/transactions/{query}")) == expected, query


@pytest.mark.parametrize(
    "query", ["?connector=1.5", "?connector=-1", "?active=perhaps", "?started_after=noon", "?connector=99999999999999"]
)
def test_bad_filters_are_400(viewer_api: APIClient, fleet: SimpleNamespace, query: str) -> None:
    response = viewer_api.get(f"/api/v1/transactions/{query}")
    assert response.status_code == 400 and query[1:].split("=")[0] in response.json()


def test_detail_has_energy_and_duration(viewer_api: APIClient, fleet: SimpleNamespace) -> None:
    done = viewer_api.get(f"/api/v1/transactions/{fleet.done.pk}/").json()
    assert (done["energy_wh"], done["energy_final"], done["duration_seconds"], done["active"]) == (
        11000,
        True,
        3600,
        False,
    )
    # Still charging: from the latest register reading (1.5 kWh) minus the meter start (1000 Wh).
    active = viewer_api.get(f"/api/v1/transactions/{fleet.active.pk}/").json()
    assert (active["energy_wh"], active["energy_final"], active["active"]) == (500, False, True)
    assert 3600 <= active["duration_seconds"] < 3700
    assert active["charge_point_id"] == "CP-1.a:b" and active["meter_values_url"].endswith("/meter-values/")


@pytest.mark.parametrize("tid", ["0", "abc", "99999999999999999999999", "%00"])
def test_unknown_transaction_is_404(viewer_api: APIClient, fleet: SimpleNamespace, tid: str) -> None:
    assert viewer_api.get(f"/api/v1/transactions/{tid}/").status_code == 404
    assert viewer_api.get(f"/api/v1/transactions/{tid}/meter-values/").status_code == 404


def test_meter_values_cursor_pages_and_filters(viewer_api: APIClient, fleet: SimpleNamespace) -> None:
    url = f"/api/v1/transactions/{fleet.active.pk}/meter-values/"
    page = viewer_api.get(f"{url}?measurand=Energy.Active.Import.Register&page_size=4").json()
    assert "count" not in page and len(page["results"]) == 4
    seen = [row["value"] for row in page["results"]]
    while page["next"]:
        page = viewer_api.get(page["next"]).json()
        seen += [row["value"] for row in page["results"]]
    assert seen == ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5"]
    assert len(viewer_api.get(url).json()["results"]) == 12
    after = (fleet.now - timedelta(minutes=25)).isoformat().replace("+00:00", "Z")
    recent = viewer_api.get(f"{url}?measurand=Power.Active.Import&after={after}").json()["results"]
    assert len(recent) == 2 and {row["measurand"] for row in recent} == {"Power.Active.Import"}
    assert viewer_api.get(f"{url}?measurand=Speed").status_code == 400
    assert viewer_api.get(f"{url}?cursor=bad").status_code == 404


def test_csv_export_streams_the_filtered_list(viewer_api: APIClient, fleet: SimpleNamespace) -> None:
    response = viewer_api.get("/api/v1/transactions/export/?charge_point=CP-1.a:b")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(_streamed(response).decode())))
    assert [int(r["id"]) for r in rows] == [fleet.active.pk, fleet.done.pk]
    assert rows[1]["energy_wh"] == "11000" and rows[1]["stop_reason"] == "Local" and rows[1]["energy_final"] == "true"
    assert rows[0]["stopped_at"] == "" and rows[0]["energy_wh"] == "500"

    everything = viewer_api.get("/api/v1/transactions/export/", HTTP_ACCEPT="text/csv")
    rows = list(csv.DictReader(io.StringIO(_streamed(everything).decode())))
    # A value a spreadsheet would run as a formula is quoted.
    assert [r["id_tag"] for r in rows][-1] == "'=HYPERLINK(1)"
    assert viewer_api.get("/api/v1/transactions/export/?active=perhaps").status_code == 400


def test_list_and_export_queries_do_not_grow(
    viewer_api: APIClient, fleet: SimpleNamespace, django_assert_max_num_queries: Any
) -> None:
    for i in range(40):
        tx = Transaction.objects.create(
            charge_point=fleet.cp2,
            connector_id=2,
            id_tag=f"T{i}",
            id_tag_status="Accepted",
            meter_start=0,
            started_at=fleet.now - timedelta(minutes=i),
            start_received_at=fleet.now,
        )
        MeterValue.objects.create(
            charge_point=fleet.cp2,
            connector_id=2,
            transaction=tx,
            timestamp=fleet.now - timedelta(minutes=i, seconds=-1),
            received_at=fleet.now,
            value="10",
            numeric_value=10,
        )
    with django_assert_max_num_queries(6):
        body = viewer_api.get("/api/v1/transactions/?limit=100").json()
    assert body["count"] == 43 and {row["energy_wh"] for row in body["results"][:40]} == {10}
    with django_assert_max_num_queries(6):
        response = viewer_api.get("/api/v1/transactions/export/")
        assert len(_streamed(response).splitlines()) == 44
    with django_assert_max_num_queries(6):
        viewer_api.get(f"/api/v1/transactions/{fleet.active.pk}/meter-values/")
