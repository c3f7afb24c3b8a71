"""The fleet's certificate authority: checking CSRs, issuing certificates, and keeping each charger's inventory.

A charger asks for a certificate with SignCertificate (1.6 security extension, 2.0.1 A02/A03): its CSR
is checked (``csr_check``), signed by the ``CertificateSigner`` (ours, ``LocalSigner``, or the external
CA named by ``CSMS_CA_SIGNER``), and the chain goes back in a CertificateSigned command. The charger's
answer to that command makes the certificate active (``certificate_signed_answered``). What a charger
reports installed (GetInstalledCertificateIds) is its inventory (``installed_certificates_report``).

Settings (backoffice/settings.py, from the environment): CSMS_CA_KEY_PASSPHRASE (the CA key's encryption
at rest; empty: the Django secret key), CSMS_CA_NAME, CSMS_CA_ORGANIZATION (empty: a CSR's O is not checked),
CSMS_CA_VALIDITY_DAYS, CSMS_CA_CERTIFICATE_DAYS, CSMS_CA_RENEW_BEFORE_DAYS, CSMS_CA_SIGNER.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Protocol

import redis
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from backoffice.events import fleet_event
from backoffice.metrics import get_redis
from chargers import services as chargers
from chargers.commands import CommandError, command_enqueue
from chargers.models import ChargePoint, ChargerEvent, Command
from chargers.ports import CallRefusal

from .models import CertificateAuthority, CertificateSigningRequest, InstalledCertificate, IssuedCertificate

logger = logging.getLogger(__name__)

#: The largest CSR PEM we read (the schemas allow 5500 characters; this guards any other caller).
CSR_MAX_BYTES = 8 * 1024
#: The PEM labels of a CSR (RFC 7468 "CERTIFICATE REQUEST"; older tools write "NEW CERTIFICATE REQUEST").
_CSR_LABELS = ("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")
#: RSA keys we sign: 2048 bits at least (OCPP security: 2048 minimum), 8192 at most (verifying more is a CPU cost).
RSA_MIN_BITS, RSA_MAX_BITS = 2048, 8192
EC_CURVES = frozenset({"secp256r1", "secp384r1"})
#: Digests a CSR may be signed with (SHA-1 and MD5 are refused).
CSR_DIGESTS = frozenset({"sha256", "sha384", "sha512"})
#: The certificate types a charger may ask us to sign (2.0.1 certificateType; 1.6 asks for its own).
SIGNED_TYPES = frozenset({"", "ChargingStationCertificate"})
#: OCPP HashAlgorithmEnumType -> hashlib's name.
HASH_ALGORITHMS = {"SHA256": "sha256", "SHA384": "sha384", "SHA512": "sha512"}


#: The security event of a charger's CSRs refused by a CallError (a SignCertificate failing its schema):
#: at most one per charger in this many seconds, so that a flood of garbage is not a flood of rows.
REFUSAL_EVENT_INTERVAL_SECONDS = 60
REFUSAL_EVENT_PREFIX = "csms:csrevent:"
#: The ChargerEvent status of a refused CSR, whoever refused it (the CA's checks or the schema).
CSR_EVENT_STATUS = "InvalidCertificateSigningRequest"


def _changed(charge_point_id: str, **fields: Any) -> None:
    """The charger's certificates changed: its page and the fleet page re-render (after the commit)."""
    fleet_event("certificates", charge_point_id, **fields)


def _passphrase() -> bytes:
    return str(settings.CSMS_CA_KEY_PASSPHRASE or settings.SECRET_KEY).encode()


# --- the CA -------------------------------------------------------------------------------------------


