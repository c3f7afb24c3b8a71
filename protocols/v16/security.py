"""Security whitepaper: credential rotation (ChangeConfiguration AuthorizationKey), the security profile upgrade
(SecurityProfile key), critical security events as operator alerts.

The block's protocol side (``protocols.blocks``); the domain side is ``gateway.rotation``, ``gateway.upgrade``
and ``alerts``. A protocol package imports no transport, and the credentials are the gateway's: the gateway
app registers its side here at start (``credential_side_register``) and takes this version's spellings
(``ROTATION_ACTION``, ``rotation_payload``, ``upgrade_steps``...) from here.

- ChangeConfiguration AuthorizationKey: checked (16..40 characters of 2.0.1's passwordString alphabet, a
  credential at profile 1 or 2, no rotation pending), recorded as a pending rotation when queued; its answer
  Accepted or RebootRequired (the charger stored the key; it presents it from its next connection) makes the
  new password the only valid one, NotSupported / Rejected leave the old one.
- ChangeConfiguration SecurityProfile: a step of the guided upgrade (Accepted: the charger reconnects at the
  new profile); queued by hand, a value below the credential's profile is refused (no downgrade).
- SecurityEventNotification: recorded as the core does; the critical types raise an operator alert.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

from alerts.services import security_event_alert
from chargers import services as chargers
from chargers.commands import CommandError
from chargers.models import ChargePoint, ChargerEvent, Command

from ..blocks import Block
from ..payloads import timestamp

AUTHORIZATION_KEY = "AuthorizationKey"
SECURITY_PROFILE = "SecurityProfile"
#: The answers that mean the charger stored the key.
KEY_TAKEN = frozenset({"Accepted", "RebootRequired"})


@dataclasses.dataclass(frozen=True)
class CredentialSide:
    """What this block asks of the credentials' owner (``gateway.rotation``, ``gateway.upgrade``)."""

    rotation_refusal: Callable[..., str | None]
    rotation_queued: Callable[..., object]
    rotation_answered: Callable[..., object]
    upgrade_step_answered: Callable[..., object]
    #: The security profile a charger's credential requires (None: no credential).
    security_profile: Callable[[str], int | None]


_SIDES: list[CredentialSide] = []


def credential_side_register(side: CredentialSide) -> None:
    """The credentials' owner plugs in (``gateway.apps``); without one the block checks and changes nothing."""
    _SIDES[:] = [side]


ROTATION_ACTION = "ChangeConfiguration"
UPGRADE_ROOT_TYPE = "CentralSystemRootCertificate"


def rotation_payload(password: str) -> dict[str, Any]:
    return {"key": AUTHORIZATION_KEY, "value": password}


def rotation_password_of(request: dict[str, Any]) -> str | None:
    """The password a ChangeConfiguration sets (None: it sets another key)."""
    if request.get("key") == AUTHORIZATION_KEY and isinstance(request.get("value"), str):
        return str(request["value"])
    return None


def rotation_masked(request: dict[str, Any], mask: str) -> dict[str, Any]:
    return {**request, "value": mask}


def upgrade_steps(charge_point: ChargePoint, to_profile: int, **options: Any) -> list[tuple[str, dict[str, Any]]]:
    """The commands of an upgrade, in order. 1.6 has no network profiles: the charger keeps its Central System
    URL (its wss:// form is the installer's, per the whitepaper) and reconnects at the new profile after
    accepting the key."""
    return [("ChangeConfiguration", {"key": SECURITY_PROFILE, "value": str(to_profile)})]


def _check_change_configuration(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    key, value = payload.get("key"), payload.get("value")
    for side in _SIDES:
        if key == AUTHORIZATION_KEY:
            refusal = side.rotation_refusal(charge_point=charge_point, password=str(value))
            if refusal:
                raise CommandError(refusal, {"value": [refusal]})
        elif key == SECURITY_PROFILE:
            _check_security_profile(value, side.security_profile(charge_point.charge_point_id))


def _check_security_profile(value: Any, current: int | None) -> None:
    if not str(value).isdigit() or int(str(value)) not in (0, 1, 2, 3):
        raise CommandError("SecurityProfile is 0, 1, 2 or 3", {"value": ["0, 1, 2 or 3"]})
    if current is not None and int(str(value)) < current:
        message = f"no downgrade: the charger is at security profile {current}"
        raise CommandError(message, {"value": [message]})


def _queued_change_configuration(command: Command) -> None:
    for side in _SIDES:
        side.rotation_queued(command=command)


def _change_configuration(command: Command, response: dict[str, Any], now: datetime) -> None:
    status = str(response.get("status", ""))
    key = command.request.get("key")
    for side in _SIDES:
        if key == AUTHORIZATION_KEY:
            side.rotation_answered(command=command, taken=status in KEY_TAKEN, answer=status, now=now)
        elif key == SECURITY_PROFILE:
            side.upgrade_step_answered(command=command, taken=status == "Accepted", answer=status, now=now)


def security_event_notification(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Recorded as the core records it (a SECURITY charger event); a critical type raises an alert."""
    chargers.charger_event_record(
        charge_point=cp,
        kind=ChargerEvent.Kind.SECURITY,
        status=str(payload.get("type", "")),
        detail=payload,
        charger_timestamp=timestamp(payload, "timestamp"),
        now=now,
    )
    security_event_alert(
        charge_point=cp, event_type=str(payload.get("type", "")), tech_info=str(payload.get("techInfo", "")), now=now
    )
    return {}


BLOCK = Block(
    "security",
    handlers={"SecurityEventNotification": security_event_notification},
    effects={"ChangeConfiguration": _change_configuration},
    checks={"ChangeConfiguration": _check_change_configuration},
    queued={"ChangeConfiguration": _queued_change_configuration},
)
