"""The admin for a 2.0.1 station: EVSEs, device variables and TransactionEvents registered and read-only,
id tokens with their type, sessions with the charger's id and the new fields."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from chargers.api.tests.v201 import v201_station
from chargers.models import DeviceVariable, Evse
from transactions.models import TransactionEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def v201() -> SimpleNamespace:
    return v201_station()


def url(obj: Model | type[Model], view: str, *args: object) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def test_the_2_0_1_models_open_and_are_read_only(admin_client: Client, v201: SimpleNamespace) -> None:
    objects: list[Model] = [
        Evse.objects.get(charge_point=v201.cp, evse_id=2),
        DeviceVariable.objects.get(pk=v201.variables.heartbeat.pk),
        TransactionEvent.objects.get(transaction=v201.active, seq_no=0),
    ]
    for obj in objects:
        assert admin_client.get(url(obj, "changelist")).status_code == 200, obj
        change = admin_client.get(url(obj, "change", obj.pk))
        assert change.status_code == 200, obj
        assert b'name="_save"' not in change.content, obj  # nothing to save: the charger's facts
        assert admin_client.get(url(obj, "add")).status_code == 403, obj


def test_the_charger_and_session_pages_show_evses_and_events(admin_client: Client, v201: SimpleNamespace) -> None:
    charger = admin_client.get(url(v201.cp, "change", v201.cp.pk)).content.decode()
    assert "Inoperative" in charger and "abc-123" in charger
    session = admin_client.get(url(v201.active, "change", v201.active.pk)).content.decode()
    assert "ChargingStateChanged" in session and "MeterValuePeriodic" in session and "eMAID" in session


def test_lists_filter_and_search_by_what_2_0_1_adds(admin_client: Client, v201: SimpleNamespace) -> None:
    sessions = url(v201.active, "changelist")
    found = admin_client.get(sessions + "?q=abc-123").content.decode()
    assert f"/{v201.active.pk}/change/" in found and f"/{v201.ended.pk}/change/" not in found
    by_version = admin_client.get(sessions + "?charge_point__ocpp_version=2.0.1&charging_state=Idle").content.decode()
    assert f"/{v201.ended.pk}/change/" in by_version and f"/{v201.active.pk}/change/" not in by_version
    tags = admin_client.get(reverse("admin:chargers_idtag_changelist") + "?type__exact=eMAID").content.decode()
    assert "EMA-DE-8AA-1A2B3C4D5-X" in tags
    variables = admin_client.get(url(DeviceVariable, "changelist") + "?mutability__exact=WriteOnly").content.decode()
    assert "BasicAuthPassword" in variables and "HeartbeatInterval" not in variables
    events = admin_client.get(url(TransactionEvent, "changelist") + "?event_type__exact=Ended").content.decode()
    ended = TransactionEvent.objects.get(transaction=v201.ended)
    started = TransactionEvent.objects.get(transaction=v201.active, seq_no=0)
    assert url(ended, "change", ended.pk) in events and url(started, "change", started.pk) not in events
