"""Chargers, connectors and status history through the API: filters, detail, 404s, query counts."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from rest_framework.test import APIClient

from chargers.models import ChargePoint, Connector

pytestmark = pytest.mark.django_db


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["charge_point_id"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["CP-1.a:b", "CP-2", "CP-3"]),
        ("?online=true", ["CP-1.a:b"]),
        ("?online=false", ["CP-2", "CP-3"]),
        ("?vendor=acme", ["CP-1.a:b", "CP-3"]),
        ("?model=Slow", ["CP-2"]),
        ("?registration_status=Pending&registration_status=Rejected", ["CP-2", "CP-3"]),
        ("?status=Faulted", ["CP-1.a:b"]),
        ("?status=Available", ["CP-1.a:b", "CP-2"]),
        ("?search=p-2", ["CP-2"]),
        ("?search=a:b&vendor=ACME&online=true", ["CP-1.a:b"]),
    ],
)
def test_charger_filters(viewer_api: APIClient, fleet: SimpleNamespace, query: str, expected: list[str]) -> None:
    assert ids(viewer_api.get(f"/api/v1/chargers/{query}")) == expected


@pytest.mark.parametrize("query", ["?online=maybe", "?registration_status=Sleeping", "?status=Dancing", "?search=%00"])
def test_bad_filter_values_are_400_with_the_field(viewer_api: APIClient, fleet: SimpleNamespace, query: str) -> None:
    response = viewer_api.get(f"/api/v1/chargers/{query}")
    assert response.status_code == 400
    field = query[1:].split("=")[0]
    assert field in response.json()


def test_detail_by_an_id_with_punctuation_has_connectors_and_current_sessions(
    viewer_api: APIClient, fleet: SimpleNamespace
) -> None:
    body = viewer_api.get("/api/v1/chargers/CP-1.a:b/").json()
    assert body["charge_point_id"] == "CP-1.a:b" and body["url"].endswith("/api/v1/chargers/CP-1.a:b/")
    assert [(c["connector_id"], c["status"]) for c in body["connectors"]] == [
        (0, "Available"),
        (1, "Charging"),
        (2, "Faulted"),
    ]
    assert [s["id"] for s in body["current_sessions"]] == [fleet.active.pk]
    assert body["current_sessions"][0]["url"].endswith(f"/api/v1/transactions/{fleet.active.pk}/")


@pytest.mark.parametrize("cid", ["nope", "CP-1.a:b.", "%00", "x" * 300])
def test_unknown_charger_is_404(viewer_api: APIClient, fleet: SimpleNamespace, cid: str) -> None:
    assert viewer_api.get(f"/api/v1/chargers/{cid}/").status_code == 404
    assert viewer_api.get(f"/api/v1/chargers/{cid}/connectors/").status_code == 404


def test_list_and_detail_queries_do_not_grow_with_the_fleet(
    viewer_api: APIClient, fleet: SimpleNamespace, django_assert_max_num_queries: Any
) -> None:
    for i in range(30):
        cp = ChargePoint.objects.create(charge_point_id=f"MORE-{i}")
        Connector.objects.create(charge_point=cp, connector_id=1)
    # token lookup, last_used update, user permissions (2), count, page
    with django_assert_max_num_queries(6):
        assert len(viewer_api.get("/api/v1/chargers/?limit=100").json()["results"]) == 33
    with django_assert_max_num_queries(6):
        assert viewer_api.get("/api/v1/chargers/CP-1.a:b/").status_code == 200


def test_connectors_and_their_status_history(viewer_api: APIClient, fleet: SimpleNamespace) -> None:
    connectors = viewer_api.get("/api/v1/chargers/CP-1.a:b/connectors/").json()
    assert [c["connector_id"] for c in connectors] == [0, 1, 2]
    assert viewer_api.get("/api/v1/chargers/CP-1.a:b/connectors/2/").json()["status"] == "Faulted"
    assert viewer_api.get("/api/v1/chargers/CP-1.a:b/connectors/9/").status_code == 404
    assert viewer_api.get("/api/v1/chargers/CP-1.a:b/connectors/x/").status_code == 404
    assert viewer_api.get("/api/v1/chargers/CP-1.a:b/connectors/99999999999999999999/").status_code == 404

    page = viewer_api.get("/api/v1/chargers/CP-1.a:b/connectors/1/history/?page_size=2").json()
    assert [h["status"] for h in page["results"]] == ["Charging", "Preparing"]
    rest = viewer_api.get(page["next"]).json()
    assert [h["status"] for h in rest["results"]] == ["Available"] and rest["next"] is None
    only = viewer_api.get("/api/v1/chargers/CP-1.a:b/connectors/1/history/?status=Preparing").json()
    assert [h["status"] for h in only["results"]] == ["Preparing"]
    assert viewer_api.get("/api/v1/chargers/CP-1.a:b/connectors/1/history/?cursor=garbage").status_code == 404
    assert viewer_api.get("/api/v1/chargers/CP-2/connectors/7/history/").status_code == 404


def test_admins_accept_and_reject_through_the_service(admin_api: APIClient, fleet: SimpleNamespace) -> None:
    response = admin_api.post("/api/v1/chargers/CP-2/accept/")
    assert response.status_code == 200 and response.json()["registration_status"] == "Accepted"
    assert ChargePoint.objects.get(charge_point_id="CP-2").registration_status == "Accepted"
    assert admin_api.post("/api/v1/chargers/CP-2/reject/").json()["registration_status"] == "Rejected"
    assert admin_api.post("/api/v1/chargers/none/accept/").status_code == 404
