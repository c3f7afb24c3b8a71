"""Token authentication, 401 vs 403, roles from the migration, throttling per token, the admin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.models import APIToken
from apikeys.permissions import ROLES
from apikeys.services import api_key_hash, api_token_create, api_token_revoke
from apikeys.testing import ApiClientFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/chargers/"


def token_client(key: str, keyword: str = "Token") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {key}")
    return client


@pytest.fixture
def viewer() -> User:
    user = User.objects.create_user(username="integrator")
    user.groups.add(Group.objects.get(name="viewer"))
    return user


def test_no_credentials_is_401_with_a_challenge() -> None:
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize("keyword", ["Token", "Bearer", "bearer"])
def test_a_token_authenticates_with_either_keyword(viewer: User, keyword: str) -> None:
    _, key = api_token_create(user=viewer, name="billing")
    assert token_client(key, keyword).get(URL).status_code == 200


def test_only_a_hash_of_the_key_is_stored(viewer: User) -> None:
    token, key = api_token_create(user=viewer, name="billing")
    row = APIToken.objects.values().get(pk=token.pk)
    assert key not in str(row)
    assert row["key_hash"] == api_key_hash(key) and row["prefix"] == key[:8]


def test_unknown_revoked_expired_tokens_and_inactive_users_get_401(viewer: User) -> None:
    assert token_client("not-a-key").get(URL).status_code == 401
    revoked, revoked_key = api_token_create(user=viewer, name="old")
    api_token_revoke(token=revoked)
    assert token_client(revoked_key).get(URL).status_code == 401
    _, expired_key = api_token_create(user=viewer, name="temp", expires_at=timezone.now() - timedelta(seconds=1))
    assert token_client(expired_key).get(URL).status_code == 401
    _, key = api_token_create(user=viewer, name="live")
    assert token_client(key).get(URL).status_code == 200
    viewer.is_active = False
    viewer.save()
    assert token_client(key).get(URL).status_code == 401
    assert token_client("a b", "Token").get(URL).status_code == 401


def test_use_is_recorded(viewer: User) -> None:
    token, key = api_token_create(user=viewer, name="billing")
    assert token.last_used_at is None
    token_client(key).get(URL)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_user_without_a_role_is_forbidden(api_client: ApiClientFactory) -> None:
    response = api_client("nobody").get(URL)
    assert response.status_code == 403


def test_session_authentication_for_the_browser(viewer: User) -> None:
    client = APIClient()
    client.force_login(viewer)
    assert client.get(URL).status_code == 200


def test_the_migration_created_the_roles_as_documented() -> None:
    for name, perms in ROLES.items():
        group = Group.objects.get(name=name)
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        assert held == set(perms), name
    assert set(ROLES["viewer"]) < set(ROLES["operator"]) < set(ROLES["admin"])


def test_throttling_is_per_token(viewer: User, settings: Any) -> None:
    settings.CSMS_API_THROTTLE_RATE = "1000/minute"
    _, limited = api_token_create(user=viewer, name="small", throttle_rate="2/minute")
    _, other = api_token_create(user=viewer, name="big")
    client = token_client(limited)
    assert [client.get(URL).status_code for _ in range(3)] == [200, 200, 429]
    throttled = client.get(URL)
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert token_client(other).get(URL).status_code == 200


def test_the_default_rate_applies_to_tokens_without_their_own(viewer: User, settings: Any) -> None:
    settings.CSMS_API_THROTTLE_RATE = "1/minute"
    _, key = api_token_create(user=viewer, name="default")
    client = token_client(key)
    assert [client.get(URL).status_code for _ in range(2)] == [200, 429]


def test_admins_create_a_token_in_the_admin_and_see_its_key_once(viewer: User) -> None:
    superuser = User.objects.create_superuser(username="root", password="x")
    browser = Client()
    browser.force_login(superuser)
    response = browser.post(
        "/admin/apikeys/apitoken/add/",
        {"name": "ems", "user": viewer.pk, "expires_at_0": "", "expires_at_1": "", "throttle_rate": ""},
        follow=True,
    )
    assert response.status_code == 200
    token = APIToken.objects.get(name="ems")
    shown = [str(m) for m in response.context["messages"] if "copy it now" in str(m)]
    assert len(shown) == 1
    key = shown[0].split(" is ")[1].split(" ")[0]
    assert api_key_hash(key) == token.key_hash
    assert token_client(key).get(URL).status_code == 200
    added = [str(m) for m in response.context["messages"] if "was added successfully" in str(m)]
    assert added and f"ems ({key[:8]}…)" in added[0], added
    page = browser.get(f"/admin/apikeys/apitoken/{token.pk}/change/")
    assert key not in page.content.decode()
    browser.post("/admin/apikeys/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token_client(key).get(URL).status_code == 401
