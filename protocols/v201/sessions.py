"""OCPP 2.0.1 Calls about sessions: Authorize, TransactionEvent, MeterValues.

Parse the (schema-valid) payload into the services' reports, call them a wave at a time, build the
replies. What a schema cannot check (a timestamp that is not a date, a reading no column can hold)
raises OcppError naming the field, before anything is written. A token of a type we do not accept
(``Cash``: our copy of the schema lets any short string through) is the service's to answer Invalid.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from chargers.models import ChargePoint
from chargers.tokens import TokenRequest, id_tokens_authorize
from transactions import events

from .. import BulkHandler, Handler
from ..payloads import timestamp as _timestamp
from ..validation import OcppError

# A session started by RequestStartTransaction echoes its remoteStartId in transactionInfo.
REMOTE_START = events.RemoteStartById(action="RequestStartTransaction", id_field="remoteStartId")

# unitOfMeasure.multiplier is a power of ten; no meter needs more, and a larger one would make a
# number of as many digits.
_MULTIPLIER = 18
# meter_start / meter_stop are bigint Wh.
_MAX_WH = 2**63 - 1


def _bad(field: str, description: str) -> OcppError:
    return OcppError("PropertyConstraintViolation", f"field '{field}': {description}"[:255], {"field": field})


def _samples(items: list[dict[str, Any]], path: str) -> tuple[events.MeterSample, ...]:
    samples = []
    for index, item in enumerate(items):
        where = f"{path}.{index}."
        values = []
        for position, sampled in enumerate(item["sampledValue"]):
            unit = sampled.get("unitOfMeasure", {})
            value = events.SampledValue(
                value=sampled["value"],
                measurand=sampled.get("measurand", events.ENERGY),
                phase=sampled.get("phase", ""),
                unit=unit.get("unit"),
                multiplier=unit.get("multiplier", 0),
                context=sampled.get("context", "Sample.Periodic"),
                location=sampled.get("location", "Outlet"),
                signed=sampled.get("signedMeterValue"),
            )
            field = f"{where}sampledValue.{position}"
            if abs(value.multiplier) > _MULTIPLIER:
                raise _bad(f"{field}.unitOfMeasure.multiplier", f"{value.multiplier} is past +-{_MULTIPLIER}")
            if not math.isfinite(value.value):
                raise _bad(f"{field}.value", f"{value.value!r} is not a number")
            wh = events.energy_register_wh(value)
            if wh is not None and not -_MAX_WH <= round(wh) <= _MAX_WH:
                raise _bad(f"{field}.value", f"{value.value!r} is past what this CSMS can store")
            values.append(value)
        samples.append(events.MeterSample(timestamp=_timestamp(item, "timestamp", where), values=tuple(values)))
    return tuple(samples)


# --- Authorize -------------------------------------------------------------------------------------


def authorize(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    return _authorizations([_token_request(cp, payload)], now)[0]


def _token_request(cp: ChargePoint, payload: dict[str, Any]) -> TokenRequest:
    token = payload["idToken"]
    return TokenRequest(value=token["idToken"], type=token["type"], charge_point=cp)


def _authorizations(items: list[TokenRequest], now: datetime) -> list[dict[str, Any]]:
    # No certificateStatus: this CSMS checks no contract certificates (ISO 15118 Plug & Charge), and the
    # field is optional; the token itself is looked up like any other.
    return [{"idTokenInfo": info.to_v201()} for info in id_tokens_authorize(requests=items, now=now)]


# --- TransactionEvent ------------------------------------------------------------------------------


def transaction_event(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    return _transaction_events([_event_report(cp, payload)], now)[0]


def _event_report(cp: ChargePoint, payload: dict[str, Any]) -> events.EventReport:
    info = payload["transactionInfo"]
    if not info["transactionId"]:
        raise _bad("transactionInfo.transactionId", "a session needs an id (empty)")
    evse = payload.get("evse") or {}
    token = payload.get("idToken")
    return events.EventReport(
        charge_point=cp,
        transaction_id=info["transactionId"],
        seq_no=payload["seqNo"],
        event_type=payload["eventType"],
        trigger_reason=payload["triggerReason"],
        timestamp=_timestamp(payload, "timestamp"),
        offline=payload.get("offline", False),
        charging_state=info.get("chargingState", ""),
        time_spent_charging=info.get("timeSpentCharging"),
        stopped_reason=info.get("stoppedReason", ""),
        remote_start_id=info.get("remoteStartId"),
        reservation_id=payload.get("reservationId"),
        evse_id=evse.get("id"),
        connector_id=evse.get("connectorId"),
        id_token=token["idToken"] if token is not None else None,
        id_token_type=token["type"] if token is not None else "",
        samples=_samples(payload.get("meterValue", []), "meterValue"),
        payload=payload,
    )


def _transaction_events(items: list[events.EventReport], now: datetime) -> list[dict[str, Any]]:
    return events.transaction_events_record(reports=items, now=now, remote_start=REMOTE_START)


# --- MeterValues -----------------------------------------------------------------------------------


def meter_values(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    return _meter_values([_meter_report(cp, payload)], now)[0]


def _meter_report(cp: ChargePoint, payload: dict[str, Any]) -> events.EvseMeterReport:
    return events.EvseMeterReport(
        charge_point=cp, evse_id=payload["evseId"], samples=_samples(payload["meterValue"], "meterValue")
    )


def _meter_values(items: list[events.EvseMeterReport], now: datetime) -> list[dict[str, Any]]:
    events.evse_meter_values_record(reports=items, now=now)
    return [{} for _ in items]


BULK_HANDLERS: dict[str, BulkHandler] = {
    "Authorize": BulkHandler(_token_request, _authorizations),
    "TransactionEvent": BulkHandler(_event_report, _transaction_events),
    "MeterValues": BulkHandler(_meter_report, _meter_values),
}

HANDLERS: dict[str, Handler] = {
    "Authorize": authorize,
    "TransactionEvent": transaction_event,
    "MeterValues": meter_values,
}
