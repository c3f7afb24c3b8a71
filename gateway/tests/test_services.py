"""Charger credentials and the EMQX-style authentication endpoint."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import CommandError, call_command
from django.test import Client

from gateway import services
from gateway.models import ChargerCredential

pytestmark = pytest.mark.django_db


def test_password_is_stored_hashed_and_checked() -> None:
    credential, password = services.credential_set_password(charge_point_id="CP-1", password="correct horse 1234")
    assert password not in credential.password_hash
    assert services.credential_check("CP-1", "correct horse 1234")
    assert not services.credential_check("CP-1", "wrong")
    assert not services.credential_check("CP-unknown", "correct horse 1234")


def test_generated_password_and_disable() -> None:
    _, password = services.credential_set_password(charge_point_id="CP-2")
    assert 16 <= len(password) <= 40
    assert services.credential_check("CP-2", password)
    assert services.credential_set_enabled(charge_point_id="CP-2", enabled=False)
    assert not services.credential_check("CP-2", password)


def test_setting_again_replaces_the_password() -> None:
    services.credential_set_password(charge_point_id="CP-3", password="first-password-1")
    services.credential_set_password(charge_point_id="CP-3", password="second-password-2")
    assert ChargerCredential.objects.filter(charge_point_id="CP-3").count() == 1
    assert not services.credential_check("CP-3", "first-password-1")
    assert services.credential_check("CP-3", "second-password-2")


@pytest.mark.parametrize("cid", ["", "a/b", "a+b", "a#b", "x" * 49])
def test_invalid_ids_are_refused(cid: str) -> None:
    with pytest.raises(ValueError):
        services.credential_set_password(charge_point_id=cid, password="whatever-123-4567")


def test_emqx_http_authentication_endpoint() -> None:
    services.credential_set_password(charge_point_id="CP-4", password="emqx-pass-1234-16")
    client = Client()

    def ask(body: dict[str, str]) -> dict[str, object]:
        response = client.post("/gateway/auth", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        return response.json()

    assert ask({"clientid": "CP-4", "username": "CP-4", "password": "emqx-pass-1234-16"})["result"] == "allow"
    # EMQX's default body template has no clientid: the URL's id is unknown, so the username rule cannot hold
    assert ask({"username": "CP-4", "password": "emqx-pass-1234-16"})["result"] == "deny"
    denied = ask({"clientid": "CP-4", "username": "CP-4", "password": "nope"})
    assert denied == {"result": "deny", "is_superuser": False}
    assert ask({"clientid": "CP-5", "username": "CP-5", "password": "emqx-pass-1234-16"})["result"] == "deny"
    assert ask({"clientid": "CP-4"})["result"] == "deny"
    form = client.post("/gateway/auth", data={"clientid": "CP-4", "username": "CP-4", "password": "emqx-pass-1234-16"})
    assert form.json()["result"] == "allow"
    assert client.get("/gateway/auth").status_code == 405


def test_set_password_command(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("gateway_set_password", "CP-6", "--password", "from-the-command-1")
    assert services.credential_check("CP-6", "from-the-command-1")
    call_command("gateway_set_password", "CP-6", "--disable")
    assert not services.credential_check("CP-6", "from-the-command-1")


def test_admin_sets_the_password_and_never_shows_the_hash(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/gateway/chargercredential/add/",
        {
            "charge_point_id": "CP-7",
            "enabled": "on",
            "security_profile": "1",
            "note": "",
            "password": "admin-typed-pass-1",
        },
    )
    assert response.status_code == 302, response.content[:500]
    assert services.credential_check("CP-7", "admin-typed-pass-1")
    credential = ChargerCredential.objects.get(charge_point_id="CP-7")
    page = admin_client.get(f"/admin/gateway/chargercredential/{credential.pk}/change/").content.decode()
    assert credential.password_hash not in page
    # saving without a password keeps the current one
    admin_client.post(
        f"/admin/gateway/chargercredential/{credential.pk}/change/",
        {"charge_point_id": "CP-7", "security_profile": "1", "note": "disabled now", "password": ""},
    )
    credential.refresh_from_db()
    assert (credential.enabled, credential.note) == (False, "disabled now")
    assert services.credential_check("CP-7", "admin-typed-pass-1") is False  # disabled
    services.credential_set_enabled(charge_point_id="CP-7", enabled=True)
    assert services.credential_check("CP-7", "admin-typed-pass-1")


@pytest.mark.parametrize("password", ["x" * 15, "x" * 41, ""])
def test_passwords_outside_16_to_40_characters_are_refused(password: str) -> None:
    with pytest.raises(ValueError, match="16 to 40"):
        services.credential_set_password(charge_point_id="CP-8", password=password)
    assert not ChargerCredential.objects.filter(charge_point_id="CP-8").exists()


def test_new_hashes_use_the_configured_iterations(settings: Any) -> None:
    settings.CSMS_GATEWAY_PASSWORD_ITERATIONS = 12_345
    credential, _ = services.credential_set_password(charge_point_id="CP-9", password="sixteen-chars-ok")
    assert credential.password_hash.startswith("pbkdf2_sha256$12345$")
    assert services.credential_check("CP-9", "sixteen-chars-ok")


def test_a_stored_hash_of_another_cost_and_a_short_password_keep_working() -> None:
    # what a credential set before issue 17 looks like: Django's default cost, any length
    ChargerCredential.objects.create(charge_point_id="CP-OLD", password_hash=make_password("short-pw"))
    assert services.credential_check("CP-OLD", "short-pw")
    decision = services.handshake_authenticate(
        attempt=services.HandshakeAttempt(charge_point_id="CP-OLD", username="CP-OLD", password="short-pw")
    )
    assert decision.allowed and decision.security_profile == 1


def test_command_sets_the_profile_and_refuses_short_passwords() -> None:
    call_command("gateway_set_password", "CP-10", "--password", "from-the-command-10")
    call_command("gateway_set_password", "CP-10", "--security-profile", "2")
    credential = ChargerCredential.objects.get(charge_point_id="CP-10")
    assert credential.security_profile == 2
    assert services.credential_check("CP-10", "from-the-command-10")  # the password was kept
    with pytest.raises(CommandError, match="16 to 40"):
        call_command("gateway_set_password", "CP-10", "--password", "too-short")
    assert services.credential_check("CP-10", "from-the-command-10")


def test_admin_sets_the_profile_and_refuses_a_short_password(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/gateway/chargercredential/add/",
        {"charge_point_id": "CP-11", "enabled": "on", "security_profile": "3", "note": "", "password": "short"},
    )
    assert response.status_code == 200 and b"16 to 40" in response.content
    assert not ChargerCredential.objects.filter(charge_point_id="CP-11").exists()
    response = admin_client.post(
        "/admin/gateway/chargercredential/add/",
        {"charge_point_id": "CP-11", "enabled": "on", "security_profile": "3", "note": "", "password": "x" * 20},
    )
    assert response.status_code == 302
    assert ChargerCredential.objects.get(charge_point_id="CP-11").security_profile == 3
