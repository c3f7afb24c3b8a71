"""Commands queued, sent and answered, and charger Calls, as the bridge hands them to the processing."""

from __future__ import annotations

from typing import Any

from certificates.tests.helpers import answer, call, root_pem, send
from chargers.models import ChargePoint, Command
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.processing import results_handle

#: A base64 signature (what the charger verifies is not ours to check: only that it is base64).
SIGNATURE = "c2lnbmF0dXJlIG9mIHRoZSBmaXJtd2FyZQ=="
FIRMWARE_URL = "https://files.example.com/firmware/v2.bin"
LOG_URL = "ftp://logs.example.com/upload/"
CHECKSUM = "0123456789abcdef0123456789abcdef"


def charger(cid: str, version: str) -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id=cid, ocpp_version=version, registration_status="Accepted", online=True
    )


def answered(charge_point: ChargePoint, payload: dict[str, Any]) -> Command:
    """The charger's next queued command, sent and answered with ``payload``."""
    return answer(send(charge_point), payload)


def refuse(command: Command, error_code: str) -> Command:
    """The charger's CallError to ``command``; the command as it ends."""
    results_handle(
        [
            Frame(
                charge_point_id=command.charge_point.charge_point_id,
                kind=Kind.ERROR,
                message_id=command.message_id,
                error_code=error_code,
                error_description="not supported here",
                ocpp_version=command.charge_point.ocpp_version,
                received_at=utcnow(),
            )
        ]
    )
    command.refresh_from_db()
    return command


def notify(charge_point: ChargePoint, action: str, payload: dict[str, Any], message_id: str) -> Any:
    """A Call of the charger, handled; its reply frame."""
    return call(
        action, payload, cid=charge_point.charge_point_id, version=charge_point.ocpp_version, message_id=message_id
    )


__all__ = [
    "CHECKSUM",
    "answer",
    "FIRMWARE_URL",
    "LOG_URL",
    "SIGNATURE",
    "answered",
    "charger",
    "notify",
    "root_pem",
    "send",
]
