"""Display messages (block O): Set/Get/ClearDisplayMessage, NotifyDisplayMessages.

Checks before a SetDisplayMessage is queued (the schema cannot know them):
- ``startDateTime`` / ``endDateTime`` are date-times with an offset, the end after the start;
- a ``transactionId`` names an active session of this station (O02: a message tied to a transaction
  the station does not run would be answered UnknownTransaction);
- where the device model knows them (as the station last reported them): the content no longer than
  ``DisplayMessageCtrlr.PersonalMessageSize`` characters, the format one of ``SupportedFormats``, the
  priority one of ``SupportedPriorities``.

Queued: the message is ``requested`` (``displays.services``). Effects: SetDisplayMessage Accepted makes it
``accepted``, any other answer ``rejected`` with the status (NotSupportedMessageFormat, NotSupportedPriority,
NotSupportedState, UnknownTransaction, Rejected); ClearDisplayMessage Accepted or Unknown ``cleared``;
GetDisplayMessages Unknown (the station has no message matching the request) removes the held ones that
match. NotifyDisplayMessages parts (by ``requestId``) store the messages as reported; the last part
(``tbc`` false) removes the held messages the request covered that no part reported.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chargers.commands import CommandError
from chargers.device_model import device_variable_value
from chargers.models import ChargePoint, ChargerEvent, Command
from chargers.services import charger_event_record
from displays import services
from transactions.models import Transaction

from ..blocks import Block
from ..payloads import timestamp

CONTROLLER = "DisplayMessageCtrlr"


def _time(payload: dict[str, Any], field: str) -> datetime | None:
    raw = payload.get(field)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"{field} is not a date-time", {f"message.{field}": ["not an ISO 8601 date-time"]}) from None
    if value.tzinfo is None:
        raise CommandError(f"{field} has no offset", {f"message.{field}": ["must be a UTC time (Z or an offset)"]})
    return value


def _members(charge_point: ChargePoint, variable: str) -> set[str] | None:
    """A MemberList variable of the controller as the station reported it (None: not known)."""
    value = device_variable_value(charge_point=charge_point, component=CONTROLLER, variable=variable)
    if not value:
        return None
    return {member.strip() for member in value.split(",") if member.strip()}


def _limit(charge_point: ChargePoint, variable: str) -> int | None:
    value = device_variable_value(charge_point=charge_point, component=CONTROLLER, variable=variable)
    try:
        limit = int(value) if value is not None else 0
    except ValueError:
        return None
    return limit if limit > 0 else None


def check_set_display_message(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    info = payload["message"]
    start, end = _time(info, "startDateTime"), _time(info, "endDateTime")
    if start is not None and end is not None and end <= start:
        raise CommandError(
            "endDateTime must be after startDateTime", {"message.endDateTime": ["must be after startDateTime"]}
        )
    transaction_id = info.get("transactionId")
    if (
        transaction_id is not None
        and not Transaction.objects.filter(
            charge_point=charge_point, charger_transaction_id=transaction_id, stopped_at__isnull=True
        ).exists()
    ):
        raise CommandError(
            f"transaction {transaction_id!r} is not an active session of {charge_point}",
            {"message.transactionId": ["no active session with this transactionId on this charging station"]},
        )
    content = info["message"]
    size = _limit(charge_point, "PersonalMessageSize")
    if size is not None and len(content["content"]) > size:
        raise CommandError(
            f"the message has {len(content['content'])} characters; {charge_point} displays at most {size}",
            {"message.message.content": [f"at most {size} characters ({CONTROLLER}.PersonalMessageSize)"]},
        )
    formats = _members(charge_point, "SupportedFormats")
    if formats is not None and content["format"] not in formats:
        raise CommandError(
            f"{charge_point} does not display {content['format']} messages",
            {"message.message.format": [f"one of {', '.join(sorted(formats))} ({CONTROLLER}.SupportedFormats)"]},
        )
    priorities = _members(charge_point, "SupportedPriorities")
    if priorities is not None and info["priority"] not in priorities:
        raise CommandError(
            f"{charge_point} does not take {info['priority']} messages",
            {"message.priority": [f"one of {', '.join(sorted(priorities))} ({CONTROLLER}.SupportedPriorities)"]},
        )


def _message(info: dict[str, Any], start: datetime | None, end: datetime | None) -> services.MessageInfo:
    content = info["message"]
    return services.MessageInfo(
        message_id=info["id"],
        priority=info["priority"],
        format=content["format"],
        content=content["content"],
        language=content.get("language", ""),
        state=info.get("state", ""),
        start_at=start,
        end_at=end,
        transaction_id=info.get("transactionId", ""),
        display=info.get("display"),
    )


def queued_set_display_message(command: Command) -> None:
    info = command.request["message"]
    message = _message(info, _time(info, "startDateTime"), _time(info, "endDateTime"))
    services.display_message_request(charge_point=command.charge_point, message=message, command=command)


def effect_set_display_message(command: Command, response: dict[str, Any], now: datetime) -> None:
    status = response.get("status", "")
    services.display_message_answered(command=command, accepted=status == "Accepted", answer=status)


def effect_clear_display_message(command: Command, response: dict[str, Any], now: datetime) -> None:
    status = response.get("status", "")
    if status in ("Accepted", "Unknown"):
        services.display_message_cleared(
            charge_point=command.charge_point, message_id=command.request["id"], answer=status
        )


def _criteria(request: dict[str, Any]) -> services.ReportCriteria:
    return services.ReportCriteria(
        ids=tuple(request.get("id") or ()), priority=request.get("priority", ""), state=request.get("state", "")
    )


def effect_get_display_messages(command: Command, response: dict[str, Any], now: datetime) -> None:
    # Unknown: "no messages found that match the given criteria" (O03, O04): the station holds none of them.
    if response.get("status") == "Unknown":
        services.display_messages_gone(
            charge_point=command.charge_point,
            request_id=command.request["requestId"],
            criteria=_criteria(command.request),
            asked_at=command.created_at,
        )


def notify_display_messages(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """One part of the station's answer to a GetDisplayMessages: its messages stored as reported."""
    messages = []
    for index, info in enumerate(payload.get("messageInfo", [])):
        path = f"messageInfo.{index}."
        start = timestamp(info, "startDateTime", path) if "startDateTime" in info else None
        end = timestamp(info, "endDateTime", path) if "endDateTime" in info else None
        messages.append(_message(info, start, end))
    # Kept as the core kept it too: the charger's history shows the report came.
    charger_event_record(
        charge_point=cp, kind=ChargerEvent.Kind.NOTIFICATION, status="NotifyDisplayMessages", detail=payload, now=now
    )
    request_id = payload["requestId"]
    services.display_messages_report(charge_point=cp, request_id=request_id, messages=messages, now=now)
    if not payload.get("tbc", False):
        # The charger row lock display_messages_report took holds until this Call's transaction commits:
        # no other part of the report is being written while the unreported messages are removed.
        asked = (
            Command.objects.filter(charge_point=cp, action="GetDisplayMessages", request__requestId=request_id)
            .order_by("-created_at")
            .first()
        )
        # A report we did not ask for (or asked under another id) covers nothing we know of: nothing is removed.
        if asked is not None:
            services.display_messages_gone(
                charge_point=cp, request_id=request_id, criteria=_criteria(asked.request), asked_at=asked.created_at
            )
    return {}


BLOCK = Block(
    "displays",
    handlers={"NotifyDisplayMessages": notify_display_messages},
    effects={
        "SetDisplayMessage": effect_set_display_message,
        "ClearDisplayMessage": effect_clear_display_message,
        "GetDisplayMessages": effect_get_display_messages,
    },
    checks={"SetDisplayMessage": check_set_display_message},
    queued={"SetDisplayMessage": queued_set_display_message},
)
