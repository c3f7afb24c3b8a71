"""The dashboard's certificate panels: a charger's issued certificates, inventory and CSRs on its page (nothing
secret in the HTML), and the fleet page's certificates needing attention, in two queries whatever the fleet."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from certificates import panels, services
from certificates.models import CertificateAuthority, CertificateSigningRequest, IssuedCertificate
from chargers.models import ChargePoint

from .helpers import answer, call, csr_pem, root_pem, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser() -> Client:
    """An admin: the panel shows an admin no more than anyone (no key material, no PEM)."""
    client = Client()
    client.force_login(User.objects.create_superuser(username="root", password="root-password-123"))
    return client


def certified(charger: ChargePoint, message_id: str) -> IssuedCertificate:
    """The charger's CSR signed and the certificate accepted by it (active; the previous one superseded)."""
    cid = charger.charge_point_id
    reply = call("SignCertificate", {"csr": csr_pem(cid)}, cid=cid, version=charger.ocpp_version, message_id=message_id)
    assert reply.payload["status"] == "Accepted"
    command = answer(send(charger), {"status": "Accepted"})
    return IssuedCertificate.objects.get(command=command)


def row(html: str, element: str) -> str:
    match = re.search(rf'<tr id="{element}".*?</tr>', html, re.S)
    assert match is not None, f"{element} is not on the page"
    return match.group(0)


@override_settings(CSMS_CA_CERTIFICATE_DAYS=20, CSMS_CA_RENEW_BEFORE_DAYS=30)
@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_the_charger_page_shows_its_certificates_inventory_and_csrs_and_nothing_secret(
    admin_browser: Client, version: str
) -> None:
    charger = ChargePoint.objects.create(
        charge_point_id="CP-1", ocpp_version=version, registration_status="Accepted", online=True
    )
    old = certified(charger, "m1")
    revoked = certified(charger, "m2")
    services.certificate_revoke(certificate=revoked, now=timezone.now())
    active = certified(charger, "m3")
    old.refresh_from_db()
    assert (old.status, active.status) == ("superseded", "active")
    call("SignCertificate", {"csr": csr_pem("CP-2")}, cid="CP-1", version=version, message_id="m4")
    services.installed_certificate_add(
        charge_point=charger, certificate_type="CSMSRootCertificate", certificate_pem=root_pem(), now=timezone.now()
    )

    html = admin_browser.get("/chargers/CP-1/").content.decode()

    assert 'id="charger-certificates"' in html
    current = row(html, f"issued-certificate-{active.pk}")
    assert active.serial_number in current and "CP-1" in current and 'data-status="active"' in current
    # 20 days long, renewed 30 days before the end: the renewal is due, and the days left are highlighted.
    assert "data-renewal-due" in current and re.search(r'<span class="badge warn"[^>]*>(19|20)</span>', current)
    assert active.not_after.strftime("%Y-%m-%d") in current and active.not_before.strftime("%Y-%m-%d") in current
    assert 'data-status="superseded"' in row(html, f"issued-certificate-{old.pk}")
    gone = row(html, f"issued-certificate-{revoked.pk}")
    assert 'data-status="revoked"' in gone and "data-renewal-due" not in gone
    installed = charger.installed_certificates.get()
    assert f'data-installed="{installed.serial_number}"' in html and "CSMSRootCertificate" in html
    assert installed.issuer_name_hash[:16] in html
    rejected = CertificateSigningRequest.objects.get(outcome="rejected")
    refused = row(html, f"csr-{rejected.pk}")
    assert 'data-outcome="rejected"' in refused and "is not the charge point id" in refused
    # Nothing secret (and no PEM at all): not the CA's key, not a certificate, not a CSR.
    ca = CertificateAuthority.objects.get()
    assert "PRIVATE KEY" not in html
    for secret in ca.private_key_pem.splitlines()[1:-1]:
        assert secret not in html
    # The panel shows no PEM at all (the page's message log shows the SignCertificate's public CSR: not ours).
    panel = html[html.index('<section id="charger-certificates"') :]
    panel = panel[: panel.index("</section>")]
    assert "-----BEGIN" not in panel and active.certificate_pem.splitlines()[1] not in panel


def test_a_charger_without_certificates_shows_the_empty_panel(admin_browser: Client) -> None:
    ChargePoint.objects.create(charge_point_id="CP-0", ocpp_version="2.0.1", registration_status="Accepted")
    html = admin_browser.get("/chargers/CP-0/").content.decode()
    assert 'id="charger-certificates"' in html and "None issued." in html and "No CSR received." in html


def _issued(charger: ChargePoint, serial: str, days: float, status: str = "active") -> IssuedCertificate:
    now = timezone.now()
    return IssuedCertificate.objects.create(
        charge_point=charger,
        serial_number=serial,
        common_name=charger.charge_point_id,
        issuer="CN=CSMS CA",
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=days),
        certificate_pem="",
        chain_pem="",
        status=status,
    )


def _csr(charger: ChargePoint, outcome: str, minutes_ago: int, reason: str = "") -> CertificateSigningRequest:
    return CertificateSigningRequest.objects.create(
        charge_point=charger,
        ocpp_version="2.0.1",
        outcome=outcome,
        reason=reason,
        received_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def _fleet_queries() -> tuple[int, list[panels.FleetRow], bool]:
    with CaptureQueriesContext(connection) as captured:
        context = panels.fleet_context()
    return len(captured.captured_queries), list(context["rows"]), bool(context["more"])


@override_settings(CSMS_CA_RENEW_BEFORE_DAYS=30)
def test_the_fleet_panel_lists_what_needs_attention_in_two_queries_whatever_the_fleet() -> None:
    def charger(cid: str) -> ChargePoint:
        return ChargePoint.objects.create(charge_point_id=cid, ocpp_version="2.0.1", registration_status="Accepted")

    soon = charger("SOON")
    _issued(soon, "a1", 5.5)
    _issued(charger("FAR"), "b1", 200)  # outside the window
    _issued(charger("GONE"), "c1", 3, status="superseded")  # no longer in use
    refused = charger("REFUSED")
    _csr(refused, "accepted", 60)
    _csr(refused, "rejected", 10, reason="CN 'X' is not the charge point id")
    fixed = charger("FIXED")
    _csr(fixed, "rejected", 60, reason="old refusal")
    _csr(fixed, "accepted", 10)

    count, rows, more = _fleet_queries()
    assert count <= 2 and not more
    assert [(r.charge_point_id, r.kind) for r in rows] == [("SOON", "expiring"), ("REFUSED", "csr_rejected")]
    assert rows[0].days_left == 5 and rows[1].text == "CN 'X' is not the charge point id"

    for i in range(40):
        many = charger(f"MANY-{i:02}")
        _issued(many, f"d{i}", 1 + i / 10)
        _csr(many, "rejected", i)
    count, rows, more = _fleet_queries()
    assert count <= 2 and more and len(rows) == panels.PANEL_LIMIT
    assert rows[0].charge_point_id == "MANY-00"  # the soonest end first


def test_the_fleet_page_shows_the_certificates_panel(admin_browser: Client) -> None:
    charger = ChargePoint.objects.create(charge_point_id="CP-F", ocpp_version="2.0.1", registration_status="Accepted")
    _issued(charger, "ff01", 2)
    html = admin_browser.get("/").content.decode()
    assert 'id="fleet-certificates"' in html
    assert 'data-charge-point-certificate="CP-F" data-kind="expiring"' in html and "certificate #ff01" in html
