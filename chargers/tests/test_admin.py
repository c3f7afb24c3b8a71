"""The admin pages open for every model, and the accept/reject actions go through the service."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from chargers.models import ChargePoint, ChargerEvent, Command, Connector, IdTag
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.processing import frame_handle
from transactions.models import MeterValue, Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet() -> ChargePoint:
    frame_handle(
        Frame(
            charge_point_id="CP-A",
            kind=Kind.CALL,
            message_id="1",
            action="StartTransaction",
            payload={"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "2026-11-23T10:00:00Z"},
            received_at=utcnow(),
        )
    )
    frame_handle(
        Frame(
            charge_point_id="CP-A",
            kind=Kind.CALL,
            message_id="2",
            action="StatusNotification",
            payload={"connectorId": 1, "status": "Charging", "errorCode": "NoError"},
            received_at=utcnow(),
        )
    )
    charge_point = ChargePoint.objects.get(charge_point_id="CP-A")
    MeterValue.objects.create(
        charge_point=charge_point, connector_id=1, value="1", timestamp=datetime.now(UTC), received_at=datetime.now(UTC)
    )
    IdTag.objects.create(id_tag="T")
    ChargerEvent.objects.create(charge_point=charge_point, kind="security", received_at=datetime.now(UTC))
    Command.objects.create(charge_point=charge_point, action="Reset", message_id="c1")
    return charge_point


def test_every_admin_page_opens(admin_client: Client, fleet: ChargePoint) -> None:
    objects: list[Model | None] = [
        fleet,
        Connector.objects.first(),
        Transaction.objects.first(),
        MeterValue.objects.first(),
        IdTag.objects.first(),
        ChargerEvent.objects.first(),
        Command.objects.first(),
    ]
    from mqtt_bridge.models import MessageLog

    objects.append(MessageLog.objects.first())
    for obj in objects:
        assert obj is not None  # the fleet fixture makes one of each
        opts = obj._meta
        assert admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code == 200
        change = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        assert change.status_code == 200, opts.model_name
    page = admin_client.get(reverse("admin:chargers_chargepoint_change", args=[fleet.pk]))
    assert b"Recent sessions" in page.content and b"Charging" in page.content


def test_message_log_is_read_only(admin_client: Client, fleet: ChargePoint) -> None:
    assert admin_client.get(reverse("admin:mqtt_bridge_messagelog_add")).status_code == 403


def test_accept_action(admin_client: Client, fleet: ChargePoint) -> None:
    ChargePoint.objects.filter(pk=fleet.pk).update(registration_status="Pending")
    response = admin_client.post(
        reverse("admin:chargers_chargepoint_changelist"), {"action": "accept", "_selected_action": [fleet.pk]}
    )
    assert response.status_code == 302
    assert ChargePoint.objects.get(pk=fleet.pk).registration_status == "Accepted"


def test_command_action_queues_through_the_service(admin_client: Client, fleet: ChargePoint) -> None:
    admin_client.post(
        reverse("admin:chargers_chargepoint_changelist"), {"action": "soft_reset", "_selected_action": [fleet.pk]}
    )
    command = Command.objects.get(action="Reset", requested_by="admin")
    assert (command.request, command.status, command.requested_by) == ({"type": "Soft"}, "queued", "admin")
    admin_client.post(
        reverse("admin:chargers_command_changelist"), {"action": "cancel", "_selected_action": [command.pk]}
    )
    command.refresh_from_db()
    assert command.status == "cancelled"
