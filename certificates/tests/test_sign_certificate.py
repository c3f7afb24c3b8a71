"""SignCertificate of both versions through the worker's processing: CSRs checked, signed by the CSMS CA, the chain
sent in a CertificateSigned, its answer making the certificate active; bad CSRs Rejected, recorded, nothing issued."""

from __future__ import annotations

import base64
import io
import ssl
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from certificates import services
from certificates.models import CertificateAuthority, CertificateSigningRequest, IssuedCertificate
from chargers.models import ChargePoint, ChargerEvent, Command
from mqtt_bridge.frames import Kind
from mqtt_bridge.models import MessageLog

from .helpers import answer, call, csr_pem, key_ec, root_pem, send

pytestmark = pytest.mark.django_db

VERSIONS = ["1.6", "2.0.1"]


@pytest.fixture(params=VERSIONS)
def charger(request: pytest.FixtureRequest) -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id="CP-1", ocpp_version=request.param, registration_status="Accepted", online=True
    )


def sign(charger: ChargePoint, csr: str, message_id: str = "m1") -> dict[str, object]:
    payload = {"csr": csr}
    if charger.ocpp_version == "2.0.1":
        payload["certificateType"] = "ChargingStationCertificate"
    reply = call(
        "SignCertificate", payload, cid=charger.charge_point_id, version=charger.ocpp_version, message_id=message_id
    )
    assert reply.kind == Kind.RESULT, (reply.error_code, reply.error_description)
    return dict(reply.payload)


def chain(command: Command) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(command.request["certificateChain"].encode())


def test_a_valid_csr_is_accepted_and_a_certificate_signed_with_a_chain_to_the_csms_ca_queued(
    charger: ChargePoint,
) -> None:
    key = key_ec()
    assert sign(charger, csr_pem("CP-1", key=key)) == {"status": "Accepted"}
    command = Command.objects.get(charge_point=charger, action="CertificateSigned")
    assert command.status == "queued" and command.requested_by == "system: SignCertificate"
    leaf, ca_certificate = chain(command)
    ca = CertificateAuthority.objects.get(active=True)
    assert ca_certificate == x509.load_pem_x509_certificate(ca.certificate_pem.encode())
    leaf.verify_directly_issued_by(ca_certificate)
    assert leaf.public_key() == key.public_key()
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "CP-1"
    assert leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    issued = IssuedCertificate.objects.get()
    assert (issued.status, issued.command, issued.serial_number) == ("issued", command, format(leaf.serial_number, "x"))
    assert CertificateSigningRequest.objects.get().outcome == "accepted"
    assert charger.ocpp_version == "1.6" or command.request["certificateType"] == "ChargingStationCertificate"


