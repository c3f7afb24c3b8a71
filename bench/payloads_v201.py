"""OCPP 2.0.1 request payloads a virtual station sends, and the script it follows.

The mix is the 1.6 one (``bench.payloads.SESSION_SCRIPT``) step for step, in 2.0.1's messages, so
the two versions' figures compare: a station boots, reports each EVSE's connector, then loops over
``SESSION_SCRIPT``. Where 1.6 reports a connector's Charging and Finishing states with a
StatusNotification, 2.0.1 has no such connector status: those become TransactionEvent Updated
(ChargingStateChanged). 1.6's eight MeterValues become six TransactionEvent Updated
(MeterValuePeriodic, in the transaction) and two MeterValues on the EVSE (Sample.Clock, which need
no transaction). The transaction is the station's: a UUID transactionId and a seqNo from 0 at
Started, one more for every TransactionEvent of it, as the CSMS reply does not matter to them.

Every builder returns a payload valid against the official 2.0.1 JSON schema of its action (checked
in ``bench/tests/test_payloads_v201.py``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from bench.payloads import CONNECTORS, ID_TAG, MODEL, PHASES, VENDOR, Payload, now_iso

ID_TOKEN_TYPE = "ISO14443"
EVSE_ID = 1  # the scripted session's EVSE (each EVSE has one connector, number 1)

# One cycle of a station's life after boot, step for step the 1.6 script's (see the module docstring).
SESSION_SCRIPT: tuple[str, ...] = (
    "Heartbeat",
    "Authorize",
    "StatusNotification:Occupied",
    "TransactionEvent:Started",
    "TransactionEvent:Charging",
    "TransactionEvent:Updated",
    "TransactionEvent:Updated",
    "TransactionEvent:Updated",
    "MeterValues",
    "Heartbeat",
    "TransactionEvent:Updated",
    "TransactionEvent:Updated",
    "TransactionEvent:Updated",
    "MeterValues",
    "TransactionEvent:SuspendedEV",
    "TransactionEvent:Ended",
    "StatusNotification:Available",
)
# Steps of a running transaction: skipped when none runs (its Started got no CallResult).
NEEDS_TRANSACTION = {"TransactionEvent:Charging", "TransactionEvent:Updated", "TransactionEvent:SuspendedEV"}
NEEDS_TRANSACTION |= {"TransactionEvent:Ended"}


def id_token(value: str = ID_TAG) -> Payload:
    """The IdTokenType of the bench's RFID card."""
    return {"idToken": value, "type": ID_TOKEN_TYPE}


def boot_notification(serial: str) -> Payload:
    """BootNotification after power-up, with vendor, model, serial number and firmware."""
    return {
        "reason": "PowerUp",
        "chargingStation": {
            "vendorName": VENDOR,
            "model": MODEL,
            "serialNumber": serial[-25:],
            "firmwareVersion": "2.0.1-bench",
        },
    }


def heartbeat() -> Payload:
    """Heartbeat (empty payload)."""
    return {}


def status_notification(evse_id: int, status: str) -> Payload:
    """StatusNotification for the one connector of an EVSE."""
    return {"timestamp": now_iso(), "connectorStatus": status, "evseId": evse_id, "connectorId": 1}


def authorize(value: str = ID_TAG) -> Payload:
    """Authorize an id token."""
    return {"idToken": id_token(value)}


def sampled(value: float, measurand: str, unit: str, phase: str | None = None, context: str = "") -> Payload:
    """One sampledValue entry (2.0.1: a number, its unit in unitOfMeasure)."""
    entry: Payload = {
        "value": round(value, 1) if unit != "Wh" else int(value),
        "context": context or "Sample.Periodic",
        "measurand": measurand,
        "location": "Outlet" if measurand != "SoC" else "EV",
        "unitOfMeasure": {"unit": unit},
    }
    if phase:
        entry["phase"] = phase
    return entry


def meter_sample(energy_wh: int, power_w: float, soc: float, context: str = "Sample.Periodic") -> Payload:
    """One meterValue with 1.6's nine measurands: energy register, power, current and voltage per phase, SoC."""
    current = power_w / (3 * 230.0)
    values = [
        sampled(energy_wh, "Energy.Active.Import.Register", "Wh", context=context),
        sampled(power_w, "Power.Active.Import", "W", context=context),
    ]
    values += [sampled(current, "Current.Import", "A", phase, context) for phase in PHASES]
    values += [sampled(230.0 + index, "Voltage", "V", f"{phase}-N", context) for index, phase in enumerate(PHASES)]
    values.append(sampled(soc, "SoC", "Percent", context=context))
    return {"timestamp": now_iso(), "sampledValue": values}


def energy_sample(energy_wh: int, context: str) -> Payload:
    """One meterValue with the energy register only (what a Started carries as its meter start)."""
    register = sampled(energy_wh, "Energy.Active.Import.Register", "Wh", context=context)
    return {"timestamp": now_iso(), "sampledValue": [register]}


def transaction_event(
    event_type: str,
    trigger_reason: str,
    seq_no: int,
    transaction: Payload,
    *,
    meter_value: Payload | None = None,
    with_token: bool = False,
    evse: Payload | None = None,
) -> Payload:
    """TransactionEvent of one transaction (``transaction`` is its TransactionType)."""
    payload: Payload = {
        "eventType": event_type,
        "timestamp": now_iso(),
        "triggerReason": trigger_reason,
        "seqNo": seq_no,
        "transactionInfo": transaction,
    }
    if evse is not None:
        payload["evse"] = evse
    if with_token:
        payload["idToken"] = id_token()
    if meter_value is not None:
        payload["meterValue"] = [meter_value]
    return payload


