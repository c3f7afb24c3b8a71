"""Fixtures for the dashboard tests: an operator account and a client logged in as it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

PASSWORD = "operator-password-1"


@pytest.fixture
def operator(db: Any) -> User:
    return User.objects.create_user(username="operator", password=PASSWORD)


@pytest.fixture
def operator_client(operator: User) -> Client:
    client = Client()
    client.force_login(operator)
    return client


from chargers.api.tests.v201 import v201  # noqa: E402, F401 (fixture)
