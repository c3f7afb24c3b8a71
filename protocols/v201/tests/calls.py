"""2.0.1 Calls as the worker gets them (Frames of the 2.0.1 route), and one valid payload per station action."""

from __future__ import annotations

from typing import Any

from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.processing import calls_handle

AT = "2026-11-23T10:00:00Z"

BOOT: dict[str, Any] = {
    "reason": "PowerUp",
    "chargingStation": {
        "vendorName": "Vendor With A Name Longer Than Twenty",
        "model": "Model-201",
        "serialNumber": "SN-0001",
        "firmwareVersion": "1.2.3",
        "modem": {"iccid": "8931000000000000001", "imsi": "204040000000001"},
    },
}

SCHEDULE: dict[str, Any] = {
    "id": 1,
    "chargingRateUnit": "A",
    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.5}],
}

COMPONENT_VARIABLE: dict[str, Any] = {
    "component": {"name": "EVSE", "evse": {"id": 1}},
    "variable": {"name": "AvailabilityState"},
}

#: A schema-valid Call of each of the 25 actions a station sends.
PAYLOADS: dict[str, dict[str, Any]] = {
    "Authorize": {"idToken": {"idToken": "TAG-1", "type": "ISO14443"}},
    "BootNotification": BOOT,
    "ClearedChargingLimit": {"chargingLimitSource": "EMS", "evseId": 1},
    "DataTransfer": {"vendorId": "com.example", "messageId": "hello", "data": {"x": 1}},
    "FirmwareStatusNotification": {"status": "Downloading", "requestId": 7},
    "Get15118EVCertificate": {
        "iso15118SchemaVersion": "urn:iso:15118:2:2013:MsgDef",
        "action": "Install",
        "exiRequest": "AAAA",
    },  # fmt: skip
    "GetCertificateStatus": {
        "ocspRequestData": {
            "hashAlgorithm": "SHA256",
            "issuerNameHash": "a" * 64,
            "issuerKeyHash": "b" * 64,
            "serialNumber": "01",
            "responderURL": "http://ocsp.example.com",
        }
    },
    "Heartbeat": {},
    "LogStatusNotification": {"status": "Uploaded", "requestId": 3},
    "MeterValues": {
        "evseId": 1,
        "meterValue": [
            {"timestamp": AT, "sampledValue": [{"value": 1234.5, "measurand": "Energy.Active.Import.Register"}]}
        ],
    },
    "NotifyChargingLimit": {"chargingLimit": {"chargingLimitSource": "SO", "isGridCritical": True}, "evseId": 1},
    "NotifyCustomerInformation": {"data": "nothing", "seqNo": 0, "generatedAt": AT, "requestId": 4, "tbc": False},
    "NotifyDisplayMessages": {"requestId": 5},
    "NotifyEVChargingNeeds": {"evseId": 1, "chargingNeeds": {"requestedEnergyTransfer": "AC_three_phase"}},
    "NotifyEVChargingSchedule": {"timeBase": AT, "evseId": 1, "chargingSchedule": SCHEDULE},
    "NotifyEvent": {
        "generatedAt": AT,
        "seqNo": 0,
        "eventData": [
            {
                "eventId": 1,
                "timestamp": AT,
                "trigger": "Delta",
                "actualValue": "Unavailable",
                "eventNotificationType": "HardWiredNotification",
                **COMPONENT_VARIABLE,
            },  # fmt: skip
        ],
    },
    "NotifyMonitoringReport": {"requestId": 6, "seqNo": 0, "generatedAt": AT},
    "NotifyReport": {"requestId": 8, "generatedAt": AT, "seqNo": 0},
    "PublishFirmwareStatusNotification": {"status": "Published", "location": ["http://x"], "requestId": 9},
    "ReportChargingProfiles": {
        "requestId": 10,
        "chargingLimitSource": "CSO",
        "evseId": 1,
        "chargingProfile": [
            {
                "id": 1,
                "stackLevel": 0,
                "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Absolute",
                "chargingSchedule": [{**SCHEDULE, "startSchedule": AT}],
            },  # fmt: skip
        ],
    },
    "ReservationStatusUpdate": {"reservationId": 11, "reservationUpdateStatus": "Expired"},
    "SecurityEventNotification": {"type": "FirmwareUpdated", "timestamp": AT, "techInfo": "1.2.3"},
    "SignCertificate": {"csr": "-----BEGIN CERTIFICATE REQUEST-----", "certificateType": "ChargingStationCertificate"},
    "StatusNotification": {"timestamp": AT, "connectorStatus": "Available", "evseId": 1, "connectorId": 1},
    "TransactionEvent": {
        "eventType": "Started",
        "timestamp": AT,
        "triggerReason": "CablePluggedIn",
        "seqNo": 0,
        "transactionInfo": {"transactionId": "TX-1"},
        "evse": {"id": 1, "connectorId": 1},
    },
}


def call(action: str, payload: dict[str, Any], message_id: str = "m1", cid: str = "CS-1") -> Frame:
    """A Call as the 2.0.1 route hands it to the worker."""
    return Frame(
        charge_point_id=cid,
        kind=Kind.CALL,
        message_id=message_id,
        action=action,
        payload=payload,
        ocpp_version="2.0.1",
        dialect="ocppj",
        received_at=utcnow(),
    )


def handle(action: str, payload: dict[str, Any], message_id: str = "m1", cid: str = "CS-1") -> Frame:
    """Apply one Call and return its reply."""
    return calls_handle([call(action, payload, message_id, cid)])[0]
