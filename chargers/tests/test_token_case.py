"""Id tokens match whatever their case (1.6 idTag: CiString20Type; 2.0.1 IdTokenType.idToken: "case insensitive"),
are kept as the charger sent them, and two stored tokens cannot differ only by case."""

from __future__ import annotations

import importlib
import json
import types
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Upper
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.testing import api_client, operator_api  # noqa: F401 (fixtures)
from chargers.models import ChargePoint, IdTag
from chargers.services import IdTagError, demo_fleet_provision, id_tag_create, id_tags_authorize
from chargers.tokens import TokenRequest, id_tokens_authorize
from transactions import events
from transactions.events import EventReport, transaction_events_record
from transactions.services import transaction_start, transaction_stop

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def station() -> ChargePoint:
    return ChargePoint.objects.create(charge_point_id="CASE-1", registration_status="Accepted", ocpp_version="2.0.1")


@pytest.fixture
def station16() -> ChargePoint:
    return ChargePoint.objects.create(charge_point_id="CASE-16", registration_status="Accepted", ocpp_version="1.6")


def test_TC_C_02_CSMS_a_token_in_another_case_is_the_stored_token(station: ChargePoint, settings: object) -> None:
    settings.CSMS_UNKNOWN_ID_TAG_POLICY = "invalid"  # type: ignore[attr-defined]
    group = IdTag.objects.create(id_tag="Fleet-Acme", type="Central")
    IdTag.objects.create(id_tag="04a2b3c4", type="ISO14443", parent=group)
    IdTag.objects.create(id_tag="Blocked-Card", type="ISO14443", status="Blocked")
    now = timezone.now()
    infos = id_tokens_authorize(
        requests=[
            TokenRequest("04A2B3C4", "ISO14443", station),
            TokenRequest("04a2B3c4", None, station),
            TokenRequest("BLOCKED-CARD", "ISO14443", station),
            TokenRequest("04A2B3C5", "ISO14443", station),
        ],
        now=now,
    )
    assert [info.status for info in infos] == ["Accepted", "Accepted", "Blocked", "Unknown"]
    # The group is answered as it is stored.
    assert infos[0].to_v201()["groupIdToken"] == {"idToken": "Fleet-Acme", "type": "Central"}
    assert [info.status for info in id_tags_authorize(requests=[("BLOCKED-card", station)], now=now)] == ["Blocked"]


def test_a_201_transaction_event_matches_its_token_whatever_its_case_and_keeps_it_as_sent(station: ChargePoint) -> None:
    IdTag.objects.create(id_tag="app-USER-7", type="Central", status="Blocked")
    IdTag.objects.create(id_tag="stopper", type="Central")

    def record(seq_no: int, event_type: str, **fields: object) -> dict[str, object]:
        report = EventReport(
            charge_point=station,
            transaction_id="TX-CASE",
            seq_no=seq_no,
            event_type=event_type,
            trigger_reason=str(fields.pop("trigger_reason", "Authorized")),
            timestamp=T0 + timedelta(minutes=seq_no),
            evse_id=1,
            **fields,  # type: ignore[arg-type]
        )
        return transaction_events_record(reports=[report], now=timezone.now())[0]

    assert record(0, "Started", id_token="APP-user-7", id_token_type="Central") == {
        "idTokenInfo": {"status": "Blocked"}
    }
    stop = record(1, "Ended", id_token="STOPPER", id_token_type="Central", trigger_reason="StopAuthorized")
    assert stop == {"idTokenInfo": {"status": "Accepted"}}
    session = station.transactions.get(charger_transaction_id="TX-CASE")
    assert (session.id_tag, session.id_tag_status, session.stop_id_tag) == ("APP-user-7", "Blocked", "STOPPER")


def test_a_16_start_and_stop_match_their_tags_whatever_their_case(station16: ChargePoint, settings: object) -> None:
    settings.CSMS_UNKNOWN_ID_TAG_POLICY = "invalid"  # type: ignore[attr-defined]
    IdTag.objects.create(id_tag="rfid-00AA")
    now = timezone.now()
    session, info = transaction_start(
        charge_point=station16, connector_id=1, id_tag="RFID-00aa", meter_start=0, started_at=T0, now=now
    )
    assert info.status == "Accepted" and session.id_tag == "RFID-00aa"
    stop = transaction_stop(
        charge_point=station16, transaction_id=session.pk, meter_stop=10, stopped_at=T0, id_tag="Rfid-00AA", now=now
    )
    assert stop is not None and stop.status == "Accepted"
    session.refresh_from_db()
    assert session.stop_id_tag == "Rfid-00AA"


