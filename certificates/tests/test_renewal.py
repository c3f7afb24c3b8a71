"""Renewal before expiry (the daily beat task asks for a new CSR, in each version's way), the whole renewal flow
through the processing, and an external CA behind the CertificateSigner interface."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from django.test import override_settings
from django.utils import timezone

from backoffice.celery import app
from certificates import services
from certificates.models import CertificateSigningRequest, IssuedCertificate
from certificates.tasks import certificates_renew
from chargers.commands import commands_expire
from chargers.models import ChargePoint, Command

from .helpers import answer, call, csr_pem, key_ec, send

pytestmark = pytest.mark.django_db

TRIGGER = {
    "1.6": ("ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"}),
    "2.0.1": ("TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"}),
}


@pytest.fixture(params=["1.6", "2.0.1"])
def charger(request: pytest.FixtureRequest) -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id="CP-1", ocpp_version=request.param, registration_status="Accepted", online=True
    )


def certified(charger: ChargePoint, message_id: str = "m1") -> IssuedCertificate:
    """The charger sends a CSR, gets its CertificateSigned and accepts it: its certificate is active."""
    payload = {"csr": csr_pem(charger.charge_point_id)}
    assert call(
        "SignCertificate", payload, cid=charger.charge_point_id, version=charger.ocpp_version, message_id=message_id
    ).payload == {"status": "Accepted"}
    command = answer(send(charger), {"status": "Accepted"})
    issued = IssuedCertificate.objects.get(command=command)
    assert issued.status == "active"
    return issued


def test_the_renewal_task_is_scheduled_daily() -> None:
    entry = app.conf.beat_schedule["certificates-renew"]
    assert (entry["task"], entry["schedule"]) == ("certificates.tasks.certificates_renew", 86400.0)


@override_settings(CSMS_CA_CERTIFICATE_DAYS=10, CSMS_CA_RENEW_BEFORE_DAYS=30)
def test_a_certificate_ending_within_the_window_gets_its_versions_trigger_once(charger: ChargePoint) -> None:
    certified(charger)
    assert certificates_renew() == 1
    command = Command.objects.get(charge_point=charger, status="queued")
    assert (command.action, command.request) == TRIGGER[charger.ocpp_version]
    assert command.requested_by == "system: certificate renewal"
    # Queued (then sent): not asked again.
    assert certificates_renew() == 0
    send(charger)
    assert certificates_renew() == 0


@override_settings(CSMS_CA_CERTIFICATE_DAYS=365, CSMS_CA_RENEW_BEFORE_DAYS=30)
def test_a_certificate_far_from_its_end_is_left_alone(charger: ChargePoint) -> None:
    certified(charger)
    assert certificates_renew() == 0
    assert not Command.objects.filter(status="queued").exists()


@override_settings(CSMS_CA_CERTIFICATE_DAYS=10)
def test_TC_A_11_CSMS_TC_074_CSMS_renewal_by_request_of_the_csms_new_csr_new_certificate_old_one_superseded(
    charger: ChargePoint,
) -> None:
    old = certified(charger, "m1")
    certificates_renew()
    trigger = answer(send(charger), {"status": "Accepted"})
    assert trigger.status == "accepted"
    # The charger sends its new CSR (it made a new key); the CSMS signs it, the charger installs it.
    new = certified(charger, "m2")
    old.refresh_from_db()
    assert (old.status, new.status) == ("superseded", "active")
    assert new.serial_number != old.serial_number
    # A signed certificate on its way (issued, not yet answered) is not asked for again either.
    with override_settings(CSMS_CA_RENEW_BEFORE_DAYS=3650):
        call("SignCertificate", {"csr": csr_pem("CP-1")}, cid="CP-1", version=charger.ocpp_version, message_id="m3")
        assert certificates_renew() == 0


class RefusingCA:
    """An external CA that is down: its refusal is the charger's Rejected."""

    def sign(
        self, *, csr: x509.CertificateSigningRequest, charge_point: ChargePoint, now: datetime
    ) -> services.SignedChain:
        raise services.CsrRefused("CAUnavailable", "the external CA did not answer")


class ExternalCA:
    """An external CA with a root of its own (no CSMS CA in the chain)."""

    key = key_ec()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "External Root")])

    def sign(
        self, *, csr: x509.CertificateSigningRequest, charge_point: ChargePoint, now: datetime
    ) -> services.SignedChain:
        certificate = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(self.name)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=5))
            .sign(self.key, hashes.SHA256())
        )
        return services.SignedChain(certificate, certificate.public_bytes(serialization.Encoding.PEM).decode())


@override_settings(CSMS_CA_SIGNER="certificates.tests.test_renewal.ExternalCA")
def test_an_external_ca_replaces_ours_through_the_signer_interface(charger: ChargePoint) -> None:
    payload = {"csr": csr_pem("CP-1")}
    assert call("SignCertificate", payload, cid="CP-1", version=charger.ocpp_version).payload == {"status": "Accepted"}
    issued = IssuedCertificate.objects.get()
    assert issued.issuer == "CN=External Root"
    command = Command.objects.get(action="CertificateSigned")
    assert command.request["certificateChain"] == issued.chain_pem
    x509.load_pem_x509_certificate(issued.certificate_pem.encode()).verify_directly_issued_by(
        x509.load_pem_x509_certificate(
            x509.CertificateBuilder()
            .subject_name(ExternalCA.name)
            .issuer_name(ExternalCA.name)
            .public_key(ExternalCA.key.public_key())
            .serial_number(1)
            .not_valid_before(timezone.now() - timedelta(days=1))
            .not_valid_after(timezone.now() + timedelta(days=1))
            .sign(ExternalCA.key, hashes.SHA256())
            .public_bytes(serialization.Encoding.PEM)
        )
    )


@override_settings(CSMS_CA_SIGNER="certificates.tests.test_renewal.RefusingCA")
def test_an_external_cas_refusal_is_answered_rejected_with_its_reason(charger: ChargePoint) -> None:
    reply = call("SignCertificate", {"csr": csr_pem("CP-1")}, cid="CP-1", version=charger.ocpp_version)
    assert reply.payload["status"] == "Rejected"
    assert CertificateSigningRequest.objects.get().reason == "the external CA did not answer"
    assert not IssuedCertificate.objects.exists() and not Command.objects.exists()


@override_settings(CSMS_CA_CERTIFICATE_DAYS=10)
def test_a_certificate_signed_that_timed_out_does_not_stop_the_renewal(charger: ChargePoint) -> None:
    certified(charger, "m1")
    call("SignCertificate", {"csr": csr_pem("CP-1")}, cid="CP-1", version=charger.ocpp_version, message_id="m2")
    send(charger)
    assert certificates_renew() == 0  # its CertificateSigned is on the way
    timed_out, _ = commands_expire(now=timezone.now() + timedelta(days=1))
    assert timed_out == 1
    assert certificates_renew() == 1
