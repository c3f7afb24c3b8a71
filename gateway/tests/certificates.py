"""Certificates made in the test with ``cryptography``: a CA, a server certificate, client certificates
(valid, expired, for another id, from another CA) and CRLs, written as PEM files, plus client contexts."""

from __future__ import annotations

import datetime
import ssl
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NOW = datetime.datetime.now(datetime.UTC)


@dataclass
class Issued:
    """A certificate, its key, and the files they are written to."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_file: Path
    key_file: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CSMS tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write(directory: Path, stem: str, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Issued:
    cert_file = directory / f"{stem}.pem"
    key_file = directory / f"{stem}.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Issued(certificate, key, cert_file, key_file)


@dataclass
class Authority:
    """A CA that issues certificates into ``directory`` and revokes them in its CRL."""

    directory: Path
    name: str
    issued: Issued = field(init=False)
    revoked: list[x509.Certificate] = field(default_factory=list)

    def __post_init__(self) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(self.name))
            .issuer_name(_name(self.name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        self.issued = _write(self.directory, self.name, certificate, key)

    @property
    def cert_file(self) -> Path:
        return self.issued.cert_file

    def issue(
        self,
        common_name: str,
        *,
        server: bool = False,
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
        stem: str | None = None,
    ) -> Issued:
        """A leaf certificate: a client certificate for ``common_name``, or the server's for 127.0.0.1."""
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self.issued.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or NOW - datetime.timedelta(hours=1))
            .not_valid_after(not_after or NOW + datetime.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [x509.ExtendedKeyUsageOID.SERVER_AUTH if server else x509.ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]),
                critical=False,
            )
        certificate = builder.sign(self.issued.key, hashes.SHA256())
        return _write(self.directory, stem or f"{self.name}-{certificate.serial_number:x}", certificate, key)

    def revoke(self, certificate: x509.Certificate) -> None:
        self.revoked.append(certificate)

    def write_crl(self, path: Path | None = None) -> Path:
        """The CA's CRL (every certificate revoked so far), written as PEM."""
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.issued.certificate.subject)
            .last_update(NOW - datetime.timedelta(minutes=5))
            .next_update(NOW + datetime.timedelta(days=1))
        )
        for certificate in self.revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(certificate.serial_number)
                .revocation_date(NOW - datetime.timedelta(minutes=1))
                .build()
            )
        crl = builder.sign(self.issued.key, hashes.SHA256())
        path = path or self.directory / f"{self.name}.crl.pem"
        path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        return path


def client_context(server_ca: Authority, client: Issued | None = None) -> ssl.SSLContext:
    """A charger's TLS context: trusts the server's CA, presents ``client`` when given."""
    context = ssl.create_default_context(cafile=str(server_ca.cert_file))
    if client is not None:
        context.load_cert_chain(str(client.cert_file), str(client.key_file))
    return context
