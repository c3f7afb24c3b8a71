"""The 1.6 command catalogue: whether a CSMS-initiated Call can be queued, and what queuing it means.

``command_check`` is the port's: the action must be one this CSMS sends, its payload must pass the
1.6 schema (and fit our columns), and the charger's state must allow it where the schema cannot
know (a RemoteStop of a session that is active, a reservation that expires in the future, a
cancellation of an open reservation). ``command_queued`` records the domain's side of a queued
command (a ReserveNow requests a reservation), in the enqueue's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from certificates.services import RenewalTrigger, certificates_pem_check, renewal_trigger_register
from chargers.commands import CommandError
from chargers.models import ChargePoint, Command
from chargers.reservations import reservation_open, reservation_request
from transactions.models import Transaction

from ..validation import Kind, OcppError, validate
from .actions import COMMANDS


def command_check(*, charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> None:
    """Raise CommandError (message for people, errors per field) when this 1.6 command cannot be queued."""
    if action not in COMMANDS:
        names = ", ".join(sorted(COMMANDS))
        raise CommandError(f"{action!r} is not an OCPP 1.6 command", {"action": [f"must be one of {names}"]})
    if not isinstance(payload, dict):
        raise CommandError("the payload must be a JSON object", {"payload": ["must be a JSON object"]})
    try:
        validate(Kind.CALL, action, payload, "1.6")
    except OcppError as exc:
        field = str(exc.details.get("field", "payload"))
        raise CommandError(f"invalid {action} request: {exc.description}", {field: [exc.description]}) from None
    _check_state(charge_point, action, payload)


def _check_state(charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> None:
    """Refuse what cannot work in the charger's current state (the schema cannot know it)."""
    if action in _CERTIFICATE_FIELDS:
        _check_certificates(action, payload)
    if action == "RemoteStopTransaction":
        active = Transaction.objects.filter(
            pk=payload["transactionId"], charge_point=charge_point, stopped_at__isnull=True
        ).exists()
        if not active:
            raise CommandError(
                f"transaction {payload['transactionId']} is not an active session of {charge_point}",
                {"transactionId": ["no active session with this id on this charge point"]},
            )
    if action == "ReserveNow":
        try:
            expiry = datetime.fromisoformat(payload["expiryDate"])
        except ValueError:
            raise CommandError("expiryDate is not a date-time", {"expiryDate": ["not an ISO 8601 date-time"]}) from None
        if expiry.tzinfo is None or expiry <= timezone.now():
            raise CommandError("expiryDate must be in the future", {"expiryDate": ["must be a future UTC time"]})
    if action == "CancelReservation" and not reservation_open(
        charge_point=charge_point, reservation_id=payload["reservationId"]
    ):
        raise CommandError(
            f"no open reservation {payload['reservationId']} on {charge_point}",
            {"reservationId": ["no open reservation with this id on this charge point"]},
        )


def command_queued(*, command: Command) -> None:
    """What a queued 1.6 command means before its answer: a ReserveNow requests its reservation."""
    if command.action == "ReserveNow":
        payload = command.request
        reservation_request(
            charge_point=command.charge_point,
            reservation_id=payload["reservationId"],
            connector_id=payload["connectorId"],
            id_tag=payload["idTag"],
            parent_id_tag=payload.get("parentIdTag", ""),
            expiry_date=datetime.fromisoformat(payload["expiryDate"]),
        )


# How the CSMS CA asks this version's chargers for a new CSR before their certificate ends.
renewal_trigger_register(
    "1.6", RenewalTrigger("ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"})
)

#: The commands that carry certificates: the field, and whether it is one root (else a chain).
_CERTIFICATE_FIELDS = {"InstallCertificate": ("certificate", True), "CertificateSigned": ("certificateChain", False)}


def _check_certificates(action: str, payload: dict[str, Any]) -> None:
    """Garbage, expired certificates and chains that do not chain are refused before they reach a charger."""
    field, root = _CERTIFICATE_FIELDS[action]
    try:
        certificates_pem_check(pem=payload[field], root=root, now=timezone.now())
    except ValueError as exc:
        raise CommandError(f"invalid {action} request: {exc}", {field: [str(exc)]}) from None
