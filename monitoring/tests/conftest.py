"""Fixtures of the monitoring tests: a 2.0.1 station, its device model as reports store it, API clients."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from apikeys.testing import api_client  # noqa: F401 (fixture)
from chargers.commands import command_enqueue, command_next_send
from chargers.device_model import (
    VariableAttribute,
    VariableCharacteristics,
    VariableKey,
    VariableReport,
    device_variables_report,
)
from chargers.models import ChargePoint, Command

# The end-to-end test starts our gateway (and connects from 127.0.0.1, never locked out).
from gateway.tests.conftest import loopback_not_locked_out, start_gateway  # noqa: F401 (fixtures)
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.processing import results_handle

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def station(db: None) -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id="CS-MON", ocpp_version="2.0.1", registration_status="Accepted", online=True
    )


def reported(
    charge_point: ChargePoint,
    component: str,
    variable: str,
    value: str | None,
    *,
    mutability: str = "ReadWrite",
    instance: str = "",
    evse_id: int | None = None,
    data_type: str | None = None,
    supports_monitoring: bool | None = None,
    min_limit: float | None = None,
    max_limit: float | None = None,
    values_list: str = "",
) -> None:
    """The station reported this variable (as a NotifyReport part stores it)."""
    key = VariableKey(component=component, variable=variable, variable_instance=instance, evse_id=evse_id)
    characteristics = None
    if data_type is not None:
        characteristics = VariableCharacteristics(
            data_type=data_type,
            supports_monitoring=supports_monitoring,
            min_limit=min_limit,
            max_limit=max_limit,
            values_list=values_list,
        )
    device_variables_report(
        charge_point=charge_point,
        items=[VariableReport(key, (VariableAttribute(value=value, mutability=mutability),), characteristics)],
        now=NOW,
    )


def sent(charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> Command:
    """Queue a command as every caller does and mark it sent as the dispatcher does."""
    command = command_enqueue(charge_point=charge_point, action=action, payload=payload)
    out = command_next_send(charge_point_pk=charge_point.pk)
    assert out is not None and out.pk == command.pk
    command.refresh_from_db()
    return command


def answer(command: Command, payload: dict[str, Any]) -> Command:
    """The station's CallResult through the processing; the command as it ends."""
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
