"""Credential rotation: a new Basic auth password for a charger, valid the moment it answers Accepted.

An operator asks (``rotation_start``: a given password or a generated one); the charger's version queues its
command (1.6 ChangeConfiguration AuthorizationKey, 2.0.1 SetVariables SecurityCtrlr.BasicAuthPassword: each
protocol package spells its ``RotationSpelling``, ``gateway.apps`` registers it), and queuing it records a
pending rotation with the new password hashed (``rotation_queued``, the block's ``queued`` hook: a rotation
sent as a plain command through ``/api/v1/commands/`` is recorded the same way, so the charger and its
credential never disagree). The answer decides (``rotation_answered``, the block's effect): Accepted (or
RebootRequired: the charger stored the new password and presents it from its next connection) replaces the
credential's hash, so the old password opens nothing from then on; anything else leaves the old one the only
valid one. A command that gets no answer with a status (a CallError, a timeout, expired or cancelled before
it was sent) gets no effect: ``rotations_settle`` derives those rotations' failure from their command's status.

Secrets: the clear text travels in the command's request and in the message log's copy of the Call until
the command is over; then both are masked (``SECRET_MASK``), and ``ConfigurationKey`` / ``DeviceVariable``
never store it (the core readers skip these keys).
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import string
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import check_password
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone

from backoffice.events import fleet_event
from chargers.commands import CommandError, command_enqueue
from chargers.models import ChargePoint, Command
from gateway import services, upgrade
from gateway.models import (
    ChargerCredential,
    CredentialRotation,
    SecurityProfile,
    SecurityProfileUpgrade,
    SecurityProfileUpgradeStep,
)
from mqtt_bridge.models import MessageLog

logger = logging.getLogger(__name__)

SECRET_MASK = "********"
#: 2.0.1's passwordString: alphanumerics and these (SecurityCtrlr.BasicAuthPassword); 1.6 says nothing, so
#: the same alphabet serves both.
PASSWORD_ALPHABET = string.ascii_letters + string.digits + "*-_=:+|@."
GENERATED_LENGTH = 32
EVENT_KIND = "credential_rotation"
# Commands that are over without an answer carrying a status: no effect runs for them.
_UNANSWERED = {
    Command.Status.FAILED: "the charger answered with a CallError",
    Command.Status.TIMED_OUT: "the charger did not answer in time",
    Command.Status.EXPIRED: "the command expired before the charger could be reached",
    Command.Status.CANCELLED: "the command was cancelled before it was sent",
}


@dataclasses.dataclass(frozen=True)
class RotationSpelling:
    """How one OCPP version sets a charger's Basic auth password (spelled by its protocol package).

    ``payload``: the command's payload for a password; ``password_of``: the password a command of that
    action sets (None: not a password change); ``masked``: the request with the password replaced.
    """

    action: str
    payload: Callable[[str], dict[str, Any]]
    password_of: Callable[[dict[str, Any]], str | None]
    masked: Callable[[dict[str, Any], str], dict[str, Any]]


SPELLINGS: dict[str, RotationSpelling] = {}


def rotation_spelling_register(version: str, spelling: RotationSpelling) -> None:
    """``version``'s way of setting a password (from ``protocols.v16.security``, ``protocols.v201.security``:
    ``gateway.apps`` registers them, a protocol package importing no transport)."""
    SPELLINGS[version] = spelling


def _spelling(charge_point: ChargePoint) -> RotationSpelling:
    version = charge_point.ocpp_version or "1.6"
    spelling = SPELLINGS.get(version)
    if spelling is None:
        raise CommandError(f"OCPP {version} has no way of setting a charger's password here")
    return spelling


def password_generate() -> str:
    """A random password within OCPP's bounds: 32 characters of the passwordString alphabet (190 bits)."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(GENERATED_LENGTH))


def rotation_password_problem(password: str) -> str | None:
    """Why ``password`` cannot be sent to a charger (16 to 40 characters of 2.0.1's passwordString), or None."""
    problem = services.password_problem(password)
    if problem:
        return problem
    bad = sorted({c for c in password if c not in PASSWORD_ALPHABET})
    if bad:
        return f"the password may hold letters, digits and {PASSWORD_ALPHABET[62:]} only, not {''.join(bad)!r}"
    return None