def meter_values(evse_id: int, energy_wh: int, power_w: float, soc: float) -> Payload:
    """MeterValues of an EVSE: clock-aligned readings (they belong to no transaction)."""
    return {"evseId": evse_id, "meterValue": [meter_sample(energy_wh, power_w, soc, context="Sample.Clock")]}


@dataclass
class ChargerScript:
    """What one virtual 2.0.1 station sends next, driven by the replies it gets (as ``bench.payloads``'s).

    The station starts a transaction of its own at the scripted Started; the reply decides whether
    it goes on: no CallResult (a CallError, a lost reply) and the station forgets it; an idTokenInfo
    that is not Accepted and the station's next transaction step is its Ended (Deauthorized).
    """

    cid: str
    offset: int = 0
    step: int = 0
    transaction_id: str | None = None
    seq_no: int = 0
    deauthorized: bool = False
    _last_event: str = ""  # the eventType of the last TransactionEvent sent, which the next reply answers
    energy_wh: int = 1_000_000
    soc: float = 20.0
    power_w: float = 11_000.0
    _startup: list[tuple[str, Payload]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._startup = [("BootNotification", boot_notification(self.cid))]
        self._startup += [("StatusNotification", status_notification(e, "Available")) for e in range(1, CONNECTORS + 1)]
        self.step = self.offset

    def next_call(self) -> tuple[str, Payload]:
        """The next Call this station sends."""
        if self._startup:
            return self._startup.pop(0)
        while True:
            name = SESSION_SCRIPT[self.step % len(SESSION_SCRIPT)]
            self.step += 1
            if name in NEEDS_TRANSACTION and self.transaction_id is None:
                continue
            if self.deauthorized and name in NEEDS_TRANSACTION:
                return "TransactionEvent", self._ended("Deauthorized", "DeAuthorized")
            action, _, variant = name.partition(":")
            return action, self._payload(action, variant)

    def on_reply(self, action: str, payload: Payload | None) -> None:
        """Take the reply to our last Call (``None`` for a CallError or a lost reply)."""
        if action != "TransactionEvent":
            return
        if self._last_event == "Started":
            status = (payload or {}).get("idTokenInfo", {}).get("status", "Accepted")
            if payload is None:
                self.transaction_id = None
            elif status != "Accepted":
                self.deauthorized = True
        elif self._last_event == "Ended":
            self.transaction_id = None
            self.deauthorized = False

    def _payload(self, action: str, variant: str) -> Payload:
        if action == "Heartbeat":
            return heartbeat()
        if action == "Authorize":
            return authorize()
        if action == "StatusNotification":
            return status_notification(EVSE_ID, variant)
        if action == "MeterValues":
            power = self.power_w if self.transaction_id is not None else 0.0
            return meter_values(EVSE_ID, self.energy_wh, power, self.soc)
        if action == "TransactionEvent":
            return self._transaction_event(variant)
        raise ValueError(f"unknown scripted action {action}")

    def _transaction_event(self, variant: str) -> Payload:
        if variant == "Started":
            self.transaction_id, self.seq_no, self.deauthorized = str(uuid.uuid4()), 0, False
            return self._event(
                "Started",
                "Authorized",
                {"chargingState": "EVConnected"},
                meter_value=energy_sample(self.energy_wh, "Transaction.Begin"),
                with_token=True,
                evse={"id": EVSE_ID, "connectorId": 1},
            )
        if variant == "Charging":
            return self._event("Updated", "ChargingStateChanged", {"chargingState": "Charging"})
        if variant == "SuspendedEV":
            return self._event("Updated", "ChargingStateChanged", {"chargingState": "SuspendedEV"})
        if variant == "Updated":
            self._charge()
            return self._event(
                "Updated", "MeterValuePeriodic", {}, meter_value=meter_sample(self.energy_wh, self.power_w, self.soc)
            )
        if variant == "Ended":
            return self._ended("StopAuthorized", "Local")
        raise ValueError(f"unknown TransactionEvent step {variant}")

    def _ended(self, trigger_reason: str, stopped_reason: str) -> Payload:
        sample = meter_sample(self.energy_wh, 0.0, self.soc, context="Transaction.End")
        transaction = {"chargingState": "EVConnected", "stoppedReason": stopped_reason}
        # A stop by the driver's card carries the card (E06); a deauthorization none.
        with_token = trigger_reason == "StopAuthorized"
        return self._event("Ended", trigger_reason, transaction, meter_value=sample, with_token=with_token)

    def _event(self, event_type: str, trigger_reason: str, transaction: Payload, **extra: Any) -> Payload:
        assert self.transaction_id is not None
        seq_no, self.seq_no = self.seq_no, self.seq_no + 1
        self._last_event = event_type
        info = {"transactionId": self.transaction_id, **transaction}
        return transaction_event(event_type, trigger_reason, seq_no, info, **extra)

    def _charge(self) -> None:
        self.energy_wh += int(self.power_w * 5 / 3600)  # five seconds of charging
        self.soc = min(100.0, self.soc + 0.1)
