"""OCPP 1.6's action lists."""

from __future__ import annotations

# 1.6 actions a charge point initiates (Core, Firmware Management, and the security extension).
CHARGER_ACTIONS = frozenset(
    {
        "Authorize",
        "BootNotification",
        "DataTransfer",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
        "SecurityEventNotification",
        "SignedFirmwareStatusNotification",
        "LogStatusNotification",
        "SignCertificate",
    }
)

# 1.6 actions that exist but that only the CSMS sends: a charger sending one gets NotSupported.
CSMS_ACTIONS = frozenset(
    {
        "CancelReservation",
        "ChangeAvailability",
        "ChangeConfiguration",
        "ClearCache",
        "ClearChargingProfile",
        "GetCompositeSchedule",
        "GetConfiguration",
        "GetDiagnostics",
        "GetLocalListVersion",
        "RemoteStartTransaction",
        "RemoteStopTransaction",
        "ReserveNow",
        "Reset",
        "SendLocalList",
        "SetChargingProfile",
        "TriggerMessage",
        "UnlockConnector",
        "UpdateFirmware",
        "CertificateSigned",
        "DeleteCertificate",
        "ExtendedTriggerMessage",
        "GetInstalledCertificateIds",
        "GetLog",
        "InstallCertificate",
        "SignedUpdateFirmware",
    }
)

# The CSMS-initiated actions this CSMS can queue as commands (a subset of CSMS_ACTIONS).
COMMANDS = frozenset(
    {
        # Core
        "ChangeAvailability",
        "ChangeConfiguration",
        "ClearCache",
        "DataTransfer",
        "GetConfiguration",
        "RemoteStartTransaction",
        "RemoteStopTransaction",
        "Reset",
        "UnlockConnector",
        # Firmware Management
        "GetDiagnostics",
        "UpdateFirmware",
        # Local Auth List Management
        "GetLocalListVersion",
        "SendLocalList",
        # Reservation
        "ReserveNow",
        "CancelReservation",
        # Smart Charging
        "SetChargingProfile",
        "ClearChargingProfile",
        "GetCompositeSchedule",
        # Remote Trigger
        "TriggerMessage",
        # Security extension (Security Whitepaper edition 2): certificates
        "CertificateSigned",
        "DeleteCertificate",
        "ExtendedTriggerMessage",
        "GetInstalledCertificateIds",
        "InstallCertificate",
        # Security extension: firmware and logs
        "GetLog",
        "SignedUpdateFirmware",
    }
)
