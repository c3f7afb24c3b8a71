"""The 2.0.1 command catalogue: whether a CSMS-initiated Call can be queued, how many messages it takes,
and what queuing it means.

``command_check`` is the port's: the action must be one a CSMS sends in 2.0.1, its payload must pass
the 2.0.1 schema, and the station's state must allow it where the schema cannot know:
- RequestStopTransaction names an active 2.0.1 session of this station (by the station's own
  ``transactionId``);
- RequestStartTransaction's ``remoteStartId`` is not already used by an open (queued or sent)
  RequestStartTransaction of this station: that id is how the session it causes is linked to it;
- SendLocalList: ``versionNumber`` above 0 (0 means "no list", D01.FR.18), every id token once
  (D01.FR.06), and in a Full list every entry with its ``idTokenInfo`` (an entry without one removes
  a token: only a Differential update does that, D01.FR.17);
- ReserveNow's ``expiryDateTime`` is a future time; CancelReservation names a reservation of this
  station that is open (requested or accepted), as 1.6.
- InstallCertificate carries one CA certificate, CertificateSigned a chain that chains, none expired
  (``certificates.services.certificates_pem_check``), as 1.6.
An EVSE the station never reported (UnlockConnector, ChangeAvailability, RequestStartTransaction,
Reset, TriggerMessage) is not refused: commands may go to a station before it reported its EVSEs
(a connected station that has not booted yet, or whose StatusNotifications are still to come), and
the station itself answers an EVSE it does not have (UnknownConnector, Rejected).

``command_split``: a GetVariables, SetVariables or GetReport of more items than the station's
``DeviceDataCtrlr.ItemsPerMessage`` (the instance is the action), or whose payload is larger than its
``DeviceDataCtrlr.BytesPerMessage``, is queued as several commands within both limits, in order
(B06.FR.05: the CSMS shall not send more; OCTT TC_B_08_CSMS, TC_B_18_CSMS); SetVariableMonitoring and
ClearVariableMonitoring likewise by ``MonitoringCtrlr``'s limits. The parts of a GetReport ask one report
each (``requestId`` + n). The limits are read from the device model as the station last reported them;
without them, the command goes whole.

``command_queued``: a queued ReserveNow requests its reservation (``chargers.reservations``: the EVSE
or none, the connector type, the token and group token with their types, the expiry), settled by the
answer (``results``); no other 2.0.1 command records anything before its answer.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.utils import timezone

from certificates.services import RenewalTrigger, certificates_pem_check, renewal_trigger_register
from chargers.commands import CommandError
from chargers.device_model import device_variable_value
from chargers.models import ChargePoint, Command
from chargers.reservations import reservation_open, reservation_request
from chargers.tokens import token_key
from transactions.models import Transaction

from ..validation import Kind, OcppError, validate
from .actions import COMMANDS

VERSION = "2.0.1"

#: The commands a station takes a limited number of items of in one message: action -> (the list field,
#: the controller component whose ``ItemsPerMessage`` / ``BytesPerMessage`` variable limits it, and that
#: variable's instance). GetReport's componentVariable and Set/ClearVariableMonitoring's items (N06.FR.04:
#: OCTT TC_N_18_CSMS) are limited as GetVariables / SetVariables' are (B06.FR.05: TC_B_08_CSMS).
SPLIT_BY_ITEMS = {
    "GetVariables": ("getVariableData", "DeviceDataCtrlr", "GetVariables"),
    "SetVariables": ("setVariableData", "DeviceDataCtrlr", "SetVariables"),
    "GetReport": ("componentVariable", "DeviceDataCtrlr", "GetReport"),
    "SetVariableMonitoring": ("setMonitoringData", "MonitoringCtrlr", "SetVariableMonitoring"),
    "ClearVariableMonitoring": ("id", "MonitoringCtrlr", "ClearVariableMonitoring"),
}


def command_check(*, charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> None:
    """Raise CommandError (message for people, errors per field) when this 2.0.1 command cannot be queued."""
    if action not in COMMANDS:
        names = ", ".join(sorted(COMMANDS))
        raise CommandError(f"{action!r} is not an OCPP 2.0.1 command", {"action": [f"must be one of {names}"]})
    if not isinstance(payload, dict):
        raise CommandError("the payload must be a JSON object", {"payload": ["must be a JSON object"]})
    try:
        validate(Kind.CALL, action, payload, VERSION)
    except OcppError as exc:
        field = str(exc.details.get("field", "payload"))
        raise CommandError(f"invalid {action} request: {exc.description}", {field: [exc.description]}) from None
    command_state_check(charge_point=charge_point, action=action, payload=payload)


def command_state_check(*, charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> None:
    """Refuse what cannot work in the station's current state (the schema cannot know it); 2.1 shares it."""
    if action in _CERTIFICATE_FIELDS:
        _check_certificates(action, payload)
    if action == "RequestStopTransaction":
        transaction_id = payload["transactionId"]
        active = (
            transaction_id != ""
            and Transaction.objects.filter(
                charge_point=charge_point, charger_transaction_id=transaction_id, stopped_at__isnull=True
            ).exists()
        )
        if not active:
            raise CommandError(
                f"transaction {transaction_id!r} is not an active session of {charge_point}",
                {"transactionId": ["no active session with this transactionId on this charging station"]},
            )
    if action == "RequestStartTransaction":
        remote_start_id = payload["remoteStartId"]
        taken = Command.objects.filter(
            charge_point=charge_point,
            action=action,
            status__in=[Command.Status.QUEUED, Command.Status.SENT],
            request__remoteStartId=remote_start_id,
        ).exists()
        if taken:
            raise CommandError(
                f"remoteStartId {remote_start_id} is already used by an open RequestStartTransaction to {charge_point}",
                {"remoteStartId": ["already used by a queued or sent RequestStartTransaction to this station"]},
            )
    if action == "SendLocalList":
        _check_local_list(payload)
    if action == "ReserveNow":
        expiry = _expiry(payload)
        if expiry <= timezone.now():
            raise CommandError(
                "expiryDateTime must be in the future", {"expiryDateTime": ["must be a future UTC time"]}
            )
    if action == "CancelReservation" and not reservation_open(
        charge_point=charge_point, reservation_id=payload["reservationId"]
    ):
        raise CommandError(
            f"no open reservation {payload['reservationId']} on {charge_point}",
            {"reservationId": ["no open reservation with this id on this charging station"]},
        )


