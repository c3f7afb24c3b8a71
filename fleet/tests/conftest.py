from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apikeys.testing import api_client, viewer_api  # noqa: F401 (fixtures)


@pytest.fixture
def operator_client(db: Any) -> Client:
    client = Client()
    client.force_login(User.objects.create_user(username="operator", password="operator-password-1"))
    return client
