"""Fleet services against the real database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from chargers.models import ChargePoint, IdTag
from chargers.services import (
    BootIdentity,
    BootReport,
    boot_notifications_record,
    charge_point_registration_set,
    id_tag_authorize,
    presence_record,
    presence_watchdog_run,
)

pytestmark = pytest.mark.django_db


def accepted(cid: str = "CP-1") -> ChargePoint:
    return ChargePoint.objects.create(charge_point_id=cid, registration_status="Accepted")


def test_the_version_a_charger_boots_in_is_written_with_its_identity() -> None:
    charge_point = accepted()
    identity = BootIdentity(vendor="V", model="M")
    boot_notifications_record(reports=[BootReport(charge_point, identity, ocpp_version="2.0.1")], now=timezone.now())
    charge_point.refresh_from_db()
    assert (charge_point.ocpp_version, charge_point.vendor) == ("2.0.1", "V")
    boot_notifications_record(reports=[BootReport(charge_point, identity)], now=timezone.now())
    charge_point.refresh_from_db()
    assert charge_point.ocpp_version == "1.6"


def test_authorize_known_blocked_expired_and_parent(settings: Any) -> None:
    now = timezone.now()
    parent = IdTag.objects.create(id_tag="FLEET")
    IdTag.objects.create(id_tag="CHILD", parent=parent, expiry_date=now + timedelta(days=1))
    IdTag.objects.create(id_tag="OLD", expiry_date=now - timedelta(seconds=1))
    IdTag.objects.create(id_tag="BAD", status="Blocked")
    charge_point = accepted()
    child = id_tag_authorize(id_tag="CHILD", charge_point=charge_point, now=now).to_ocpp()
    assert child["status"] == "Accepted" and child["parentIdTag"] == "FLEET" and child["expiryDate"].endswith("Z")
    assert id_tag_authorize(id_tag="OLD", charge_point=charge_point, now=now).status == "Expired"
    assert id_tag_authorize(id_tag="BAD", charge_point=charge_point, now=now).status == "Blocked"
    settings.CSMS_UNKNOWN_ID_TAG_POLICY = "invalid"
    assert id_tag_authorize(id_tag="WHO", charge_point=charge_point, now=now).status == "Invalid"
    settings.CSMS_UNKNOWN_ID_TAG_POLICY = "accept"
    assert id_tag_authorize(id_tag="WHO", charge_point=charge_point, now=now).status == "Accepted"


def test_an_operator_accepts_a_pending_charger() -> None:
    charge_point = ChargePoint.objects.create(charge_point_id="CP-P")
    assert id_tag_authorize(id_tag="FLEET", charge_point=charge_point, now=timezone.now()).status == "Invalid"
    charge_point_registration_set(charge_point=charge_point, status="Accepted")
    assert ChargePoint.objects.get(charge_point_id="CP-P").registration_status == "Accepted"
    with pytest.raises(ValueError):
        charge_point_registration_set(charge_point=charge_point, status="Maybe")


def test_presence_events_out_of_order_do_not_flip_online() -> None:
    now = timezone.now()
    presence_record(charge_point_id="CP-1", connected=True, at=now, now=now)
    # The old socket's disconnect arrives after the new connection's connect.
    presence_record(charge_point_id="CP-1", connected=False, at=now - timedelta(seconds=5), reason="takenover", now=now)
    charge_point = ChargePoint.objects.get(charge_point_id="CP-1")
    assert charge_point.online and charge_point.last_disconnect_reason == "takenover"
    presence_record(charge_point_id="CP-1", connected=False, at=now + timedelta(seconds=5), reason="closed", now=now)
    assert not ChargePoint.objects.get(charge_point_id="CP-1").online


def test_a_disconnect_applies_only_on_the_transport_the_charger_last_spoke_on() -> None:
    now = timezone.now()
    ChargePoint.objects.create(charge_point_id="moved", online=True, transport="amqp", last_seen_at=now)
    # Its old EMQX socket times out after it moved to RabbitMQ: not its current connection.
    presence_record(
        charge_point_id="moved", connected=False, at=now, reason="keepalive_timeout", now=now, transport="mqtt"
    )
    charge_point = ChargePoint.objects.get(charge_point_id="moved")
    assert (
        charge_point.online and charge_point.last_disconnected_at is None and charge_point.last_disconnect_reason == ""
    )
    presence_record(charge_point_id="moved", connected=False, at=now, reason="closed", now=now, transport="amqp")
    assert not ChargePoint.objects.get(charge_point_id="moved").online
    # An event without a transport (queued by an older bridge) applies as before.
    ChargePoint.objects.filter(charge_point_id="moved").update(online=True)
    presence_record(charge_point_id="moved", connected=False, at=now + timedelta(seconds=1), now=now)
    assert not ChargePoint.objects.get(charge_point_id="moved").online


def test_watchdog_marks_silent_chargers_offline(settings: Any) -> None:
    settings.CSMS_OFFLINE_FACTOR, settings.CSMS_OFFLINE_GRACE = 2, 60
    now = timezone.now()
    ChargePoint.objects.create(
        charge_point_id="quiet", online=True, heartbeat_interval=300, last_seen_at=now - timedelta(seconds=661)
    )
    ChargePoint.objects.create(
        charge_point_id="fine", online=True, heartbeat_interval=300, last_seen_at=now - timedelta(seconds=600)
    )
    assert presence_watchdog_run(now=now) == 1
    assert set(ChargePoint.objects.filter(online=True).values_list("charge_point_id", flat=True)) == {"fine"}
