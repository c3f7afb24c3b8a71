"""CSRs and certificates made with ``cryptography``, Calls and results as the bridge hands them to the worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from chargers.commands import command_next_send
from chargers.models import ChargePoint, Command
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.processing import calls_handle, results_handle

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def key_ec(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve or ec.SECP256R1())


def csr_pem(
    common_name: str | None,
    *,
    key: PrivateKey | None = None,
    organization: str | None = None,
    digest: Any = None,
) -> str:
    attributes = []
    if common_name is not None:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    if organization is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes))
    signed = request.sign(key or key_ec(), digest or hashes.SHA256())
    return signed.public_bytes(serialization.Encoding.PEM).decode()


def root_pem(name: str = "Some Root", *, days: int = 30, ca: bool = True) -> str:
    """A self-signed root, as an operator installs one (InstallCertificate); ``days`` < 0: expired that long ago."""
    key = key_ec()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=max(0, -days) + 1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def call(action: str, payload: dict[str, Any], *, cid: str, version: str, message_id: str = "m1") -> Frame:
    """One Call of ``version``'s route, applied; its reply."""
    frame = Frame(
        charge_point_id=cid,
        kind=Kind.CALL,
        message_id=message_id,
        action=action,
        payload=payload,
        ocpp_version=version,
        dialect="ocppj" if version == "2.0.1" else "emqx",
        received_at=utcnow(),
    )
    return calls_handle([frame])[0]


def send(charge_point: ChargePoint) -> Command:
    """The charger's next queued command, marked sent as the dispatcher does."""
    command = command_next_send(charge_point_pk=charge_point.pk)
    assert command is not None
    return Command.objects.get(pk=command.pk)


def answer(command: Command, payload: dict[str, Any]) -> Command:
    """The charger's CallResult to ``command``; the command as it ends."""
    results_handle(
        [
            Frame(
                charge_point_id=command.charge_point.charge_point_id,
                kind=Kind.RESULT,
                message_id=command.message_id,
                payload=payload,
                ocpp_version=command.charge_point.ocpp_version,
                received_at=utcnow(),
            )
        ]
    )
    command.refresh_from_db()
    return command
