"""Security (block A): credential rotation (SetVariables SecurityCtrlr.BasicAuthPassword), the security profile
upgrade (SetNetworkProfile + Reset), critical security events as operator alerts.

The block's protocol side (``protocols.blocks``); the domain side is ``gateway.rotation``, ``gateway.upgrade``
and ``alerts``. As in 1.6 (``protocols.v16.security``), the gateway app registers its side here at start and
takes this version's spellings from here: a protocol package imports no transport.

- SetVariables SecurityCtrlr.BasicAuthPassword (A01): checked (16..40 characters of passwordString, a
  credential at profile 1 or 2, no rotation pending), recorded as a pending rotation when queued; the item's
  attributeStatus Accepted or RebootRequired makes the new password the only valid one; Rejected,
  UnknownComponent, UnknownVariable, NotSupportedAttributeType (or no result for it) leave the old one.
- The guided upgrade (A05): SetNetworkProfile (a free configuration slot with the new profile's connection
  data), then SetVariables OCPPCommCtrlr.NetworkConfigurationPriority (that slot first), then Reset OnIdle;
  each queued after the previous one is Accepted.
- SecurityEventNotification: recorded as the core does; the critical types raise an operator alert.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alerts.services import security_event_alert
from chargers import services as chargers
from chargers.commands import CommandError
from chargers.device_model import device_variable_value
from chargers.models import ChargePoint, ChargerEvent, Command

from ..blocks import Block
from ..payloads import timestamp
from ..v16.security import CredentialSide

PASSWORD_VARIABLE = ("securityctrlr", "basicauthpassword")
PRIORITY_VARIABLE = ("ocppcommctrlr", "networkconfigurationpriority")
#: A SetVariables item's statuses that mean the station stored the value (RebootRequired: in effect after
#: its reboot, that is from its next connection).
VALUE_TAKEN = frozenset({"Accepted", "RebootRequired"})
#: configurationSlot is an integer; OCPP names no upper bound, stations have a few.
MAX_SLOT = 8


def _names(item: dict[str, Any]) -> tuple[str, str]:
    return (
        str(item.get("component", {}).get("name", "")).lower(),
        str(item.get("variable", {}).get("name", "")).lower(),
    )


_SIDES: list[CredentialSide] = []


def credential_side_register(side: CredentialSide) -> None:
    """The credentials' owner plugs in (``gateway.apps``); without one the block checks and changes nothing."""
    _SIDES[:] = [side]


ROTATION_ACTION = "SetVariables"
UPGRADE_ROOT_TYPE = "CSMSRootCertificate"


def rotation_password_of(request: dict[str, Any]) -> str | None:
    """The BasicAuthPassword a SetVariables sets (None: it sets none)."""
    for item in request.get("setVariableData", []):
        if _names(item) == PASSWORD_VARIABLE and isinstance(item.get("attributeValue"), str):
            return str(item["attributeValue"])
    return None


def rotation_masked(request: dict[str, Any], mask: str) -> dict[str, Any]:
    items = [
        {**item, "attributeValue": mask} if _names(item) == PASSWORD_VARIABLE else item
        for item in request.get("setVariableData", [])
    ]
    return {**request, "setVariableData": items}


def rotation_payload(password: str) -> dict[str, Any]:
    return {
        "setVariableData": [
            {
                "component": {"name": "SecurityCtrlr"},
                "variable": {"name": "BasicAuthPassword"},
                "attributeValue": password,
            }
        ]
    }


