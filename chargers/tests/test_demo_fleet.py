"""The demo fleet `make run` provisions, and accepting a Pending charger telling it at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.testing import api_client, viewer_api  # noqa: F401 (fixtures)
from chargers.models import ChargePoint, Command, IdTag
from chargers.services import charge_point_lock, charge_point_registration_set, demo_fleet_provision

pytestmark = pytest.mark.django_db

BOOT_TRIGGER = {"requestedMessage": "BootNotification"}


def boot_triggers(cid: str) -> list[Command]:
    triggers = Command.objects.filter(charge_point__charge_point_id=cid, action="TriggerMessage", request=BOOT_TRIGGER)
    return list(triggers)


def test_accepting_a_pending_charger_queues_a_trigger_message_boot_notification(settings: Any) -> None:
    settings.CSMS_BOOT_RETRY_INTERVAL = 60
    charge_point = ChargePoint.objects.create(charge_point_id="CP-WAITING", online=True)
    before = timezone.now()

    charge_point_registration_set(charge_point=charge_point, status="Accepted")

    [trigger] = boot_triggers("CP-WAITING")
    assert trigger.status == Command.Status.QUEUED
    assert trigger.requested_by == "system: accepted"
    # Past the charger's own retry it has booted again anyway: the trigger would only be noise.
    assert trigger.expires_at is not None
    assert before + timedelta(seconds=60) <= trigger.expires_at <= timezone.now() + timedelta(seconds=60)


def test_accepting_twice_or_an_accepted_charger_queues_one_trigger() -> None:
    charge_point = ChargePoint.objects.create(charge_point_id="CP-TWICE", online=True)
    charge_point_registration_set(charge_point=charge_point, status="Accepted")
    charge_point_registration_set(charge_point=charge_point, status="Accepted")
    # Put back to Pending and accepted again before the first trigger went out: still one waiting.
    charge_point_registration_set(charge_point=charge_point, status="Pending")
    charge_point_registration_set(charge_point=charge_point, status="Accepted")
    assert len(boot_triggers("CP-TWICE")) == 1


def test_no_trigger_for_an_offline_or_a_rejected_charger() -> None:
    # Offline: it sends a BootNotification when it reconnects. Rejected: OCPP lets it ignore our Calls.
    offline = ChargePoint.objects.create(charge_point_id="CP-AWAY", online=False)
    rejected = ChargePoint.objects.create(charge_point_id="CP-NO", online=True, registration_status="Rejected")
    charge_point_registration_set(charge_point=offline, status="Accepted")
    charge_point_registration_set(charge_point=rejected, status="Accepted")
    assert boot_triggers("CP-AWAY") == [] and boot_triggers("CP-NO") == []


def test_demo_fleet_is_provisioned_accepted_and_marked_demo_while_real_chargers_follow_the_policy(
    settings: Any,
) -> None:
    settings.CSMS_BOOT_POLICY = "pending"
    result = demo_fleet_provision(charge_point_ids=["sim-001", "sim-002"], id_tags=["SIMTAG01", "04A2B3C4"])

    assert result.charge_points_created == ["sim-001", "sim-002"]
    assert result.id_tags_created == ["SIMTAG01", "04A2B3C4"]
    fleet = ChargePoint.objects.filter(charge_point_id__in=["sim-001", "sim-002"])
    assert {(cp.registration_status, cp.demo) for cp in fleet} == {("Accepted", True)}
    tags = IdTag.objects.filter(id_tag__in=["SIMTAG01", "04A2B3C4"])
    assert {(tag.status, tag.demo) for tag in tags} == {("Accepted", True)}
    with transaction.atomic():
        stranger = charge_point_lock(charge_point_id="REAL-1")
    assert (stranger.registration_status, stranger.demo) == ("Pending", False)


def test_demo_fleet_provision_is_idempotent_and_keeps_operators_decisions() -> None:
    # sim-001 booted before it was provisioned (Pending: nobody decided), sim-002 was rejected by an
    # operator, SIMTAG02 is someone's blocked card.
    ChargePoint.objects.create(charge_point_id="sim-001", online=True)
    ChargePoint.objects.create(charge_point_id="sim-002", registration_status="Rejected")
    IdTag.objects.create(id_tag="SIMTAG02", status="Blocked")

    first = demo_fleet_provision(charge_point_ids=["sim-001", "sim-002", "sim-003"], id_tags=["SIMTAG01", "SIMTAG02"])
    again = demo_fleet_provision(charge_point_ids=["sim-001", "sim-002", "sim-003"], id_tags=["SIMTAG01", "SIMTAG02"])

    assert first.charge_points_created == ["sim-003"] and first.charge_points_accepted == ["sim-001"]
    assert first.id_tags_created == ["SIMTAG01"]
    assert again.charge_points_created == again.charge_points_accepted == again.id_tags_created == []
    statuses = dict(ChargePoint.objects.filter(demo=True).values_list("charge_point_id", "registration_status"))
    assert statuses == {"sim-001": "Accepted", "sim-002": "Rejected", "sim-003": "Accepted"}
    assert len(boot_triggers("sim-001")) == 1  # it was online, waiting out its retry: told at once
    blocked = IdTag.objects.get(id_tag="SIMTAG02")
    assert (blocked.status, blocked.demo) == ("Blocked", False)
    assert IdTag.objects.filter(demo=True).count() == 1


def test_demo_data_is_marked_in_the_api_and_filterable(viewer_api: APIClient) -> None:  # noqa: F811
    demo_fleet_provision(charge_point_ids=["sim-001"], id_tags=["SIMTAG01"])
    ChargePoint.objects.create(charge_point_id="REAL-1")
    IdTag.objects.create(id_tag="CARD-1")

    chargers = viewer_api.get("/api/v1/chargers/").json()["results"]
    assert {row["charge_point_id"]: row["demo"] for row in chargers} == {"REAL-1": False, "sim-001": True}
    demo_only = viewer_api.get("/api/v1/chargers/?demo=true").json()["results"]
    assert [row["charge_point_id"] for row in demo_only] == ["sim-001"]
    tags = viewer_api.get("/api/v1/id-tags/").json()["results"]
    assert {row["id_tag"]: row["demo"] for row in tags} == {"CARD-1": False, "SIMTAG01": True}
    assert [row["id_tag"] for row in viewer_api.get("/api/v1/id-tags/?demo=false").json()["results"]] == ["CARD-1"]


def test_demo_data_is_shown_and_filtered_in_the_admin(admin_client: Client) -> None:
    demo_fleet_provision(charge_point_ids=["sim-001"], id_tags=["SIMTAG01"])
    ChargePoint.objects.create(charge_point_id="REAL-1")
    IdTag.objects.create(id_tag="CARD-1")

    page = admin_client.get("/admin/chargers/chargepoint/?demo__exact=1")
    assert page.status_code == 200
    assert [cp.charge_point_id for cp in page.context["cl"].result_list] == ["sim-001"]
    assert "column-demo" in page.content.decode()
    tags = admin_client.get("/admin/chargers/idtag/?demo__exact=0")
    assert [tag.id_tag for tag in tags.context["cl"].result_list] == ["CARD-1"]
