"""The tariffs API: tariffs, groups of chargers, the tariff that applies to a charger."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from apikeys.services import api_token_create
from apikeys.testing import ApiClientFactory, api_client  # noqa: F401 (fixture)
from chargers.models import ChargePoint
from tariffs.models import ChargerGroup, ChargerGroupMember, Tariff
from transactions.models import Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> APIClient:
    user = User.objects.create_superuser(username="tariff-admin")
    _, key = api_token_create(user=user, name="test")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


TARIFF = {"name": "Standard", "currency": "EUR", "energy_price": "0.29", "time_price": "1.2", "session_fee": "0.5"}


def test_a_default_tariff_and_a_chargers_own(client: APIClient) -> None:
    ChargePoint.objects.create(charge_point_id="CP-1")
    created = client.post("/api/v1/tariffs/", TARIFF, format="json")
    assert created.status_code == 201, created.content
    assert (created.json()["scope"], created.json()["energy_price"]) == ("default", "0.290000")
    own = client.post("/api/v1/tariffs/", {**TARIFF, "name": "Own", "charge_point_id": "CP-1"}, format="json")
    assert own.status_code == 201 and own.json()["scope"] == "charger"
    assert client.get("/api/v1/chargers/CP-1/tariff/").json()["name"] == "Own"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "euro"}, "currency"),
        ({"energy_price": "-1"}, "energy_price"),
        ({"valid_from": "2026-12-01T00:00:00Z", "valid_to": "2026-11-01T00:00:00Z"}, "valid_to"),
        ({"charge_point_id": "NOPE"}, "charge_point_id"),
    ],
)
def test_bad_tariffs_are_refused_with_the_reason(client: APIClient, change: dict[str, str], field: str) -> None:
    response = client.post("/api/v1/tariffs/", {**TARIFF, **change}, format="json")
    assert response.status_code == 400 and field in response.json(), response.content


def test_both_a_charger_and_a_group_is_refused(client: APIClient) -> None:
    ChargePoint.objects.create(charge_point_id="CP-1")
    group = client.post("/api/v1/tariff-groups/", {"name": "Site"}, format="json").json()
    response = client.post(
        "/api/v1/tariffs/", {**TARIFF, "charge_point_id": "CP-1", "group": group["id"]}, format="json"
    )
    assert response.status_code == 400 and "group" in response.json()


def test_a_group_and_its_members(client: APIClient) -> None:
    for cid in ("CP-1", "CP-2", "CP-3"):
        ChargePoint.objects.create(charge_point_id=cid)
    first = client.post("/api/v1/tariff-groups/", {"name": "A", "charge_point_ids": ["CP-1", "CP-2"]}, format="json")
    assert first.status_code == 201 and first.json()["charge_point_ids"] == ["CP-1", "CP-2"]
    # A charger is in one group: CP-2 moves.
    second = client.post("/api/v1/tariff-groups/", {"name": "B", "charge_point_ids": ["CP-2", "CP-3"]}, format="json")
    assert second.json()["charge_point_ids"] == ["CP-2", "CP-3"]
    assert client.get(f"/api/v1/tariff-groups/{first.json()['id']}/").json()["charge_point_ids"] == ["CP-1"]
    assert ChargerGroupMember.objects.get(charge_point__charge_point_id="CP-2").group.name == "B"
    unknown = client.post("/api/v1/tariff-groups/", {"name": "C", "charge_point_ids": ["NOPE"]}, format="json")
    assert unknown.status_code == 400 and "NOPE" in str(unknown.json())
    client.post("/api/v1/tariffs/", {**TARIFF, "name": "B's", "group": second.json()["id"]}, format="json")
    assert client.get("/api/v1/chargers/CP-3/tariff/").json()["name"] == "B's"
    assert client.get("/api/v1/chargers/CP-1/tariff/").status_code == 404


def test_a_tariff_that_priced_sessions_is_ended_not_deleted(client: APIClient) -> None:
    cp = ChargePoint.objects.create(charge_point_id="CP-1")
    tariff = Tariff.objects.create(name="Used", currency="EUR", energy_price=Decimal("0.3"))
    Transaction.objects.create(
        charge_point=cp, connector_id=1, id_tag_status="Accepted", started_at="2026-11-23T10:00:00Z",
        start_received_at="2026-11-23T10:00:00Z", tariff=tariff, currency="EUR",
    )  # fmt: skip
    response = client.delete(f"/api/v1/tariffs/{tariff.pk}/")
    assert response.status_code == 400 and "valid_to" in str(response.json())
    assert Tariff.objects.filter(pk=tariff.pk).exists()
    # Nor its group's, through the group.
    group = ChargerGroup.objects.create(name="Site")
    Tariff.objects.filter(pk=tariff.pk).update(group=group)
    assert client.delete(f"/api/v1/tariff-groups/{group.pk}/").status_code == 400
    assert Tariff.objects.filter(pk=tariff.pk).exists()


def test_roles_without_the_tariff_permissions_cannot_write(api_client: ApiClientFactory) -> None:  # noqa: F811
    response = api_client("operator").post("/api/v1/tariffs/", TARIFF, format="json")
    assert response.status_code == 403
