"""Guided security profile upgrade (2.0.1 A05; 1.6 whitepaper "Upgrade Charge Point Security Profile").

``upgrade_start`` checks the preconditions and refuses with a reason (CommandError): a credential, a
higher profile than the current one (never a downgrade), no upgrade already open; the CSMS root
certificate in the charger's installed certificates inventory (it must be able to verify our server's TLS
certificate: ``GetInstalledCertificateIds`` fills the inventory); for profile 3, an active charging station
certificate issued by our CA. It then asks the charger's version for the steps (an ``UpgradeSpelling``
registered by each protocol package: 1.6 ChangeConfiguration SecurityProfile; 2.0.1 SetNetworkProfile,
SetVariables OCPPCommCtrlr.NetworkConfigurationPriority, Reset OnIdle) and queues the first.

Each step's answer comes through the block's effect (``upgrade_step_answered``): Accepted queues the next
step; anything else fails the upgrade with the answer as its reason. Steps without an answer carrying a
status (CallError, timeout) are settled from their command's status (``upgrades_settle``). Once every
step is Accepted the upgrade waits for the charger to reconnect; meanwhile the credential's
``upgrade_to_profile`` admits it at the old or the new profile, and its first successful handshake at the
new profile completes the upgrade (``upgrade_handshake_completed``, called by
``services.handshake_authenticate``): the credential's profile is raised, lower profiles are refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from backoffice.events import fleet_event
from certificates.models import InstalledCertificate, IssuedCertificate
from chargers.commands import CommandError, command_enqueue
from chargers.models import ChargePoint, Command
from gateway.models import (
    ChargerCredential,
    SecurityProfile,
    SecurityProfileUpgrade,
    SecurityProfileUpgradeStep,
)

EVENT_KIND = "security_profile_upgrade"
_OPEN = [SecurityProfileUpgrade.Status.RUNNING, SecurityProfileUpgrade.Status.RECONNECTING]
_UNANSWERED = {
    Command.Status.FAILED: "a CallError",
    Command.Status.TIMED_OUT: "no answer in time",
    Command.Status.EXPIRED: "the command expired before the charger could be reached",
    Command.Status.CANCELLED: "the command was cancelled",
}


@dataclasses.dataclass(frozen=True)
class UpgradeOptions:
    """What an operator may give for the new connection (2.0.1's SetNetworkProfile needs the URL)."""

    csms_url: str = ""
    configuration_slot: int | None = None
    ocpp_interface: str = "Wired0"
    message_timeout: int = 30


@dataclasses.dataclass(frozen=True)
class UpgradeSpelling:
    """How one OCPP version upgrades a charger: the type of the CSMS root in its certificate inventory, and
    the commands, in order (``steps(charger, target profile, **UpgradeOptions fields)`` -> (action, payload)
    pairs, or CommandError). The version's protocol package spells them; ``gateway.apps`` registers them."""

    root_certificate_type: str
    steps: Callable[..., list[tuple[str, dict[str, Any]]]]


SPELLINGS: dict[str, UpgradeSpelling] = {}


def upgrade_spelling_register(version: str, spelling: UpgradeSpelling) -> None:
    """``version``'s upgrade steps (from ``protocols.v16.security``, ``protocols.v201.security``: ``gateway.apps``)."""
    SPELLINGS[version] = spelling


def upgrade_refusal(*, charge_point: ChargePoint, to_profile: int, now: datetime | None = None) -> str | None:
    """Why this charger cannot be upgraded to ``to_profile`` now (None: it can)."""
    now = now or timezone.now()
    version = charge_point.ocpp_version or "1.6"
    spelling = SPELLINGS.get(version)
    if spelling is None:
        return f"OCPP {version} has no guided security profile upgrade here"
    if to_profile not in (SecurityProfile.TLS_BASIC, SecurityProfile.TLS_CLIENT_CERT):
        return f"the upgrade goes to security profile 2 or 3, not {to_profile}"
    credential = ChargerCredential.objects.filter(charge_point_id=charge_point.charge_point_id).first()
    if credential is None or not credential.enabled:
        return f"{charge_point.charge_point_id} has no enabled credential"
    if credential.security_profile == SecurityProfile.NONE:
        return "a charger at profile 0 has no password to carry over: set its credential to profile 1 first"
    if to_profile <= credential.security_profile:
        return (
            f"{charge_point.charge_point_id} is at profile {credential.security_profile}: "
            "no downgrade, no same-profile upgrade"
        )
    upgrades_settle(charge_point=charge_point, now=now)
    if SecurityProfileUpgrade.objects.filter(charge_point=charge_point, status__in=_OPEN).exists():
        return "a security profile upgrade of this charger is already running"
    if not InstalledCertificate.objects.filter(
        charge_point=charge_point, certificate_type=spelling.root_certificate_type
    ).exists():
        return (
            f"no {spelling.root_certificate_type} in the charger's installed certificates: install the CSMS root "
            "(InstallCertificate) or read the inventory (GetInstalledCertificateIds) first"
        )
    if (
        to_profile == SecurityProfile.TLS_CLIENT_CERT
        and not IssuedCertificate.objects.filter(
            charge_point=charge_point, status=IssuedCertificate.Status.ACTIVE, not_after__gt=now
        ).exists()
    ):
        return "profile 3 needs an active charging station certificate issued by our CA (SignCertificate first)"
    return None


def upgrade_start(
    *, charge_point: ChargePoint, to_profile: int, options: UpgradeOptions | None = None, requested_by: str = ""
) -> SecurityProfileUpgrade:
    """Start the upgrade: preconditions, the steps, the first one queued. CommandError with the reason."""
    now = timezone.now()
    refusal = upgrade_refusal(charge_point=charge_point, to_profile=to_profile, now=now)
    if refusal:
        raise CommandError(refusal)
    spelling = SPELLINGS[charge_point.ocpp_version or "1.6"]
    steps = spelling.steps(charge_point, to_profile, **dataclasses.asdict(options or UpgradeOptions()))
    credential = ChargerCredential.objects.get(charge_point_id=charge_point.charge_point_id)
    try:
        with transaction.atomic():
            upgrade = SecurityProfileUpgrade.objects.create(
                charge_point=charge_point,
                from_profile=credential.security_profile,
                to_profile=to_profile,
                plan={"steps": [{"action": action, "payload": payload} for action, payload in steps]},
                requested_by=requested_by[:150],
                created_at=now,
                updated_at=now,
            )
            ChargerCredential.objects.filter(pk=credential.pk).update(upgrade_to_profile=to_profile, updated_at=now)
            _step_queue(upgrade, 0, now)
    except IntegrityError:
        raise CommandError("a security profile upgrade of this charger is already running") from None
    return upgrade


def _step_queue(upgrade: SecurityProfileUpgrade, position: int, now: datetime) -> SecurityProfileUpgradeStep:
    planned = upgrade.plan["steps"][position]
    command = command_enqueue(
        charge_point=upgrade.charge_point,
        action=planned["action"],
        payload=planned["payload"],
        requested_by=upgrade.requested_by or "security profile upgrade",
    )
    step = SecurityProfileUpgradeStep.objects.create(
        upgrade=upgrade, position=position, action=planned["action"], command=command, created_at=now
    )
    _changed(upgrade)
    return step


def upgrade_step_answered(
    *, command: Command, taken: bool, answer: str, now: datetime
) -> SecurityProfileUpgrade | None:
    """A step's command was answered (the block's effect): ``taken`` queues the next step (or, after the
    last, waits for the reconnection); anything else fails the upgrade. None: no upgrade's step."""
    step = (
        SecurityProfileUpgradeStep.objects.select_for_update()
        .filter(command=command, status=SecurityProfileUpgradeStep.Status.QUEUED)
        .select_related("upgrade", "upgrade__charge_point")
        .first()
    )
    if step is None:
        return None
    step.status = SecurityProfileUpgradeStep.Status.ACCEPTED if taken else SecurityProfileUpgradeStep.Status.FAILED
    step.answer = answer[:255]
    step.completed_at = now
    step.save(update_fields=["status", "answer", "completed_at"])
    upgrade = step.upgrade
    if upgrade.status != SecurityProfileUpgrade.Status.RUNNING:
        return upgrade  # completed by a handshake already, or failed
    if not taken:
        return _fail(upgrade, f"{step.action} answered {answer}", now)
    if step.position + 1 < len(upgrade.plan["steps"]):
        try:
            _step_queue(upgrade, step.position + 1, now)
        except CommandError as exc:
            return _fail(upgrade, f"the next step could not be queued: {exc.message}", now)
        upgrade.updated_at = now
        upgrade.save(update_fields=["updated_at"])
        return upgrade
    upgrade.status = SecurityProfileUpgrade.Status.RECONNECTING
    upgrade.updated_at = now
    upgrade.save(update_fields=["status", "updated_at"])
    _changed(upgrade)
    return upgrade


def upgrades_settle(*, charge_point: ChargePoint | None = None, now: datetime | None = None) -> int:
    """Fail the running upgrades whose current step's command is over without an answer; returns how many."""
    now = now or timezone.now()
    steps = SecurityProfileUpgradeStep.objects.filter(
        status=SecurityProfileUpgradeStep.Status.QUEUED,
        command__status__in=list(_UNANSWERED),
        upgrade__status=SecurityProfileUpgrade.Status.RUNNING,
    )
    if charge_point is not None:
        steps = steps.filter(upgrade__charge_point=charge_point)
    settled = 0
    with transaction.atomic():
        for step in steps.select_for_update(skip_locked=True, of=("self",)).select_related(
            "command", "upgrade", "upgrade__charge_point"
        ):
            assert step.command is not None
            why = _UNANSWERED.get(Command.Status(step.command.status), step.command.status)
            detail = step.command.error_code or step.command.error_description
            step.status = SecurityProfileUpgradeStep.Status.FAILED
            step.answer = (f"{why} ({detail})" if detail else why)[:255]
            step.completed_at = now
            step.save(update_fields=["status", "answer", "completed_at"])
            _fail(step.upgrade, f"{step.action}: {step.answer}", now)
            settled += 1
    return settled


def upgrade_handshake_completed(*, charge_point_id: str, profile: int, now: datetime | None = None) -> bool:
    """The charger connected at the profile its upgrade goes to: the upgrade is completed, the credential's
    profile raised (lower ones refused from now on). False when no upgrade to that profile was open.
    The caller (``services.handshake_authenticate``) marks the credential changed for the gateways' caches."""
    now = now or timezone.now()
    with transaction.atomic():
        # The credential row lock orders two handshakes completing at once: the second finds nothing open.
        credential = (
            ChargerCredential.objects.select_for_update()
            .filter(charge_point_id=charge_point_id, upgrade_to_profile=profile)
            .first()
        )
        if credential is None:
            return False
        credential.security_profile = profile
        credential.upgrade_to_profile = None
        credential.save(update_fields=["security_profile", "upgrade_to_profile", "updated_at"])
        for upgrade in SecurityProfileUpgrade.objects.filter(
            charge_point__charge_point_id=charge_point_id, to_profile=profile, status__in=_OPEN
        ).select_related("charge_point"):
            upgrade.status = SecurityProfileUpgrade.Status.COMPLETED
            upgrade.reason = ""
            upgrade.completed_at = upgrade.updated_at = now
            upgrade.save(update_fields=["status", "reason", "completed_at", "updated_at"])
            _changed(upgrade)
    return True


def _fail(upgrade: SecurityProfileUpgrade, reason: str, now: datetime) -> SecurityProfileUpgrade:
    upgrade.status = SecurityProfileUpgrade.Status.FAILED
    upgrade.reason = reason[:255]
    upgrade.completed_at = upgrade.updated_at = now
    upgrade.save(update_fields=["status", "reason", "completed_at", "updated_at"])
    # The charger keeps its profile: no other profile lets it in any more.
    ChargerCredential.objects.filter(
        charge_point_id=upgrade.charge_point.charge_point_id, upgrade_to_profile=upgrade.to_profile
    ).update(upgrade_to_profile=None, updated_at=now)
    _changed(upgrade)
    return upgrade


def _changed(upgrade: SecurityProfileUpgrade) -> None:
    fleet_event(EVENT_KIND, upgrade.charge_point.charge_point_id, upgrade_id=upgrade.pk, status=upgrade.status)
