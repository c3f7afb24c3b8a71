"""ChargeX "Minimum Required Error Codes" (MREC): the fault codes a station reports as ``techCode``.

The ChargeX consortium (Idaho National Laboratory) defines a minimum set of error codes every station
should report, ``CX001`` .. ``CX026``, so that a CSMS can tell faults apart whatever the vendor. A 2.0.1
station sends them in a NotifyEvent's ``techCode`` (with details in ``techInfo``); a 1.6 station in
StatusNotification's ``vendorErrorCode``. The names are the consortium's; the meanings are ours, short,
for the dashboard. Codes not listed here (the published list has gaps we could not confirm: CX007,
CX009, CX012, CX013, CX016, CX021) are shown as the station reported them.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ErrorCode:
    """One MREC code: its name and what it means."""

    code: str
    name: str
    meaning: str


_CODES = (
    ("CX001", "ConnectorLockFailure", "The connector could not be locked or unlocked on the vehicle side."),
    ("CX002", "GroundFailure", "The ground fault (residual current) protection tripped."),
    ("CX003", "HighTemperature", "The station is too hot inside: power delivery is derated."),
    ("CX004", "OverCurrentFailure", "The over-current protection tripped."),
    ("CX005", "OverVoltage", "The voltage to the vehicle rose above an acceptable level."),
    ("CX006", "UnderVoltage", "The voltage to the vehicle dropped below an acceptable level."),
    ("CX008", "EmergencyStop", "The emergency stop was pressed."),
    ("CX010", "InvalidVehicleMode", "The vehicle is in a mode it cannot charge in (not parked, not off)."),
    ("CX011", "CableCheckFault", "The DC cable check (insulation test) before charging failed."),
    ("CX014", "PilotFault", "The control pilot signal is faulty."),
    ("CX015", "PowerLoss", "The station lost its input power."),
    ("CX017", "EVSEContactorFault", "A contactor of the EVSE failed (welded or does not close)."),
    ("CX018", "CableOverTempDerate", "The cable is too hot: power delivery is derated."),
    ("CX019", "CableOverTempStop", "The cable is too hot: charging stopped."),
    ("CX020", "PartialInsertion", "The connector is not fully inserted in the vehicle."),
    ("CX022", "ResistanceFault", "An isolation or resistance fault was detected."),
    ("CX023", "ProximityFault", "The proximity (plug present) signal is faulty."),
    ("CX024", "ConnectorVoltageHigh", "Voltage is present on the connector when there should be none."),
    ("CX025", "BrokenLatch", "The connector's latch is broken."),
    ("CX026", "CutCable", "The charging cable is cut or damaged."),
)

#: code -> ErrorCode (codes are matched case-insensitively).
MREC: dict[str, ErrorCode] = {code: ErrorCode(code, name, meaning) for code, name, meaning in _CODES}


def mrec_lookup(tech_code: str) -> ErrorCode | None:
    """The MREC code ``tech_code`` names (``CX002``, ``cx002``), or None for any other code."""
    return MREC.get(tech_code.strip().upper())
