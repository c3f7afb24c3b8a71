"""Id token authorization for both versions (chargers.tokens) against the real database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chargers.models import ChargePoint, IdTag
from chargers.services import id_tags_authorize
from chargers.tokens import TokenInfo, TokenRequest, id_tokens_authorize
from protocols.validation import Kind, validate

pytestmark = pytest.mark.django_db


@pytest.fixture
def station() -> ChargePoint:
    return ChargePoint.objects.create(charge_point_id="CS-1", registration_status="Accepted", ocpp_version="2.0.1")


def status(value: str, token_type: str | None, charge_point: ChargePoint | None) -> str:
    return id_tokens_authorize(requests=[TokenRequest(value, token_type, charge_point)], now=timezone.now())[0].status


def test_a_201_token_is_found_by_value_and_type(station: ChargePoint) -> None:
    IdTag.objects.create(id_tag="CARD-1", type="ISO14443")
    assert status("CARD-1", "ISO14443", station) == "Accepted"
    # Stored with another type: not the token asked about.
    assert status("CARD-1", "eMAID", station) == "Unknown"
    # 1.6 has no types: by value.
    assert status("CARD-1", None, station) == "Accepted"


def test_unknown_tokens_follow_the_policy_in_each_versions_words(station: ChargePoint, settings: Any) -> None:
    settings.CSMS_UNKNOWN_ID_TAG_POLICY = "invalid"
    assert status("WHO", "ISO14443", station) == "Unknown"
    assert status("WHO", None, station) == "Invalid"
    settings.CSMS_UNKNOWN_ID_TAG_POLICY = "accept"
    assert status("WHO", "ISO14443", station) == "Accepted"
    assert status("WHO", None, station) == "Accepted"


def test_a_type_we_do_not_take_is_invalid_whatever_the_policy(station: ChargePoint, settings: Any) -> None:
    IdTag.objects.create(id_tag="100000C02", type="Central")
    settings.CSMS_UNKNOWN_ID_TAG_POLICY = "accept"
    assert status("100000C02", "Cash", station) == "Invalid"
    assert status("anything", "Cash", station) == "Invalid"


def test_no_authorization_is_accepted_without_a_stored_token(station: ChargePoint, settings: Any) -> None:
    settings.CSMS_UNKNOWN_ID_TAG_POLICY = "invalid"
    assert status("", "NoAuthorization", station) == "Accepted"


def test_a_station_that_is_not_accepted_gets_invalid_for_every_token() -> None:
    pending = ChargePoint.objects.create(charge_point_id="CS-P", registration_status="Pending")
    IdTag.objects.create(id_tag="CARD-1")
    assert status("CARD-1", "ISO14443", pending) == "Invalid"
    assert status("", "NoAuthorization", pending) == "Invalid"
    assert status("CARD-1", None, pending) == "Invalid"


def test_blocked_expired_and_201_only_statuses(station: ChargePoint) -> None:
    now = timezone.now()
    IdTag.objects.create(id_tag="BAD", status="Blocked")
    IdTag.objects.create(id_tag="OLD", expiry_date=now - timedelta(seconds=1))
    IdTag.objects.create(id_tag="BROKE", status="NoCredit")
    infos = id_tokens_authorize(
        requests=[
            TokenRequest(v, t, station)
            for v, t in [("BAD", "ISO14443"), ("OLD", "ISO14443"), ("BROKE", "ISO14443"), ("BROKE", None)]
        ],
        now=now,
    )
    assert [info.status for info in infos] == ["Blocked", "Expired", "NoCredit", "NoCredit"]
    # 1.6 knows no NoCredit: Blocked there.
    assert infos[3].to_v16() == {"status": "Blocked"}
    assert infos[2].to_v201() == {"status": "NoCredit"}


def test_group_id_token_and_cache_expiry_are_spelled_per_version(station: ChargePoint) -> None:
    now = timezone.now()
    group = IdTag.objects.create(id_tag="FLEET-7", type="Central")
    IdTag.objects.create(id_tag="CARD-2", type="ISO15693", parent=group, expiry_date=now + timedelta(days=1))
    (info,) = id_tokens_authorize(requests=[TokenRequest("CARD-2", "ISO15693", station)], now=now)
    v201 = info.to_v201()
    assert v201["status"] == "Accepted"
    assert v201["groupIdToken"] == {"idToken": "FLEET-7", "type": "Central"}
    assert v201["cacheExpiryDateTime"].endswith("Z")
    validate(Kind.RESULT, "Authorize", {"idTokenInfo": v201}, "2.0.1")
    v16 = info.to_v16()
    assert v16["parentIdTag"] == "FLEET-7" and v16["expiryDate"].endswith("Z")
    validate(Kind.RESULT, "Authorize", {"idTagInfo": v16}, "1.6")


def test_many_tokens_cost_one_query(station: ChargePoint) -> None:
    IdTag.objects.bulk_create([IdTag(id_tag=f"T-{i}") for i in range(20)])
    with CaptureQueriesContext(connection) as queries:
        infos = id_tokens_authorize(
            requests=[TokenRequest(f"T-{i}", "ISO14443", station) for i in range(40)], now=timezone.now()
        )
    assert len(queries) == 1
    assert [info.status for info in infos] == ["Accepted"] * 20 + ["Unknown"] * 20
    # Decided without the table (a type we do not take, no authorization): no query at all.
    with CaptureQueriesContext(connection) as queries:
        id_tokens_authorize(
            requests=[TokenRequest("x", "Cash", station), TokenRequest("", "NoAuthorization", station)],
            now=timezone.now(),
        )
    assert len(queries) == 0


def test_the_16_service_answers_as_before_through_the_shared_rules(station: ChargePoint) -> None:
    group = IdTag.objects.create(id_tag="FLEET", type="Central")
    IdTag.objects.create(id_tag="CHILD", type="eMAID", parent=group)
    (child, unknown) = id_tags_authorize(requests=[("CHILD", station), ("WHO", station)], now=timezone.now())
    assert child.to_ocpp() == {"status": "Accepted", "parentIdTag": "FLEET"}
    assert unknown.to_ocpp() == {"status": "Invalid"}


def test_token_info_defaults_to_a_plain_status() -> None:
    assert TokenInfo("Invalid").to_v201() == {"status": "Invalid"}
    assert TokenInfo("Unknown").to_v16() == {"status": "Blocked"}
