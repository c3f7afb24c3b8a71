"""Charger credentials through the gateway's services: set (shown once), disable, never read back."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from gateway.models import ChargerCredential
from gateway.services import credential_check

pytestmark = pytest.mark.django_db


def test_set_a_generated_password_before_the_charger_ever_booted(admin_api: APIClient) -> None:
    response = admin_api.put("/api/v1/credentials/NEW-CP:01/", {"note": "bay 3"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert 16 <= len(body["password"]) <= 40 and body["enabled"] is True and body["note"] == "bay 3"
    assert credential_check("NEW-CP:01", body["password"])
    assert body["password"] not in ChargerCredential.objects.get(charge_point_id="NEW-CP:01").password_hash
    shown = admin_api.get("/api/v1/credentials/NEW-CP:01/").json()
    assert "password" not in shown and "password_hash" not in shown


def test_set_a_given_password_then_disable(admin_api: APIClient, fleet: SimpleNamespace) -> None:
    password = "correct-horse-battery"
    assert admin_api.put("/api/v1/credentials/CP-2/", {"password": password}, format="json").status_code == 201
    assert credential_check("CP-2", password)
    disabled = admin_api.patch("/api/v1/credentials/CP-2/", {"enabled": False}, format="json")
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    assert not credential_check("CP-2", password)
    listed = admin_api.get("/api/v1/credentials/?enabled=false").json()
    assert [c["charge_point_id"] for c in listed["results"]] == ["CP-2"]


@pytest.mark.parametrize(
    ("cid", "data", "field"),
    [
        ("CP+1", {}, "charge_point_id"),
        ("x" * 49, {}, "charge_point_id"),
        ("CP-1", {"password": "short"}, "password"),
        ("CP-1", {"enabled": "perhaps"}, "enabled"),
    ],
)
def test_bad_input_is_400(admin_api: APIClient, cid: str, data: dict, field: str) -> None:
    response = admin_api.put(f"/api/v1/credentials/{cid}/", data, format="json")
    assert response.status_code == 400 and field in response.json(), response.content


def test_unknown_credential_is_404(admin_api: APIClient) -> None:
    assert admin_api.get("/api/v1/credentials/none/").status_code == 404
    assert admin_api.patch("/api/v1/credentials/none/", {"enabled": False}, format="json").status_code == 404


def test_put_answers_201_when_it_creates_and_200_when_it_replaces(admin_api: APIClient) -> None:
    created = admin_api.put("/api/v1/credentials/CP-PUT/", {"password": "first-password-0001"}, format="json")
    assert created.status_code == 201, created.content
    replaced = admin_api.put("/api/v1/credentials/CP-PUT/", {"password": "second-password-002"}, format="json")
    assert replaced.status_code == 200, replaced.content
    assert ChargerCredential.objects.filter(charge_point_id="CP-PUT").count() == 1
    assert credential_check("CP-PUT", "second-password-002") and not credential_check("CP-PUT", "first-password-0001")


def test_security_profile_is_set_with_the_password_and_changed_alone(admin_api: APIClient) -> None:
    created = admin_api.put("/api/v1/credentials/CP-SP/", {"security_profile": 3}, format="json")
    assert created.status_code == 201 and created.json()["security_profile"] == 3, created.content
    password = created.json()["password"]
    changed = admin_api.patch("/api/v1/credentials/CP-SP/", {"security_profile": 2}, format="json")
    assert changed.status_code == 200 and changed.json()["security_profile"] == 2
    assert changed.json()["enabled"] is True
    assert credential_check("CP-SP", password)  # a new profile keeps the password
    replaced = admin_api.put("/api/v1/credentials/CP-SP/", {"password": "x" * 16}, format="json")
    assert replaced.json()["security_profile"] == 2  # omitted: unchanged
    assert admin_api.put("/api/v1/credentials/CP-NEW/", {}, format="json").json()["security_profile"] == 1


@pytest.mark.parametrize(
    ("method", "data", "field"),
    [
        ("patch", {}, "non_field_errors"),
        ("patch", {"security_profile": 4}, "security_profile"),
        ("put", {"security_profile": -1}, "security_profile"),
        ("put", {"password": "x" * 15}, "password"),
        ("put", {"password": "x" * 41}, "password"),
    ],
)
def test_bad_profiles_and_passwords_are_400_and_change_nothing(
    admin_api: APIClient, method: str, data: dict, field: str
) -> None:
    admin_api.put("/api/v1/credentials/CP-BAD/", {"password": "kept-password-0001"}, format="json")
    before = ChargerCredential.objects.get(charge_point_id="CP-BAD")
    response = getattr(admin_api, method)("/api/v1/credentials/CP-BAD/", data, format="json")
    assert response.status_code == 400 and field in response.json(), response.content
    after = ChargerCredential.objects.get(charge_point_id="CP-BAD")
    assert (after.password_hash, after.security_profile, after.updated_at) == (
        before.password_hash,
        before.security_profile,
        before.updated_at,
    )
