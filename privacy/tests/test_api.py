"""The customer information API: ask for a report or a clear with a fresh requestId, read the collected report;
bad input is a 400 with the reason."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from chargers.models import ChargePoint, Command
from privacy.models import CustomerInformationRequest
from protocols.v201.tests.calls import AT, handle
from protocols.v201.tests.test_results import answer

pytestmark = pytest.mark.django_db

URL = "/api/v1/chargers/CS-1/customer-information/"


@pytest.fixture
def station() -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id="CS-1", ocpp_version="2.0.1", registration_status="Accepted", online=True
    )


def test_TC_N_27_CSMS_request_a_report_and_read_it(operator_api: APIClient, station: ChargePoint) -> None:
    response = operator_api.post(
        URL, {"report": True, "id_token": {"id_token": "100000C01", "type": "Central"}}, format="json"
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["request_id"], body["status"], body["report"], body["clear"]) == (1, "requested", True, False)
    command = Command.objects.get(pk=body["command"])
    assert command.request == {
        "requestId": 1,
        "report": True,
        "clear": False,
        "idToken": {"idToken": "100000C01", "type": "Central"},
    }
    command.status = "sent"
    command.save()
    answer(command, {"status": "Accepted"})
    for seq_no, (data, tbc) in enumerate([("Name: A. Driver; ", True), ("sessions: 3", False)]):
        handle(
            "NotifyCustomerInformation",
            {"requestId": 1, "seqNo": seq_no, "data": data, "generatedAt": AT, "tbc": tbc},
            f"n{seq_no}",
        )
    report = operator_api.get(URL + "1/").json()
    assert (report["status"], report["complete"], report["parts"], report["reported_data"]) == (
        "accepted",
        True,
        2,
        "Name: A. Driver; sessions: 3",
    )
    # The next request gets the next id.
    again = operator_api.post(URL, {"clear": True, "customer_identifier": "OpenChargeAlliance"}, format="json")
    assert again.status_code == 202, again.content
    assert [row["request_id"] for row in operator_api.get(URL).json()] == [2, 1]
    assert Command.objects.get(pk=again.json()["command"]).request == {
        "requestId": 2,
        "report": False,
        "clear": True,
        "customerIdentifier": "OpenChargeAlliance",
    }


def test_TC_N_63_CSMS_clear_by_certificate_from_the_api(operator_api: APIClient, station: ChargePoint) -> None:
    certificate = {"hash_algorithm": "SHA256", "issuer_name_hash": "a1", "issuer_key_hash": "b2", "serial_number": "c3"}
    response = operator_api.post(
        URL, {"report": True, "clear": True, "customer_certificate": certificate}, format="json"
    )
    assert response.status_code == 202, response.content
    assert response.json()["customer_certificate"] == {
        "hashAlgorithm": "SHA256",
        "issuerNameHash": "a1",
        "issuerKeyHash": "b2",
        "serialNumber": "c3",
    }


def test_bad_requests_are_400_with_the_reason(operator_api: APIClient, station: ChargePoint) -> None:
    none = operator_api.post(URL, {"report": True}, format="json")
    assert none.status_code == 400
    assert "exactly one of" in none.json()["non_field_errors"][0]
    two = operator_api.post(
        URL,
        {"report": True, "customer_identifier": "x", "id_token": {"id_token": "1", "type": "Central"}},
        format="json",
    )
    assert two.status_code == 400 and set(two.json()) == {"customer_identifier", "id_token"}
    nothing = operator_api.post(URL, {"customer_identifier": "x"}, format="json")
    assert (nothing.status_code, nothing.json()) == (400, {"non_field_errors": ["report or clear must be true"]})
    bad_type = operator_api.post(URL, {"report": True, "id_token": {"id_token": "1", "type": "Cash"}}, format="json")
    assert bad_type.status_code == 400 and "id_token" in bad_type.json()
    assert not CustomerInformationRequest.objects.exists()


def test_roles_versions_and_unknowns(viewer_api: APIClient, operator_api: APIClient, station: ChargePoint) -> None:
    body = {"report": True, "customer_identifier": "x"}
    assert viewer_api.get(URL).status_code == 200
    assert viewer_api.post(URL, body, format="json").status_code == 403
    assert viewer_api.get(URL + "9/").status_code == 404
    assert operator_api.get("/api/v1/chargers/nobody/customer-information/").status_code == 404
    ChargePoint.objects.create(charge_point_id="CP-16", ocpp_version="1.6", registration_status="Accepted")
    old = operator_api.post("/api/v1/chargers/CP-16/customer-information/", body, format="json")
    assert old.status_code == 400 and "not an OCPP 1.6 command" in old.json()["non_field_errors"][0]
