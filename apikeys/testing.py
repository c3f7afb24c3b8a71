"""Fixtures for API tests: clients authenticated with a real token, per role (import them in conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from rest_framework.test import APIClient

from chargers.models import ChargePoint, Connector, ConnectorStatusChange, IdTag
from mqtt_bridge.models import MessageLog
from transactions.models import MeterValue, Transaction

from .services import api_token_create, roles_sync

# "anonymous": no credentials; "nobody": a valid token of a user in no group.
ROLE_NAMES = ("anonymous", "nobody", "viewer", "operator", "admin")

ApiClientFactory = Callable[[str], APIClient]


@pytest.fixture
def api_client(db: None, settings: object) -> ApiClientFactory:
    """``api_client("operator")``: an APIClient sending the token of a new user in that group."""
    roles_sync()

    def make(role: str) -> APIClient:
        client = APIClient()
        if role == "anonymous":
            return client
        user = User.objects.create_user(username=f"{role}-{uuid.uuid4().hex[:8]}")
        if role != "nobody":
            user.groups.add(Group.objects.get(name=role))
        _, key = api_token_create(user=user, name=f"test {role}")
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make


@pytest.fixture
def admin_api(api_client: ApiClientFactory) -> APIClient:
    return api_client("admin")


@pytest.fixture
def operator_api(api_client: ApiClientFactory) -> APIClient:
    return api_client("operator")


@pytest.fixture
def viewer_api(api_client: ApiClientFactory) -> APIClient:
    return api_client("viewer")


@pytest.fixture
def fleet(db: None) -> SimpleNamespace:
    """A small fleet with every kind of row the API shows (no commands: those go through the service)."""
    now = timezone.now().replace(microsecond=0)
    hour = timedelta(hours=1)
    cp1 = ChargePoint.objects.create(
        charge_point_id="CP-1.a:b",
        registration_status="Accepted",
        online=True,
        vendor="ACME",
        model="Fast",
        last_seen_at=now,
    )
    cp2 = ChargePoint.objects.create(
        charge_point_id="CP-2", registration_status="Pending", vendor="Other", model="Slow"
    )
    cp3 = ChargePoint.objects.create(
        charge_point_id="CP-3", registration_status="Rejected", vendor="acme", model="Fast"
    )
    connectors = {}
    for cp, number, status in [(cp1, 0, "Available"), (cp1, 1, "Charging"), (cp1, 2, "Faulted"), (cp2, 1, "Available")]:
        connectors[(cp.charge_point_id, number)] = Connector.objects.create(
            charge_point=cp, connector_id=number, status=status, status_updated_at=now
        )
    history = connectors[("CP-1.a:b", 1)]
    for i, status in enumerate(["Available", "Preparing", "Charging"]):
        ConnectorStatusChange.objects.create(
            connector=history, status=status, error_code="NoError", received_at=now - hour + i * timedelta(minutes=5)
        )
    fleet_tag = IdTag.objects.create(id_tag="FLEET")
    tag1 = IdTag.objects.create(id_tag="TAG1", parent=fleet_tag, expiry_date=now + 24 * hour)
    IdTag.objects.create(id_tag="TAG2", status="Blocked")
    active = Transaction.objects.create(
        charge_point=cp1,
        connector_id=1,
        id_tag="TAG1",
        id_tag_status="Accepted",
        meter_start=1000,
        started_at=now - hour,
        start_received_at=now - hour,
    )
    done = Transaction.objects.create(
        charge_point=cp1,
        connector_id=2,
        id_tag="TAG2",
        id_tag_status="Accepted",
        meter_start=0,
        meter_stop=11000,
        started_at=now - 5 * hour,
        start_received_at=now - 5 * hour,
        stopped_at=now - 4 * hour,
        stop_received_at=now - 4 * hour,
        stop_reason="Local",
    )
    other = Transaction.objects.create(
        charge_point=cp2,
        connector_id=1,
        id_tag="=HYPERLINK(1)",
        id_tag_status="Invalid",
        meter_start=5,
        started_at=now - 30 * hour,
        start_received_at=now - 30 * hour,
        stopped_at=now - 29 * hour,
        stop_received_at=now - 29 * hour,
        meter_stop=5,
    )
    samples = []
    for i in range(6):
        at = now - hour + i * timedelta(minutes=10)
        for measurand, unit, value in [
            ("Energy.Active.Import.Register", "kWh", 1.0 + 0.1 * i),
            ("Power.Active.Import", "W", 7000.0),
        ]:
            samples.append(
                MeterValue(
                    charge_point=cp1,
                    connector_id=1,
                    transaction=active,
                    timestamp=at,
                    received_at=at,
                    measurand=measurand,
                    unit=unit,
                    value=str(value),
                    numeric_value=value,
                )
            )
    MeterValue.objects.bulk_create(samples)
    logs = []
    for i, (cid, direction, kind, action) in enumerate(
        [
            ("CP-1.a:b", "in", "call", "BootNotification"),
            ("CP-1.a:b", "out", "result", "BootNotification"),
            ("CP-1.a:b", "in", "call", "StartTransaction"),
            ("CP-2", "in", "call", "Heartbeat"),
            ("CP-2", "in", "invalid", ""),
        ]
    ):
        logs.append(
            MessageLog(
                charge_point_id=cid,
                direction=direction,
                kind=kind,
                action=action,
                message_id=str(i),
                payload={} if kind != "invalid" else None,
                raw="" if kind != "invalid" else "not json",
                created_at=now - hour + i * timedelta(minutes=1),
            )
        )
    MessageLog.objects.bulk_create(logs)
    return SimpleNamespace(
        now=now, cp1=cp1, cp2=cp2, cp3=cp3, active=active, done=done, other=other, tag1=tag1, fleet_tag=fleet_tag
    )