def rotation_refusal(*, charge_point: ChargePoint, password: str) -> str | None:
    """Why a rotation of this charger to ``password`` cannot start now (None: it can). The block's check of
    the command calls it too, so the plain commands API refuses what the rotation API refuses."""
    problem = rotation_password_problem(password)
    if problem:
        return problem
    credential = ChargerCredential.objects.filter(charge_point_id=charge_point.charge_point_id).first()
    if credential is None:
        return f"{charge_point.charge_point_id} has no credential: set one first (PUT /api/v1/credentials/...)"
    if credential.security_profile in (SecurityProfile.NONE, SecurityProfile.TLS_CLIENT_CERT):
        return (
            f"{charge_point.charge_point_id} connects at security profile {credential.security_profile}, "
            "without a password: there is none to rotate"
        )
    rotations_settle(charge_point=charge_point)
    if CredentialRotation.objects.filter(charge_point=charge_point, status=CredentialRotation.Status.PENDING).exists():
        return "a password rotation of this charger is waiting for its answer"
    return None


def rotation_start(
    *, charge_point: ChargePoint, password: str | None = None, requested_by: str = ""
) -> CredentialRotation:
    """Send the charger a new password (``password`` or a generated one); returns the pending rotation.

    CommandError with the reason when it cannot go (no credential, profile 0 or 3, a rotation already
    pending, a password out of bounds, or whatever the charger's version refuses).
    """
    spelling = _spelling(charge_point)
    password = password_generate() if password is None else password
    with transaction.atomic():
        command = command_enqueue(
            charge_point=charge_point,
            action=spelling.action,
            payload=spelling.payload(password),
            requested_by=requested_by,
        )
        rotation = CredentialRotation.objects.get(command=command)
    return rotation


def rotation_queued(*, command: Command) -> CredentialRotation | None:
    """A command setting the charger's password was queued: record the pending rotation (the block's
    ``queued`` hook; its check refused it already if it could not go). None: the command sets none."""
    spelling = SPELLINGS.get(command.charge_point.ocpp_version or "1.6")
    password = spelling.password_of(command.request) if spelling and spelling.action == command.action else None
    if password is None:
        return None
    try:
        with transaction.atomic():
            rotation = CredentialRotation.objects.create(
                charge_point=command.charge_point,
                command=command,
                password_hash=services.password_hash_make(password),
                requested_by=command.requested_by,
                created_at=timezone.now(),
            )
    except IntegrityError:
        # Checked before queuing; a second rotation queued at the same instant loses here.
        raise CommandError("a password rotation of this charger is waiting for its answer") from None
    fleet_event(EVENT_KIND, command.charge_point.charge_point_id, rotation_id=rotation.pk, status=rotation.status)
    return rotation


def rotation_answered(*, command: Command, taken: bool, answer: str, now: datetime) -> CredentialRotation | None:
    """The charger answered a password change (the block's effect, in the results' transaction).

    ``taken``: it stored the new password (the version says which answers mean so). Then the credential's
    hash is the new one, and the old password is refused from the next handshake on. Either way the
    command's copy of the password is masked. None: the command was no rotation's.
    """
    # The rotation row is locked: a settle running at the same time must not fail it under us.
    rotation = (
        CredentialRotation.objects.select_for_update()
        .filter(command=command, status=CredentialRotation.Status.PENDING)
        .first()
    )
    if rotation is None:
        return None
    if taken:
        updated = ChargerCredential.objects.filter(charge_point_id=command.charge_point.charge_point_id).update(
            password_hash=rotation.password_hash, updated_at=now
        )
        services.credential_changed(charge_point_id=command.charge_point.charge_point_id)
        rotation.status = CredentialRotation.Status.ACCEPTED if updated else CredentialRotation.Status.FAILED
        rotation.reason = answer if updated else f"{answer}, but the credential was deleted meanwhile"
    else:
        rotation.status = CredentialRotation.Status.FAILED
        rotation.reason = f"the charger answered {answer}: the old password stays valid"
    rotation.completed_at = now
    rotation.save(update_fields=["status", "reason", "completed_at"])
    _mask(command)
    fleet_event(EVENT_KIND, command.charge_point.charge_point_id, rotation_id=rotation.pk, status=rotation.status)
    return rotation