def ca_ensure(*, now: datetime | None = None) -> CertificateAuthority:
    """The active CSMS CA, made on first use (an EC P-384 key, self-signed, CSMS_CA_VALIDITY_DAYS long).

    Two workers making it at once: the partial unique index ``one_active_ca`` lets one insert win;
    the other reads the winner's.
    """
    found = CertificateAuthority.objects.filter(active=True).first()
    if found is not None:
        return found
    now = now or timezone.now()
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, str(settings.CSMS_CA_NAME))]
        + (
            [x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)]
            if (organization := str(settings.CSMS_CA_ORGANIZATION))
            else []
        )
    )
    not_after = now + timedelta(days=int(settings.CSMS_CA_VALIDITY_DAYS))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA384())
    )
    try:
        with transaction.atomic():
            return CertificateAuthority.objects.create(
                name=name.rfc4514_string()[:64],
                certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
                private_key_pem=key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.BestAvailableEncryption(_passphrase()),
                ).decode(),
                serial_number=format(certificate.serial_number, "x"),
                not_before=certificate.not_valid_before_utc,
                not_after=certificate.not_valid_after_utc,
            )
    except IntegrityError:
        return CertificateAuthority.objects.get(active=True)


def ca_certificate_pem() -> str:
    """The CSMS CA's certificate (made if there is none yet): the file for CSMS_GATEWAY_TLS_CLIENT_CA."""
    return ca_ensure().certificate_pem


@cache
def _ca_key(pk: int, encrypted: str) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(encrypted.encode(), password=_passphrase())
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    return key


# --- CSRs ---------------------------------------------------------------------------------------------


class CsrRefused(Exception):
    """A CSR we do not sign: ``code`` (2.0.1 reasonCode, at most 20 characters) and ``reason`` for people."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


def csr_check(*, pem: str, charge_point_id: str) -> x509.CertificateSigningRequest:
    """The CSR in ``pem`` if we may sign it for ``charge_point_id``; CsrRefused says why not.

    Checked: at most CSR_MAX_BYTES, one PEM block of a CSR and nothing else, DER that parses, a valid
    self-signature with SHA-256 or better, exactly one CN equal to the charge point id, the O equal to
    CSMS_CA_ORGANIZATION when it is set, an RSA key of 2048 to 8192 bits or an EC key on P-256 or P-384.
    """
    if len(pem.encode("utf-8", "surrogatepass")) > CSR_MAX_BYTES:
        raise CsrRefused("TooLarge", f"the CSR is larger than {CSR_MAX_BYTES} bytes")
    text = pem.strip()
    label = next((label for label in _CSR_LABELS if text.startswith(f"-----BEGIN {label}-----")), None)
    if label is None or not text.endswith(f"-----END {label}-----") or text.count("-----BEGIN") != 1:
        raise CsrRefused("InvalidPEM", "not one PEM-armored CERTIFICATE REQUEST")
    try:
        csr = x509.load_pem_x509_csr(text.replace(f" {label}-----", " CERTIFICATE REQUEST-----").encode("ascii"))
        valid = csr.is_signature_valid
        digest = csr.signature_hash_algorithm
        key = csr.public_key()
        subject = csr.subject
    except (ValueError, TypeError, UnsupportedAlgorithm, UnicodeError) as exc:
        raise CsrRefused("InvalidCSR", f"the CSR does not parse: {str(exc)[:120]}") from None
    if not valid:
        raise CsrRefused("InvalidSignature", "the CSR's signature does not verify with its own key")
    if digest is None or digest.name not in CSR_DIGESTS:
        raise CsrRefused("InvalidSignature", f"the CSR is signed with {getattr(digest, 'name', 'no digest')}")
    names = [str(attribute.value) for attribute in subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if names != [charge_point_id]:
        raise CsrRefused("InvalidCommonName", f"CN {names!r} is not the charge point id {charge_point_id!r}"[:255])
    organization = str(settings.CSMS_CA_ORGANIZATION)
    if organization:
        found = [str(attribute.value) for attribute in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        if found != [organization]:
            raise CsrRefused("InvalidOrganization", f"O {found!r} is not {organization!r}"[:255])
    if isinstance(key, rsa.RSAPublicKey):
        if not RSA_MIN_BITS <= key.key_size <= RSA_MAX_BITS:
            raise CsrRefused("InvalidKey", f"an RSA key of {key.key_size} bits (2048 to 8192 are signed)")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in EC_CURVES:
            raise CsrRefused("InvalidKey", f"an EC key on {key.curve.name} (P-256 and P-384 are signed)")
    else:
        raise CsrRefused("InvalidKey", f"a {type(key).__name__} key (RSA and EC are signed)")
    return csr


# --- signing ------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SignedChain:
    """What a signer returns: the charger's certificate and the PEM chain to send (it first, then its CAs)."""

    certificate: x509.Certificate
    chain_pem: str