def _expiry(payload: dict[str, Any]) -> datetime:
    """ReserveNow's expiryDateTime (the schema only says it is a string), with its offset."""
    try:
        expiry = datetime.fromisoformat(payload["expiryDateTime"])
    except ValueError:
        raise CommandError(
            "expiryDateTime is not a date-time", {"expiryDateTime": ["not an ISO 8601 date-time"]}
        ) from None
    if expiry.tzinfo is None:
        raise CommandError("expiryDateTime has no offset", {"expiryDateTime": ["must be a UTC time (Z or an offset)"]})
    return expiry


def _check_local_list(payload: dict[str, Any]) -> None:
    if payload["versionNumber"] < 1:
        raise CommandError(
            "versionNumber must be above 0 (0 means no local list)",
            {"versionNumber": ["must be above 0: a station answers 0 when it has no local list"]},
        )
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(payload.get("localAuthorizationList", [])):
        # Tokens match case-insensitively: the same token in another case is the same entry.
        token = (entry["idToken"]["idToken"], entry["idToken"]["type"])
        if (token_key(token[0]), token[1]) in seen:
            raise CommandError(
                f"id token {token[0]} ({token[1]}) is in the list twice",
                {f"localAuthorizationList.{index}.idToken": ["every id token may be in the list once"]},
            )
        seen.add((token_key(token[0]), token[1]))
        if payload["updateType"] == "Full" and "idTokenInfo" not in entry:
            raise CommandError(
                f"id token {token[0]} has no idTokenInfo in a Full list",
                {
                    f"localAuthorizationList.{index}.idTokenInfo": [
                        "required in a Full list (an entry without one removes a token: a Differential update)"
                    ]
                },
            )


