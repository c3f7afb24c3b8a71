"""The permission matrix: each role against each kind of endpoint (401 without credentials, 403 beyond the role)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from apikeys.testing import ApiClientFactory
from chargers.commands import command_enqueue

pytestmark = pytest.mark.django_db

READ, OPERATE, ADMINISTER = "read", "operate", "administer"

# (kind, method, path, body, success status); {cancel} is a queued command of the test.
ENDPOINTS = [
    (READ, "get", "/api/v1/chargers/", None, 200),
    (READ, "get", "/api/v1/chargers/CP-1.a:b/", None, 200),
    (READ, "get", "/api/v1/chargers/CP-1.a:b/connectors/1/history/", None, 200),
    (READ, "get", "/api/v1/transactions/", None, 200),
    (READ, "get", "/api/v1/transactions/export/", None, 200),
    (READ, "get", "/api/v1/messages/", None, 200),
    (READ, "get", "/api/v1/commands/", None, 200),
    (READ, "get", "/api/v1/id-tags/", None, 200),
    (OPERATE, "post", "/api/v1/id-tags/", {"id_tag": "NEW"}, 201),
    (OPERATE, "patch", "/api/v1/id-tags/TAG2/", {"status": "Accepted"}, 200),
    (OPERATE, "delete", "/api/v1/id-tags/TAG2/", None, 204),
    (OPERATE, "post", "/api/v1/commands/", {"charge_point": "CP-1.a:b", "action": "ClearCache"}, 202),
    (OPERATE, "post", "/api/v1/chargers/CP-1.a:b/reset/", {"type": "Soft"}, 202),
    (OPERATE, "post", "/api/v1/commands/{cancel}/cancel/", None, 200),
    (ADMINISTER, "post", "/api/v1/chargers/CP-2/accept/", None, 200),
    (ADMINISTER, "post", "/api/v1/chargers/CP-2/reject/", None, 200),
    (ADMINISTER, "get", "/api/v1/credentials/", None, 200),
    (ADMINISTER, "put", "/api/v1/credentials/CP-2/", {}, 201),
]

ALLOWED = {
    "anonymous": set(),
    "nobody": set(),
    "viewer": {READ},
    "operator": {READ, OPERATE},
    "admin": {READ, OPERATE, ADMINISTER},
}


@pytest.mark.parametrize("role", list(ALLOWED))
@pytest.mark.parametrize(("kind", "method", "path", "body", "success"), ENDPOINTS, ids=lambda v: str(v))
def test_permission_matrix(
    api_client: ApiClientFactory,
    fleet: SimpleNamespace,
    role: str,
    kind: str,
    method: str,
    path: str,
    body: dict | None,
    success: int,
) -> None:
    client = api_client(role)
    cancel = command_enqueue(charge_point=fleet.cp1, action="ClearCache", payload={})
    response = getattr(client, method)(path.format(cancel=cancel.pk), body, format="json")
    if role == "anonymous":
        expected = 401
    elif kind in ALLOWED[role]:
        expected = success
    else:
        expected = 403
    assert response.status_code == expected, response.content


@pytest.mark.parametrize(("role", "expected"), [("anonymous", 401), ("nobody", 200), ("viewer", 200)])
def test_the_schema_needs_authentication_only(api_client: ApiClientFactory, role: str, expected: int) -> None:
    assert api_client(role).get("/api/schema/").status_code == expected
