"""Remote commands: every CSMS-initiated OCPP 1.6 Call, as a durable row with a lifecycle.

queued -> sent -> accepted / rejected (the charger's status) / failed (CallError) / timed_out,
or queued -> expired / cancelled. At most one command per charger is ``sent`` at a time: the
gateways do not queue or match for us (WIRE.md), and EMQX may pack two downlinks into one
WebSocket frame. The next one goes out when the previous is answered or times out.

Every entry point (admin action, API, dashboard button, test) calls ``command_enqueue``.
Publishing happens in the workers (``chargers.tasks``), after the row that says "sent" commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backoffice import bulk
from backoffice.events import fleet_event
from mqtt_bridge.frames import Frame, Kind
from protocols.validation import OcppError, validate

from .models import (
    ChargePoint,
    ChargingProfile,
    Command,
    ConfigurationKey,
    RegistrationStatus,
    Reservation,
)

SUPPORTED_ACTIONS = frozenset(
    {
        # Core
        "ChangeAvailability",
        "ChangeConfiguration",
        "ClearCache",
        "DataTransfer",
        "GetConfiguration",
        "RemoteStartTransaction",
        "RemoteStopTransaction",
        "Reset",
        "UnlockConnector",
        # Firmware Management
        "GetDiagnostics",
        "UpdateFirmware",
        # Local Auth List Management
        "GetLocalListVersion",
        "SendLocalList",
        # Reservation
        "ReserveNow",
        "CancelReservation",
        # Smart Charging
        "SetChargingProfile",
        "ClearChargingProfile",
        "GetCompositeSchedule",
        # Remote Trigger
        "TriggerMessage",
    }
)


class CommandError(Exception):
    """A command that cannot be queued: ``message`` for people, ``errors`` per field for forms and APIs."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


def command_enqueue(
    *,
    charge_point: ChargePoint,
    action: str,
    payload: dict[str, Any],
    requested_by: str = "",
    expires_in: int | None = None,
) -> Command:
    """Validate and queue a command; it is sent as soon as the charger is online and free."""
    if action not in SUPPORTED_ACTIONS:
        raise CommandError(f"{action!r} is not an OCPP 1.6 command", {"action": [f"must be one of {_names()}"]})
    if not isinstance(payload, dict):
        raise CommandError("the payload must be a JSON object", {"payload": ["must be a JSON object"]})
    try:
        validate(Kind.CALL, action, payload)
    except OcppError as exc:
        field = str(exc.details.get("field", "payload"))
        raise CommandError(f"invalid {action} request: {exc.description}", {field: [exc.description]}) from None
    if charge_point.registration_status == RegistrationStatus.REJECTED:
        raise CommandError(f"{charge_point} is rejected: accept it before sending it commands")
    _check_state(charge_point, action, payload)
    now = timezone.now()
    expiry = expires_in if expires_in is not None else settings.CSMS_COMMAND_EXPIRY
    with transaction.atomic():
        command = Command.objects.create(
            charge_point=charge_point,
            action=action,
            message_id=uuid.uuid4().hex,
            request=payload,
            requested_by=requested_by[:150],
            expires_at=now + timedelta(seconds=expiry),
        )
        if action == "ReserveNow":
            Reservation.objects.update_or_create(
                charge_point=charge_point,
                reservation_id=payload["reservationId"],
                defaults={
                    "connector_id": payload["connectorId"],
                    "id_tag": payload["idTag"],
                    "parent_id_tag": payload.get("parentIdTag", ""),
                    "expiry_date": datetime.fromisoformat(payload["expiryDate"]),
                    "status": Reservation.Status.REQUESTED,
                },
            )
        fleet_event("command", charge_point.charge_point_id, command_id=command.pk, status=command.status)
        transaction.on_commit(lambda: _dispatch_soon(charge_point.pk))
    return command


def _names() -> str:
    return ", ".join(sorted(SUPPORTED_ACTIONS))