def test_two_stored_tokens_cannot_differ_only_by_case() -> None:
    IdTag.objects.create(id_tag="CARD-x1")
    with pytest.raises(IntegrityError, match="uniq_id_tag_upper"), transaction.atomic():
        IdTag.objects.create(id_tag="card-X1")
    with pytest.raises(IdTagError, match="'CARD-x1' exists already: id tokens match whatever their case"):
        id_tag_create(id_tag="Card-X1")
    assert list(IdTag.objects.values_list("id_tag", flat=True)) == ["CARD-x1"]


def test_the_api_refuses_a_token_differing_only_by_case_with_the_reason(operator_api: APIClient) -> None:  # noqa: F811
    assert operator_api.post("/api/v1/id-tags/", {"id_tag": "Api-Card"}, format="json").status_code == 201
    refused = operator_api.post("/api/v1/id-tags/", {"id_tag": "API-CARD"}, format="json")
    assert refused.status_code == 400
    assert "'Api-Card' exists already" in refused.json()["id_tag"][0]
    assert list(IdTag.objects.values_list("id_tag", flat=True)) == ["Api-Card"]


def test_the_dashboard_and_the_admin_refuse_a_token_differing_only_by_case() -> None:
    IdTag.objects.create(id_tag="Desk-Card")
    client = Client()
    client.force_login(User.objects.create_user(username="case-operator"))
    response = client.post("/id-tags/", {"id_tag": "DESK-CARD"})
    assert response.status_code == 400
    assert "exists already: id tags match whatever their case" in response.content.decode().replace("&#x27;", "'")
    admin = Client()
    admin.force_login(User.objects.create_superuser(username="case-admin", password="x-admin-password-1"))
    assert IdTag in site._registry
    added = admin.post(
        reverse("admin:chargers_idtag_add"), {"id_tag": "desk-card", "type": "ISO14443", "status": "Accepted"}
    )
    assert added.status_code == 200
    assert "another case exists already" in added.content.decode()
    assert list(IdTag.objects.values_list("id_tag", flat=True)) == ["Desk-Card"]


def test_the_demo_fleet_does_not_add_a_tag_it_has_in_another_case() -> None:
    IdTag.objects.create(id_tag="DEMO-1")
    provisioned = demo_fleet_provision(charge_point_ids=[], id_tags=["demo-1", "Demo-2", "DEMO-2"])
    assert provisioned.id_tags_created == ["Demo-2"]
    assert sorted(IdTag.objects.values_list("id_tag", flat=True)) == ["DEMO-1", "Demo-2"]


def test_the_migration_names_the_clashing_tokens_and_merges_nothing() -> None:
    IdTag.objects.create(id_tag="Twice")
    IdTag.objects.create(id_tag="Alone")
    with connection.cursor() as cursor:
        # As a database from before the index may be (the test's transaction puts the index back).
        cursor.execute("DROP INDEX uniq_id_tag_upper")
    IdTag.objects.create(id_tag="TWICE")
    IdTag.objects.create(id_tag="twice")
    migration = importlib.import_module("chargers.migrations.0012_id_tokens_case_insensitive")
    from django.apps import apps

    with pytest.raises(RuntimeError, match=r"differ only by case: 'TWICE', 'Twice', 'twice'\. Delete or rename"):
        migration.refuse_case_duplicates(apps, types.SimpleNamespace(connection=connection))
    assert IdTag.objects.count() == 4


def _plan(sql: str, params: list[Any]) -> str:
    with connection.cursor() as cursor:
        # A test table holds a handful of rows, where a sequential scan is cheaper: ask whether the index CAN serve.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_hot_path_lookups_use_the_case_insensitive_index(station: ChargePoint) -> None:
    IdTag.objects.create(id_tag="IndexCard")
    query = IdTag.objects.alias(key=Upper("id_tag")).filter(key__in=["INDEXCARD", "OTHER"])
    sql, params = query.query.sql_with_params()
    assert "uniq_id_tag_upper" in _plan(sql, list(params))
    event = {
        "ord": 0,
        "charge_point_id": station.pk,
        "charger_transaction_id": "TX-PLAN",
        "seq_no": 0,
        "at": T0.isoformat(),
        "evse_id": 1,
        "connector_id": 1,
        "event_type": "Started",
        "trigger_reason": "Authorized",
        "offline": False,
        "charging_state": "",
        "id_tag": "indexcard",
        "id_token_type": "ISO14443",
        "lookup": True,
        "payload": {},
    }
    now = timezone.now()
    # EXPLAIN without ANALYZE runs nothing, the data-modifying parts included.
    plan = _plan(events._APPLY_SQL, [json.dumps([event]), now, now, now, now, "[]"])
    assert "uniq_id_tag_upper" in plan
