"""A simulated charger's certificate store (both versions): the inventory InstallCertificate,
DeleteCertificate and GetInstalledCertificateIds work on, and the key pair and CSR of the
SignCertificate / CertificateSigned flow (1.6 security extension, 2.0.1 block M).

Hash data are RFC 6960 CertID's fields, as OCPP defines them: the digest of the issuer's DER name, the
digest of the issuer's public key (the subjectPublicKey bits) and the serial in hexadecimal. Everything
lives in memory: a simulated charger keeps its certificates across reconnects, not across runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ssl
import tempfile
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

HASH_ALGORITHMS = {"SHA256": "sha256", "SHA384": "sha384", "SHA512": "sha512"}
MAX_INSTALLED = 20  # a station's certificate store is small (CertificateEntries / CertificateStoreMaxLength)
# The charger's own certificate: its type in GetInstalledCertificateIds, never deletable by DeleteCertificate.
OWN = "ChargingStationCertificate"


def key_bits(certificate: x509.Certificate) -> bytes:
    """The subjectPublicKey bits of a certificate (what an issuer key hash is taken of)."""
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    raise ValueError(f"no hash data for a {type(key).__name__} key")


def hash_data(
    certificate: x509.Certificate, issuer: x509.Certificate | None = None, algorithm: str = "SHA256"
) -> dict[str, str]:
    """OCPP's CertificateHashDataType of ``certificate`` (``issuer``: its issuer's certificate; a root
    is its own issuer)."""
    digest = HASH_ALGORITHMS[algorithm]
    return {
        "hashAlgorithm": algorithm,
        "issuerNameHash": hashlib.new(digest, certificate.issuer.public_bytes()).hexdigest(),
        "issuerKeyHash": hashlib.new(digest, key_bits(issuer or certificate)).hexdigest(),
        "serialNumber": format(certificate.serial_number, "x"),
    }


def same_hash(data: dict[str, str], certificate: x509.Certificate, issuer: x509.Certificate | None) -> bool:
    """Whether request hash data (camelCase or the ``ocpp`` package's snake_case) name ``certificate``."""
    algorithm = data.get("hashAlgorithm") or data.get("hash_algorithm") or "SHA256"
    if algorithm not in HASH_ALGORITHMS:
        return False
    ours = hash_data(certificate, issuer, algorithm)
    theirs = {
        "issuerNameHash": data.get("issuerNameHash") or data.get("issuer_name_hash") or "",
        "issuerKeyHash": data.get("issuerKeyHash") or data.get("issuer_key_hash") or "",
        "serialNumber": (data.get("serialNumber") or data.get("serial_number") or "").lstrip("0") or "0",
    }
    return all(ours[key].lower() == value.lower() for key, value in theirs.items())


def parse_chain(pem: str) -> list[x509.Certificate]:
    """The certificates of a PEM text (leaf first); ValueError when it holds none or one does not parse."""
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise ValueError("no PEM certificate")
    try:
        return x509.load_pem_x509_certificates(pem.encode("ascii"))
    except (ValueError, UnicodeError) as exc:
        raise ValueError(f"the certificate does not parse: {exc}") from None


def common_name(name: x509.Name) -> str | None:
    found = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(found[0].value) if found else None


@dataclasses.dataclass
class Installed:
    """One certificate of the store, with its OCPP type."""

    certificate_type: str
    certificate: x509.Certificate


@dataclasses.dataclass
class CertificateStore:
    """The certificates a charger holds: installed roots, and its own certificate (chain) and key."""

    installed: list[Installed] = dataclasses.field(default_factory=list)
    own_chain: list[x509.Certificate] = dataclasses.field(default_factory=list)
    own_key: ec.EllipticCurvePrivateKey | None = None
    pending_key: ec.EllipticCurvePrivateKey | None = None  # the key of the CSR sent last
    refusal: str = ""  # why the last CertificateSigned was refused ("": it was accepted)

    # --- InstallCertificate ----------------------------------------------------------------------
    def install(self, certificate_type: str, pem: str, *, now: datetime | None = None) -> str:
        """InstallCertificate's status: Rejected for text that is not one valid CA certificate,
        Failed when the store is full, Accepted otherwise (the same certificate again replaces it)."""
        now = now or datetime.now(UTC)
        try:
            (certificate,) = parse_chain(pem)
        except ValueError:
            return "Rejected"
        if not certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc:
            return "Rejected"
        try:
            if not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
                return "Rejected"
        except x509.ExtensionNotFound:
            return "Rejected"
        self.installed = [
            i for i in self.installed if not (i.certificate == certificate and i.certificate_type == certificate_type)
        ]
        if len(self.installed) >= MAX_INSTALLED:
            return "Failed"
        self.installed.append(Installed(certificate_type, certificate))
        return "Accepted"

    def issuer_of(self, certificate: x509.Certificate) -> x509.Certificate | None:
        """The certificate that issued ``certificate`` among those held (itself for a root)."""
        if certificate.issuer == certificate.subject:
            return certificate
        candidates = [i.certificate for i in self.installed] + self.own_chain
        return next((c for c in candidates if c.subject == certificate.issuer), None)

    def roots(self, *types: str) -> list[x509.Certificate]:
        return [i.certificate for i in self.installed if i.certificate_type in types]

    # --- DeleteCertificate -----------------------------------------------------------------------
    def delete(self, data: dict[str, str]) -> str:
        """DeleteCertificate's status: Accepted (removed), NotFound, or Failed for the charger's own
        certificate (M04.FR.06: it is not deleted this way)."""
        for item in self.installed:
            if same_hash(data, item.certificate, self.issuer_of(item.certificate)):
                self.installed.remove(item)
                return "Accepted"
        if self.own_chain and same_hash(data, self.own_chain[0], self.issuer_of(self.own_chain[0])):
            return "Failed"
        return "NotFound"

    # --- GetInstalledCertificateIds --------------------------------------------------------------
    def ids(self, types: list[str] | None) -> list[tuple[str, dict[str, str]]]:
        """(type, hash data) of every installed certificate of ``types`` (None: of every type)."""
        return [
            (i.certificate_type, hash_data(i.certificate, self.issuer_of(i.certificate)))
            for i in self.installed
            if types is None or i.certificate_type in types
        ]

    # --- SignCertificate / CertificateSigned ---------------------------------------------------------
    def csr_new(self, charge_point_id: str, organization: str) -> str:
        """A new key pair (EC P-256) and the PEM CSR for it: CN = the charge point id, O = the
        organization (1.6 CpoName, 2.0.1 SecurityCtrlr.OrganizationName)."""
        self.pending_key = ec.generate_private_key(ec.SECP256R1())
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, charge_point_id)]
        if organization:
            attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name(attributes))
            .sign(self.pending_key, hashes.SHA256())
        )
        return csr.public_bytes(serialization.Encoding.PEM).decode()

    def signed(self, chain_pem: str, charge_point_id: str, *, now: datetime | None = None) -> tuple[bool, str]:
        """CertificateSigned: install the chain if its leaf parses, is valid now, has CN = the charge
        point id and the key of the CSR sent last. (accepted, why not)."""
        self.refusal = self._refusal(chain_pem, charge_point_id, now or datetime.now(UTC))
        return not self.refusal, self.refusal

    def _refusal(self, chain_pem: str, charge_point_id: str, now: datetime) -> str:
        try:
            chain = parse_chain(chain_pem)
        except ValueError as exc:
            return str(exc)
        leaf = chain[0]
        if common_name(leaf.subject) != charge_point_id:
            return f"CN {common_name(leaf.subject)!r} is not {charge_point_id!r}"
        if not leaf.not_valid_before_utc <= now < leaf.not_valid_after_utc:
            return "the certificate is not valid now"
        key = self.pending_key
        if key is None or key_bits(leaf) != key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        ):
            return "the certificate is not for the key of our CSR"
        self.own_chain, self.own_key, self.pending_key = chain, key, None
        return ""

    # --- TLS (security profiles 2 and 3) -------------------------------------------------------------
    def client_context(
        self, root_types: tuple[str, ...], ca_file: str | None, *, client_certificate: bool
    ) -> ssl.SSLContext:
        """A TLS 1.2+ client context trusting the installed CSMS roots and ``ca_file`` (neither: the
        system's CAs, as for a CSMS with a public certificate); with ``client_certificate`` (profile 3)
        presenting our certificate. ValueError when that certificate is missing."""
        roots = self.roots(*root_types)
        if roots and not ca_file:  # only the roots installed, as a real charger
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        else:
            context = ssl.create_default_context(cafile=ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if roots:
            context.load_verify_locations(
                cadata="".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in roots)
            )
        if client_certificate:
            if not self.own_chain or self.own_key is None:
                raise ValueError("no charging station certificate installed")
            # ssl loads a certificate chain from files only: a temporary file, gone once loaded.
            with tempfile.NamedTemporaryFile("wb", suffix=".pem") as bundle:
                bundle.write(
                    self.own_key.private_bytes(
                        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                    )
                )
                for certificate in self.own_chain:
                    bundle.write(certificate.public_bytes(serialization.Encoding.PEM))
                bundle.flush()
                context.load_cert_chain(bundle.name)
        return context