class CertificateSigner(Protocol):
    """Who signs the fleet's CSRs. Ours is ``LocalSigner``; an external CA implements ``sign`` and is named
    by CSMS_CA_SIGNER (a dotted path to a class built without arguments). ``csr`` has passed ``csr_check``.
    Raise CsrRefused to have the charger answered Rejected with that reason."""

    def sign(self, *, csr: x509.CertificateSigningRequest, charge_point: ChargePoint, now: datetime) -> SignedChain: ...


class LocalSigner:
    """The CSMS CA signs: a client certificate for TLS (profile 3), CSMS_CA_CERTIFICATE_DAYS long but never
    past the CA's own end, with the CSR's subject and key."""

    def sign(self, *, csr: x509.CertificateSigningRequest, charge_point: ChargePoint, now: datetime) -> SignedChain:
        ca = ca_ensure(now=now)
        ca_certificate = x509.load_pem_x509_certificate(ca.certificate_pem.encode())
        key = _ca_key(ca.pk, ca.private_key_pem)
        public_key = csr.public_key()
        assert isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
        not_after = min(now + timedelta(days=int(settings.CSMS_CA_CERTIFICATE_DAYS)), ca.not_after)
        rsa_key = isinstance(public_key, rsa.RSAPublicKey)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(ca_certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=rsa_key,
                    data_encipherment=False,
                    key_agreement=not rsa_key,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_certificate.public_key()),  # type: ignore[arg-type]
                critical=False,
            )
            .sign(key, hashes.SHA384())
        )
        chain = certificate.public_bytes(serialization.Encoding.PEM).decode() + ca.certificate_pem
        return SignedChain(certificate=certificate, chain_pem=chain)


def signer() -> CertificateSigner:
    """The signer CSMS_CA_SIGNER names (ours by default)."""
    path = str(settings.CSMS_CA_SIGNER)
    signer_class = import_string(path)
    instance: CertificateSigner = signer_class()
    return instance


@dataclasses.dataclass(frozen=True)
class CsrOutcome:
    """What a SignCertificate is answered: accepted, or rejected with a code and a reason."""

    accepted: bool
    code: str = ""
    reason: str = ""


