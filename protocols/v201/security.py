"""Security (block A): credential rotation (SetVariables SecurityCtrlr.BasicAuthPassword), the security profile
upgrade (SetNetworkProfile + Reset), critical security events as operator alerts.

The block's protocol side (``protocols.blocks``); the domain side is ``gateway.rotation``, ``gateway.upgrade``
and ``alerts``.

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
from gateway import rotation, upgrade

from ..blocks import Block
from ..payloads import timestamp

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


def _password_of(request: dict[str, Any]) -> str | None:
    for item in request.get("setVariableData", []):
        if _names(item) == PASSWORD_VARIABLE and isinstance(item.get("attributeValue"), str):
            return str(item["attributeValue"])
    return None


def _masked(request: dict[str, Any], mask: str) -> dict[str, Any]:
    items = [
        {**item, "attributeValue": mask} if _names(item) == PASSWORD_VARIABLE else item
        for item in request.get("setVariableData", [])
    ]
    return {**request, "setVariableData": items}


_ROTATION = rotation.RotationSpelling(
    action="SetVariables",
    payload=lambda password: {
        "setVariableData": [
            {
                "component": {"name": "SecurityCtrlr"},
                "variable": {"name": "BasicAuthPassword"},
                "attributeValue": password,
            }
        ]
    },
    password_of=_password_of,
    masked=_masked,
)
# 2.1 runs this block too (protocols.v21.protocol): the same variable, the same answers.
for _version in ("2.0.1", "2.1"):
    rotation.rotation_spelling_register(_version, _ROTATION)


def _upgrade_steps(charge_point: ChargePoint, to_profile: int, options: upgrade.UpgradeOptions) -> list[upgrade.Step]:
    if not options.csms_url.startswith("wss://"):
        raise CommandError(
            "the new network profile needs the CSMS's wss:// URL (csms_url): profiles 2 and 3 are TLS",
            {"csms_url": ["a wss:// URL"]},
        )
    priority = device_variable_value(
        charge_point=charge_point, component="OCPPCommCtrlr", variable="NetworkConfigurationPriority"
    )
    current = [slot.strip() for slot in (priority or "").split(",") if slot.strip()]
    slot = options.configuration_slot
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
        "ocppCsmsUrl": options.csms_url,
        "messageTimeout": options.message_timeout,
        "securityProfile": to_profile,
        "ocppInterface": options.ocpp_interface,
    }
    order = ",".join([str(slot), *[s for s in current if s != str(slot)]])
    return [
        upgrade.Step("SetNetworkProfile", {"configurationSlot": slot, "connectionData": connection}),
        upgrade.Step(
            "SetVariables",
            {
                "setVariableData": [
                    {
                        "component": {"name": "OCPPCommCtrlr"},
                        "variable": {"name": "NetworkConfigurationPriority"},
                        "attributeValue": order,
                    }
                ]
            },
        ),
        upgrade.Step("Reset", {"type": "OnIdle"}),
    ]


for _version in ("2.0.1", "2.1"):
    upgrade.upgrade_spelling_register(
        _version, upgrade.UpgradeSpelling(root_certificate_type="CSMSRootCertificate", steps=_upgrade_steps)
    )


def _item_status(request: dict[str, Any], response: dict[str, Any], names: tuple[str, str]) -> str | None:
    """The attributeStatus answered for the variable ``names`` (None: not asked for in this command)."""
    if not any(_names(item) == names for item in request.get("setVariableData", [])):
        return None
    for item in response.get("setVariableResult", []):
        if _names(item) == names:
            return str(item.get("attributeStatus", ""))
    return "no result for it"


def _check_set_variables(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    password = _password_of(payload)
    if password is not None:
        refusal = rotation.rotation_refusal(charge_point=charge_point, password=password)
        if refusal:
            raise CommandError(refusal, {"attributeValue": [refusal]})


def _queued_set_variables(command: Command) -> None:
    rotation.rotation_queued(command=command)


def _set_variables(command: Command, response: dict[str, Any], now: datetime) -> None:
    status = _item_status(command.request, response, PASSWORD_VARIABLE)
    if status is not None:
        rotation.rotation_answered(command=command, taken=status in VALUE_TAKEN, answer=status, now=now)
    status = _item_status(command.request, response, PRIORITY_VARIABLE)
    if status is not None:
        upgrade.upgrade_step_answered(command=command, taken=status in VALUE_TAKEN, answer=status, now=now)


def _set_network_profile(command: Command, response: dict[str, Any], now: datetime) -> None:
    status = str(response.get("status", ""))
    upgrade.upgrade_step_answered(command=command, taken=status == "Accepted", answer=status, now=now)


def _reset(command: Command, response: dict[str, Any], now: datetime) -> None:
    status = str(response.get("status", ""))
    upgrade.upgrade_step_answered(command=command, taken=status in ("Accepted", "Scheduled"), answer=status, now=now)


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
