"""GET /api/v1/chargers/{id}/certificates/: issued certificates, CSRs and the inventory; never a private key."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.testing import ApiClientFactory
from certificates import services
from certificates.models import CertificateAuthority
from chargers.models import ChargePoint

from .helpers import answer, call, csr_pem, root_pem, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def charger() -> ChargePoint:
    charger = ChargePoint.objects.create(
        charge_point_id="CP-1", ocpp_version="2.0.1", registration_status="Accepted", online=True
    )
    call("SignCertificate", {"csr": csr_pem("CP-1")}, cid="CP-1", version="2.0.1", message_id="m1")
    answer(send(charger), {"status": "Accepted"})
    call("SignCertificate", {"csr": csr_pem("CP-2")}, cid="CP-1", version="2.0.1", message_id="m2")
    services.installed_certificate_add(
        charge_point=charger, certificate_type="CSMSRootCertificate", certificate_pem=root_pem(), now=timezone.now()
    )
    return charger


def test_a_chargers_certificates_issued_requests_and_inventory(viewer_api: APIClient, charger: ChargePoint) -> None:
    response = viewer_api.get("/api/v1/chargers/CP-1/certificates/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert [(row["common_name"], row["status"]) for row in body["issued"]] == [("CP-1", "active")]
    assert body["issued"][0]["certificate_pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert [(row["outcome"], "CP-2" in row["reason"]) for row in body["requests"]] == [
        ("rejected", True),
        ("accepted", False),
    ]
    assert [(row["certificate_type"], row["hash_algorithm"], row["issued_by"]) for row in body["installed"]] == [
        ("CSMSRootCertificate", "SHA256", None)
    ]


def test_the_api_never_shows_a_private_key(admin_api: APIClient, charger: ChargePoint) -> None:
    key = CertificateAuthority.objects.get().private_key_pem
    assert "PRIVATE KEY" in key
    for url in ("/api/v1/chargers/CP-1/certificates/", "/api/v1/chargers/CP-1/", "/api/schema/"):
        text = admin_api.get(url).content.decode()
        assert "PRIVATE KEY" not in text and key.splitlines()[1] not in text


def test_an_unknown_charger_is_404_and_anonymous_is_401(viewer_api: APIClient, api_client: ApiClientFactory) -> None:
    assert viewer_api.get("/api/v1/chargers/NOPE/certificates/").status_code == 404
    assert api_client("anonymous").get("/api/v1/chargers/CP-1/certificates/").status_code == 401


def test_the_admin_shows_the_ca_without_its_key(admin_client: object) -> None:
    ca = services.ca_ensure()
    response = admin_client.get(f"/admin/certificates/certificateauthority/{ca.pk}/change/")  # type: ignore[attr-defined]
    assert response.status_code == 200
    text = response.content.decode()
    assert "BEGIN CERTIFICATE" in text and "PRIVATE KEY" not in text
