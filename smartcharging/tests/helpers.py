"""Commands driven as the bridge drives them (queued, sent, answered through results_handle), station
Calls as the worker gets them, and profiles to send."""

from __future__ import annotations

from typing import Any

from chargers.commands import command_enqueue, command_next_send
from chargers.models import ChargePoint, Command
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.processing import calls_handle, results_handle

AT = "2026-11-23T10:00:00Z"
LATER = "2026-11-23T22:00:00Z"


def station(cid: str = "CS-1") -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id=cid, ocpp_version="2.0.1", registration_status="Accepted", online=True
    )


def sent(charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> Command:
    """Queue a command as every caller does and mark it sent as the dispatcher does."""
    command = command_enqueue(charge_point=charge_point, action=action, payload=payload)
    out = command_next_send(charge_point_pk=charge_point.pk)
    assert out is not None and out.pk == command.pk
    command.refresh_from_db()
    return command


def answer(command: Command, payload: dict[str, Any]) -> Command:
    """The station's CallResult, as the bridge hands it to the processing; the command as it ends."""
    results_handle(
        [
            Frame(
                charge_point_id=command.charge_point.charge_point_id,
                kind=Kind.RESULT,
                message_id=command.message_id,
                payload=payload,
                ocpp_version="2.0.1",
                received_at=utcnow(),
            )
        ]
    )
    command.refresh_from_db()
    return command


def call(charge_point: ChargePoint, action: str, payload: dict[str, Any], result: dict[str, Any]) -> Command:
    return answer(sent(charge_point, action, payload), result)


def handle(action: str, payload: dict[str, Any], message_id: str = "m1", cid: str = "CS-1") -> Frame:
    """Apply one station Call and return its reply."""
    return calls_handle(
        [
            Frame(
                charge_point_id=cid,
                kind=Kind.CALL,
                message_id=message_id,
                action=action,
                payload=payload,
                ocpp_version="2.0.1",
                dialect="ocppj",
                received_at=utcnow(),
            )
        ]
    )[0]


def schedule(*periods: tuple[int, float], unit: str = "A", start: str | None = AT, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": 1,
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": [{"startPeriod": s, "limit": limit} for s, limit in periods],
        **extra,
    }
    if start is not None:
        out["startSchedule"] = start
    return out


def profile(
    profile_id: int = 1,
    purpose: str = "TxDefaultProfile",
    *,
    stack_level: int = 0,
    kind: str = "Absolute",
    periods: tuple[tuple[int, float], ...] = ((0, 16.0),),
    **extra: Any,
) -> dict[str, Any]:
    start = None if kind == "Relative" else AT
    return {
        "id": profile_id,
        "stackLevel": stack_level,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
        "chargingSchedule": [schedule(*periods, start=start)],
        **extra,
    }
