"""A 2.0.1 station through the fleet API: its version, EVSEs with their connectors, its device model,
connectors numbered within their EVSE, id tokens with their type, and 400s for bad input."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from chargers.models import ChargePoint, Connector, DeviceVariable, Evse, IdTag
from chargers.services import StatusReport, status_notifications_record

from .v201 import CID

pytestmark = pytest.mark.django_db


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.content
    return response.json()


def test_list_shows_the_version_and_filters_by_it(
    viewer_api: APIClient, fleet: SimpleNamespace, v201: SimpleNamespace
) -> None:
    rows = {row["charge_point_id"]: row["ocpp_version"] for row in ok(viewer_api.get("/api/v1/chargers/"))["results"]}
    assert rows[CID] == "2.0.1" and rows["CP-1.a:b"] == "1.6"
    only = ok(viewer_api.get("/api/v1/chargers/?ocpp_version=2.0.1"))["results"]
    assert [row["charge_point_id"] for row in only] == [CID]
    older = ok(viewer_api.get("/api/v1/chargers/?ocpp_version=1.6"))["results"]
    assert CID not in [row["charge_point_id"] for row in older] and len(older) == 3


@pytest.mark.parametrize("query", ["?ocpp_version=1.5", "?ocpp_version=2.0.1x", "?ocpp_version=%00"])
def test_an_unknown_version_is_a_400_naming_the_filter(
    viewer_api: APIClient, v201: SimpleNamespace, query: str
) -> None:
    response = viewer_api.get(f"/api/v1/chargers/{query}")
    assert response.status_code == 400 and "ocpp_version" in response.json()


def test_detail_nests_the_evses_with_their_connectors_and_availability(
    viewer_api: APIClient, v201: SimpleNamespace
) -> None:
    body = ok(viewer_api.get(f"/api/v1/chargers/{CID}/"))
    assert body["ocpp_version"] == "2.0.1"
    assert [(c["evse_id"], c["connector_id"], c["status"]) for c in body["connectors"]] == [
        (1, 1, "Occupied"),
        (2, 1, "Available"),
    ]
    assert [(e["evse_id"], e["availability"], [c["connector_id"] for c in e["connectors"]]) for e in body["evses"]] == [
        (1, "Operative", [1]),
        (2, "Inoperative", [1]),
    ]
    [session] = body["current_sessions"]
    assert (session["id"], session["transaction_id"], session["evse_id"]) == (v201.active.pk, "abc-123", 1)


def test_evses_endpoint_lists_and_retrieves_them(viewer_api: APIClient, v201: SimpleNamespace) -> None:
    evses = ok(viewer_api.get(f"/api/v1/chargers/{CID}/evses/"))
    assert [e["evse_id"] for e in evses] == [1, 2]
    second = ok(viewer_api.get(f"/api/v1/chargers/{CID}/evses/2/"))
    assert second["availability"] == "Inoperative" and second["connectors"][0]["status"] == "Available"
    for missing in ("3", "x", "-1", "99999999999999999999", "%00"):
        assert viewer_api.get(f"/api/v1/chargers/{CID}/evses/{missing}/").status_code == 404, missing
    assert viewer_api.get("/api/v1/chargers/nope/evses/").status_code == 404


def test_a_connector_row_without_an_evse_row_is_still_listed_under_its_evse_number(
    viewer_api: APIClient, v201: SimpleNamespace
) -> None:
    Connector.objects.create(charge_point=v201.cp, evse_id=3, connector_id=1, status="Faulted")
    assert not Evse.objects.filter(charge_point=v201.cp, evse_id=3).exists()
    third = ok(viewer_api.get(f"/api/v1/chargers/{CID}/evses/3/"))
    assert third["availability"] == "Operative" and [c["status"] for c in third["connectors"]] == ["Faulted"]


def test_a_1_6_charger_has_one_evse_per_connector(viewer_api: APIClient) -> None:
    cp = ChargePoint.objects.create(charge_point_id="CP-16", registration_status="Accepted")
    status_notifications_record(
        reports=[
            StatusReport(charge_point=cp, connector_id=number, status="Available", error_code="NoError")
            for number in (0, 1, 2)
        ],
        now=timezone.now(),
    )
    evses = ok(viewer_api.get("/api/v1/chargers/CP-16/evses/"))
    assert [(e["evse_id"], [c["connector_id"] for c in e["connectors"]]) for e in evses] == [
        (0, [0]),
        (1, [1]),
        (2, [2]),
    ]
    assert ok(viewer_api.get("/api/v1/chargers/CP-16/connectors/2/"))["evse_id"] == 2


def test_connectors_numbered_within_their_evse_are_told_apart_by_evse_id(
    viewer_api: APIClient, v201: SimpleNamespace
) -> None:
    base = f"/api/v1/chargers/{CID}/connectors/"
    assert [(c["evse_id"], c["connector_id"]) for c in ok(viewer_api.get(base))] == [(1, 1), (2, 1)]
    assert [c["status"] for c in ok(viewer_api.get(f"{base}?evse_id=2"))] == ["Available"]
    ambiguous = viewer_api.get(f"{base}1/")
    assert ambiguous.status_code == 400 and "1, 2" in ambiguous.json()["evse_id"][0]
    assert ok(viewer_api.get(f"{base}1/?evse_id=2"))["status"] == "Available"
    assert ok(viewer_api.get(f"{base}1/?evse_id=1"))["status"] == "Occupied"
    assert viewer_api.get(f"{base}1/?evse_id=7").status_code == 404
    history = ok(viewer_api.get(f"{base}1/history/?evse_id=1"))["results"]
    assert [h["status"] for h in history] == ["Occupied"]
    assert viewer_api.get(f"{base}1/history/").status_code == 400
    for bad in ("x", "-1", "1.5", "99999999999999999999"):
        for url in (f"{base}?evse_id={bad}", f"{base}1/?evse_id={bad}", f"{base}1/history/?evse_id={bad}"):
            response = viewer_api.get(url)
            assert response.status_code == 400 and "evse_id" in response.json(), url


def test_device_model_variables_with_their_filters(viewer_api: APIClient, v201: SimpleNamespace) -> None:
    url = f"/api/v1/chargers/{CID}/variables/"
    body = ok(viewer_api.get(url))
    assert body["count"] == 7
    first = body["results"][0]
    assert (first["component"], first["variable"], first["attribute_type"]) == ("Connector", "ConnectorType", "Actual")

    def names(query: str) -> list[tuple[str, str, str]]:
        return [
            (v["component"], v["variable"], v["attribute_type"]) for v in ok(viewer_api.get(url + query))["results"]
        ]

    assert names("?component=ocppcommctrlr") == [("OCPPCommCtrlr", "HeartbeatInterval", "Actual")]
    assert names("?variable=Power") == [("EVSE", "Power", "Actual"), ("EVSE", "Power", "MaxSet")]
    assert names("?variable=Power&attribute_type=MaxSet") == [("EVSE", "Power", "MaxSet")]
    assert names("?evse_id=2") == [("EVSE", "AvailabilityState", "Actual")]
    assert names("?connector_id=1") == [("Connector", "ConnectorType", "Actual")]
    assert names("?mutability=WriteOnly") == [("SecurityCtrlr", "BasicAuthPassword", "Actual")]
    assert names("?mutability=ReadWrite&mutability=WriteOnly") == [
        ("OCPPCommCtrlr", "HeartbeatInterval", "Actual"),
        ("SecurityCtrlr", "BasicAuthPassword", "Actual"),
    ]
    assert names("?variable_instance=GetVariables") == [("DeviceDataCtrlr", "ItemsPerMessage", "Actual")]
    assert len(names("?station=true")) == 3 and len(names("?station=false")) == 4
    assert names("?search=heartbeat") == [("OCPPCommCtrlr", "HeartbeatInterval", "Actual")]
    heartbeat = ok(viewer_api.get(url + "?variable=HeartbeatInterval"))["results"][0]
    assert (heartbeat["value"], heartbeat["unit"], heartbeat["mutability"], heartbeat["evse_id"]) == (
        "300",
        "s",
        "ReadWrite",
        None,
    )
    assert ok(viewer_api.get(url + "?variable=BasicAuthPassword"))["results"][0]["value"] is None


@pytest.mark.parametrize(
    "query",
    [
        "?evse_id=x",
        "?evse_id=-1",
        "?connector_id=1.5",
        "?mutability=Sometimes",
        "?attribute_type=Now",
        "?station=maybe",
        "?updated_after=yesterday",
        "?component=%00",
    ],
)
def test_bad_variable_filters_are_400_with_the_field(viewer_api: APIClient, v201: SimpleNamespace, query: str) -> None:
    response = viewer_api.get(f"/api/v1/chargers/{CID}/variables/{query}")
    assert response.status_code == 400 and query[1:].split("=")[0] in response.json()


def test_variables_are_read_only_empty_for_1_6_and_404_for_an_unknown_charger(
    viewer_api: APIClient, admin_api: APIClient, fleet: SimpleNamespace, v201: SimpleNamespace
) -> None:
    assert ok(viewer_api.get("/api/v1/chargers/CP-1.a:b/variables/"))["count"] == 0
    assert viewer_api.get("/api/v1/chargers/nope/variables/").status_code == 404
    # Refused whatever the role (no write is listed: the permission check answers before the method's 405).
    assert admin_api.post(f"/api/v1/chargers/{CID}/variables/", {}, format="json").status_code in (403, 405)
    assert admin_api.delete(f"/api/v1/chargers/{CID}/evses/1/").status_code in (403, 405)
    assert DeviceVariable.objects.filter(charge_point=v201.cp).count() == 7
    assert Evse.objects.filter(charge_point=v201.cp, evse_id=1).exists()


def test_detail_queries_do_not_grow_with_evses(
    viewer_api: APIClient, v201: SimpleNamespace, django_assert_max_num_queries: Any
) -> None:
    viewer_api.get(f"/api/v1/chargers/{CID}/")  # the token's last_used update, once
    for number in range(3, 23):
        Evse.objects.create(charge_point=v201.cp, evse_id=number)
        Connector.objects.create(charge_point=v201.cp, evse_id=number, connector_id=1)
    # token, user permissions (2), charger with its EVSEs, connectors, current sessions
    with django_assert_max_num_queries(6):
        assert len(ok(viewer_api.get(f"/api/v1/chargers/{CID}/"))["evses"]) == 22


def test_id_tags_show_their_type_and_filter_by_it(viewer_api: APIClient, v201: SimpleNamespace) -> None:
    IdTag.objects.create(id_tag="04A2B3C4")
    rows = {row["id_tag"]: row["type"] for row in ok(viewer_api.get("/api/v1/id-tags/"))["results"]}
    assert rows == {"EMA-DE-8AA-1A2B3C4D5-X": "eMAID", "04A2B3C4": "ISO14443"}
    emaid = ok(viewer_api.get("/api/v1/id-tags/?type=eMAID"))["results"]
    assert [row["id_tag"] for row in emaid] == ["EMA-DE-8AA-1A2B3C4D5-X"]
    response = viewer_api.get("/api/v1/id-tags/?type=Cash")
    assert response.status_code == 400 and "type" in response.json()


def test_id_tags_take_255_characters_for_2_1_and_the_2_0_1_statuses(operator_api: APIClient) -> None:
    token = "T" * 255
    created = operator_api.post("/api/v1/id-tags/", {"id_tag": token, "status": "NoCredit"}, format="json")
    assert created.status_code == 201, created.content
    assert IdTag.objects.get(id_tag=token).status == "NoCredit"
    changed = operator_api.patch(f"/api/v1/id-tags/{token}/", {"status": "NotAtThisTime"}, format="json")
    assert changed.status_code == 200 and changed.json()["status"] == "NotAtThisTime"
    too_long = operator_api.post("/api/v1/id-tags/", {"id_tag": "T" * 256}, format="json")
    assert too_long.status_code == 400 and "id_tag" in too_long.json()
    # Unknown is what the CSMS answers about a token it does not have, never a stored status.
    unknown = operator_api.post("/api/v1/id-tags/", {"id_tag": "U-1", "status": "Unknown"}, format="json")
    assert unknown.status_code == 400 and "status" in unknown.json()
