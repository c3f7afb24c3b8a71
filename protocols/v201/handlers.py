"""OCPP 2.0.1 Calls from charging stations: parse the (schema-valid) payload, call a service, build the reply.

Every one of the 25 station-initiated actions is answered with a reply its result schema accepts.
Provisioning (block B: BootNotification, Heartbeat, StatusNotification, NotifyReport) and the
notifications that have a kind of their own (NotifyEvent, SecurityEventNotification, firmware and log
status, DataTransfer) are applied here; the sessions (Authorize, TransactionEvent, MeterValues) are
``sessions``'s. ReservationStatusUpdate ends its reservation (Expired: expired, Removed: cancelled) and is
kept as a ``ChargerEvent`` NOTIFICATION row (``status`` = the action, ``detail`` = the payload), as the 11
others are, answered as a CSMS that does not act on them yet honestly answers (``_RECORDED``); later
issues give them their meaning. SignCertificate goes to the CSMS CA (``certificates.services``).

The payload has already passed its JSON schema; what a schema cannot check (a timestamp that is not
a date) raises OcppError here, before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from certificates.services import certificate_request_handle
from chargers import device_model, reservations
from chargers import services as chargers
from chargers.models import ChargePoint, ChargerEvent, DeviceVariable, Reservation

from .. import BulkHandler, Handler
from ..payloads import iso as _iso
from ..payloads import timestamp as _timestamp
from .shortcuts import SHORTCUTS

VERSION = "2.0.1"


# --- provisioning -----------------------------------------------------------------------------------


def boot_notification(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    return _boot_notifications([_boot_report(cp, payload)], now)[0]


def _boot_report(cp: ChargePoint, payload: dict[str, Any]) -> chargers.BootReport:
    station = payload["chargingStation"]
    modem = station.get("modem", {})
    identity = chargers.BootIdentity(
        vendor=station["vendorName"],
        model=station["model"],
        serial_number=station.get("serialNumber", ""),
        firmware_version=station.get("firmwareVersion", ""),
        iccid=modem.get("iccid", ""),
        imsi=modem.get("imsi", ""),
    )
    return chargers.BootReport(charge_point=cp, identity=identity, ocpp_version=VERSION)


def _boot_notifications(items: list[chargers.BootReport], now: datetime) -> list[dict[str, Any]]:
    # The registration status is ours and stays as it is: a station set Pending or Rejected is answered
    # so at every boot until an operator changes it (B02, B03). An accepted station's device model is
    # read (GetBaseReport FullInventory): its NotifyReport parts fill DeviceVariable.
    registrations = chargers.boot_notifications_apply(
        reports=items, configuration_read=SHORTCUTS.configuration_read, now=now
    )
    return [{"status": status, "currentTime": _iso(now), "interval": interval} for status, interval in registrations]


def heartbeat(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    return _heartbeats([cp], now)[0]


def _heartbeats(items: list[ChargePoint], now: datetime) -> list[dict[str, Any]]:
    chargers.heartbeats_record(charge_points=items, now=now)
    return [{"currentTime": _iso(now)} for _ in items]


def status_notification(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    return _status_notifications([_status_report(cp, payload)], now)[0]


def _status_report(cp: ChargePoint, payload: dict[str, Any]) -> chargers.StatusReport:
    # 2.0.1 reports faults through NotifyEvent, not in the status: no error code.
    return chargers.StatusReport(
        charge_point=cp,
        evse_id=payload["evseId"],
        connector_id=payload["connectorId"],
        status=payload["connectorStatus"],
        error_code="",
        charger_timestamp=_timestamp(payload, "timestamp"),
    )


def _status_notifications(items: list[chargers.StatusReport], now: datetime) -> list[dict[str, Any]]:
    chargers.status_notifications_record(reports=items, now=now)
    return [{} for _ in items]


# --- the device model ------------------------------------------------------------------------------


def _key(component: dict[str, Any], variable: dict[str, Any]) -> device_model.VariableKey:
    evse = component.get("evse") or {}
    return device_model.VariableKey(
        component=component["name"],
        component_instance=component.get("instance", ""),
        evse_id=evse.get("id"),
        connector_id=evse.get("connectorId"),
        variable=variable["name"],
        variable_instance=variable.get("instance", ""),
    )


def _variable_report(item: dict[str, Any]) -> device_model.VariableReport:
    # What an attribute omits has the specification's default (VariableAttributeType): a report
    # describes the whole variable, so a missing mutability is ReadWrite, not unknown.
    attributes = tuple(
        device_model.VariableAttribute(
            type=attribute.get("type", DeviceVariable.AttributeType.ACTUAL),
            value=attribute.get("value"),
            mutability=attribute.get("mutability", DeviceVariable.Mutability.READ_WRITE),
            persistent=attribute.get("persistent", False),
            constant=attribute.get("constant", False),
        )
        for attribute in item["variableAttribute"]
    )
    characteristics = None
    if (reported := item.get("variableCharacteristics")) is not None:
        characteristics = device_model.VariableCharacteristics(
            data_type=reported["dataType"],
            supports_monitoring=reported["supportsMonitoring"],
            unit=reported.get("unit", ""),
            min_limit=reported.get("minLimit"),
            max_limit=reported.get("maxLimit"),
            values_list=reported.get("valuesList", ""),
        )
    return device_model.VariableReport(_key(item["component"], item["variable"]), attributes, characteristics)


def notify_report(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """One part of a report (GetBaseReport, GetReport): its variables stored as they come, and the part
    recorded with its request and whether more follow (``device_model.device_report_progress``)."""
    generated_at = _timestamp(payload, "generatedAt")
    items = [_variable_report(item) for item in payload.get("reportData", [])]
    device_model.device_variables_report(charge_point=cp, items=items, now=now)
    device_model.device_report_part_record(
        charge_point=cp,
        request_id=payload["requestId"],
        seq_no=payload["seqNo"],
        tbc=payload.get("tbc", False),
        generated_at=generated_at,
        variables=len(items),
        now=now,
    )
    return {}


def notify_event(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """One ``NOTIFY_EVENT`` row per event: each names its own component, variable and time."""
    _timestamp(payload, "generatedAt")
    part = {"generatedAt": payload["generatedAt"], "seqNo": payload["seqNo"], "tbc": payload.get("tbc", False)}
    events = []
    for index, item in enumerate(payload["eventData"]):
        key = _key(item["component"], item["variable"])
        events.append(
            device_model.DeviceEvent(
                status=f"{key.component}.{key.variable}",
                detail={**item, **part},
                timestamp=_timestamp(item, "timestamp", f"eventData.{index}."),
            )
        )
    device_model.device_events_record(charge_point=cp, events=events, now=now)
    return {}


# --- notifications ---------------------------------------------------------------------------------

#: vendorId -> the handler of a station's DataTransfer of that vendor (returns the reply). Empty: an
#: extension registers itself here (``vendor_register``).
VENDORS: dict[str, Handler] = {}


def vendor_register(vendor_id: str, handler: Handler) -> None:
    """Answer the DataTransfers of ``vendor_id`` with ``handler`` (its reply must pass the result schema)."""
    VENDORS[vendor_id] = handler


def data_transfer(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    chargers.charger_event_record(
        charge_point=cp, kind=ChargerEvent.Kind.DATA_TRANSFER, status=payload["vendorId"], detail=payload, now=now
    )
    handler = VENDORS.get(payload["vendorId"])
    if handler is None:
        # OCPP's answer for a vendor we have no extension for (P02).
        return {"status": "UnknownVendorId"}
    return handler(cp, payload, now)


def _event(kind: str, status_field: str, timestamp_field: str | None = None) -> Handler:
    def handle(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
        charger_timestamp = _timestamp(payload, timestamp_field) if timestamp_field else None
        chargers.charger_event_record(
            charge_point=cp,
            kind=kind,
            status=str(payload.get(status_field, "")),
            detail=payload,
            charger_timestamp=charger_timestamp,
            now=now,
        )
        return {}

    return handle


#: What a station's ReservationStatusUpdate makes of its reservation: Expired, its time passed; Removed,
#: the station dropped it (its EVSE went Faulted or Inoperative, say).
RESERVATION_ENDS = {"Expired": Reservation.Status.EXPIRED, "Removed": Reservation.Status.CANCELLED}


def reservation_status_update(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The station no longer holds a reservation: it ends, unless it ended already (used by a session,
    cancelled or expired by us); the notice is kept either way."""
    chargers.charger_event_record(
        charge_point=cp, kind=ChargerEvent.Kind.NOTIFICATION, status="ReservationStatusUpdate", detail=payload, now=now
    )
    reservations.reservation_end(
        charge_point=cp,
        reservation_id=payload["reservationId"],
        status=RESERVATION_ENDS[payload["reservationUpdateStatus"]],
    )
    return {}


