"""Customer information (block N: N09 get, N10 clear): CustomerInformation, NotifyCustomerInformation.

Check before a CustomerInformation is queued: exactly one of ``customerIdentifier``, ``idToken``,
``customerCertificate`` (N09.FR.04, N10.FR.08: the request names one customer one way), ``report`` or
``clear`` true (a request for nothing), and a ``requestId`` this station was not asked under before (its
report parts are kept by it).

Queued: the request is kept (``privacy.services``), ``requested``. Effect: the answer's status
(Accepted / Rejected / Invalid). An accepted clear for an id token also takes that token out of the
station's local list when it holds one (``local_list_version`` above 0): a SendLocalList Differential of
the next version with the token and no idTokenInfo (D01.FR.17: an entry without one removes the token).
NotifyCustomerInformation (replacing the core's handler): each part kept by ``seqNo`` under its request;
the report is complete once the part with ``tbc`` false and every one before it have come. The core's
ChargerEvent NOTIFICATION of the part is still written.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from chargers.commands import CommandError, command_enqueue
from chargers.models import ChargePoint, ChargerEvent, Command
from chargers.services import charger_event_record
from privacy import services

from ..blocks import Block
from ..payloads import timestamp

logger = logging.getLogger(__name__)

FIELDS = ("customerIdentifier", "idToken", "customerCertificate")


def _reference(payload: dict[str, Any]) -> services.CustomerReference:
    token = payload.get("idToken") or {}
    return services.CustomerReference(
        customer_identifier=payload.get("customerIdentifier", ""),
        id_token=token.get("idToken", ""),
        id_token_type=token.get("type", ""),
        certificate=payload.get("customerCertificate"),
    )


def check_customer_information(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    given = [field for field in FIELDS if field in payload]
    if len(given) != 1:
        message = (
            "name the customer with one of customerIdentifier, idToken, customerCertificate"
            if not given
            else f"name the customer one way only, not with {' and '.join(given)}"
        )
        raise CommandError(
            message,
            {field: ["exactly one of customerIdentifier, idToken, customerCertificate"] for field in (given or FIELDS)},
        )
    if not payload["report"] and not payload["clear"]:
        raise CommandError(
            "a CustomerInformation must ask for a report, a clear, or both",
            {"report": ["report or clear must be true"], "clear": ["report or clear must be true"]},
        )
    if services.customer_information_request_id_used(charge_point=charge_point, request_id=payload["requestId"]):
        raise CommandError(
            f"requestId {payload['requestId']} is already used for {charge_point}",
            {"requestId": ["already used for this charging station (its report parts are kept by it)"]},
        )


def queued_customer_information(command: Command) -> None:
    payload = command.request
    services.customer_information_request(
        command=command,
        request_id=payload["requestId"],
        report=payload["report"],
        clear=payload["clear"],
        reference=_reference(payload),
    )


def _next_local_list_version(charge_point: ChargePoint) -> int:
    """Above the station's version and every SendLocalList still on its way (queued or sent)."""
    versions = [charge_point.local_list_version or 0]
    versions += [
        int(request.get("versionNumber", 0))
        for request in Command.objects.filter(
            charge_point=charge_point,
            action="SendLocalList",
            status__in=[Command.Status.QUEUED, Command.Status.SENT],
        ).values_list("request", flat=True)
    ]
    return max(versions) + 1


def effect_customer_information(command: Command, response: dict[str, Any], now: datetime) -> None:
    request = services.customer_information_answered(
        command=command, status=response.get("status", ""), status_info=response.get("statusInfo")
    )
    if request is None or request.status != request.Status.ACCEPTED or not request.clear or not request.id_token:
        return
    charge_point = ChargePoint.objects.get(pk=command.charge_point_id)
    if not charge_point.local_list_version or charge_point.local_list_version < 1:
        return
    payload = {
        "versionNumber": _next_local_list_version(charge_point),
        "updateType": "Differential",
        "localAuthorizationList": [{"idToken": {"idToken": request.id_token, "type": request.id_token_type}}],
    }
    try:
        update = command_enqueue(
            charge_point=charge_point, action="SendLocalList", payload=payload, requested_by="csms:customer-clear"
        )
    except CommandError as exc:
        # The clear is the station's and stands; the list stays as it is until an operator sends one.
        logger.warning("no local list update after customer clear on %s: %s", charge_point, exc.message)
        return
    services.customer_information_local_list_linked(request=request, command=update)


def notify_customer_information(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    generated_at = timestamp(payload, "generatedAt")
    # The charger's history shows the part came, without the customer's data: that lives in the request's
    # parts only, which a clear of the customer concerns (the message log keeps the frame until it is pruned).
    charger_event_record(
        charge_point=cp,
        kind=ChargerEvent.Kind.NOTIFICATION,
        status="NotifyCustomerInformation",
        detail={**{k: v for k, v in payload.items() if k != "data"}, "dataLength": len(payload["data"])},
        now=now,
    )
    services.customer_information_part_record(
        charge_point=cp,
        request_id=payload["requestId"],
        seq_no=payload["seqNo"],
        data=payload["data"],
        tbc=payload.get("tbc", False),
        generated_at=generated_at,
        now=now,
    )
    return {}


BLOCK = Block(
    "privacy",
    handlers={"NotifyCustomerInformation": notify_customer_information},
    effects={"CustomerInformation": effect_customer_information},
    checks={"CustomerInformation": check_customer_information},
    queued={"CustomerInformation": queued_customer_information},
)
