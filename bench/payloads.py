"""OCPP 1.6 request payloads a virtual charger sends, and the script it follows.

Every builder returns a payload valid against the official 1.6 JSON schema of its action (checked
in ``bench/tests/test_payloads.py``). A charger first boots, reports each connector, then loops
over ``SESSION_SCRIPT``: a heartbeat, an authorization, a charging session with periodic meter
values (energy, power, current per phase, voltage, state of charge), and the stop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Payload = dict[str, Any]

VENDOR = "BenchVendor"
MODEL = "BenchModel-22"
CONNECTORS = 2
ID_TAG = "BENCH0001"
PHASES = ("L1", "L2", "L3")

# One cycle of a charger's life after boot. "MeterValues" dominates, as it does in a real fleet
# while charging. Steps that need a transaction are skipped when the start was not accepted.
SESSION_SCRIPT: tuple[str, ...] = (
    "Heartbeat",
    "Authorize",
    "StatusNotification:Preparing",
    "StartTransaction",
    "StatusNotification:Charging",
    "MeterValues",
    "MeterValues",
    "MeterValues",
    "MeterValues",
    "Heartbeat",
    "MeterValues",
    "MeterValues",
    "MeterValues",
    "MeterValues",
    "StopTransaction",
    "StatusNotification:Finishing",
    "StatusNotification:Available",
)
NEEDS_TRANSACTION = {"MeterValues", "StopTransaction"}


def now_iso() -> str:
    """The current UTC time as OCPP wants it (ISO 8601 with a Z)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def boot_notification(serial: str) -> Payload:
    """BootNotification with vendor, model and serial numbers."""
    return {
        "chargePointVendor": VENDOR,
        "chargePointModel": MODEL,
        "chargePointSerialNumber": serial[-25:],
        "firmwareVersion": "1.4.2",
        "meterType": "AC-3P",
    }


def heartbeat() -> Payload:
    """Heartbeat (empty payload)."""
    return {}


def status_notification(connector_id: int, status: str) -> Payload:
    """StatusNotification for one connector, no error."""
    return {"connectorId": connector_id, "errorCode": "NoError", "status": status, "timestamp": now_iso()}


def authorize(id_tag: str = ID_TAG) -> Payload:
    """Authorize an id tag."""
    return {"idTag": id_tag}


def start_transaction(connector_id: int, meter_start: int, id_tag: str = ID_TAG) -> Payload:
    """StartTransaction on a connector with the meter reading in Wh."""
    return {"connectorId": connector_id, "idTag": id_tag, "meterStart": meter_start, "timestamp": now_iso()}


def stop_transaction(transaction_id: int, meter_stop: int, id_tag: str = ID_TAG) -> Payload:
    """StopTransaction with the final meter reading and the transaction's last sample."""
    return {
        "transactionId": transaction_id,
        "idTag": id_tag,
        "meterStop": meter_stop,
        "timestamp": now_iso(),
        "reason": "Local",
        "transactionData": [meter_sample(meter_stop, 0.0, 80.0, context="Transaction.End")],
    }


def sampled(value: float, measurand: str, unit: str, phase: str | None = None, context: str = "") -> Payload:
    """One sampledValue entry."""
    entry: Payload = {
        "value": f"{value:.1f}" if unit != "Wh" else str(int(value)),
        "context": context or "Sample.Periodic",
        "format": "Raw",
        "measurand": measurand,
        "location": "Outlet" if measurand != "SoC" else "EV",
        "unit": unit,
    }
    if phase:
        entry["phase"] = phase
    return entry


def meter_sample(energy_wh: int, power_w: float, soc: float, context: str = "Sample.Periodic") -> Payload:
    """One meterValue: energy register, power, current and voltage per phase, state of charge."""
    current = power_w / (3 * 230.0)
    values = [
        sampled(energy_wh, "Energy.Active.Import.Register", "Wh", context=context),
        sampled(power_w, "Power.Active.Import", "W", context=context),
    ]
    values += [sampled(current, "Current.Import", "A", phase, context) for phase in PHASES]
    values += [sampled(230.0 + index, "Voltage", "V", f"{phase}-N", context) for index, phase in enumerate(PHASES)]
    values.append(sampled(soc, "SoC", "Percent", context=context))
    return {"timestamp": now_iso(), "sampledValue": values}


def meter_values(connector_id: int, transaction_id: int, energy_wh: int, power_w: float, soc: float) -> Payload:
    """MeterValues for a running transaction (one meterValue with nine sampled values)."""
    return {
        "connectorId": connector_id,
        "transactionId": transaction_id,
        "meterValue": [meter_sample(energy_wh, power_w, soc)],
    }


@dataclass
class ChargerScript:
    """What one virtual charger sends next, driven by the replies it gets.

    ``next_call()`` returns the next (action, payload); ``on_reply()`` takes the reply to it.
    A charger boots, reports each connector, then cycles through ``SESSION_SCRIPT`` starting at
    ``offset`` (so a fleet does not move in lockstep).
    """

    cid: str
    offset: int = 0
    step: int = 0
    transaction_id: int | None = None
    energy_wh: int = 1_000_000
    soc: float = 20.0
    power_w: float = 11_000.0
    _startup: list[tuple[str, Payload]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._startup = [("BootNotification", boot_notification(self.cid))]
        self._startup += [("StatusNotification", status_notification(c, "Available")) for c in range(1, CONNECTORS + 1)]
        self.step = self.offset

    def next_call(self) -> tuple[str, Payload]:
        """The next Call this charger sends."""
        if self._startup:
            return self._startup.pop(0)
        while True:
            name = SESSION_SCRIPT[self.step % len(SESSION_SCRIPT)]
            self.step += 1
            action, _, status = name.partition(":")
            if action in NEEDS_TRANSACTION and self.transaction_id is None:
                continue
            return action, self._payload(action, status)

    def on_reply(self, action: str, payload: Payload | None) -> None:
        """Take the reply to our last Call (``None`` for a CallError or a lost reply)."""
        if action == "StartTransaction":
            accepted = payload is not None and payload.get("idTagInfo", {}).get("status") == "Accepted"
            self.transaction_id = payload.get("transactionId") if accepted and payload else None
        elif action == "StopTransaction":
            self.transaction_id = None

    def _payload(self, action: str, status: str) -> Payload:
        if action == "Heartbeat":
            return heartbeat()
        if action == "Authorize":
            return authorize()
        if action == "StatusNotification":
            return status_notification(1, status)
        if action == "StartTransaction":
            return start_transaction(1, self.energy_wh)
        if action == "MeterValues":
            return self._meter_values()
        if action == "StopTransaction":
            assert self.transaction_id is not None
            return stop_transaction(self.transaction_id, self.energy_wh)
        raise ValueError(f"unknown scripted action {action}")

    def _meter_values(self) -> Payload:
        assert self.transaction_id is not None
        self.energy_wh += int(self.power_w * 5 / 3600)  # five seconds of charging
        self.soc = min(100.0, self.soc + 0.1)
        return meter_values(1, self.transaction_id, self.energy_wh, self.power_w, self.soc)