def certificate_request_handle(
    *, charge_point: ChargePoint, csr_pem: str, certificate_type: str, ocpp_version: str, now: datetime
) -> CsrOutcome:
    """A charger's SignCertificate: check its CSR, sign it, and queue the CertificateSigned with the chain.

    Every request is kept (``CertificateSigningRequest``), with its reason when refused; a refusal is
    also a security event of the charger, and issues and queues nothing. The CertificateSigned goes
    out after the SignCertificate's reply (it is queued in the reply's transaction; the batch sends it).
    """
    try:
        if certificate_type not in SIGNED_TYPES:
            raise CsrRefused("UnsupportedType", f"this CSMS does not sign {certificate_type} certificates")
        csr = csr_check(pem=csr_pem, charge_point_id=charge_point.charge_point_id)
        with transaction.atomic():
            request = _request_record(charge_point, csr_pem, certificate_type, ocpp_version, now, csr=csr)
            signed = signer().sign(csr=csr, charge_point=charge_point, now=now)
            issued = IssuedCertificate.objects.create(
                charge_point=charge_point,
                request=request,
                serial_number=format(signed.certificate.serial_number, "x"),
                common_name=charge_point.charge_point_id,
                issuer=signed.certificate.issuer.rfc4514_string()[:255],
                not_before=signed.certificate.not_valid_before_utc,
                not_after=signed.certificate.not_valid_after_utc,
                certificate_pem=signed.certificate.public_bytes(serialization.Encoding.PEM).decode(),
                chain_pem=signed.chain_pem,
            )
            try:
                payload: dict[str, Any] = {"certificateChain": signed.chain_pem}
                if certificate_type:
                    payload["certificateType"] = certificate_type
                issued.command = command_enqueue(
                    charge_point=charge_point,
                    action="CertificateSigned",
                    payload=payload,
                    requested_by="system: SignCertificate",
                )
            except CommandError as exc:
                raise CsrRefused("CannotSend", f"the certificate cannot be sent: {exc.message}"[:255]) from None
            issued.save(update_fields=["command"])
    except CsrRefused as refused:
        _request_record(charge_point, csr_pem, certificate_type, ocpp_version, now, refused=refused)
        chargers.charger_event_record(
            charge_point=charge_point,
            kind=ChargerEvent.Kind.SECURITY,
            status=CSR_EVENT_STATUS,
            detail={"code": refused.code, "reason": refused.reason, "certificateType": certificate_type},
            now=now,
        )
        _changed(charge_point.charge_point_id, csr="rejected")
        return CsrOutcome(accepted=False, code=refused.code, reason=refused.reason)
    _changed(charge_point.charge_point_id, csr="accepted")
    return CsrOutcome(accepted=True)


def sign_certificate_refused(charge_point: ChargePoint, refusal: CallRefusal) -> ChargerEvent | None:
    """A SignCertificate answered with a CallError (its payload failed the schema: an oversized CSR, a wrong
    type, garbage): a security event of the charger, as a CSR the CA refused is, and nothing else is stored
    (no CSR row: there is no CSR to keep). At most one per charger per REFUSAL_EVENT_INTERVAL_SECONDS (None: held
    back). Registered with ``chargers.ports.call_refusal_observer_register`` (``CertificatesConfig.ready``)."""
    try:
        fresh = get_redis().set(
            f"{REFUSAL_EVENT_PREFIX}{charge_point.charge_point_id}", "1", nx=True, ex=REFUSAL_EVENT_INTERVAL_SECONDS
        )
    except redis.RedisError:
        fresh = True  # without Redis, no throttle: better a row too many than a refusal unrecorded
    if not fresh:
        return None
    event = chargers.charger_event_record(
        charge_point=charge_point,
        kind=ChargerEvent.Kind.SECURITY,
        status=CSR_EVENT_STATUS,
        detail={
            "code": refusal.code,
            "reason": refusal.description[:255],
            "field": str(refusal.details.get("field", ""))[:64],
            "ocppVersion": refusal.ocpp_version,
            "refusedBy": "schema",
        },
        now=timezone.now(),
    )
    _changed(charge_point.charge_point_id, csr="refused")
    return event


