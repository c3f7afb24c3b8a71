"""GET /api/v1/chargers/{id}/reservations/: both versions' reservations in one shape, newest first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.testing import ApiClientFactory
from chargers.commands import command_enqueue
from chargers.models import ChargePoint

pytestmark = pytest.mark.django_db


def later() -> str:
    return (timezone.now() + timedelta(hours=1)).isoformat()


@pytest.fixture
def stations() -> tuple[ChargePoint, ChargePoint]:
    v16 = ChargePoint.objects.create(charge_point_id="CP-16", ocpp_version="1.6", registration_status="Accepted")
    v201 = ChargePoint.objects.create(charge_point_id="CS-201", ocpp_version="2.0.1", registration_status="Accepted")
    command_enqueue(
        charge_point=v16,
        action="ReserveNow",
        payload={
            "connectorId": 2,
            "expiryDate": later(),
            "idTag": "CARD-1",
            "parentIdTag": "FLEET",
            "reservationId": 1,
        },
    )
    for payload in (
        {"id": 5, "evseId": 1, "groupIdToken": {"idToken": "FLEET", "type": "Central"}},
        {"id": 6, "connectorType": "cCCS2"},
    ):
        command_enqueue(
            charge_point=v201,
            action="ReserveNow",
            payload={"expiryDateTime": later(), "idToken": {"idToken": "CARD-1", "type": "ISO14443"}, **payload},
        )
    return v16, v201


def listed(client: APIClient, cid: str, query: str = "") -> list[dict[str, object]]:
    response = client.get(f"/api/v1/chargers/{cid}/reservations/{query}")
    assert response.status_code == 200, response.content
    return list(response.json()["results"])


def test_a_2_0_1_station_s_reservations_with_their_evse_type_and_group(
    viewer_api: APIClient, stations: tuple[ChargePoint, ChargePoint]
) -> None:
    rows = listed(viewer_api, "CS-201")
    shown = [
        (r["reservation_id"], r["evse_id"], r["connector_type"], r["id_token_type"], r["parent_id_tag"], r["status"])
        for r in rows
    ]
    assert shown == [(6, None, "cCCS2", "ISO14443", "", "requested"), (5, 1, "", "ISO14443", "FLEET", "requested")]
    assert rows[1]["parent_id_token_type"] == "Central"


def test_a_1_6_charger_s_reservation_is_of_its_connector_s_evse(
    viewer_api: APIClient, stations: tuple[ChargePoint, ChargePoint]
) -> None:
    [row] = listed(viewer_api, "CP-16")
    assert (row["evse_id"], row["connector_id"], row["id_token_type"], row["parent_id_tag"]) == (2, 2, "", "FLEET")


def test_filtered_by_status_and_only_for_who_may_see_chargers(
    api_client: ApiClientFactory, viewer_api: APIClient, stations: tuple[ChargePoint, ChargePoint]
) -> None:
    assert listed(viewer_api, "CS-201", "?status=accepted") == []
    assert len(listed(viewer_api, "CS-201", "?status=requested")) == 2
    assert viewer_api.get("/api/v1/chargers/NOPE/reservations/").status_code == 404
    assert api_client("anonymous").get("/api/v1/chargers/CS-201/reservations/").status_code == 401