def command_split(*, charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The payloads a checked command goes out as: ``[payload]``, or its items cut into parts the station
    takes (``SPLIT_BY_ITEMS``), in the order asked: at most its ``ItemsPerMessage`` items each, and each
    part's serialised payload at most its ``BytesPerMessage`` bytes. A GetReport cut in parts asks one
    report per part: part ``n`` has ``requestId + n`` (each report's NotifyReport parts name their own).

    Raises CommandError when one item alone does not fit in ``BytesPerMessage``.
    """
    if action not in SPLIT_BY_ITEMS:
        return [payload]
    field, component, instance = SPLIT_BY_ITEMS[action]
    items = payload.get(field)
    if not items:
        return [payload]
    limit = items_per_message(charge_point=charge_point, instance=instance, component=component)
    size_limit = bytes_per_message(charge_point=charge_point, instance=instance, component=component)
    if (limit is None or len(items) <= limit) and (size_limit is None or _size(payload) <= size_limit):
        return [payload]
    # Compact JSON of a list is "[" + the items joined by "," + "]": a part's size is the payload's with an
    # empty list plus its items' sizes and commas, without serialising every candidate part again.
    base = _size({**payload, field: []})
    parts: list[list[Any]] = []
    current: list[Any] = []
    current_size = base
    for index, item in enumerate(items):
        item_size = len(json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode())
        grown = current_size + item_size + (1 if current else 0)
        too_many = limit is not None and len(current) + 1 > limit
        too_big = size_limit is not None and grown > size_limit
        if current and (too_many or too_big):
            parts.append(current)
            current, grown = [], base + item_size
        if size_limit is not None and grown > size_limit:
            raise CommandError(
                f"{field}.{index} does not fit in one {action} of {size_limit} bytes "
                f"({component}.BytesPerMessage[{instance}] of {charge_point})",
                {f"{field}.{index}": [f"a {action} with this item alone is over the station's {size_limit} bytes"]},
            )
        current.append(item)
        current_size = grown
    parts.append(current)
    payloads = [{**payload, field: part} for part in parts]
    if action == "GetReport":
        payloads = [{**part, "requestId": payload["requestId"] + n} for n, part in enumerate(payloads)]
    return payloads


def _size(payload: dict[str, Any]) -> int:
    """The bytes of a payload as it goes on the wire (compact JSON, UTF-8)."""
    return len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())


def _positive(value: str | None) -> int | None:
    try:
        limit = int(value) if value is not None else 0
    except ValueError:
        return None
    return limit if limit > 0 else None


def items_per_message(*, charge_point: ChargePoint, instance: str, component: str = "DeviceDataCtrlr") -> int | None:
    """The station's ``<component>.ItemsPerMessage`` (variable instance ``instance``), as it last
    reported it; None when it did not, or reported something that is no positive integer."""
    return _positive(
        device_variable_value(
            charge_point=charge_point, component=component, variable="ItemsPerMessage", instance=instance
        )
    )


def bytes_per_message(*, charge_point: ChargePoint, instance: str, component: str = "DeviceDataCtrlr") -> int | None:
    """The station's ``<component>.BytesPerMessage`` (variable instance ``instance``), as
    ``items_per_message`` reads its ItemsPerMessage."""
    return _positive(
        device_variable_value(
            charge_point=charge_point, component=component, variable="BytesPerMessage", instance=instance
        )
    )


def command_queued(*, command: Command) -> None:
    """What a queued 2.0.1 command means before its answer: a ReserveNow requests its reservation."""
    if command.action == "ReserveNow":
        payload = command.request
        group = payload.get("groupIdToken") or {}
        reservation_request(
            charge_point=command.charge_point,
            reservation_id=payload["id"],
            evse_id=payload.get("evseId"),
            connector_type=payload.get("connectorType", ""),
            id_tag=payload["idToken"]["idToken"],
            id_token_type=payload["idToken"]["type"],
            parent_id_tag=group.get("idToken", ""),
            parent_id_token_type=group.get("type", ""),
            expiry_date=_expiry(payload),
        )


# How the CSMS CA asks this version's chargers for a new CSR before their certificate ends.
renewal_trigger_register(
    VERSION, RenewalTrigger("TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"})
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
