"""An /api/ path no route matches is answered by the API (JSON 404), whatever the method, never with the
dashboard's HTML page or the CSRF refusal page (schemathesis found both: an id of the wrong shape)."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["get", "post", "delete"])
@pytest.mark.parametrize("path", ["/api/v1/chargers/CP-1/customer-information/-5/", "/api/v1/nothing-here/", "/api/"])
def test_an_unmatched_api_path_is_a_json_404(operator_api: APIClient, method: str, path: str) -> None:
    response = getattr(operator_api, method)(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json") and response.json() == {"detail": "Not found."}


def test_the_dashboards_404_is_still_a_page(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code in (302, 404) and not response["Content-Type"].startswith("application/json")
