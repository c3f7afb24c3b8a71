"""The firmware and logs API: POST asks (a fresh requestId, the version's command), GET lists and shows the
timeline; bad input is a 400 with the reason, nothing queued."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apikeys.testing import ApiClientFactory
from chargers.models import ChargePoint, Command
from maintenance.models import FirmwarePublication, FirmwareUpdate, LogUpload

from .helpers import CHECKSUM, FIRMWARE_URL, LOG_URL, SIGNATURE, answered, charger, notify, root_pem

pytestmark = pytest.mark.django_db


@pytest.fixture
def station() -> ChargePoint:
    return charger("CS-API", "2.0.1")


@pytest.fixture
def cp16() -> ChargePoint:
    return charger("CP-API", "1.6")


def test_an_operator_updates_a_2_0_1_station_and_follows_the_timeline(
    operator_api: APIClient, viewer_api: APIClient, station: ChargePoint
) -> None:
    body = {"location": FIRMWARE_URL, "signing_certificate": root_pem(), "signature": SIGNATURE, "retries": 2}
    response = operator_api.post("/api/v1/chargers/CS-API/firmware-updates/", body, format="json")
    assert response.status_code == 202, response.content
    created = response.json()
    assert (created["request_id"], created["action"], created["signed"], created["status"]) == (
        1,
        "UpdateFirmware",
        True,
        "Requested",
    )
    command = Command.objects.get(pk=created["command_id"])
    assert command.request["requestId"] == 1 and command.request["retries"] == 2
    answered(station, {"status": "Accepted"})
    notify(station, "FirmwareStatusNotification", {"status": "Downloading", "requestId": 1}, "n1")

    listed = viewer_api.get("/api/v1/chargers/CS-API/firmware-updates/")
    assert listed.status_code == 200
    rows = listed.json()["results"] if isinstance(listed.json(), dict) else listed.json()
    assert [row["status"] for row in rows] == ["Downloading"]
    detail = viewer_api.get("/api/v1/chargers/CS-API/firmware-updates/1/").json()
    assert [change["status"] for change in detail["changes"]] == ["Requested", "Accepted", "Downloading"]
    assert detail["command_status"] == "accepted"


def test_a_1_6_charger_gets_update_firmware_or_signed_update_firmware(
    operator_api: APIClient, cp16: ChargePoint
) -> None:
    url = "/api/v1/chargers/CP-API/firmware-updates/"
    plain = operator_api.post(url, {"location": FIRMWARE_URL}, format="json").json()
    signed = operator_api.post(
        url, {"location": FIRMWARE_URL, "signing_certificate": root_pem(), "signature": SIGNATURE}, format="json"
    ).json()
    assert (plain["action"], signed["action"]) == ("UpdateFirmware", "SignedUpdateFirmware")
    assert signed["request_id"] == plain["request_id"] + 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"location": "not a url"}, "firmware.location"),
        (
            {"location": FIRMWARE_URL, "signing_certificate": "garbage", "signature": SIGNATURE},
            "firmware.signingCertificate",
        ),
        ({"location": FIRMWARE_URL, "signing_certificate": "CERT"}, "firmware.signature"),
        ({"location": FIRMWARE_URL, "retrieve_at": "tomorrow"}, "retrieve_at"),
    ],
)
def test_bad_firmware_requests_are_400_with_the_reason(
    operator_api: APIClient, station: ChargePoint, body: dict[str, str], field: str
) -> None:
    if body.get("signing_certificate") == "CERT":
        body = {**body, "signing_certificate": root_pem()}
    response = operator_api.post("/api/v1/chargers/CS-API/firmware-updates/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not FirmwareUpdate.objects.exists() and not Command.objects.exists()


def test_log_uploads_of_both_versions(operator_api: APIClient, station: ChargePoint, cp16: ChargePoint) -> None:
    body = {"log_type": "SecurityLog", "remote_location": LOG_URL, "oldest_at": "2026-11-01T00:00:00Z"}
    response = operator_api.post("/api/v1/chargers/CS-API/log-uploads/", body, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["action"] == "GetLog"
    response = operator_api.post("/api/v1/chargers/CP-API/log-uploads/", {"remote_location": LOG_URL}, format="json")
    assert (response.status_code, response.json()["action"]) == (202, "GetDiagnostics")
    answered(cp16, {"fileName": "d.zip"})
    detail = operator_api.get(f"/api/v1/chargers/CP-API/log-uploads/{response.json()['request_id']}/").json()
    assert (detail["status"], detail["file_name"]) == ("Accepted", "d.zip")


def test_bad_log_requests_are_400(operator_api: APIClient, station: ChargePoint) -> None:
    url = "/api/v1/chargers/CS-API/log-uploads/"
    bad_url = operator_api.post(url, {"remote_location": "nope"}, format="json")
    assert bad_url.status_code == 400 and "log.remoteLocation" in bad_url.json()
    window = {"remote_location": LOG_URL, "oldest_at": "2026-11-02T00:00:00Z", "latest_at": "2026-11-01T00:00:00Z"}
    assert operator_api.post(url, window, format="json").status_code == 400
    assert (
        operator_api.post(url, {"remote_location": LOG_URL, "log_type": "Everything"}, format="json").status_code == 400
    )
    assert not LogUpload.objects.exists()


def test_publish_and_unpublish(operator_api: APIClient, station: ChargePoint, cp16: ChargePoint) -> None:
    url = "/api/v1/chargers/CS-API/firmware-publications/"
    response = operator_api.post(url, {"location": FIRMWARE_URL, "checksum": CHECKSUM}, format="json")
    assert response.status_code == 202, response.content
    answered(station, {"status": "Accepted"})
    unpublish = operator_api.post(f"{url}1/unpublish/")
    assert unpublish.status_code == 202, unpublish.content
    answered(station, {"status": "Unpublished"})
    assert FirmwarePublication.objects.get().status == "Unpublished"
    again = operator_api.post(f"{url}1/unpublish/")
    assert again.status_code == 400 and "unpublished already" in again.json()["non_field_errors"][0]
    bad = operator_api.post(url, {"location": FIRMWARE_URL, "checksum": "nope"}, format="json")
    assert bad.status_code == 400 and "checksum" in bad.json()
    refused = operator_api.post(
        "/api/v1/chargers/CP-API/firmware-publications/",
        {"location": FIRMWARE_URL, "checksum": CHECKSUM},
        format="json",
    )
    assert refused.status_code == 400 and "PublishFirmware" in refused.json()["non_field_errors"][0]


def test_roles_and_unknown_chargers(api_client: ApiClientFactory, viewer_api: APIClient, station: ChargePoint) -> None:
    url = "/api/v1/chargers/CS-API/firmware-updates/"
    assert api_client("anonymous").get(url).status_code == 401
    assert viewer_api.get(url).status_code == 200
    assert viewer_api.post(url, {"location": FIRMWARE_URL}, format="json").status_code == 403
    assert viewer_api.get("/api/v1/chargers/NOPE/firmware-updates/").status_code == 404
    assert viewer_api.get(f"{url}42/").status_code == 404
    assert viewer_api.get("/api/v1/chargers/NOPE/log-uploads/").status_code == 404
