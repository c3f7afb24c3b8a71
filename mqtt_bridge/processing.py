"""What a worker does with one inbound frame: apply it once, log it, and say what to send back.

This is the transport's service layer: it knows frames, idempotency and the message log, and
calls the ``chargers`` / ``transactions`` services (through ``ocpp16``) for the meaning.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DataError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from backoffice import metrics
from backoffice.events import fleet_event
from chargers.commands import command_result_apply
from chargers.models import ChargePoint, Command
from chargers.services import charge_point_lock, charge_point_seen, command_result_record, presence_record

from .frames import Frame, Kind, Rejected
from .models import InboundCall, MessageLog
from .ocpp16 import HANDLERS
from .validation import CHARGER_ACTIONS_16, CSMS_ACTIONS_16, OcppError, validate

logger = logging.getLogger(__name__)

# Infrastructure failures: the task is retried (the frame is not answered with an error).
RETRYABLE = (OperationalError, InterfaceError)


def frame_handle(frame: Frame) -> Frame | None:
    """Apply an inbound frame and return the reply to publish (None for results and errors)."""
    now = timezone.now()
    if frame.kind == Kind.CALL:
        return _call_handle(frame, now)
    _result_handle(frame, now)
    return None


def _payload_hash(frame: Frame) -> str:
    canonical = json.dumps([frame.action, frame.payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _call_handle(frame: Frame, now: datetime) -> Frame:
    payload_hash = _payload_hash(frame)
    with transaction.atomic():
        charge_point = charge_point_lock(charge_point_id=frame.charge_point_id, dialect=frame.dialect)
        previous = InboundCall.objects.filter(
            charge_point_id=frame.charge_point_id, message_id=frame.message_id
        ).first()
        window = timedelta(seconds=settings.CSMS_DUPLICATE_WINDOW)
        duplicate = (
            previous is not None
            and previous.action == frame.action
            and previous.payload_hash == payload_hash
            and previous.received_at >= now - window
        )
        if duplicate:
            # A QoS 1 redelivery: no second effect, and the very same answer as the first time.
            reply = _stored_reply(frame, previous.reply)
        else:
            reply = _dispatch(charge_point, frame, now)
            if frame.action == "BootNotification":
                # Many chargers restart their message id counter at boot: ids from before the
                # reboot must not make its new messages look like redeliveries.
                InboundCall.objects.filter(charge_point_id=frame.charge_point_id).exclude(
                    message_id=frame.message_id
                ).delete()
            # One upsert: a reused message id replaces the old reply.
            InboundCall.objects.bulk_create(
                [
                    InboundCall(
                        charge_point_id=frame.charge_point_id,
                        message_id=frame.message_id,
                        action=frame.action,
                        payload_hash=payload_hash,
                        reply=_reply_to_store(reply),
                        received_at=now,
                    )
                ],
                update_conflicts=True,
                unique_fields=["charge_point_id", "message_id"],
                update_fields=["action", "payload_hash", "reply", "received_at"],
            )
        charge_point_seen(charge_point=charge_point, dialect=frame.dialect, now=now)
        outcome = "duplicate" if duplicate else ("ok" if reply.kind == Kind.RESULT else "error")
        if not duplicate:
            fleet_event("ocpp", frame.charge_point_id, action=frame.action, outcome=outcome)
        MessageLog.objects.bulk_create(
            [
                _log_in(frame, now, error_description="duplicate delivery" if duplicate else ""),
                _log_out(reply, now),
            ]
        )
    metrics.count("csms_frames_in_total", action=frame.action, outcome=outcome)
    return reply


def _dispatch(charge_point: ChargePoint, frame: Frame, now: datetime) -> Frame:
    handler = HANDLERS.get(frame.action)
    if handler is None:
        if frame.action in CHARGER_ACTIONS_16 or frame.action in CSMS_ACTIONS_16:
            return frame.error("NotSupported", f"{frame.action} is not supported by this CSMS")
        return frame.error("NotImplemented", f"Unknown action {frame.action!r}")
    try:
        validate(Kind.CALL, frame.action, frame.payload, frame.ocpp_version)
        # A savepoint: a handler that fails half-way leaves nothing behind.
        with transaction.atomic():
            payload = handler(charge_point, frame.payload, now)
    except OcppError as exc:
        return frame.error(exc.code, exc.description, exc.details)
    except RETRYABLE:
        raise
    except DataError as exc:
        # A value the schema allows but our columns cannot hold (an integer past 2^31, ...).
        logger.warning("%s %s from %s: %s", frame.action, frame.message_id, frame.charge_point_id, exc)
        return frame.error("PropertyConstraintViolation", f"a value is out of range: {str(exc).splitlines()[0]}")
    except Exception:
        logger.exception("%s %s from %s failed", frame.action, frame.message_id, frame.charge_point_id)
        return frame.error("InternalError", f"{frame.action} could not be processed; it was logged")
    return frame.reply(payload)


def _reply_to_store(reply: Frame) -> dict[str, Any]:
    if reply.kind == Kind.RESULT:
        return {"kind": int(Kind.RESULT), "payload": reply.payload}
    return {
        "kind": int(Kind.ERROR),
        "error_code": reply.error_code,
        "error_description": reply.error_description,
        "error_details": reply.error_details,
    }


def _stored_reply(frame: Frame, stored: dict[str, Any]) -> Frame:
    if stored["kind"] == Kind.RESULT:
        return frame.reply(stored["payload"])
    return frame.error(stored["error_code"], stored["error_description"], stored.get("error_details"))


def _result_handle(frame: Frame, now: datetime) -> None:
    """Match a CallResult / CallError to the command we sent; apply it once."""
    with transaction.atomic():
        command = (
            Command.objects.select_for_update()
            .select_related("charge_point")
            .filter(charge_point__charge_point_id=frame.charge_point_id, message_id=frame.message_id)
            .first()
        )
        action = command.action if command else ""
        note = ""
        if command is None:
            note, outcome = "unmatched: no command with this message id", "unmatched"
        elif command.status != Command.Status.SENT:
            # A late answer (after the timeout) or a QoS 1 redelivery: logged, never applied twice.
            note, outcome = f"late: command already {command.status}", "late"
        elif frame.kind == Kind.ERROR:
            command_result_record(
                command=command,
                payload=None,
                error_code=frame.error_code,
                error_description=frame.error_description,
                now=now,
            )
            outcome = "error"
        else:
            try:
                validate(Kind.RESULT, action, frame.payload, frame.ocpp_version)
            except OcppError as exc:
                command_result_record(
                    command=command,
                    payload=None,
                    error_code=exc.code,
                    error_description=f"invalid {action}Response: {exc.description}",
                    now=now,
                )
                note, outcome = exc.description, "invalid"
            else:
                command_result_record(command=command, payload=frame.payload, now=now)
                command_result_apply(command=command, now=now)
                outcome = "ok"
        if command is not None:
            charge_point_seen(charge_point=command.charge_point, dialect=frame.dialect, now=now)
            fleet_event("command", frame.charge_point_id, command_id=command.pk, status=command.status)
        MessageLog.objects.create(**_log_fields_in(frame, now, action=action, error_description=note))
    metrics.count("csms_frames_in_total", action=action or "unknown", outcome=outcome)


def rejected_record(rejected: Rejected) -> Frame | None:
    """Keep an unreadable message in the message log and count it; return the CallError to send, if any."""
    now = timezone.now()
    logger.warning("rejected message on %s (%s): %s", rejected.topic, rejected.reason, rejected.description)
    rows = [
        MessageLog(
            charge_point_id=rejected.charge_point_id,
            direction=MessageLog.Direction.IN,
            kind=MessageLog.Kind.INVALID,
            message_id=rejected.message_id[:64],
            raw=rejected.raw,
            topic=rejected.topic[:255],
            error_code=rejected.reason,
            error_description=rejected.description,
            created_at=rejected.received_at or now,
        )
    ]
    if rejected.reply is not None:
        rows.append(_log_out(rejected.reply, now))
    MessageLog.objects.bulk_create(rows)
    metrics.count("csms_frames_rejected_total", reason=rejected.reason)
    return rejected.reply


def presence_handle(*, charge_point_id: str, connected: bool, at: datetime, reason: str, topic: str) -> None:
    """A gateway's connected/disconnected event for a charger."""
    now = timezone.now()
    charge_point = presence_record(charge_point_id=charge_point_id, connected=connected, at=at, reason=reason, now=now)
    fleet_event("presence", charge_point_id, online=charge_point.online)
    MessageLog.objects.create(
        charge_point_id=charge_point_id,
        direction=MessageLog.Direction.IN,
        kind=MessageLog.Kind.PRESENCE,
        action="connected" if connected else "disconnected",
        payload={"at": at.isoformat(), "reason": reason},
        topic=topic[:255],
        created_at=now,
    )
    metrics.count("csms_frames_in_total", action="presence", outcome="connected" if connected else "disconnected")


