"""Schema-plausible OCPP 1.6 replies, for both ends of a benchmark.

- ``csms_result()``: what the bare responder answers to a charger's Call (no database).
- ``charger_result()``: what a virtual charger answers to a Call the CSMS sends it.
"""

from __future__ import annotations

import itertools
import threading

from bench.payloads import Payload, now_iso

HEARTBEAT_INTERVAL = 300

_transaction_ids = itertools.count(1)
_transaction_lock = threading.Lock()


def next_transaction_id() -> int:
    """A process-wide increasing transaction id."""
    with _transaction_lock:
        return next(_transaction_ids)


def csms_result(action: str, payload: Payload) -> Payload:
    """A CSMS's CallResult payload for a charger's ``action`` (valid against <Action>Response)."""
    accepted = {"idTagInfo": {"status": "Accepted"}}
    if action == "BootNotification":
        return {"currentTime": now_iso(), "interval": HEARTBEAT_INTERVAL, "status": "Accepted"}
    if action == "Heartbeat":
        return {"currentTime": now_iso()}
    if action in ("Authorize", "StopTransaction"):
        return accepted
    if action == "StartTransaction":
        return {"transactionId": next_transaction_id(), **accepted}
    if action == "DataTransfer":
        return {"status": "Accepted"}
    return {}


# What a typical 1.6 charger reports to GetConfiguration: the Core profile's keys (and a few more).
_CONFIGURATION = [
    ("AllowOfflineTxForUnknownId", "false", False),
    ("AuthorizationCacheEnabled", "true", False),
    ("AuthorizeRemoteTxRequests", "true", False),
    ("BlinkRepeat", "3", False),
    ("ClockAlignedDataInterval", "900", False),
    ("ConnectionTimeOut", "60", False),
    ("ConnectorPhaseRotation", "0.RST,1.RST,2.RST", False),
    ("GetConfigurationMaxKeys", "50", True),
    ("HeartbeatInterval", str(HEARTBEAT_INTERVAL), False),
    ("LightIntensity", "50", False),
    ("LocalAuthorizeOffline", "true", False),
    ("LocalPreAuthorize", "false", False),
    ("MaxEnergyOnInvalidId", "0", False),
    ("MeterValuesAlignedData", "Energy.Active.Import.Register", False),
    ("MeterValuesSampledData", "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage", False),
    ("MeterValueSampleInterval", "60", False),
    ("MinimumStatusDuration", "0", False),
    ("NumberOfConnectors", "2", True),
    ("ResetRetries", "3", False),
    ("StopTransactionOnEVSideDisconnect", "true", False),
    ("StopTransactionOnInvalidId", "true", False),
    ("StopTxnAlignedData", "Energy.Active.Import.Register", False),
    ("StopTxnSampledData", "Energy.Active.Import.Register", False),
    ("SupportedFeatureProfiles", "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging", True),
    ("TransactionMessageAttempts", "3", False),
    ("TransactionMessageRetryInterval", "60", False),
    ("UnlockConnectorOnEVSideDisconnect", "true", False),
    ("WebSocketPingInterval", "30", False),
    ("LocalAuthListEnabled", "true", False),
    ("LocalAuthListMaxLength", "1000", True),
    ("SendLocalListMaxLength", "100", True),
    ("ChargeProfileMaxStackLevel", "8", True),
    ("ChargingScheduleAllowedChargingRateUnit", "Current,Power", True),
    ("ChargingScheduleMaxPeriods", "24", True),
    ("MaxChargingProfilesInstalled", "8", True),
]

CHARGER_RESULTS: dict[str, Payload] = {
    "ChangeConfiguration": {"status": "Accepted"},
    "ChangeAvailability": {"status": "Accepted"},
    "ClearCache": {"status": "Accepted"},
    "DataTransfer": {"status": "Accepted"},
    "GetConfiguration": {
        "configurationKey": [
            {"key": key, "value": value, "readonly": readonly} for key, value, readonly in _CONFIGURATION
        ]
    },
    "GetLocalListVersion": {"listVersion": 0},
    "RemoteStartTransaction": {"status": "Rejected"},
    "RemoteStopTransaction": {"status": "Rejected"},
    "Reset": {"status": "Accepted"},
    "TriggerMessage": {"status": "Accepted"},
    "UnlockConnector": {"status": "NotSupported"},
}


def charger_result(action: str) -> Payload | None:
    """A virtual charger's CallResult payload for a CSMS Call, None if it does not support it."""
    result = CHARGER_RESULTS.get(action)
    return dict(result) if result is not None else None