def _request_record(
    charge_point: ChargePoint,
    csr_pem: str,
    certificate_type: str,
    ocpp_version: str,
    now: datetime,
    *,
    csr: x509.CertificateSigningRequest | None = None,
    refused: CsrRefused | None = None,
) -> CertificateSigningRequest:
    common_name = ""
    if csr is not None:
        common_name = str(csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
    return CertificateSigningRequest.objects.create(
        charge_point=charge_point,
        ocpp_version=ocpp_version,
        certificate_type=certificate_type[:32],
        csr_pem=csr_pem[:CSR_MAX_BYTES],
        common_name=common_name[:255],
        outcome=CertificateSigningRequest.Outcome.REJECTED if refused else CertificateSigningRequest.Outcome.ACCEPTED,
        reason=refused.reason[:255] if refused else "",
        received_at=now,
    )


def certificate_signed_answered(*, command: Command, now: datetime) -> IssuedCertificate | None:
    """A charger answered our CertificateSigned: Accepted makes its certificate active (the one active
    before superseded), anything else rejected. Called in the results' transaction."""
    issued = IssuedCertificate.objects.filter(command=command, status=IssuedCertificate.Status.ISSUED).first()
    if issued is None:
        return None
    if command.status == Command.Status.ACCEPTED:
        IssuedCertificate.objects.filter(
            charge_point_id=command.charge_point_id, status=IssuedCertificate.Status.ACTIVE
        ).update(status=IssuedCertificate.Status.SUPERSEDED)
        issued.status = IssuedCertificate.Status.ACTIVE
    else:
        issued.status = IssuedCertificate.Status.REJECTED
    issued.save(update_fields=["status", "updated_at"])
    _changed(command.charge_point.charge_point_id, certificate=issued.status)
    return issued


# --- revocation ---------------------------------------------------------------------------------------


def certificate_revoke(*, certificate: IssuedCertificate, now: datetime) -> IssuedCertificate:
    """Revoke a certificate we issued: it enters the CSMS CA's CRL (``ca_crl_pem``), so a gateway reading that CRL
    (CSMS_GATEWAY_TLS_CRL) refuses it at the handshake. Revoking twice keeps the first time."""
    updated = IssuedCertificate.objects.filter(pk=certificate.pk).exclude(status=IssuedCertificate.Status.REVOKED)
    if updated.update(status=IssuedCertificate.Status.REVOKED, revoked_at=now, updated_at=now):
        _changed(certificate.charge_point.charge_point_id, certificate=IssuedCertificate.Status.REVOKED)
    certificate.refresh_from_db()
    return certificate


def ca_crl_pem(*, now: datetime, days: int = 7) -> str:
    """The CSMS CA's CRL (PEM): every certificate it issued and that was revoked, valid ``days`` (write it again
    before then: the gateway rereads the file when it changes; OpenSSL refuses leaves past the CRL's nextUpdate)."""
    ca = ca_ensure(now=now)
    ca_certificate = x509.load_pem_x509_certificate(ca.certificate_pem.encode())
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_certificate.subject)
        .last_update(now - timedelta(minutes=5))
        .next_update(now + timedelta(days=days))
    )
    revoked = IssuedCertificate.objects.filter(
        status=IssuedCertificate.Status.REVOKED, issuer=ca_certificate.subject.rfc4514_string()[:255]
    )
    for certificate in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(int(certificate.serial_number, 16))
            .revocation_date(certificate.revoked_at or now)
            .build()
        )
    crl = builder.sign(_ca_key(ca.pk, ca.private_key_pem), hashes.SHA384())
    return crl.public_bytes(serialization.Encoding.PEM).decode()


# --- renewal ------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RenewalTrigger:
    """How a version asks a charger for a new CSR (1.6: ExtendedTriggerMessage SignChargePointCertificate;
    2.0.1: TriggerMessage SignChargingStationCertificate). Each protocol package registers its own."""

    action: str
    payload: dict[str, Any]


RENEWAL_TRIGGERS: dict[str, RenewalTrigger] = {}


def renewal_trigger_register(version: str, trigger: RenewalTrigger) -> None:
    """``version``'s way of asking for a new CSR (``protocols.v16.commands`` and ``protocols.v201.commands``)."""
    RENEWAL_TRIGGERS[version] = trigger