def test_the_chain_passes_openssls_client_verification_with_the_exported_ca_as_client_ca(
    charger: ChargePoint, tmp_path: Path
) -> None:
    """What the gateway does with CSMS_GATEWAY_TLS_CLIENT_CA: a TLS handshake (OpenSSL, in memory) where the
    server requires a client certificate of the exported CA, and the charger presents the one we issued."""
    key = key_ec()
    sign(charger, csr_pem("CP-1", key=key))
    call_command("ca_export", str(tmp_path / "ca.pem"))
    leaf, _ = chain(Command.objects.get(action="CertificateSigned"))
    (tmp_path / "client.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "client.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    assert handshake(tmp_path, client_ca=tmp_path / "ca.pem") == "CP-1"
    other = tmp_path / "other-ca.pem"
    other.write_text(root_pem("Another CA"))
    with pytest.raises(ssl.SSLError):
        handshake(tmp_path, client_ca=other)


def handshake(directory: Path, *, client_ca: Path, crl: Path | None = None) -> str:
    """A server that verifies clients against ``client_ca``; the CN of the client certificate it accepted."""
    server_key = key_ec()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = timezone.now()
    server_certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(server_key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(server_key, hashes.SHA256())
    )
    (directory / "server.pem").write_bytes(server_certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(directory / "server.pem", directory / "server.key")
    server_context.verify_mode = ssl.CERT_REQUIRED
    server_context.load_verify_locations(cafile=str(client_ca))
    if crl is not None:
        server_context.load_verify_locations(cafile=str(crl))
        server_context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.load_verify_locations(cafile=str(directory / "server.pem"))
    client_context.load_cert_chain(directory / "client.pem", directory / "client.key")
    client_context.maximum_version = ssl.TLSVersion.TLSv1_2  # the client certificate is checked in the handshake
    pipes = [(ssl.MemoryBIO(), ssl.MemoryBIO()) for _ in range(2)]
    client = client_context.wrap_bio(pipes[0][0], pipes[0][1], server_hostname="localhost")
    server = server_context.wrap_bio(pipes[1][0], pipes[1][1], server_side=True)
    done = {"client": False, "server": False}
    for _ in range(20):
        for side, sock, outgoing, incoming in (
            ("client", client, pipes[0][1], pipes[1][0]),
            ("server", server, pipes[1][1], pipes[0][0]),
        ):
            if not done[side]:
                try:
                    sock.do_handshake()
                    done[side] = True
                except ssl.SSLWantReadError:
                    pass
            data = outgoing.read()
            if data:
                incoming.write(data)
        if all(done.values()):
            break
    peer = server.getpeercert()
    assert peer is not None
    subject: Any = peer["subject"]
    return str(dict(item[0] for item in subject)["commonName"])


def test_certificate_signed_accepted_makes_the_certificate_active_and_the_previous_one_superseded(
    charger: ChargePoint,
) -> None:
    sign(charger, csr_pem("CP-1"), "m1")
    first = answer(send(charger), {"status": "Accepted"})
    assert first.status == "accepted"
    assert IssuedCertificate.objects.get().status == "active"
    sign(charger, csr_pem("CP-1"), "m2")
    second = answer(send(charger), {"status": "Accepted"})
    assert list(IssuedCertificate.objects.order_by("created_at", "id").values_list("status", flat=True)) == [
        "superseded",
        "active",
    ]
    assert second.issued_certificate.status == "active"


def test_TC_A_14_CSMS_certificate_signed_rejected_leaves_the_active_certificate_as_it_was(charger: ChargePoint) -> None:
    sign(charger, csr_pem("CP-1"), "m1")
    answer(send(charger), {"status": "Accepted"})
    sign(charger, csr_pem("CP-1"), "m2")
    answer(send(charger), {"status": "Rejected"})
    assert list(IssuedCertificate.objects.order_by("created_at", "id").values_list("status", flat=True)) == [
        "active",
        "rejected",
    ]


def rejected(charger: ChargePoint, csr: str, code: str) -> CertificateSigningRequest:
    """The CSR is answered Rejected (2.0.1: with ``code``), recorded with its reason and as a security event,
    and nothing is issued or queued."""
    reply = sign(charger, csr)
    assert reply["status"] == "Rejected"
    if charger.ocpp_version == "2.0.1":
        assert reply["statusInfo"]["reasonCode"] == code  # type: ignore[index]
    else:
        assert reply == {"status": "Rejected"}
    request = CertificateSigningRequest.objects.get()
    assert request.outcome == "rejected" and request.reason
    event = ChargerEvent.objects.get(charge_point=charger, kind=ChargerEvent.Kind.SECURITY)
    assert (event.status, event.detail["code"], event.detail["reason"]) == (
        "InvalidCertificateSigningRequest",
        code,
        request.reason,
    )
    assert not IssuedCertificate.objects.exists()
    assert not Command.objects.filter(action="CertificateSigned").exists()
    return request


def test_a_csr_for_another_chargers_id_is_rejected_and_recorded_as_a_security_event(charger: ChargePoint) -> None:
    request = rejected(charger, csr_pem("CP-2"), "InvalidCommonName")
    assert "CP-2" in request.reason


def test_a_csr_without_a_common_name_is_rejected(charger: ChargePoint) -> None:
    rejected(charger, csr_pem(None, organization="Example"), "InvalidCommonName")


@pytest.mark.parametrize(
    ("csr", "code"),
    [
        ("-----BEGIN CERTIFICATE REQUEST-----", "InvalidPEM"),
        ("not a pem at all", "InvalidPEM"),
        ("-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgY3Ny\n-----END CERTIFICATE REQUEST-----", "InvalidCSR"),
        ("-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----", "InvalidCSR"),
    ],
)
def test_garbage_csrs_are_rejected(charger: ChargePoint, csr: str, code: str) -> None:
    rejected(charger, csr, code)


def test_a_csr_with_two_pem_blocks_is_rejected(charger: ChargePoint) -> None:
    rejected(charger, csr_pem("CP-1") + csr_pem("CP-1"), "InvalidPEM")


def test_a_csr_whose_signature_does_not_verify_is_rejected(charger: ChargePoint) -> None:
    good = x509.load_pem_x509_csr(csr_pem("CP-1").encode())
    der = bytearray(good.public_bytes(serialization.Encoding.DER))
    der[-3] ^= 0x01  # inside the signature

    body = base64.encodebytes(bytes(der)).decode()
    pem = f"-----BEGIN CERTIFICATE REQUEST-----\n{body}-----END CERTIFICATE REQUEST-----\n"
    request = x509.load_pem_x509_csr(pem.encode())
    assert not request.is_signature_valid
    rejected(charger, pem, "InvalidSignature")


def test_a_1024_bit_rsa_key_is_rejected(charger: ChargePoint) -> None:
    rejected(charger, csr_pem("CP-1", key=rsa.generate_private_key(65537, 1024)), "InvalidKey")


def test_an_ec_key_on_another_curve_is_rejected(charger: ChargePoint) -> None:
    rejected(charger, csr_pem("CP-1", key=ec.generate_private_key(ec.SECP256K1())), "InvalidKey")


def test_a_csr_signed_with_a_weaker_digest_than_sha256_is_rejected(charger: ChargePoint) -> None:
    rejected(
        charger, csr_pem("CP-1", key=rsa.generate_private_key(65537, 2048), digest=hashes.SHA224()), "InvalidSignature"
    )


def test_an_rsa_2048_key_is_signed(charger: ChargePoint) -> None:
    assert sign(charger, csr_pem("CP-1", key=rsa.generate_private_key(65537, 2048))) == {"status": "Accepted"}


@override_settings(CSMS_CA_ORGANIZATION="Example CPO")
def test_the_organization_must_be_the_csms_ca_organization_when_set(charger: ChargePoint) -> None:
    rejected(charger, csr_pem("CP-1", organization="Someone Else"), "InvalidOrganization")
    CertificateSigningRequest.objects.all().delete()
    ChargerEvent.objects.all().delete()
    assert sign(charger, csr_pem("CP-1", organization="Example CPO"), "m2") == {"status": "Accepted"}


def test_an_oversized_csr_is_refused_by_the_schema_and_nothing_is_stored(charger: ChargePoint) -> None:
    reply = call(
        "SignCertificate",
        {"csr": "-----BEGIN CERTIFICATE REQUEST-----\n" + "A" * 6000},
        cid="CP-1",
        version=charger.ocpp_version,
    )
    assert (reply.kind, reply.error_code) == (Kind.ERROR, "PropertyConstraintViolation")
    assert not CertificateSigningRequest.objects.exists() and not IssuedCertificate.objects.exists()


def test_csr_check_refuses_more_than_8_kib_whoever_calls() -> None:
    with pytest.raises(services.CsrRefused) as refused:
        services.csr_check(pem="A" * (8 * 1024 + 1), charge_point_id="CP-1")
    assert refused.value.code == "TooLarge"


def test_2_0_1_v2g_certificates_are_not_signed_by_the_csms_ca() -> None:
    ChargePoint.objects.create(charge_point_id="CP-1", ocpp_version="2.0.1", registration_status="Accepted")
    reply = call(
        "SignCertificate", {"csr": csr_pem("CP-1"), "certificateType": "V2GCertificate"}, cid="CP-1", version="2.0.1"
    )
    assert reply.payload["status"] == "Rejected" and reply.payload["statusInfo"]["reasonCode"] == "UnsupportedType"
    assert not IssuedCertificate.objects.exists()


def test_the_ca_is_made_once_and_its_private_key_is_encrypted_at_rest() -> None:
    first = services.ca_ensure()
    assert services.ca_ensure().pk == first.pk and CertificateAuthority.objects.count() == 1
    assert "ENCRYPTED PRIVATE KEY" in first.private_key_pem
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    with pytest.raises(TypeError):
        load_pem_private_key(first.private_key_pem.encode(), password=None)


def test_no_private_key_reaches_the_message_log(charger: ChargePoint) -> None:
    services.ca_ensure()
    sign(charger, csr_pem("CP-1"))
    answer(send(charger), {"status": "Accepted"})
    rows = list(MessageLog.objects.all())
    assert {row.action for row in rows} >= {"SignCertificate"}
    assert not any("PRIVATE KEY" in str(row.payload) or "PRIVATE KEY" in row.raw for row in rows)


def test_the_leaf_never_outlives_the_ca() -> None:
    charger = ChargePoint.objects.create(charge_point_id="CP-1", ocpp_version="2.0.1", registration_status="Accepted")
    with override_settings(CSMS_CA_VALIDITY_DAYS=10, CSMS_CA_CERTIFICATE_DAYS=365):
        sign(charger, csr_pem("CP-1"))
    issued = IssuedCertificate.objects.get()
    assert issued.not_after <= CertificateAuthority.objects.get().not_after
    assert issued.not_after < timezone.now() + timedelta(days=11)


def test_ca_export_prints_the_ca_certificate_and_never_its_key() -> None:
    out = io.StringIO()
    call_command("ca_export", stdout=out)
    assert out.getvalue() == CertificateAuthority.objects.get().certificate_pem
    assert (
        x509.load_pem_x509_certificate(out.getvalue().encode())
        .extensions.get_extension_for_class(x509.BasicConstraints)
        .value.ca
    )
    assert "PRIVATE KEY" not in out.getvalue()


def test_a_revoked_certificate_enters_the_crl_and_is_refused_at_a_handshake_that_reads_it(
    charger: ChargePoint, tmp_path: Path
) -> None:
    key = key_ec()
    sign(charger, csr_pem("CP-1", key=key))
    answer(send(charger), {"status": "Accepted"})
    issued = IssuedCertificate.objects.get()
    (tmp_path / "client.pem").write_text(issued.chain_pem)
    (tmp_path / "client.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    call_command("ca_export", str(tmp_path / "ca.pem"))
    call_command("ca_crl", str(tmp_path / "crl.pem"))
    assert handshake(tmp_path, client_ca=tmp_path / "ca.pem", crl=tmp_path / "crl.pem") == "CP-1"

    call_command("ca_revoke", issued.serial_number.upper())
    issued.refresh_from_db()
    assert issued.status == "revoked" and issued.revoked_at is not None
    call_command("ca_crl", str(tmp_path / "crl.pem"))
    crl = x509.load_pem_x509_crl((tmp_path / "crl.pem").read_bytes())
    assert [entry.serial_number for entry in crl] == [int(issued.serial_number, 16)]
    assert crl.is_signature_valid(x509.load_pem_x509_certificate(services.ca_certificate_pem().encode()).public_key())  # type: ignore[arg-type]
    with pytest.raises(ssl.SSLError):
        handshake(tmp_path, client_ca=tmp_path / "ca.pem", crl=tmp_path / "crl.pem")
    # A revoked certificate is not renewed either: the charger needs an operator.
    with override_settings(CSMS_CA_RENEW_BEFORE_DAYS=3650):
        assert services.certificates_renew_due(now=timezone.now()) == []
