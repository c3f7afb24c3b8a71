"""Schema-valid OCPP 2.0.1 replies, for both ends of a benchmark (as ``bench.replies`` for 1.6).

- ``csms_result()``: what the bare responder answers to a station's Call (no database).
- ``charger_result()``: what a virtual station answers to a Call the CSMS sends it.
"""

from __future__ import annotations

from bench.payloads import Payload, now_iso
from bench.replies import HEARTBEAT_INTERVAL


def csms_result(action: str, payload: Payload) -> Payload:
    """A CSMS's CallResult payload for a station's ``action`` (valid against <Action>Response)."""
    accepted = {"idTokenInfo": {"status": "Accepted"}}
    if action == "BootNotification":
        return {"currentTime": now_iso(), "interval": HEARTBEAT_INTERVAL, "status": "Accepted"}
    if action == "Heartbeat":
        return {"currentTime": now_iso()}
    if action == "Authorize":
        return accepted
    if action == "TransactionEvent":
        # An event that carries an idToken gets the token's status: the station acts on it.
        return accepted if "idToken" in payload else {}
    if action == "DataTransfer":
        return {"status": "UnknownVendorId"}
    return {}


CHARGER_RESULTS: dict[str, Payload] = {
    "CancelReservation": {"status": "Rejected"},
    "ChangeAvailability": {"status": "Accepted"},
    "ClearCache": {"status": "Accepted"},
    "ClearChargingProfile": {"status": "Unknown"},
    "ClearDisplayMessage": {"status": "Unknown"},
    "CustomerInformation": {"status": "Rejected"},
    "DataTransfer": {"status": "UnknownVendorId"},
    # The bench station keeps no device model to report: no NotifyReport follows.
    "GetBaseReport": {"status": "EmptyResultSet"},
    "GetChargingProfiles": {"status": "NoProfiles"},
    "GetDisplayMessages": {"status": "Unknown"},
    "GetLocalListVersion": {"versionNumber": 0},
    "GetReport": {"status": "EmptyResultSet"},
    "GetTransactionStatus": {"messagesInQueue": False},
    "RequestStartTransaction": {"status": "Rejected"},
    "RequestStopTransaction": {"status": "Rejected"},
    "ReserveNow": {"status": "Rejected"},
    "Reset": {"status": "Accepted"},
    "SendLocalList": {"status": "Failed"},
    "SetChargingProfile": {"status": "Rejected"},
    "TriggerMessage": {"status": "Rejected"},
    "UnlockConnector": {"status": "UnlockFailed"},
}


def charger_result(action: str, payload: Payload) -> Payload | None:
    """A virtual station's CallResult payload for a CSMS Call, None if it does not support it.

    GetVariables and SetVariables answer each item of the request: the station knows no variable.
    """
    if action == "GetVariables":
        items = payload.get("getVariableData") or []
        return {"getVariableResult": [_variable_result(item, "UnknownComponent") for item in items]}
    if action == "SetVariables":
        items = payload.get("setVariableData") or []
        return {"setVariableResult": [_variable_result(item, "UnknownComponent") for item in items]}
    result = CHARGER_RESULTS.get(action)
    return dict(result) if result is not None else None


def _variable_result(item: Payload, status: str) -> Payload:
    result: Payload = {"attributeStatus": status, "component": item.get("component"), "variable": item.get("variable")}
    if "attributeType" in item:
        result["attributeType"] = item["attributeType"]
    return result