def rotations_settle(*, charge_point: ChargePoint | None = None, now: datetime | None = None) -> int:
    """Fail the pending rotations whose command is over without an answer (a CallError, a timeout, expired,
    cancelled: no effect ran for them) and mask their password; returns how many. Called before a rotation
    starts and whenever rotations are shown, so their state always follows their command's."""
    now = now or timezone.now()
    pending = CredentialRotation.objects.filter(
        status=CredentialRotation.Status.PENDING, command__status__in=list(_UNANSWERED)
    )
    if charge_point is not None:
        pending = pending.filter(charge_point=charge_point)
    settled = 0
    with transaction.atomic():
        for rotation in pending.select_for_update(skip_locked=True, of=("self",)).select_related(
            "command", "charge_point"
        ):
            command = rotation.command
            assert command is not None
            reason = _UNANSWERED.get(Command.Status(command.status), command.status)
            detail = command.error_code or command.error_description
            rotation.status = CredentialRotation.Status.FAILED
            rotation.reason = (f"{reason} ({detail})" if detail else reason)[:255] + ": the old password stays valid"
            rotation.reason = rotation.reason[:255]
            rotation.completed_at = now
            rotation.save(update_fields=["status", "reason", "completed_at"])
            command.charge_point = rotation.charge_point
            _mask(command)
            fleet_event(EVENT_KIND, rotation.charge_point.charge_point_id, rotation_id=rotation.pk, status="failed")
            settled += 1
    _logs_mask_late(charge_point=charge_point, now=now)
    return settled


#: How long after its answer a rotation's Call is looked for in the message log (see ``_logs_mask_late``).
LATE_LOG_WINDOW = timedelta(hours=1)


def _logs_mask_late(*, charge_point: ChargePoint | None, now: datetime) -> None:
    """Mask the Calls of recently answered rotations that were logged after their answer was applied.

    The bridge logs a Call once it has published it; an answer applied within those milliseconds finds no
    row to mask. Such a row is masked here, at the next settle (the rotations' API, the charger page).
    """
    recent = CredentialRotation.objects.filter(completed_at__gte=now - LATE_LOG_WINDOW, command__isnull=False)
    if charge_point is not None:
        recent = recent.filter(charge_point=charge_point)
    commands = {
        c.message_id: c
        for c in Command.objects.filter(pk__in=recent.values("command_id")).select_related("charge_point")
    }
    if not commands:
        return
    for row in MessageLog.objects.filter(
        message_id__in=list(commands), direction=MessageLog.Direction.OUT, kind=MessageLog.Kind.CALL
    ):
        command = commands[row.message_id]
        spelling = SPELLINGS.get(command.charge_point.ocpp_version or "1.6")
        payload = row.payload if isinstance(row.payload, dict) else {}
        if spelling is not None and spelling.password_of(payload) not in (None, SECRET_MASK):
            MessageLog.objects.filter(pk=row.pk).update(payload=spelling.masked(payload, SECRET_MASK))


def rotation_password_matches(*, rotation: CredentialRotation, password: str) -> bool:
    """True when ``password`` is the one this rotation sent (for tests and support, never shown)."""
    return check_password(password, rotation.password_hash)


def _mask(command: Command) -> None:
    """Replace the password in the command's request and in the message log's copy of the Call."""
    spelling = SPELLINGS.get(command.charge_point.ocpp_version or "1.6")
    if spelling is None or spelling.password_of(command.request) in (None, SECRET_MASK):
        return
    masked = spelling.masked(command.request, SECRET_MASK)
    Command.objects.filter(pk=command.pk).update(request=masked)
    command.request = masked
    # The bridge logged the Call when it sent it (so before this answer came back).
    MessageLog.objects.filter(
        message_id=command.message_id,
        charge_point_id=command.charge_point.charge_point_id,
        direction=MessageLog.Direction.OUT,
        kind=MessageLog.Kind.CALL,
    ).update(payload=masked)


def credential_panel_context(charge_point: ChargePoint) -> Mapping[str, Any]:
    """The charger page's credential panel: the profile, the latest rotations and profile upgrades."""
    rotations_settle(charge_point=charge_point)
    upgrade.upgrades_settle(charge_point=charge_point)
    return {
        "credential": ChargerCredential.objects.filter(charge_point_id=charge_point.charge_point_id).first(),
        "rotations": list(CredentialRotation.objects.filter(charge_point=charge_point)[:5]),
        "upgrades": list(
            SecurityProfileUpgrade.objects.filter(charge_point=charge_point).prefetch_related(
                Prefetch("steps", queryset=SecurityProfileUpgradeStep.objects.order_by("position"))
            )[:3]
        ),
    }
