"""What an answered 2.0.1 command changes: device model values, EVSE availability, the local list
version, a reset's reboot, the session a remote start caused. Called by the processing, in the results'
transaction, for the commands whose results were recorded (``chargers.services.commands_results_record``).

What a 2.0.1 answer means for the command's status: ``commands_results_record`` makes a result
``accepted`` when its ``status`` is Accepted (or Unlocked), or when it has none (GetVariables,
SetVariables, GetTransactionStatus, GetLocalListVersion answer per item or with facts: they are
answered, so accepted), else ``rejected``. 2.0.1 adds statuses that mean the station took the
command (``enums.DEFERRED_ACCEPTED_STATUSES``: Reset and ChangeAvailability ``Scheduled``, GetLog and
UpdateFirmware ``AcceptedCanceled``); those commands are made ``accepted`` here first (the 1.6 rule,
where ``Scheduled`` stays rejected, is left as it is).

Effects:
- GetVariables: every ``Accepted`` result's value is stored in the device model.
- SetVariables: every ``Accepted`` or ``RebootRequired`` item stores the value we asked for.
- GetBaseReport / GetReport: ``Accepted`` means NotifyReport parts follow (stored by their handler);
  nothing to store here.
- Reset of the station ``Accepted`` / ``Scheduled``: ``reset_requested_at`` until its next boot (as
  1.6). A reset of one EVSE (``evseId``) reboots no station: nothing waits for a boot.
- ChangeAvailability ``Accepted`` / ``Scheduled``: the ``Evse.availability`` of the EVSE named, or of
  every EVSE of the station (EVSE 0 too) without one; a missing EVSE row is made. A change of one
  connector (``evse.connectorId``) leaves the EVSE's availability as it is (the connector's own
  state arrives in its StatusNotification).
- SendLocalList ``Accepted``: ``local_list_version`` = its ``versionNumber`` (full or differential).
- GetLocalListVersion: ``local_list_version`` = the ``versionNumber`` answered.
- RequestStartTransaction ``Accepted`` with a ``transactionId`` (the station had a session already):
  that session, if we know it, is linked to the command; otherwise its TransactionEvent links it by
  ``remoteStartId``.
- ReserveNow: ``Accepted`` makes the reservation its queuing requested ``accepted``; any other answer
  (Faulted, Occupied, Rejected, Unavailable: kept in ``Command.response``) ``rejected``.
- CancelReservation ``Accepted``: the reservation ``cancelled``; ``Rejected`` (the station holds no such
  reservation) leaves it as it is: its ReservationStatusUpdate or its expiry ends it.
- CertificateSigned ``Accepted``: the certificate the CSMS CA issued in it is active (the previous one
  superseded); anything else: rejected (``certificates.services``).
- GetInstalledCertificateIds: the station's inventory of the types asked (none asked: every type) is what it
  answered (``NotFound``: none); InstallCertificate ``Accepted`` adds a self-signed root to it, DeleteCertificate
  ``Accepted`` removes the certificate named by its hash data.
- RequestStopTransaction, UnlockConnector, TriggerMessage, ClearCache, GetTransactionStatus,
  DataTransfer and the rest: the answer kept in ``Command.response`` is all there is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from certificates import services as certificates
from chargers.device_model import VariableKey, VariableValue, device_variable_values_set
from chargers.models import ChargePoint, Command, DeviceVariable, Evse, Reservation
from chargers.services import evses_ensure
from transactions.models import Transaction

from .enums import DEFERRED_ACCEPTED_STATUSES

Effect = Callable[[Command, dict[str, Any], datetime], None]


def commands_results_apply(*, commands: list[Command], now: datetime) -> None:
    """Apply the state changes answered commands imply (called in the results' transaction).

    The device model values of every GetVariables / SetVariables among them go in one upsert per
    station; the other actions' effects one command at a time.
    """
    _deferred_accept(commands)
    values: dict[int, tuple[ChargePoint, list[VariableValue]]] = {}
    for command in commands:
        if command.status not in (Command.Status.ACCEPTED, Command.Status.REJECTED):
            continue
        response = command.response or {}
        reader = _VALUES.get(command.action)
        if reader is not None:
            found = reader(command.request, response)
            if found:
                values.setdefault(command.charge_point_id, (command.charge_point, []))[1].extend(found)
        elif (effect := _EFFECTS.get(command.action)) is not None:
            effect(command, response, now)
    for charge_point, items in values.values():
        device_variable_values_set(charge_point=charge_point, values=items, now=now)


def _deferred_accept(commands: list[Command]) -> None:
    """A ``Scheduled`` or ``AcceptedCanceled`` answer was recorded ``rejected`` by the 1.6 rule: it is taken."""
    taken = [
        command
        for command in commands
        if command.status == Command.Status.REJECTED
        and (command.response or {}).get("status") in DEFERRED_ACCEPTED_STATUSES
    ]
    if taken:
        Command.objects.filter(pk__in=[command.pk for command in taken]).update(status=Command.Status.ACCEPTED)
        for command in taken:
            command.status = Command.Status.ACCEPTED


def _accepted(command: Command) -> bool:
    return command.status == Command.Status.ACCEPTED


def _key(component: dict[str, Any], variable: dict[str, Any]) -> VariableKey:
    evse = component.get("evse") or {}
    return VariableKey(
        component=component["name"],
        variable=variable["name"],
        component_instance=component.get("instance", ""),
        variable_instance=variable.get("instance", ""),
        evse_id=evse.get("id"),
        connector_id=evse.get("connectorId"),
    )


def _folded(key: VariableKey, attribute_type: str) -> tuple[Any, ...]:
    """A variable's identity for matching an answer to its request: names are case-insensitive in 2.0.1."""
    return (
        key.component.lower(),
        key.component_instance.lower(),
        key.evse_id,
        key.connector_id,
        key.variable.lower(),
        key.variable_instance.lower(),
        attribute_type,
    )


def _get_variables(request: dict[str, Any], response: dict[str, Any]) -> list[VariableValue]:
    return [
        VariableValue(
            key=_key(item["component"], item["variable"]),
            value=item.get("attributeValue"),
            attribute_type=item.get("attributeType", DeviceVariable.AttributeType.ACTUAL),
        )
        for item in response.get("getVariableResult", [])
        if item["attributeStatus"] == "Accepted"
    ]


def _set_variables(request: dict[str, Any], response: dict[str, Any]) -> list[VariableValue]:
    """The values we asked for, of the items the station took (Accepted, or RebootRequired: set, in
    effect after a reboot); the answer names each item, the request holds its value."""
    asked: dict[tuple[Any, ...], VariableValue] = {}
    for item in request.get("setVariableData", []):
        # SecurityCtrlr.BasicAuthPassword is WriteOnly, a secret: its value is never stored.
        names = (item["component"]["name"].lower(), item["variable"]["name"].lower())
        if names == ("securityctrlr", "basicauthpassword"):
            continue
        value = VariableValue(
            key=_key(item["component"], item["variable"]),
            value=item["attributeValue"],
            attribute_type=item.get("attributeType", DeviceVariable.AttributeType.ACTUAL),
        )
        asked[_folded(value.key, value.attribute_type)] = value
    taken = []
    for item in response.get("setVariableResult", []):
        if item["attributeStatus"] not in ("Accepted", "RebootRequired"):
            continue
        attribute_type = item.get("attributeType", DeviceVariable.AttributeType.ACTUAL)
        found = asked.get(_folded(_key(item["component"], item["variable"]), attribute_type))
        if found is not None:
            taken.append(found)
    return taken


_VALUES: dict[str, Callable[[dict[str, Any], dict[str, Any]], list[VariableValue]]] = {
    "GetVariables": _get_variables,
    "SetVariables": _set_variables,
}


def _reset(command: Command, response: dict[str, Any], now: datetime) -> None:
    if _accepted(command) and command.request.get("evseId") is None:
        ChargePoint.objects.filter(pk=command.charge_point_id).update(reset_requested_at=now)


def _change_availability(command: Command, response: dict[str, Any], now: datetime) -> None:
    if not _accepted(command):
        return
    evse = command.request.get("evse")
    status = command.request["operationalStatus"]
    if evse is not None and evse.get("connectorId") is not None:
        return
    if evse is None or evse["id"] == 0:
        evses_ensure(pairs=[(command.charge_point_id, 0)])
        Evse.objects.filter(charge_point_id=command.charge_point_id).update(availability=status)
    else:
        evses_ensure(pairs=[(command.charge_point_id, evse["id"])])
        Evse.objects.filter(charge_point_id=command.charge_point_id, evse_id=evse["id"]).update(availability=status)


def _send_local_list(command: Command, response: dict[str, Any], now: datetime) -> None:
    if _accepted(command):
        ChargePoint.objects.filter(pk=command.charge_point_id).update(
            local_list_version=command.request["versionNumber"]
        )


def _get_local_list_version(command: Command, response: dict[str, Any], now: datetime) -> None:
    ChargePoint.objects.filter(pk=command.charge_point_id).update(local_list_version=response.get("versionNumber"))


def _request_start_transaction(command: Command, response: dict[str, Any], now: datetime) -> None:
    transaction_id = response.get("transactionId")
    if not _accepted(command) or not transaction_id or command.transaction_id is not None:
        return
    session = Transaction.objects.filter(
        charge_point_id=command.charge_point_id, charger_transaction_id=transaction_id
    ).first()
    if session is not None:
        command.transaction = session
        command.save(update_fields=["transaction"])


def _reserve_now(command: Command, response: dict[str, Any], now: datetime) -> None:
    status = Reservation.Status.ACCEPTED if _accepted(command) else Reservation.Status.REJECTED
    Reservation.objects.filter(
        charge_point_id=command.charge_point_id,
        reservation_id=command.request["id"],
        status=Reservation.Status.REQUESTED,
    ).update(status=status)


def _cancel_reservation(command: Command, response: dict[str, Any], now: datetime) -> None:
    if _accepted(command):
        Reservation.objects.filter(
            charge_point_id=command.charge_point_id, reservation_id=command.request["reservationId"]
        ).update(status=Reservation.Status.CANCELLED)


def _certificate_signed(command: Command, response: dict[str, Any], now: datetime) -> None:
    certificates.certificate_signed_answered(command=command, now=now)


def _get_installed_certificate_ids(command: Command, response: dict[str, Any], now: datetime) -> None:
    """The inventory of the types asked (none asked: every type) is what the station answered (NotFound: none)."""
    items = [
        certificates.InstalledItem(
            chain["certificateType"],
            certificates.HashData.from_ocpp(chain["certificateHashData"]),
            tuple(certificates.HashData.from_ocpp(child) for child in chain.get("childCertificateHashData", [])),
        )
        for chain in response.get("certificateHashDataChain", [])
    ]
    certificates.installed_certificates_report(
        charge_point=command.charge_point,
        certificate_types=command.request.get("certificateType") or None,
        items=items,
        now=now,
    )


def _install_certificate(command: Command, response: dict[str, Any], now: datetime) -> None:
    if _accepted(command):
        certificates.installed_certificate_add(
            charge_point=command.charge_point,
            certificate_type=command.request["certificateType"],
            certificate_pem=command.request["certificate"],
            now=now,
        )


def _delete_certificate(command: Command, response: dict[str, Any], now: datetime) -> None:
    if _accepted(command):
        certificates.installed_certificate_remove(
            charge_point=command.charge_point,
            hash_data=certificates.HashData.from_ocpp(command.request["certificateHashData"]),
        )


# GetVariables' and SetVariables' effect (their values) is applied for many commands at once.
_EFFECTS: dict[str, Effect] = {
    "Reset": _reset,
    "ChangeAvailability": _change_availability,
    "SendLocalList": _send_local_list,
    "GetLocalListVersion": _get_local_list_version,
    "RequestStartTransaction": _request_start_transaction,
    "ReserveNow": _reserve_now,
    "CancelReservation": _cancel_reservation,
    "CertificateSigned": _certificate_signed,
    "GetInstalledCertificateIds": _get_installed_certificate_ids,
    "InstallCertificate": _install_certificate,
    "DeleteCertificate": _delete_certificate,
}