def _check_state(charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> None:
    """Refuse what cannot work in the charger's current state (the schema cannot know it)."""
    from transactions.models import Transaction

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
    if action == "CancelReservation":
        if not Reservation.objects.filter(
            charge_point=charge_point,
            reservation_id=payload["reservationId"],
            status__in=[Reservation.Status.REQUESTED, Reservation.Status.ACCEPTED],
        ).exists():
            raise CommandError(
                f"no open reservation {payload['reservationId']} on {charge_point}",
                {"reservationId": ["no open reservation with this id on this charge point"]},
            )


def command_cancel(*, command: Command) -> Command:
    """Cancel a command that has not been sent yet."""
    with transaction.atomic():
        command = Command.objects.select_for_update().get(pk=command.pk)
        if command.status != Command.Status.QUEUED:
            raise CommandError(f"only queued commands can be cancelled; this one is {command.status}")
        command.status = Command.Status.CANCELLED
        command.completed_at = timezone.now()
        command.save(update_fields=["status", "completed_at"])
        fleet_event("command", command.charge_point.charge_point_id, command_id=command.pk, status=command.status)
    return command


def _dispatch_soon(charge_point_pk: int) -> None:
    from .tasks import commands_dispatch

    commands_dispatch.delay(charge_point_pk)


def command_next_send(*, charge_point_pk: int, now: datetime | None = None) -> Frame | None:
    """Mark the charger's next queued command sent and return its Call, if the charger is free.

    Free means online, no command in flight, and the oldest queued command not expired.
    """
    frames = commands_next_send(charge_point_pks=[charge_point_pk], now=now)
    return frames[0] if frames else None


def commands_next_send(*, charge_point_pks: list[int], now: datetime | None = None) -> list[Frame]:
    """``command_next_send`` for many chargers at once: four statements, whatever their number.

    The charger row locks (taken in primary key order) make two workers dispatching at once pick
    one command per charger, not two.
    """
    now = now or timezone.now()
    with transaction.atomic():
        chargers = {
            cp.pk: cp
            for cp in ChargePoint.objects.select_for_update(no_key=True)
            .filter(pk__in=charge_point_pks, online=True)
            .order_by("pk")
        }
        busy = set(
            Command.objects.filter(charge_point_id__in=list(chargers), status=Command.Status.SENT).values_list(
                "charge_point_id", flat=True
            )
        )
        free = [pk for pk in chargers if pk not in busy]
        if not free:
            return []
        # The oldest live queued command of each free charger (DISTINCT ON).
        commands = list(
            Command.objects.filter(charge_point_id__in=free, status=Command.Status.QUEUED, expires_at__gt=now)
            .order_by("charge_point_id", "created_at", "id")
            .distinct("charge_point_id")
        )
        Command.objects.filter(pk__in=[command.pk for command in commands]).update(
            status=Command.Status.SENT, sent_at=now
        )
        frames = []
        for command in commands:
            charge_point = chargers[command.charge_point_id]
            fleet_event("command", charge_point.charge_point_id, command_id=command.pk, status=Command.Status.SENT)
            frames.append(
                Frame(
                    charge_point_id=charge_point.charge_point_id,
                    kind=Kind.CALL,
                    message_id=command.message_id,
                    action=command.action,
                    payload=command.request,
                    dialect=charge_point.dialect,
                )
            )
    return frames


def commands_unsend(*, message_ids: list[str]) -> None:
    """The broker did not take Calls we marked sent: queue them again."""
    Command.objects.filter(message_id__in=message_ids, status=Command.Status.SENT).update(
        status=Command.Status.QUEUED, sent_at=None
    )


def commands_expire(*, now: datetime | None = None) -> tuple[int, int]:
    """Time out sent commands past CSMS_COMMAND_TIMEOUT and expire queued ones past their expiry."""
    now = now or timezone.now()
    late = Command.objects.filter(
        status=Command.Status.SENT, sent_at__lt=now - timedelta(seconds=settings.CSMS_COMMAND_TIMEOUT)
    )
    old = Command.objects.filter(status=Command.Status.QUEUED, expires_at__lte=now)
    counts = []
    for queryset, status, note in (
        (late, Command.Status.TIMED_OUT, f"no answer within {settings.CSMS_COMMAND_TIMEOUT} s"),
        (old, Command.Status.EXPIRED, "the charge point was not reachable before the command expired"),
    ):
        with transaction.atomic():
            # Lock only the command rows (not the joined charger's, which a dispatch may hold), and
            # skip those a result is being applied to right now: the result wins.
            locked = queryset.select_for_update(skip_locked=True, of=("self",))
            rows = list(locked.values_list("pk", "charge_point__charge_point_id"))
            Command.objects.filter(pk__in=[pk for pk, _ in rows]).update(
                status=status, completed_at=now, error_description=note
            )
            for pk, charge_point_id in rows:
                fleet_event("command", charge_point_id, command_id=pk, status=status)
        counts.append(len(rows))
    Reservation.objects.filter(
        status__in=[Reservation.Status.REQUESTED, Reservation.Status.ACCEPTED], expiry_date__lte=now
    ).update(status=Reservation.Status.EXPIRED)
    return counts[0], counts[1]


def chargers_with_queued_commands(*, charge_point_ids: list[str] | None = None) -> list[int]:
    """Primary keys of online chargers that have queued commands (optionally among ``charge_point_ids``)."""
    queued = Command.objects.filter(status=Command.Status.QUEUED, charge_point__online=True)
    if charge_point_ids is not None:
        queued = queued.filter(charge_point__charge_point_id__in=charge_point_ids)
    return list(queued.values_list("charge_point_id", flat=True).distinct())


# --- what an accepted result changes ------------------------------------------------------------


def commands_results_apply(*, commands: list[Command], now: datetime) -> None:
    """Apply the state changes answered commands imply (called in the results' transaction).

    The configuration keys of every GetConfiguration among them go in one upsert (a charger
    reports dozens, and a reconnection storm brings one GetConfiguration per charger); the
    other actions' effects one command at a time.
    """
    keys: dict[tuple[int, str], tuple[str | None, bool]] = {}
    for command in commands:
        if command.status not in (Command.Status.ACCEPTED, Command.Status.REJECTED):
            continue
        response = command.response or {}
        if command.action == "GetConfiguration":
            for item in response.get("configurationKey", []):
                # The last report of a key wins (an upsert cannot touch one row twice).
                keys[(command.charge_point_id, item["key"])] = (item.get("value"), item.get("readonly", False))
        elif (effect := _EFFECTS.get(command.action)) is not None:
            effect(command, response, now)
    if keys:
        bulk.copy_insert(
            model=ConfigurationKey,
            fields=("charge_point_id", "key", "value", "readonly", "updated_at"),
            rows=[(cp, key, value, readonly, now) for (cp, key), (value, readonly) in keys.items()],
            on_conflict="ON CONFLICT (charge_point_id, key) DO UPDATE"
            " SET value = EXCLUDED.value, readonly = EXCLUDED.readonly, updated_at = EXCLUDED.updated_at",
        )


def _accepted(command: Command) -> bool:
    return command.status == Command.Status.ACCEPTED


def _change_configuration(command: Command, response: dict[str, Any], now: datetime) -> None:
    if _accepted(command):
        ConfigurationKey.objects.update_or_create(
            charge_point=command.charge_point,
            key=command.request["key"],
            defaults={"value": command.request["value"], "updated_at": now},
        )


def _reserve_now(command: Command, response: dict[str, Any], now: datetime) -> None:
    status = Reservation.Status.ACCEPTED if _accepted(command) else Reservation.Status.REJECTED
    Reservation.objects.filter(
        charge_point=command.charge_point, reservation_id=command.request["reservationId"]
    ).update(status=status)


def _cancel_reservation(command: Command, response: dict[str, Any], now: datetime) -> None:
    if _accepted(command):
        Reservation.objects.filter(
            charge_point=command.charge_point, reservation_id=command.request["reservationId"]
        ).update(status=Reservation.Status.CANCELLED)


def _set_charging_profile(command: Command, response: dict[str, Any], now: datetime) -> None:
    if not _accepted(command):
        return
    profile = command.request["csChargingProfiles"]
    connector_id = command.request["connectorId"]
    # A profile with the same id, or the same stack level and purpose, replaces the old one (1.6 §3.13.2).
    ChargingProfile.objects.filter(charge_point=command.charge_point, active=True).filter(
        profile_id=profile["chargingProfileId"]
    ).update(active=False, cleared_at=now)
    ChargingProfile.objects.filter(
        charge_point=command.charge_point,
        active=True,
        connector_id=connector_id,
        stack_level=profile["stackLevel"],
        purpose=profile["chargingProfilePurpose"],
    ).update(active=False, cleared_at=now)
    ChargingProfile.objects.create(
        charge_point=command.charge_point,
        connector_id=connector_id,
        profile_id=profile["chargingProfileId"],
        stack_level=profile["stackLevel"],
        purpose=profile["chargingProfilePurpose"],
        profile=profile,
    )


def _clear_charging_profile(command: Command, response: dict[str, Any], now: datetime) -> None:
    if not _accepted(command):
        return
    criteria = {
        "profile_id": command.request.get("id"),
        "connector_id": command.request.get("connectorId"),
        "purpose": command.request.get("chargingProfilePurpose"),
        "stack_level": command.request.get("stackLevel"),
    }
    ChargingProfile.objects.filter(
        charge_point=command.charge_point, active=True, **{k: v for k, v in criteria.items() if v is not None}
    ).update(active=False, cleared_at=now)


def _get_local_list_version(command: Command, response: dict[str, Any], now: datetime) -> None:
    ChargePoint.objects.filter(pk=command.charge_point_id).update(local_list_version=response.get("listVersion"))


def _send_local_list(command: Command, response: dict[str, Any], now: datetime) -> None:
    if _accepted(command):
        ChargePoint.objects.filter(pk=command.charge_point_id).update(local_list_version=command.request["listVersion"])


def _reset(command: Command, response: dict[str, Any], now: datetime) -> None:
    if _accepted(command):
        ChargePoint.objects.filter(pk=command.charge_point_id).update(reset_requested_at=now)


# GetConfiguration's effect (its keys) is applied for many commands at once: commands_results_apply.
_EFFECTS = {
    "ChangeConfiguration": _change_configuration,
    "ReserveNow": _reserve_now,
    "CancelReservation": _cancel_reservation,
    "SetChargingProfile": _set_charging_profile,
    "ClearChargingProfile": _clear_charging_profile,
    "GetLocalListVersion": _get_local_list_version,
    "SendLocalList": _send_local_list,
    "Reset": _reset,
}


def remote_starts_link(*, transactions: list[Any], now: datetime) -> None:
    """Link new sessions to the accepted RemoteStartTransaction that caused each (same tag, recent).

    One query for the candidate commands of all the sessions' chargers; a command links once.
    """
    candidates = Command.objects.filter(
        charge_point_id__in={transaction.charge_point_id for transaction in transactions},
        action="RemoteStartTransaction",
        status=Command.Status.ACCEPTED,
        transaction__isnull=True,
        completed_at__gte=now - timedelta(minutes=10),
    ).order_by("-completed_at")
    by_charger: dict[int, list[Command]] = {}
    for command in candidates:
        by_charger.setdefault(command.charge_point_id, []).append(command)
    for session in transactions:
        for command in by_charger.get(session.charge_point_id, []):
            if (
                command.transaction_id is None
                and command.request.get("idTag") == session.id_tag
                and command.request.get("connectorId") in (None, session.connector_id)
            ):
                command.transaction = session
                command.save(update_fields=["transaction"])
                break


def reservation_use(*, charge_point: ChargePoint, reservation_id: int | None) -> None:
    """A StartTransaction that names a reservation uses it up."""
    if reservation_id is not None:
        Reservation.objects.filter(charge_point=charge_point, reservation_id=reservation_id).update(
            status=Reservation.Status.USED
        )


def boots_followups(*, charge_points: list[ChargePoint], now: datetime) -> None:
    """After BootNotifications: a pending Reset is done, and (if set) the configuration is read.

    Three statements at most, whatever the number of chargers.

    The charge points must be locked (``charge_points_lock``): the lock keeps two boots of one
    charger from both finding no queued GetConfiguration and queueing two.
    """
    # Which resets to clear is read from the rows, not the objects: when a wave's bulk statements
    # fail, they are rolled back and applied again with the objects this call already changed.
    ChargePoint.objects.filter(pk__in=[cp.pk for cp in charge_points], reset_requested_at__isnull=False).update(
        reset_requested_at=None
    )
    for charge_point in charge_points:
        charge_point.reset_requested_at = None
    if not settings.CSMS_FETCH_CONFIGURATION_ON_BOOT:
        return
    accepted = [cp for cp in charge_points if cp.registration_status == RegistrationStatus.ACCEPTED]
    if not accepted:
        return
    # A GetConfiguration still queued will read the configuration after this boot as well.
    queued = set(
        Command.objects.filter(
            charge_point_id__in=[cp.pk for cp in accepted], action="GetConfiguration", status=Command.Status.QUEUED
        ).values_list("charge_point_id", flat=True)
    )
    expires_at = now + timedelta(seconds=settings.CSMS_COMMAND_EXPIRY)
    new = []
    for charge_point in accepted:
        if charge_point.pk not in queued:
            queued.add(charge_point.pk)
            new.append(
                Command(
                    charge_point=charge_point,
                    action="GetConfiguration",
                    message_id=uuid.uuid4().hex,
                    request={},
                    requested_by="system: boot",
                    expires_at=expires_at,
                )
            )
    Command.objects.bulk_create(new)
