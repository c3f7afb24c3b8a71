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


CHARGER_RESULTS: dict[str, Payload] = {
    "ChangeConfiguration": {"status": "Accepted"},
    "ChangeAvailability": {"status": "Accepted"},
    "ClearCache": {"status": "Accepted"},
    "DataTransfer": {"status": "Accepted"},
    "GetConfiguration": {"configurationKey": [], "unknownKey": []},
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