def _recorded(action: str, reply: Callable[[], dict[str, Any]]) -> Handler:
    def handle(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
        chargers.charger_event_record(
            charge_point=cp, kind=ChargerEvent.Kind.NOTIFICATION, status=action, detail=payload, now=now
        )
        return reply()

    return handle


# The answers of a CSMS that keeps these messages and does nothing else with them yet: what each
# status means in the specification, not what a station would like to hear.
_RECORDED: dict[str, Callable[[], dict[str, Any]]] = {
    "ClearedChargingLimit": dict,
    "NotifyChargingLimit": dict,
    # Rejected: "the CSMS will not provide a charging schedule" (no ISO 15118 smart charging here, K15).
    "NotifyEVChargingNeeds": lambda: {"status": "Rejected"},
    # Accepted: the message was processed (kept); it says nothing of meeting the EV's needs (K17).
    "NotifyEVChargingSchedule": lambda: {"status": "Accepted"},
    "ReportChargingProfiles": dict,
    "NotifyCustomerInformation": dict,
    "NotifyDisplayMessages": dict,
    "NotifyMonitoringReport": dict,
    "PublishFirmwareStatusNotification": dict,
    # No ISO 15118 certificate services and no OCSP lookups here (the CSMS CA signs CSRs: sign_certificate).
    "Get15118EVCertificate": lambda: {"status": "Failed", "exiResponse": ""},
    "GetCertificateStatus": lambda: {"status": "Failed"},
}


def sign_certificate(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A02/A03: the CSMS CA checks the CSR; Accepted queues the CertificateSigned with the chain, Rejected
    says why in statusInfo (``certificates.services.certificate_request_handle``)."""
    outcome = certificate_request_handle(
        charge_point=cp,
        csr_pem=payload["csr"],
        certificate_type=payload.get("certificateType", "ChargingStationCertificate"),
        ocpp_version=VERSION,
        now=now,
    )
    if outcome.accepted:
        return {"status": "Accepted"}
    return {
        "status": "Rejected",
        "statusInfo": {"reasonCode": outcome.code[:20], "additionalInfo": outcome.reason[:512]},
    }


BULK_HANDLERS: dict[str, BulkHandler] = {
    "BootNotification": BulkHandler(_boot_report, _boot_notifications),
    "Heartbeat": BulkHandler(lambda cp, payload: cp, _heartbeats),
    "StatusNotification": BulkHandler(_status_report, _status_notifications),
}

HANDLERS: dict[str, Handler] = {
    "BootNotification": boot_notification,
    "Heartbeat": heartbeat,
    "StatusNotification": status_notification,
    "NotifyReport": notify_report,
    "NotifyEvent": notify_event,
    "DataTransfer": data_transfer,
    "SecurityEventNotification": _event(ChargerEvent.Kind.SECURITY, "type", "timestamp"),
    "FirmwareStatusNotification": _event(ChargerEvent.Kind.FIRMWARE_STATUS, "status"),
    "LogStatusNotification": _event(ChargerEvent.Kind.LOG_STATUS, "status"),
    "ReservationStatusUpdate": reservation_status_update,
    "SignCertificate": sign_certificate,
    **{action: _recorded(action, reply) for action, reply in _RECORDED.items()},
}