def command_call_log(frame: Frame) -> None:
    """Keep a Call we sent in the message log."""
    _log_out(frame, timezone.now()).save()


def _log_fields_in(frame: Frame, now: datetime, *, action: str = "", error_description: str = "") -> dict[str, Any]:
    return {
        "charge_point_id": frame.charge_point_id,
        "direction": MessageLog.Direction.IN,
        "kind": MessageLog.Kind(_KIND_NAMES[frame.kind]),
        "message_id": frame.message_id,
        "action": action or frame.action,
        "payload": frame.payload,
        "topic": frame.topic[:255],
        "error_code": frame.error_code[:40],
        "error_description": error_description or frame.error_description,
        "created_at": frame.received_at or now,
    }


def _log_in(frame: Frame, now: datetime, *, error_description: str = "") -> MessageLog:
    return MessageLog(**_log_fields_in(frame, now, error_description=error_description))


def _log_out(frame: Frame, now: datetime) -> MessageLog:
    return MessageLog(
        charge_point_id=frame.charge_point_id,
        direction=MessageLog.Direction.OUT,
        kind=MessageLog.Kind(_KIND_NAMES[frame.kind]),
        message_id=frame.message_id,
        action=frame.action,
        payload=frame.payload,
        error_code=frame.error_code[:40],
        error_description=frame.error_description,
        created_at=now,
    )


_KIND_NAMES = {Kind.CALL: "call", Kind.RESULT: "result", Kind.ERROR: "error"}


def message_log_purge(*, now: datetime | None = None) -> int:
    """Delete message log rows older than the retention (0 keeps everything); return how many."""
    days = settings.CSMS_MESSAGE_LOG_RETENTION_DAYS
    if days == 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted, _ = MessageLog.objects.filter(created_at__lt=cutoff).delete()
    InboundCall.objects.filter(received_at__lt=cutoff).delete()
    return deleted