def certificates_renew_due(*, now: datetime) -> list[Command]:
    """Ask every charger whose active certificate ends within CSMS_CA_RENEW_BEFORE_DAYS for a new CSR.

    Skipped: a charger that already has a newer certificate issued (its CertificateSigned queued or sent),
    one with the trigger queued or sent, and one whose version has no way to ask. A charger that
    takes no commands is skipped too (its CommandError is logged).
    """
    horizon = now + timedelta(days=int(settings.CSMS_CA_RENEW_BEFORE_DAYS))
    due = IssuedCertificate.objects.filter(
        status=IssuedCertificate.Status.ACTIVE, not_after__lte=horizon
    ).select_related("charge_point")
    queued = []
    for certificate in due:
        charge_point = certificate.charge_point
        trigger = RENEWAL_TRIGGERS.get(charge_point.ocpp_version)
        if trigger is None:
            continue
        # A newer certificate on its way (its CertificateSigned queued or sent) will do; one whose command
        # failed, timed out or expired will never be answered, and must not stop the renewal.
        newer = IssuedCertificate.objects.filter(
            charge_point=charge_point,
            status=IssuedCertificate.Status.ISSUED,
            created_at__gt=certificate.created_at,
            command__status__in=[Command.Status.QUEUED, Command.Status.SENT],
        ).exists()
        waiting = Command.objects.filter(
            charge_point=charge_point,
            action=trigger.action,
            status__in=[Command.Status.QUEUED, Command.Status.SENT],
            request=trigger.payload,
        ).exists()
        if newer or waiting:
            continue
        try:
            queued.append(
                command_enqueue(
                    charge_point=charge_point,
                    action=trigger.action,
                    payload=dict(trigger.payload),
                    requested_by="system: certificate renewal",
                )
            )
        except CommandError as exc:
            logger.info("no certificate renewal for %s: %s", charge_point, exc.message)
    return queued


# --- certificates an operator sends ---------------------------------------------------------------------

#: The most certificates one InstallCertificate or CertificateSigned may carry (a leaf and its CAs).
CHAIN_MAX = 5


def certificates_pem_check(*, pem: str, root: bool, now: datetime) -> list[x509.Certificate]:
    """The certificates of an operator's InstallCertificate (``root``: exactly one, a CA certificate) or
    CertificateSigned (a chain: each certificate issued by the next), before they are queued. ValueError says
    what is wrong: no PEM certificate, garbage between blocks, expired, or a chain that does not chain."""
    text = pem.strip()
    blocks = text.count("-----BEGIN CERTIFICATE-----")
    if (
        not blocks
        or blocks != text.count("-----END CERTIFICATE-----")
        or not text.endswith("-----END CERTIFICATE-----")
    ):
        raise ValueError("not PEM-armored CERTIFICATE blocks")
    if blocks > (1 if root else CHAIN_MAX):
        raise ValueError(f"{blocks} certificates: at most {1 if root else CHAIN_MAX}")
    try:
        found = x509.load_pem_x509_certificates(text.encode("ascii"))
    except (ValueError, UnicodeError) as exc:
        raise ValueError(f"a certificate does not parse: {str(exc)[:120]}") from None
    for certificate in found:
        if certificate.not_valid_after_utc <= now:
            raise ValueError(f"certificate #{format(certificate.serial_number, 'x')} expired")
    if root:
        try:
            constraints = found[0].extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            constraints = None
        if constraints is None or not constraints.ca:
            raise ValueError("not a CA certificate (basicConstraints CA:TRUE)")
    for certificate, issuer in zip(found, found[1:], strict=False):
        try:
            certificate.verify_directly_issued_by(issuer)
        except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
            serial = format(certificate.serial_number, "x")
            raise ValueError(f"certificate #{serial} is not issued by the certificate after it") from None
    return found


# --- the inventory ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class HashData:
    """OCPP's CertificateHashDataType: how a charger names a certificate (RFC 6960 CertID's fields)."""

    hash_algorithm: str
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str

    @classmethod
    def from_ocpp(cls, data: dict[str, Any]) -> HashData:
        return cls(data["hashAlgorithm"], data["issuerNameHash"], data["issuerKeyHash"], data["serialNumber"])

    def to_ocpp(self) -> dict[str, str]:
        return {
            "hashAlgorithm": self.hash_algorithm,
            "issuerNameHash": self.issuer_name_hash,
            "issuerKeyHash": self.issuer_key_hash,
            "serialNumber": self.serial_number,
        }


