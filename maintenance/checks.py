"""What a firmware or log request must be before it is queued, whatever the version: each raises
``chargers.commands.CommandError`` naming the payload's field (the versions' checks call them with their
own field names)."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from urllib.parse import urlsplit

from django.utils import timezone

from certificates.services import certificates_pem_check
from chargers.commands import CommandError
from chargers.models import ChargePoint

from .models import FirmwarePublication, FirmwareUpdate, LogUpload

#: The transfer protocols a firmware or log location may name (OCPP's FileTransferProtocols).
SCHEMES = frozenset({"http", "https", "ftp", "ftps", "sftp"})
_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")


def location_check(field: str, value: str) -> None:
    """A location is an absolute URL of a file transfer protocol, with a host."""
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in SCHEMES or not parts.hostname or any(c.isspace() for c in value):
        schemes = ", ".join(sorted(SCHEMES))
        raise CommandError(f"{field} is not a URL: {value[:80]!r}", {field: [f"must be an absolute {schemes} URL"]})


def datetime_check(field: str, value: str) -> datetime:
    """An ISO 8601 date-time with an offset (OCPP's times are UTC); the schema only says it is a string."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise CommandError(
            f"{field} is not a date-time: {str(value)[:40]!r}", {field: ["not an ISO 8601 date-time"]}
        ) from None
    if parsed.tzinfo is None:
        raise CommandError(f"{field} has no offset", {field: ["must be a UTC time (Z or an offset)"]})
    return parsed


def window_check(oldest_field: str, oldest: datetime | None, latest_field: str, latest: datetime | None) -> None:
    if oldest is not None and latest is not None and oldest > latest:
        raise CommandError(
            f"{oldest_field} is after {latest_field}", {oldest_field: [f"must not be after {latest_field}"]}
        )


def signing_check(certificate_field: str, certificate: str | None, signature_field: str, signature: str | None) -> None:
    """A signed update carries both a PEM signing certificate (not expired) and a base64 signature."""
    if certificate and not signature:
        raise CommandError(
            f"a signed update needs its {signature_field}", {signature_field: ["required with a signing certificate"]}
        )
    if signature and not certificate:
        raise CommandError(
            f"a signature needs the {certificate_field} it was made with",
            {certificate_field: ["required with a signature"]},
        )
    if not certificate or not signature:
        return
    try:
        certificates_pem_check(pem=certificate, root=False, now=timezone.now())
    except ValueError as exc:
        raise CommandError(f"invalid {certificate_field}: {exc}", {certificate_field: [str(exc)]}) from None
    try:
        base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise CommandError(f"{signature_field} is not base64", {signature_field: ["must be base64"]}) from None


def checksum_check(field: str, value: str) -> None:
    if not _MD5.match(value):
        raise CommandError(f"{field} is not an MD5 checksum", {field: ["must be 32 hexadecimal digits (MD5)"]})


def request_id_check(charge_point: ChargePoint, field: str, request_id: int, model: str) -> None:
    """A requestId names one request of a charger: its notifications are matched to it by that id."""
    rows: dict[str, type[FirmwareUpdate] | type[LogUpload] | type[FirmwarePublication]] = {
        "firmware": FirmwareUpdate,
        "log": LogUpload,
        "publication": FirmwarePublication,
    }
    if rows[model].objects.filter(charge_point=charge_point, request_id=request_id).exists():
        raise CommandError(
            f"requestId {request_id} is already used by a {model} request to {charge_point}",
            {field: ["already used by an earlier request to this charger"]},
        )
