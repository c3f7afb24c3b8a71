"""Customer information (block N: N09 get, N10 clear): the requests made to stations and the reports
they send back.

Every write is one of these keyword-only functions: the 2.0.1 block (``protocols.v201.privacy``) calls
them when a CustomerInformation is queued or answered and when a NotifyCustomerInformation arrives; the
API builds its command with ``customer_information_payload``.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from backoffice.events import fleet_event
from chargers.models import ChargePoint, Command

from .models import CustomerInformationPart, CustomerInformationRequest


@dataclasses.dataclass(frozen=True)
class CustomerReference:
    """Who the request is about: exactly one of a customer identifier, an id token, a certificate."""

    customer_identifier: str = ""
    id_token: str = ""
    id_token_type: str = ""
    certificate: dict[str, Any] | None = None

    def given(self) -> list[str]:
        """The OCPP fields this reference fills."""
        return [
            name
            for name, present in (
                ("customerIdentifier", bool(self.customer_identifier)),
                ("idToken", bool(self.id_token)),
                ("customerCertificate", self.certificate is not None),
            )
            if present
        ]


def customer_information_payload(
    *, request_id: int, report: bool, clear: bool, reference: CustomerReference
) -> dict[str, Any]:
    """The CustomerInformation request (2.0.1's spelling, which 2.1 keeps)."""
    payload: dict[str, Any] = {"requestId": request_id, "report": report, "clear": clear}
    if reference.customer_identifier:
        payload["customerIdentifier"] = reference.customer_identifier
    if reference.id_token:
        payload["idToken"] = {"idToken": reference.id_token, "type": reference.id_token_type}
    if reference.certificate is not None:
        payload["customerCertificate"] = reference.certificate
    return payload


def customer_information_next_id(*, charge_point: ChargePoint) -> int:
    """A requestId this station has not been asked (nor reported) under: the highest known, plus one."""
    top = CustomerInformationRequest.objects.filter(charge_point=charge_point).aggregate(top=Max("request_id"))["top"]
    return (top or 0) + 1


def customer_information_request_id_used(*, charge_point: ChargePoint, request_id: int) -> bool:
    return CustomerInformationRequest.objects.filter(charge_point=charge_point, request_id=request_id).exists()


def _changed(charge_point: ChargePoint) -> None:
    fleet_event("customer_information", charge_point.charge_point_id)


def customer_information_request(
    *, command: Command, request_id: int, report: bool, clear: bool, reference: CustomerReference
) -> CustomerInformationRequest:
    """A CustomerInformation was queued: the request is kept, ``requested`` until the station answers."""
    row = CustomerInformationRequest.objects.create(
        charge_point=command.charge_point,
        request_id=request_id,
        report=report,
        clear=clear,
        customer_identifier=reference.customer_identifier,
        id_token=reference.id_token,
        id_token_type=reference.id_token_type,
        customer_certificate=reference.certificate,
        command=command,
    )
    _changed(command.charge_point)
    return row


#: The station's answer -> the request's status.
ANSWERS = {
    "Accepted": CustomerInformationRequest.Status.ACCEPTED,
    "Rejected": CustomerInformationRequest.Status.REJECTED,
    "Invalid": CustomerInformationRequest.Status.INVALID,
}


def customer_information_answered(
    *, command: Command, status: str, status_info: dict[str, Any] | None
) -> CustomerInformationRequest | None:
    """The station answered the CustomerInformation: the request takes its status (and statusInfo)."""
    row = CustomerInformationRequest.objects.filter(charge_point_id=command.charge_point_id, command=command).first()
    if row is None or status not in ANSWERS:
        return row
    row.status = ANSWERS[status]
    row.status_info = status_info
    row.save(update_fields=["status", "status_info", "updated_at"])
    _changed(command.charge_point)
    return row


def customer_information_local_list_linked(*, request: CustomerInformationRequest, command: Command) -> None:
    """Remember the SendLocalList that took the cleared token out of the station's local list."""
    request.local_list_command = command
    request.save(update_fields=["local_list_command", "updated_at"])


def customer_information_part_record(
    *,
    charge_point: ChargePoint,
    request_id: int,
    seq_no: int,
    data: str,
    tbc: bool,
    generated_at: datetime,
    now: datetime,
) -> CustomerInformationPart:
    """One NotifyCustomerInformation: the part is kept under its request (a requestId we never used gets
    an ``unsolicited`` request); a part delivered twice is kept once (the first). The request is
    ``complete`` once the part with tbc false and every part before it have come."""
    with transaction.atomic():
        # The charger row lock serialises two parts of one report handled at once by two workers: without
        # it each sees only its own part and neither completes the report.
        ChargePoint.objects.select_for_update(no_key=True).filter(pk=charge_point.pk).first()
        request, _ = CustomerInformationRequest.objects.get_or_create(
            charge_point=charge_point,
            request_id=request_id,
            defaults={"status": CustomerInformationRequest.Status.UNSOLICITED, "report": True},
        )
        part, _ = CustomerInformationPart.objects.get_or_create(
            request=request,
            seq_no=seq_no,
            defaults={"data": data, "tbc": tbc, "generated_at": generated_at, "received_at": now},
        )
        seq_nos = sorted(request.parts.values_list("seq_no", flat=True))
        last = request.parts.filter(tbc=False).order_by("seq_no").values_list("seq_no", flat=True).first()
        complete = last is not None and seq_nos[: last + 1] == list(range(last + 1))
        if complete != request.complete:
            request.complete = complete
            request.save(update_fields=["complete", "updated_at"])
        else:
            CustomerInformationRequest.objects.filter(pk=request.pk).update(updated_at=timezone.now())
    _changed(charge_point)
    return part


def customer_information_report(*, request: CustomerInformationRequest) -> str:
    """What the station reported for ``request``: its parts' data in ``seqNo`` order."""
    return "".join(request.parts.order_by("seq_no").values_list("data", flat=True))
