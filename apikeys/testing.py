"""Fixtures for API tests: clients authenticated with a real token, per role (import them in conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from .services import api_token_create, roles_sync

# "anonymous": no credentials; "nobody": a valid token of a user in no group.
ROLE_NAMES = ("anonymous", "nobody", "viewer", "operator", "admin")

ApiClientFactory = Callable[[str], APIClient]


@pytest.fixture
def api_client(db: None, settings: object) -> ApiClientFactory:
    """``api_client("operator")``: an APIClient sending the token of a new user in that group."""
    roles_sync()

    def make(role: str) -> APIClient:
        client = APIClient()
        if role == "anonymous":
            return client
        user = User.objects.create_user(username=f"{role}-{uuid.uuid4().hex[:8]}")
        if role != "nobody":
            user.groups.add(Group.objects.get(name=role))
        _, key = api_token_create(user=user, name=f"test {role}")
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make


@pytest.fixture
def admin_api(api_client: ApiClientFactory) -> APIClient:
    return api_client("admin")


@pytest.fixture
def operator_api(api_client: ApiClientFactory) -> APIClient:
    return api_client("operator")


@pytest.fixture
def viewer_api(api_client: ApiClientFactory) -> APIClient:
    return api_client("viewer")
