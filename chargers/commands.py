"""Remote commands: every CSMS-initiated Call, as a durable row with a lifecycle.

queued -> sent -> accepted / rejected (the charger's status) / failed (CallError) / timed_out,
or queued -> expired / cancelled. At most one command per charger is ``sent`` at a time: the
gateways do not queue or match for us (WIRE.md), and EMQX may pack two downlinks into one
WebSocket frame. The next one goes out when the previous is answered or times out.

Every entry point (admin action, API, dashboard button, test) calls ``command_enqueue``, which asks
the charger's OCPP version (``ports.port_of``) whether the command can go and records it. The domain
only records intent: sending is the transport's (``mqtt_bridge.sending``), reached by task name
after the row commits, never imported.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backoffice.events import fleet_event

from . import ports
from .models import ChargePoint, Command, RegistrationStatus, Reservation
from .tokens import token_key

# The transport's task that sends a charger's next queued command (enqueued by name: the domain
# imports no transport).
DISPATCH_TASK = "mqtt_bridge.tasks.commands_dispatch"


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
    """Validate and queue a command; it is sent as soon as the charger is online and free.

    The charger's version checks it (``ProtocolPort.command_check``: a known action, its schema, the
    state it needs) and says what queuing it means (``command_queued``: a reservation requested).
    A command the charger takes in several messages is queued as several commands
    (``commands_enqueue``); this returns the first, and the others follow it in the queue.
    """
    return commands_enqueue(
        charge_point=charge_point, action=action, payload=payload, requested_by=requested_by, expires_in=expires_in
    )[0]


def commands_enqueue(
    *,
    charge_point: ChargePoint,
    action: str,
    payload: dict[str, Any],
    requested_by: str = "",
    expires_in: int | None = None,
) -> list[Command]:
    """``command_enqueue``, returning every command queued: one, or more when the charger's version
    splits the payload (``ProtocolPort.command_split``: a 2.0.1 GetVariables of more variables than
    the station takes in one message). The parts are queued in one transaction, in order, and go out
    one after the other like any queued commands; each is answered and closed on its own.
    """
    if charge_point.registration_status == RegistrationStatus.REJECTED:
        raise CommandError(f"{charge_point} is rejected: accept it before sending it commands")
    refusal = ports.commands_refused(charge_points=[charge_point]).get(charge_point.pk)
    if refusal:
        raise CommandError(refusal)
    port = ports.port_of(charge_point)
    port.command_check(charge_point=charge_point, action=action, payload=payload)
    payloads = port.command_split(charge_point=charge_point, action=action, payload=payload)
    now = timezone.now()
    expiry = expires_in if expires_in is not None else settings.CSMS_COMMAND_EXPIRY
    queued = []
    with transaction.atomic():
        for part in payloads:
            command = Command.objects.create(
                charge_point=charge_point,
                action=action,
                message_id=uuid.uuid4().hex,
                request=part,
                requested_by=requested_by[:150],
                expires_at=now + timedelta(seconds=expiry),
            )
            port.command_queued(command=command)
            fleet_event("command", charge_point.charge_point_id, command_id=command.pk, status=command.status)
            queued.append(command)
        transaction.on_commit(lambda: _dispatch_soon(charge_point.pk))
    return queued


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
    current_app.send_task(DISPATCH_TASK, args=[charge_point_pk])


def command_next_send(*, charge_point_pk: int, now: datetime | None = None) -> Command | None:
    """Mark the charger's next queued command sent and return it, if the charger is free.

    Free means online, no command in flight, and the oldest queued command not expired.
    """
    sent = commands_next_send(charge_point_pks=[charge_point_pk], now=now)
    return sent[0] if sent else None


def commands_next_send(*, charge_point_pks: list[int], now: datetime | None = None) -> list[Command]:
    """``command_next_send`` for many chargers at once: four statements, whatever their number.

    The charger row locks (taken in primary key order) make two workers dispatching at once pick
    one command per charger, not two. The commands come back with their charge point attached
    (the transport encodes each by its charger's route) and marked sent; the caller publishes them
    and, if the broker does not take them, calls ``commands_unsend``.
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
        for command in commands:
            command.charge_point = chargers[command.charge_point_id]
            command.status, command.sent_at = Command.Status.SENT, now
            fleet_event("command", command.charge_point.charge_point_id, command_id=command.pk, status=command.status)
    return commands


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


@dataclasses.dataclass(frozen=True)
class RemoteStartSpelling:
    """How a version spells a remote start: its action, and how to read the id tag and the connector
    (None: any) its request names. The version's StartTransaction handler passes it to
    ``transactions_start``, so that the domain links sessions without reading a payload itself."""

    action: str
    id_tag: Callable[[dict[str, Any]], Any]
    connector_id: Callable[[dict[str, Any]], Any]


def remote_starts_link(*, transactions: list[Any], spelling: RemoteStartSpelling, now: datetime) -> None:
    """Link new sessions to the accepted remote start that caused each (same tag, recent).

    One query for the candidate commands of all the sessions' chargers; a command links once.
    """
    candidates = Command.objects.filter(
        charge_point_id__in={transaction.charge_point_id for transaction in transactions},
        action=spelling.action,
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
                and token_key(spelling.id_tag(command.request)) == token_key(session.id_tag)
                and spelling.connector_id(command.request) in (None, session.connector_id)
            ):
                command.transaction = session
                command.save(update_fields=["transaction"])
                break


def boots_followups(*, charge_points: list[ChargePoint], now: datetime) -> None:
    """After BootNotifications: a pending Reset is done. One statement, whatever the number of chargers.

    (Reading the configuration after a boot is the version's: its handler queues it with
    ``commands_queue_once``.)
    """
    # Which resets to clear is read from the rows, not the objects: when a wave's bulk statements
    # fail, they are rolled back and applied again with the objects this call already changed.
    ChargePoint.objects.filter(pk__in=[cp.pk for cp in charge_points], reset_requested_at__isnull=False).update(
        reset_requested_at=None
    )
    for charge_point in charge_points:
        charge_point.reset_requested_at = None


def commands_queue_once(
    *, charge_points: list[ChargePoint], request: ports.CommandRequest, requested_by: str, now: datetime
) -> None:
    """Queue the CSMS's own command ``request`` for each charger that has no such command queued yet.

    Two statements at most, whatever the number of chargers; no checks (the version built the
    request) and no dispatch task: the caller's batch sends queued commands once its replies are out.
    A charger that takes no commands at all (``ports.commands_refused``) gets none.

    The charge points must be locked (``charge_points_lock``): the lock keeps two boots of one
    charger from both finding none queued and queueing two.
    """
    if not charge_points:
        return
    # One still queued will do the work after this call as well.
    queued = set(
        Command.objects.filter(
            charge_point_id__in=[cp.pk for cp in charge_points], action=request.action, status=Command.Status.QUEUED
        ).values_list("charge_point_id", flat=True)
    )
    # A charger that takes no commands is skipped like one that has it queued.
    queued |= set(ports.commands_refused(charge_points=charge_points))
    expires_at = now + timedelta(seconds=settings.CSMS_COMMAND_EXPIRY)
    new = []
    for charge_point in charge_points:
        if charge_point.pk not in queued:
            queued.add(charge_point.pk)
            new.append(
                Command(
                    charge_point=charge_point,
                    action=request.action,
                    message_id=uuid.uuid4().hex,
                    request=dict(request.payload),
                    requested_by=requested_by,
                    expires_at=expires_at,
                )
            )
    Command.objects.bulk_create(new)
