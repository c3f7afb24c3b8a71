"""Display messages (block O): what a station was asked to show, what it answered, what it reports.

Every write goes through these keyword-only functions: the 2.0.1 block (``protocols.v201.displays``)
calls them when a SetDisplayMessage / ClearDisplayMessage / GetDisplayMessages is queued or answered
and when a NotifyDisplayMessages arrives; the API builds its commands with ``display_message_payload``.
2.0.1 and 2.1 spell these messages the same way (2.1 adds fields we do not send), so the payload is
built here once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from backoffice.events import fleet_event
from chargers.models import ChargePoint, Command

from .models import DisplayMessage

#: What a station is taken to hold: what it accepted, and what it reported.
HELD = (DisplayMessage.Status.ACCEPTED, DisplayMessage.Status.REPORTED)


@dataclasses.dataclass(frozen=True)
class MessageInfo:
    """One message as OCPP's MessageInfoType describes it, in Python values."""

    message_id: int
    priority: str
    format: str
    content: str
    language: str = ""
    state: str = ""
    start_at: datetime | None = None
    end_at: datetime | None = None
    transaction_id: str = ""
    display: dict[str, Any] | None = None

    def fields(self) -> dict[str, Any]:
        return {
            "priority": self.priority,
            "format": self.format,
            "content": self.content,
            "language": self.language,
            "state": self.state,
            "start_at": self.start_at,
            "end_at": self.end_at,
            "transaction_id": self.transaction_id,
            "display": self.display,
        }


@dataclasses.dataclass(frozen=True)
class ReportCriteria:
    """What a GetDisplayMessages asked for: ids, a priority, a state (nothing: every message)."""

    ids: tuple[int, ...] = ()
    priority: str = ""
    state: str = ""


def _wire(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def display_message_payload(*, message: MessageInfo) -> dict[str, Any]:
    """The SetDisplayMessage request of ``message`` (2.0.1's MessageInfoType; 2.1 reads it the same)."""
    content: dict[str, Any] = {"format": message.format, "content": message.content}
    if message.language:
        content["language"] = message.language
    info: dict[str, Any] = {"id": message.message_id, "priority": message.priority, "message": content}
    if message.state:
        info["state"] = message.state
    if message.start_at is not None:
        info["startDateTime"] = _wire(message.start_at)
    if message.end_at is not None:
        info["endDateTime"] = _wire(message.end_at)
    # O01.FR.04: a message that belongs to no transaction has no transactionId at all.
    if message.transaction_id:
        info["transactionId"] = message.transaction_id
    if message.display:
        info["display"] = message.display
    return {"message": info}


def display_message_next_id(*, charge_point: ChargePoint) -> int:
    """A message id this station holds no message under as far as we know (the highest known, plus one)."""
    highest = DisplayMessage.objects.filter(charge_point=charge_point).aggregate(top=Max("message_id"))["top"]
    return (highest or 0) + 1


def display_report_next_id(*, charge_point: ChargePoint) -> int:
    """A GetDisplayMessages requestId not used for this station yet."""
    used = Command.objects.filter(charge_point=charge_point, action="GetDisplayMessages").values_list(
        "request", flat=True
    )
    return max((int(request.get("requestId", 0)) for request in used), default=0) + 1


def _changed(charge_point: ChargePoint) -> None:
    fleet_event("display_messages", charge_point.charge_point_id)


def display_message_request(*, charge_point: ChargePoint, message: MessageInfo, command: Command) -> DisplayMessage:
    """A SetDisplayMessage was queued: the message is ``requested`` with what we asked (replacing what the
    row said before: a message id the station holds is replaced by the new one, O06)."""
    row, _ = DisplayMessage.objects.update_or_create(
        charge_point=charge_point,
        message_id=message.message_id,
        defaults={**message.fields(), "status": DisplayMessage.Status.REQUESTED, "answer": "", "command": command},
    )
    _changed(charge_point)
    return row


def display_message_answered(*, command: Command, accepted: bool, answer: str) -> None:
    """The station answered a SetDisplayMessage: ``accepted``, or ``rejected`` with its status. A later
    SetDisplayMessage of the same id already owns the row: this older answer changes nothing."""
    status = DisplayMessage.Status.ACCEPTED if accepted else DisplayMessage.Status.REJECTED
    updated = DisplayMessage.objects.filter(charge_point_id=command.charge_point_id, command=command).update(
        status=status, answer="" if accepted else answer[:32], updated_at=timezone.now()
    )
    if updated:
        _changed(command.charge_point)


def display_message_cleared(*, charge_point: ChargePoint, message_id: int, answer: str) -> None:
    """ClearDisplayMessage answered Accepted, or Unknown (the station holds no such message): either way
    it is not on the display any more."""
    updated = DisplayMessage.objects.filter(charge_point=charge_point, message_id=message_id).update(
        status=DisplayMessage.Status.CLEARED,
        answer="" if answer == "Accepted" else answer[:32],
        updated_at=timezone.now(),
    )
    if updated:
        _changed(charge_point)


def display_messages_report(
    *, charge_point: ChargePoint, request_id: int, messages: Sequence[MessageInfo], now: datetime
) -> None:
    """One NotifyDisplayMessages part: each message is stored as the station reports it. One we asked for
    (requested or accepted) is ``accepted``; any other (set by someone else, or back after a clear) is
    ``reported``."""
    with transaction.atomic():
        # The charger row lock orders two parts of one report handled at once by two workers, so that
        # both do not create the same message row.
        ChargePoint.objects.select_for_update(no_key=True).filter(pk=charge_point.pk).first()
        known = {
            row.message_id: row
            for row in DisplayMessage.objects.filter(
                charge_point=charge_point, message_id__in=[message.message_id for message in messages]
            )
        }
        for message in messages:
            row = known.get(message.message_id)
            ours = row is not None and row.status in (DisplayMessage.Status.REQUESTED, DisplayMessage.Status.ACCEPTED)
            status = DisplayMessage.Status.ACCEPTED if ours else DisplayMessage.Status.REPORTED
            DisplayMessage.objects.update_or_create(
                charge_point=charge_point,
                message_id=message.message_id,
                defaults={
                    **message.fields(),
                    "status": status,
                    "answer": "",
                    "report_request_id": request_id,
                    "reported_at": now,
                },
            )
    _changed(charge_point)


def display_messages_gone(
    *, charge_point: ChargePoint, request_id: int, criteria: ReportCriteria, asked_at: datetime
) -> int:
    """A report is complete (its last part came, or the station answered Unknown: it holds none): the
    messages we took the station to hold that match what was asked and were not reported under
    ``request_id`` are ``removed`` (a station drops messages whose end time passed or whose transaction
    ended). Rows changed after the report was asked for are left alone. Returns how many were removed."""
    held = DisplayMessage.objects.filter(charge_point=charge_point, status__in=HELD, updated_at__lte=asked_at).filter(
        Q(report_request_id__isnull=True) | ~Q(report_request_id=request_id)
    )
    if criteria.ids:
        held = held.filter(message_id__in=criteria.ids)
    if criteria.priority:
        held = held.filter(priority=criteria.priority)
    if criteria.state:
        held = held.filter(state=criteria.state)
    removed = held.update(status=DisplayMessage.Status.REMOVED, updated_at=timezone.now())
    if removed:
        _changed(charge_point)
    return removed