def certificate_hash_data(
    *, certificate_pem: str, issuer_pem: str | None = None, hash_algorithm: str = "SHA256"
) -> HashData:
    """The hash data of a certificate (for DeleteCertificate): the digest of its issuer's DER name and of its
    issuer's public key (the subjectPublicKey bits), and its serial in hex. A self-signed certificate is its
    own issuer; otherwise ``issuer_pem`` is needed. ValueError for PEM that is no certificate."""
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    issuer = x509.load_pem_x509_certificate(issuer_pem.encode()) if issuer_pem else certificate
    if issuer_pem is None and certificate.issuer != certificate.subject:
        raise ValueError("not self-signed: the issuer's certificate is needed for its key hash")
    algorithm = HASH_ALGORITHMS[hash_algorithm]
    return HashData(
        hash_algorithm=hash_algorithm,
        issuer_name_hash=_digest(algorithm, certificate.issuer.public_bytes()),
        issuer_key_hash=_digest(algorithm, _key_bits(issuer)),
        serial_number=format(certificate.serial_number, "x"),
    )


def _digest(algorithm: str, data: bytes) -> str:
    return hashlib.new(algorithm, data).hexdigest()


def _key_bits(certificate: x509.Certificate) -> bytes:
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    raise ValueError(f"no hash data for a {type(key).__name__} issuer key")


@dataclasses.dataclass(frozen=True)
class InstalledItem:
    """One certificate a charger reports, with its type and (2.0.1) the certificates it issued."""

    certificate_type: str
    hash_data: HashData
    children: tuple[HashData, ...] = ()


def installed_certificates_report(
    *, charge_point: ChargePoint, certificate_types: list[str] | None, items: list[InstalledItem], now: datetime
) -> None:
    """A GetInstalledCertificateIds answer: the inventory of the types asked (None: of every type) is what
    the charger reported, no more (NotFound: none)."""
    rows = InstalledCertificate.objects.filter(charge_point=charge_point)
    if certificate_types is not None:
        rows = rows.filter(certificate_type__in=certificate_types)
    rows.delete()
    for item in items:
        parent = _installed_create(charge_point, item.certificate_type, item.hash_data, now)
        for child in item.children:
            _installed_create(charge_point, item.certificate_type, child, now, parent=parent)
    _changed(charge_point.charge_point_id, installed="reported")


def _installed_create(
    charge_point: ChargePoint,
    certificate_type: str,
    data: HashData,
    now: datetime,
    parent: InstalledCertificate | None = None,
) -> InstalledCertificate:
    return InstalledCertificate.objects.create(
        charge_point=charge_point,
        certificate_type=certificate_type,
        hash_algorithm=data.hash_algorithm,
        issuer_name_hash=data.issuer_name_hash.lower(),
        issuer_key_hash=data.issuer_key_hash.lower(),
        serial_number=data.serial_number.lower().lstrip("0") or "0",
        parent=parent,
        reported_at=now,
    )


def installed_certificate_add(
    *, charge_point: ChargePoint, certificate_type: str, certificate_pem: str, now: datetime
) -> None:
    """An accepted InstallCertificate: a self-signed root enters the inventory by its SHA256 hash data (a
    certificate whose issuer we cannot hash waits for the next GetInstalledCertificateIds)."""
    try:
        data = certificate_hash_data(certificate_pem=certificate_pem)
    except ValueError:
        return
    _installed_create(charge_point, certificate_type, data, now)
    _changed(charge_point.charge_point_id, installed="added")


def installed_certificate_remove(*, charge_point: ChargePoint, hash_data: HashData) -> int:
    """An accepted DeleteCertificate: the certificate it named leaves the inventory (hashes compared as hex)."""
    deleted, _ = InstalledCertificate.objects.filter(
        charge_point=charge_point,
        hash_algorithm=hash_data.hash_algorithm,
        issuer_name_hash=hash_data.issuer_name_hash.lower(),
        issuer_key_hash=hash_data.issuer_key_hash.lower(),
        serial_number=hash_data.serial_number.lower().lstrip("0") or "0",
    ).delete()
    if deleted:
        _changed(charge_point.charge_point_id, installed="removed")
    return deleted
