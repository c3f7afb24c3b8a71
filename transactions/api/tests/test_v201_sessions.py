"""2.0.1 sessions through the sessions API: the charger's transaction id, EVSE, token type, charging
state, energy from the register values (none without a meter start), their TransactionEvents in seqNo
order, signed meter values, the new filters beside the 1.6 ones, and 400s for bad filter values."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace
from typing import Any

import pytest
from django.http import StreamingHttpResponse
from rest_framework.test import APIClient

from chargers.api.tests.v201 import CID
from transactions.models import Transaction

pytestmark = pytest.mark.django_db


def streamed(response: object) -> str:
    """The body of a streamed response (APIClient is typed as answering a DRF Response; the export streams)."""
    assert isinstance(response, StreamingHttpResponse), type(response)
    return response.getvalue().decode()


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_a_2_0_1_session_shows_what_only_2_0_1_has(viewer_api: APIClient, v201: SimpleNamespace) -> None:
    body = viewer_api.get(f"/api/v1/transactions/{v201.active.pk}/").json()
    assert {
        key: body[key]
        for key in (
            "transaction_id",
            "charge_point_id",
            "ocpp_version",
            "evse_id",
            "connector_id",
            "id_tag",
            "id_token_type",
            "remote_start_id",
            "charging_state",
            "time_spent_charging",
            "meter_start",
            "active",
        )
    } == {
        "transaction_id": "abc-123",
        "charge_point_id": CID,
        "ocpp_version": "2.0.1",
        "evse_id": 1,
        "connector_id": 1,
        "id_tag": "EMA-DE-8AA-1A2B3C4D5-X",
        "id_token_type": "eMAID",
        "remote_start_id": 4242,
        "charging_state": "Charging",
        "time_spent_charging": 3000,
        "meter_start": 10_000,
        "active": True,
    }
    # From the newest Energy.Active.Import.Register reading (20 000 Wh) less the meter start.
    assert (body["energy_wh"], body["energy_final"]) == (10_000, False)
    assert body["events_url"].endswith(f"/api/v1/transactions/{v201.active.pk}/events/")
    assert body["meter_values_url"].endswith(f"/api/v1/transactions/{v201.active.pk}/meter-values/")


def test_a_session_without_a_meter_start_has_no_energy(viewer_api: APIClient, v201: SimpleNamespace) -> None:
    body = viewer_api.get(f"/api/v1/transactions/{v201.ended.pk}/").json()
    assert (body["meter_start"], body["meter_stop"], body["energy_wh"], body["energy_final"]) == (
        None,
        None,
        None,
        False,
    )
    assert (body["active"], body["stop_reason"], body["id_tag"]) == (False, "EVDisconnected", "")


def test_1_6_sessions_say_their_transaction_id_is_their_id(viewer_api: APIClient, fleet: SimpleNamespace) -> None:
    body = viewer_api.get(f"/api/v1/transactions/{fleet.active.pk}/").json()
    assert (body["transaction_id"], body["ocpp_version"], body["id_token_type"], body["remote_start_id"]) == (
        str(fleet.active.pk),
        "1.6",
        "",
        None,
    )
    assert viewer_api.get(body["events_url"]).json()["results"] == []


def test_filters_by_transaction_id_evse_and_version(
    viewer_api: APIClient, fleet: SimpleNamespace, v201: SimpleNamespace
) -> None:
    Transaction.objects.filter(pk__in=[fleet.active.pk, fleet.done.pk]).update(evse_id=1)
    active, ended = v201.active.pk, v201.ended.pk
    cases = {
        "?transaction_id=abc-123": [active],
        "?transaction_id=ABC-123": [],  # the station's id is compared exactly
        "?transaction_id=xyz-9": [ended],
        f"?transaction_id={fleet.done.pk}": [fleet.done.pk],  # a 1.6 session's transactionId is its id
        f"?transaction_id={active}": [],  # a 2.0.1 session is not known by our id as the charger's
        f"?transaction_id=0{fleet.done.pk}": [],
        "?transaction_id=99999999999999999999999": [],
        "?ocpp_version=2.0.1": [active, ended],
        "?ocpp_version=1.6": [fleet.active.pk, fleet.done.pk, fleet.other.pk],
        "?evse_id=2": [ended],
        "?evse_id=1": [active, fleet.active.pk, fleet.done.pk],
        "?evse_id=1&ocpp_version=2.0.1": [active],
        f"?charge_point={CID}&connector=1": [active, ended],
        f"?charge_point={CID}&evse_id=2&connector=1": [ended],
        "?id_token_type=eMAID": [active],
        "?charging_state=Idle": [ended],
        "?charging_state=Charging&charging_state=Idle": [active, ended],
        "?ocpp_version=2.0.1&active=false": [ended],
    }
    for query, expected in cases.items():
        assert ids(viewer_api.get(f"/api/v1/transactions/{query}")) == expected, query


@pytest.mark.parametrize(
    "query",
    [
        "?evse_id=x",
        "?evse_id=-1",
        "?evse_id=1.5",
        "?ocpp_version=1.5",
        "?ocpp_version=",
        "?transaction_id=" + "x" * 37,
        "?transaction_id=%00",
        "?id_token_type=Cash",
        "?charging_state=Dancing",
    ],
)
def test_bad_new_filter_values_are_400(viewer_api: APIClient, v201: SimpleNamespace, query: str) -> None:
    if query == "?ocpp_version=":  # empty: no filter, as for every filter
        assert viewer_api.get(f"/api/v1/transactions/{query}").status_code == 200
        return
    response = viewer_api.get(f"/api/v1/transactions/{query}")
    assert response.status_code == 400 and query[1:].split("=")[0] in response.json()


def test_events_in_seq_no_order_with_filters_and_cursor(viewer_api: APIClient, v201: SimpleNamespace) -> None:
    url = f"/api/v1/transactions/{v201.active.pk}/events/"
    page = viewer_api.get(f"{url}?page_size=2").json()
    seen = [event["seq_no"] for event in page["results"]]
    while page["next"]:
        page = viewer_api.get(page["next"]).json()
        seen += [event["seq_no"] for event in page["results"]]
    assert seen == [0, 1, 2, 3, 4]
    first = viewer_api.get(url).json()["results"][0]
    assert (first["event_type"], first["trigger_reason"], first["id_token_type"], first["evse_id"]) == (
        "Started",
        "Authorized",
        "eMAID",
        1,
    )
    assert first["payload"]["transactionInfo"]["transactionId"] == "abc-123"
    assert first["reply"] == {"idTokenInfo": {"status": "Accepted"}}
    updated = viewer_api.get(f"{url}?event_type=Updated&trigger_reason=MeterValuePeriodic").json()["results"]
    assert [event["seq_no"] for event in updated] == [2, 3, 4]
    assert viewer_api.get(f"{url}?offline=true").json()["results"] == []
    ended = viewer_api.get(f"/api/v1/transactions/{v201.ended.pk}/events/").json()["results"]
    assert [(event["event_type"], event["seq_no"]) for event in ended] == [("Ended", 0)]
    for bad in ("?event_type=Paused", "?offline=perhaps", "?trigger_reason=" + "x" * 25):
        response = viewer_api.get(url + bad)
        assert response.status_code == 400 and bad[1:].split("=")[0] in response.json(), bad
    assert viewer_api.get("/api/v1/transactions/abc-123/events/").status_code == 404
    assert viewer_api.get("/api/v1/transactions/999999/events/").status_code == 404


def test_meter_values_keep_the_signed_value(viewer_api: APIClient, v201: SimpleNamespace) -> None:
    url = f"/api/v1/transactions/{v201.active.pk}/meter-values/?measurand=Energy.Active.Import.Register"
    rows = viewer_api.get(url).json()["results"]
    assert [row["signed"] for row in rows][:3] == [None, None, None]
    assert rows[-1]["signed"]["signingMethod"] == "ECDSA" and rows[-1]["connector_id"] == 1


def test_csv_export_has_the_chargers_id_evse_and_version(
    viewer_api: APIClient, fleet: SimpleNamespace, v201: SimpleNamespace
) -> None:
    rows = list(
        csv.DictReader(io.StringIO(streamed(viewer_api.get(f"/api/v1/transactions/export/?charge_point={CID}"))))
    )
    assert [(r["transaction_id"], r["evse_id"], r["ocpp_version"]) for r in rows] == [
        ("abc-123", "1", "2.0.1"),
        ("xyz-9", "2", "2.0.1"),
    ]
    assert (rows[1]["meter_start"], rows[1]["energy_wh"]) == ("", "")
    assert rows[0]["energy_wh"] == "10000"
    v16 = viewer_api.get(f"/api/v1/transactions/export/?transaction_id={fleet.done.pk}")
    [row] = list(csv.DictReader(io.StringIO(streamed(v16))))
    assert (row["id"], row["transaction_id"], row["ocpp_version"]) == (str(fleet.done.pk), str(fleet.done.pk), "1.6")
