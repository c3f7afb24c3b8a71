"""Small builders for dashboard tests: chargers, connectors, sessions and meter values as the services leave them."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from django.utils import timezone

from chargers.models import ChargePoint, Command, Connector, RegistrationStatus
from mqtt_bridge.models import MessageLog
from transactions.models import MeterValue, Transaction

_serial = itertools.count(1)


def charger(
    charge_point_id: str | None = None,
    *,
    online: bool = True,
    registration: str = RegistrationStatus.ACCEPTED,
    statuses: tuple[str, ...] = ("Available",),
    vendor: str = "ACME",
    model: str = "Fast-22",
) -> ChargePoint:
    """A charger with connector 0 Available and connectors 1.. in ``statuses``."""
    now = timezone.now()
    cp = ChargePoint.objects.create(
        charge_point_id=charge_point_id or f"CP-{next(_serial):05d}",
        registration_status=registration,
        online=online,
        vendor=vendor,
        model=model,
        last_seen_at=now if online else now - timedelta(hours=2),
        last_boot_at=now - timedelta(hours=3),
    )
    Connector.objects.create(charge_point=cp, connector_id=0, status="Available", status_updated_at=now)
    for number, status in enumerate(statuses, start=1):
        Connector.objects.create(charge_point=cp, connector_id=number, status=status, status_updated_at=now)
    return cp


def session(
    cp: ChargePoint,
    *,
    connector_id: int = 1,
    id_tag: str = "CARD-1",
    started_at: datetime | None = None,
    meter_start: int = 1000,
    meter_stop: int | None = None,
    minutes: int = 30,
) -> Transaction:
    started = started_at or timezone.now() - timedelta(minutes=minutes)
    stopped = started + timedelta(minutes=minutes) if meter_stop is not None else None
    return Transaction.objects.create(
        charge_point=cp,
        connector_id=connector_id,
        id_tag=id_tag,
        id_tag_status="Accepted",
        meter_start=meter_start,
        started_at=started,
        start_received_at=started,
        meter_stop=meter_stop,
        stopped_at=stopped,
        stop_received_at=stopped,
        stop_reason="Local" if stopped else "",
    )


def sample(
    tx: Transaction,
    *,
    at: datetime,
    measurand: str,
    value: float,
    unit: str,
    phase: str = "",
) -> MeterValue:
    return MeterValue.objects.create(
        charge_point=tx.charge_point,
        connector_id=tx.connector_id,
        transaction=tx,
        timestamp=at,
        received_at=at,
        measurand=measurand,
        phase=phase,
        unit=unit,
        value=str(value),
        numeric_value=value,
    )


def charging_session(cp: ChargePoint, *, watts: float, energy_wh: float, samples: int = 3) -> Transaction:
    """An active session with ``samples`` power and energy readings, the newest ``watts`` / ``energy_wh``."""
    tx = session(cp, minutes=samples)
    for i in range(samples):
        at = tx.started_at + timedelta(minutes=i + 1)
        last = i == samples - 1
        sample(tx, at=at, measurand="Power.Active.Import", value=watts if last else watts / 2, unit="W")
        sample(
            tx,
            at=at,
            measurand="Energy.Active.Import.Register",
            value=(tx.meter_start or 0) + (energy_wh if last else energy_wh * (i + 1) / samples / 2),
            unit="Wh",
        )
    return tx


def message(cp: ChargePoint, action: str, payload: dict, *, direction: str = "in", kind: str = "call") -> MessageLog:
    return MessageLog.objects.create(
        charge_point_id=cp.charge_point_id,
        direction=direction,
        kind=kind,
        action=action,
        message_id=f"m{next(_serial)}",
        payload=payload,
        created_at=timezone.now(),
    )


def answered_command(cp: ChargePoint, action: str, request: dict, response: dict) -> Command:
    now = timezone.now()
    return Command.objects.create(
        charge_point=cp,
        action=action,
        message_id=f"c{next(_serial):08d}",
        request=request,
        response=response,
        status=Command.Status.ACCEPTED,
        sent_at=now,
        completed_at=now,
    )
