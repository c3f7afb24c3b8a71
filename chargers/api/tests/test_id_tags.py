"""Id tags: full CRUD with the parent given by its id tag string; bad input is a 400."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from rest_framework.test import APIClient

from chargers.models import IdTag

pytestmark = pytest.mark.django_db


def test_crud(operator_api: APIClient, fleet: SimpleNamespace) -> None:
    created = operator_api.post(
        "/api/v1/id-tags/",
        {"id_tag": "NEW-1", "expiry_date": "2030-01-01T00:00:00Z", "parent": "FLEET", "note": "driver 9"},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "Accepted" and created.json()["parent"] == "FLEET"
    assert IdTag.objects.get(id_tag="NEW-1").parent == fleet.fleet_tag

    changed = operator_api.patch("/api/v1/id-tags/NEW-1/", {"status": "Blocked", "parent": None}, format="json")
    assert changed.status_code == 200 and changed.json()["parent"] is None
    tag = IdTag.objects.get(id_tag="NEW-1")
    assert (tag.status, tag.parent, tag.note) == ("Blocked", None, "driver 9")

    replaced = operator_api.put("/api/v1/id-tags/NEW-1/", {"status": "Invalid", "id_tag": "RENAMED"}, format="json")
    assert replaced.status_code == 200 and replaced.json()["id_tag"] == "NEW-1"

    assert operator_api.get("/api/v1/id-tags/NEW-1/").json()["status"] == "Invalid"
    assert operator_api.delete("/api/v1/id-tags/NEW-1/").status_code == 204
    assert operator_api.get("/api/v1/id-tags/NEW-1/").status_code == 404


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"id_tag": "TAG1"}, "id_tag"),
        ({"id_tag": "x" * 256}, "id_tag"),
        ({"id_tag": "a/b"}, "id_tag"),
        ({"id_tag": ""}, "id_tag"),
        ({"id_tag": "N", "status": "ConcurrentTx"}, "status"),
        ({"id_tag": "N", "parent": "NOBODY"}, "parent"),
        ({"id_tag": "N", "expiry_date": "next week"}, "expiry_date"),
        ({"id_tag": "N", "note": "a\u0000b"}, "note"),
    ],
)
def test_bad_input_is_400(operator_api: APIClient, fleet: SimpleNamespace, data: dict[str, Any], field: str) -> None:
    response = operator_api.post("/api/v1/id-tags/", data, format="json")
    assert response.status_code == 400 and field in response.json(), response.content


def test_a_parent_chain_cannot_loop(operator_api: APIClient, fleet: SimpleNamespace) -> None:
    response = operator_api.patch("/api/v1/id-tags/FLEET/", {"parent": "TAG1"}, format="json")
    assert response.status_code == 400 and "parent" in response.json()
    assert operator_api.patch("/api/v1/id-tags/FLEET/", {"parent": "FLEET"}, format="json").status_code == 400
    assert IdTag.objects.get(id_tag="FLEET").parent is None


def test_filters(viewer_api: APIClient, fleet: SimpleNamespace) -> None:
    def tags(query: str) -> list[str]:
        return [t["id_tag"] for t in viewer_api.get(f"/api/v1/id-tags/{query}").json()["results"]]

    assert tags("") == ["FLEET", "TAG1", "TAG2"]
    assert tags("?status=Blocked") == ["TAG2"]
    assert tags("?parent=FLEET") == ["TAG1"]
    assert tags("?search=tag") == ["TAG1", "TAG2"]
    assert tags("?expired=false") == ["FLEET", "TAG1", "TAG2"]
    assert tags("?expired=true") == []


def test_a_token_is_created_and_changed_with_its_2_0_1_type(operator_api: APIClient, fleet: SimpleNamespace) -> None:
    created = operator_api.post("/api/v1/id-tags/", {"id_tag": "NL-TNM-C00122045-K", "type": "eMAID"}, format="json")
    assert created.status_code == 201, created.content
    assert IdTag.objects.get(id_tag="NL-TNM-C00122045-K").type == "eMAID"
    changed = operator_api.patch("/api/v1/id-tags/NL-TNM-C00122045-K/", {"type": "Central"}, format="json")
    assert changed.status_code == 200 and changed.json()["type"] == "Central"
    refused = operator_api.post("/api/v1/id-tags/", {"id_tag": "COIN", "type": "Cash"}, format="json")
    assert refused.status_code == 400 and "type" in refused.json()
