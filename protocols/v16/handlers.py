"""OCPP 1.6 Calls from charge points: parse the (schema-valid) payload, call a service, build the reply.

One small function per action. The payload has already passed its JSON schema; what a schema
cannot check (a timestamp that is not a date) raises OcppError here, before anything is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from certificates.services import certificate_request_handle
from chargers import commands
from chargers import services as chargers
from chargers.models import ChargePoint, ChargerEvent
from transactions import services as sessions

from .. import BulkHandler, Handler
from ..payloads import iso as _iso
from ..payloads import timestamp as _timestamp
from .shortcuts import SHORTCUTS


def _optional_timestamp(payload: dict[str, Any], field: str) -> datetime | None:
    return _timestamp(payload, field) if payload.get(field) is not None else None


# SampledValue's JSON keys and our field names are the same words.
_SAMPLED_VALUE_FIELDS = ("value", "measurand", "phase", "unit", "context", "location", "format")


def _samples(items: list[dict[str, Any]]) -> list[sessions.MeterSample]:
    return [
        sessions.MeterSample(
            timestamp=_timestamp(item, "timestamp"),
            values=tuple(
                sessions.SampledValue(**{key: value[key] for key in _SAMPLED_VALUE_FIELDS if key in value})
                for value in item["sampledValue"]
            ),
        )
        for item in items
    ]


def boot_notification(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    return _boot_notifications([_boot_report(cp, payload)], now)[0]


def _boot_report(cp: ChargePoint, payload: dict[str, Any]) -> chargers.BootReport:
    identity = chargers.BootIdentity(
        vendor=payload["chargePointVendor"],
        model=payload["chargePointModel"],
        serial_number=payload.get("chargePointSerialNumber", ""),
        charge_box_serial_number=payload.get("chargeBoxSerialNumber", ""),
        firmware_version=payload.get("firmwareVersion", ""),
        iccid=payload.get("iccid", ""),
        imsi=payload.get("imsi", ""),
        meter_type=payload.get("meterType", ""),
        meter_serial_number=payload.get("meterSerialNumber", ""),
    )
    return chargers.BootReport(charge_point=cp, identity=identity, ocpp_version="1.6")


def _boot_notifications(items: list[chargers.BootReport], now: datetime) -> list[dict[str, Any]]:
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
    return chargers.StatusReport(
        charge_point=cp,
        connector_id=payload["connectorId"],
        status=payload["status"],
        error_code=payload["errorCode"],
        info=payload.get("info", ""),
        vendor_id=payload.get("vendorId", ""),
        vendor_error_code=payload.get("vendorErrorCode", ""),
        charger_timestamp=_optional_timestamp(payload, "timestamp"),
    )


def _status_notifications(items: list[chargers.StatusReport], now: datetime) -> list[dict[str, Any]]:
    chargers.status_notifications_record(reports=items, now=now)
    return [{} for _ in items]


def authorize(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    return _authorizations([(payload["idTag"], cp)], now)[0]


def _authorizations(items: list[tuple[str, ChargePoint | None]], now: datetime) -> list[dict[str, Any]]:
    infos = chargers.id_tags_authorize(requests=items, now=now)
    return [{"idTagInfo": info.to_ocpp()} for info in infos]


def start_transaction(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    return _starts([_start_report(cp, payload)], now)[0]


def _start_report(cp: ChargePoint, payload: dict[str, Any]) -> sessions.StartReport:
    return sessions.StartReport(
        charge_point=cp,
        connector_id=payload["connectorId"],
        id_tag=payload["idTag"],
        meter_start=payload["meterStart"],
        started_at=_timestamp(payload, "timestamp"),
        reservation_id=payload.get("reservationId"),
    )


# A session started with an accepted RemoteStartTransaction of the same idTag is linked to it.
REMOTE_START = commands.RemoteStartSpelling(
    action="RemoteStartTransaction",
    id_tag=lambda request: request.get("idTag"),
    connector_id=lambda request: request.get("connectorId"),
)


def _starts(items: list[sessions.StartReport], now: datetime) -> list[dict[str, Any]]:
    started = sessions.transactions_start(reports=items, remote_start=REMOTE_START, now=now)
    return [{"transactionId": transaction.pk, "idTagInfo": info.to_ocpp()} for transaction, info in started]


def stop_transaction(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    return _stops([_stop_report(cp, payload)], now)[0]


def _stop_report(cp: ChargePoint, payload: dict[str, Any]) -> sessions.StopReport:
    return sessions.StopReport(
        charge_point=cp,
        transaction_id=payload["transactionId"],
        meter_stop=payload["meterStop"],
        stopped_at=_timestamp(payload, "timestamp"),
        reason=payload.get("reason", ""),
        id_tag=payload.get("idTag", ""),
        transaction_data=tuple(_samples(payload.get("transactionData", []))),
        raw=payload,
    )


def _stops(items: list[sessions.StopReport], now: datetime) -> list[dict[str, Any]]:
    infos = sessions.transactions_stop(reports=items, now=now)
    return [{"idTagInfo": info.to_ocpp()} if info else {} for info in infos]


def meter_values(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    return _meter_values([_meter_report(cp, payload)], now)[0]


def _meter_report(cp: ChargePoint, payload: dict[str, Any]) -> sessions.MeterReport:
    return sessions.MeterReport(
        charge_point=cp,
        connector_id=payload["connectorId"],
        transaction_id=payload.get("transactionId"),
        samples=tuple(_samples(payload["meterValue"])),
    )


def _meter_values(items: list[sessions.MeterReport], now: datetime) -> list[dict[str, Any]]:
    sessions.meter_reports_record(reports=items, now=now)
    return [{} for _ in items]


def data_transfer(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    chargers.charger_event_record(
        charge_point=cp, kind=ChargerEvent.Kind.DATA_TRANSFER, status=payload["vendorId"], detail=payload, now=now
    )
    # No vendor extension is installed: OCPP's answer for a vendor we do not know.
    return {"status": "UnknownVendorId"}


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


def sign_certificate(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Security whitepaper (use case A02): the CSMS CA checks the CSR; Accepted queues the CertificateSigned
    with the chain, Rejected (1.6 has no reason field: the reason is on the CSR's record and the security event)."""
    outcome = certificate_request_handle(
        charge_point=cp, csr_pem=payload["csr"], certificate_type="", ocpp_version="1.6", now=now
    )
    return {"status": "Accepted" if outcome.accepted else "Rejected"}