def upgrade_steps(
    charge_point: ChargePoint,
    to_profile: int,
    *,
    csms_url: str = "",
    configuration_slot: int | None = None,
    ocpp_interface: str = "Wired0",
    message_timeout: int = 30,
) -> list[tuple[str, dict[str, Any]]]:
    """SetNetworkProfile (the first free slot, or the one given), SetVariables NetworkConfigurationPriority (that
    slot first), Reset OnIdle. CommandError without a wss:// URL, or without a slot while the priority is unknown."""
    if not csms_url.startswith("wss://"):
        raise CommandError(
            "the new network profile needs the CSMS's wss:// URL (csms_url): profiles 2 and 3 are TLS",
            {"csms_url": ["a wss:// URL"]},
        )
    priority = device_variable_value(
        charge_point=charge_point, component="OCPPCommCtrlr", variable="NetworkConfigurationPriority"
    )
    current = [slot.strip() for slot in (priority or "").split(",") if slot.strip()]
    slot = configuration_slot
    if slot is None:
        if priority is None:
            raise CommandError(
                "the station's OCPPCommCtrlr.NetworkConfigurationPriority is unknown: read it (GetVariables) or "
                "give configuration_slot",
                {"configuration_slot": ["needed while the priority list is unknown"]},
            )
        free = [n for n in range(1, MAX_SLOT + 1) if str(n) not in current]
        if not free:
            raise CommandError(f"no free configuration slot in {priority!r}: give configuration_slot")
        slot = free[0]
    connection = {
        # 2.1 ignores the field (the WebSocket subprotocol decides) but its schema keeps it.
        "ocppVersion": "OCPP21" if charge_point.ocpp_version == "2.1" else "OCPP20",
        "ocppTransport": "JSON",
        "ocppCsmsUrl": csms_url,
        "messageTimeout": message_timeout,
        "securityProfile": to_profile,
        "ocppInterface": ocpp_interface,
    }
    order = ",".join([str(slot), *[s for s in current if s != str(slot)]])
    priority_item = {
        "component": {"name": "OCPPCommCtrlr"},
        "variable": {"name": "NetworkConfigurationPriority"},
        "attributeValue": order,
    }
    return [
        ("SetNetworkProfile", {"configurationSlot": slot, "connectionData": connection}),
        ("SetVariables", {"setVariableData": [priority_item]}),
        ("Reset", {"type": "OnIdle"}),
    ]


def _item_status(request: dict[str, Any], response: dict[str, Any], names: tuple[str, str]) -> str | None:
    """The attributeStatus answered for the variable ``names`` (None: not asked for in this command)."""
    if not any(_names(item) == names for item in request.get("setVariableData", [])):
        return None
    for item in response.get("setVariableResult", []):
        if _names(item) == names:
            return str(item.get("attributeStatus", ""))
    return "no result for it"


def _check_set_variables(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    password = rotation_password_of(payload)
    for side in _SIDES:
        refusal = side.rotation_refusal(charge_point=charge_point, password=password) if password is not None else None
        if refusal:
            raise CommandError(refusal, {"attributeValue": [refusal]})


def _queued_set_variables(command: Command) -> None:
    for side in _SIDES:
        side.rotation_queued(command=command)


def _set_variables(command: Command, response: dict[str, Any], now: datetime) -> None:
    password = _item_status(command.request, response, PASSWORD_VARIABLE)
    priority = _item_status(command.request, response, PRIORITY_VARIABLE)
    for side in _SIDES:
        if password is not None:
            side.rotation_answered(command=command, taken=password in VALUE_TAKEN, answer=password, now=now)
        if priority is not None:
            side.upgrade_step_answered(command=command, taken=priority in VALUE_TAKEN, answer=priority, now=now)


def _set_network_profile(command: Command, response: dict[str, Any], now: datetime) -> None:
    status = str(response.get("status", ""))
    for side in _SIDES:
        side.upgrade_step_answered(command=command, taken=status == "Accepted", answer=status, now=now)


def _reset(command: Command, response: dict[str, Any], now: datetime) -> None:
    status = str(response.get("status", ""))
    for side in _SIDES:
        side.upgrade_step_answered(command=command, taken=status in ("Accepted", "Scheduled"), answer=status, now=now)


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
    effects={"SetVariables": _set_variables, "SetNetworkProfile": _set_network_profile, "Reset": _reset},
    checks={"SetVariables": _check_set_variables},
    queued={"SetVariables": _queued_set_variables},
)
