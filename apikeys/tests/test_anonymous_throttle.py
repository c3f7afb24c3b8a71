"""Requests without valid credentials are throttled per address (issue 17 item 6), before their 401."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apikeys.testing import ApiClientFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/chargers/"
# The test client's REMOTE_ADDR, the throttle's identity for it.
KEY = "throttle:anon:ip:127.0.0.1"


@pytest.fixture(autouse=True)
def fresh_budget(settings: Any) -> Any:
    settings.CSMS_API_ANON_THROTTLE_RATE = "3/minute"
    cache.delete(KEY)  # anonymous requests of earlier tests share this address's budget
    yield
    cache.delete(KEY)


def test_anonymous_requests_are_refused_then_throttled() -> None:
    client = APIClient()
    assert [client.get(URL).status_code for _ in range(3)] == [401, 401, 401]
    throttled = client.get(URL)
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0


def test_guessed_tokens_count_as_anonymous_requests() -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-key-of-anyone")
    assert [client.get(URL).status_code for _ in range(3)] == [401, 401, 401]
    assert client.get(URL).status_code == 429
    assert APIClient().get(URL).status_code == 429  # the same address without a token: the same budget


def test_a_basic_header_that_is_not_base64_is_401_not_500() -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic !!not-base64!!")
    assert client.get(URL).status_code == 401


def test_authenticated_requests_do_not_spend_the_anonymous_budget(api_client: ApiClientFactory) -> None:
    viewer = api_client("viewer")
    assert all(viewer.get(URL).status_code == 200 for _ in range(5))
    assert APIClient().get(URL).status_code == 401


def test_an_empty_rate_turns_the_anonymous_throttle_off(settings: Any) -> None:
    settings.CSMS_API_ANON_THROTTLE_RATE = ""
    client = APIClient()
    assert all(client.get(URL).status_code == 401 for _ in range(6))