BULK_HANDLERS: dict[str, BulkHandler] = {
    "BootNotification": BulkHandler(_boot_report, _boot_notifications),
    "Heartbeat": BulkHandler(lambda cp, payload: cp, _heartbeats),
    "StatusNotification": BulkHandler(_status_report, _status_notifications),
    "MeterValues": BulkHandler(_meter_report, _meter_values),
    "Authorize": BulkHandler(lambda cp, payload: (payload["idTag"], cp), _authorizations),
    "StartTransaction": BulkHandler(_start_report, _starts),
    "StopTransaction": BulkHandler(_stop_report, _stops),
}


HANDLERS: dict[str, Handler] = {
    "BootNotification": boot_notification,
    "Heartbeat": heartbeat,
    "StatusNotification": status_notification,
    "Authorize": authorize,
    "StartTransaction": start_transaction,
    "StopTransaction": stop_transaction,
    "MeterValues": meter_values,
    "DataTransfer": data_transfer,
    "DiagnosticsStatusNotification": _event(ChargerEvent.Kind.DIAGNOSTICS_STATUS, "status"),
    "FirmwareStatusNotification": _event(ChargerEvent.Kind.FIRMWARE_STATUS, "status"),
    "SecurityEventNotification": _event(ChargerEvent.Kind.SECURITY, "type", "timestamp"),
    "SignedFirmwareStatusNotification": _event(ChargerEvent.Kind.SIGNED_FIRMWARE_STATUS, "status"),
    "LogStatusNotification": _event(ChargerEvent.Kind.LOG_STATUS, "status"),
    "SignCertificate": sign_certificate,
}
