"""2.0.1 block L (UpdateFirmware, PublishFirmware / UnpublishFirmware) and block N's GetLog through the
processing: requests queued by the service, sent, answered by CallResults, then the station's notifications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from chargers.commands import CommandError, command_enqueue
from chargers.models import ChargePoint, ChargerEvent
from maintenance import services
from maintenance.models import FirmwarePublication, FirmwareUpdate, LogUpload
from mqtt_bridge.frames import Kind

from .helpers import CHECKSUM, FIRMWARE_URL, LOG_URL, SIGNATURE, answer, answered, charger, notify, root_pem, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def station() -> ChargePoint:
    return charger("CS-1", "2.0.1")


def update(station: ChargePoint, **fields: object) -> FirmwareUpdate:
    values: dict[str, object] = {
        "location": FIRMWARE_URL,
        "retrieve_at": timezone.now(),
        "signing_certificate": root_pem(),
        "signature": SIGNATURE,
        **fields,
    }
    return services.firmware_update_request(charge_point=station, **values)  # type: ignore[arg-type]


def steps(row: FirmwareUpdate | LogUpload) -> list[str]:
    return list(row.changes.values_list("status", flat=True))


def firmware_status(station: ChargePoint, status: str, request_id: int | None, n: int) -> None:
    payload: dict[str, object] = {"status": status}
    if request_id is not None:
        payload["requestId"] = request_id
    reply = notify(station, "FirmwareStatusNotification", payload, f"fw-{n}")
    assert (reply.kind, reply.payload) == (Kind.RESULT, {})


def test_TC_L_01_CSMS_secure_firmware_update_installation_successful(station: ChargePoint) -> None:
    queued = update(station)
    command = send(station)
    assert command.action == "UpdateFirmware"
    firmware = command.request["firmware"]
    assert command.request["requestId"] == queued.request_id == 1
    assert firmware["location"] == FIRMWARE_URL and firmware["signature"] == SIGNATURE
    assert firmware["signingCertificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert answer(command, {"status": "Accepted"}).status == "accepted"
    for n, status in enumerate(["Downloading", "Downloaded", "SignatureVerified", "Installing", "Installed"]):
        firmware_status(station, status, queued.request_id, n)
    queued.refresh_from_db()
    assert queued.status == "Installed" and queued.finished_at is not None and queued.signed
    assert steps(queued) == [
        "Requested",
        "Accepted",
        "Downloading",
        "Downloaded",
        "SignatureVerified",
        "Installing",
        "Installed",
    ]
    # The core's record of each notification is kept as it was.
    assert ChargerEvent.objects.filter(charge_point=station, kind="firmware_status").count() == 5


def test_TC_L_02_CSMS_install_scheduled_and_TC_L_03_CSMS_download_scheduled(station: ChargePoint) -> None:
    later = timezone.now() + timedelta(hours=2)
    queued = update(station, retrieve_at=later, install_at=later + timedelta(hours=1))
    command = answered(station, {"status": "Accepted"})
    assert command.request["firmware"]["installDateTime"].endswith("Z")
    for n, status in enumerate(["DownloadScheduled", "Downloading", "Downloaded", "InstallScheduled"]):
        firmware_status(station, status, queued.request_id, n)
    queued.refresh_from_db()
    assert (queued.status, queued.finished_at) == ("InstallScheduled", None)
    assert queued.install_at is not None and queued.install_at > queued.retrieve_at


@pytest.mark.parametrize("final", ["InvalidSignature", "DownloadFailed", "InstallVerificationFailed"])
def test_TC_L_06_CSMS_invalid_signature_and_other_failures_end_the_update(station: ChargePoint, final: str) -> None:
    queued = update(station)
    answered(station, {"status": "Accepted"})
    firmware_status(station, "Downloading", queued.request_id, 1)
    firmware_status(station, final, queued.request_id, 2)
    queued.refresh_from_db()
    assert queued.status == final and queued.finished_at is not None


@pytest.mark.parametrize("status", ["Rejected", "InvalidCertificate", "RevokedCertificate"])
def test_an_update_refused_by_the_station_is_over(station: ChargePoint, status: str) -> None:
    queued = update(station)
    command = answered(station, {"status": status})
    queued.refresh_from_db()
    assert command.status == "rejected"
    assert (queued.status, queued.finished_at is not None) == (status, True)


def test_TC_L_10_CSMS_a_second_update_answered_accepted_canceled_cancels_the_first(station: ChargePoint) -> None:
    first = update(station)
    answered(station, {"status": "Accepted"})
    firmware_status(station, "Downloading", first.request_id, 1)
    second = update(station)
    assert second.request_id == first.request_id + 1
    command = answered(station, {"status": "AcceptedCanceled"})
    # 2.0.1: AcceptedCanceled is the station taking the command.
    assert command.status == "accepted"
    for n, status in enumerate(["Downloading", "Downloaded", "SignatureVerified", "Installing", "Installed"]):
        firmware_status(station, status, second.request_id, 10 + n)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.finished_at is not None) == ("Canceled", True)
    assert steps(first) == ["Requested", "Accepted", "Downloading", "Canceled"]
    assert second.status == "Installed"


def test_a_status_for_an_unknown_request_id_is_kept_as_an_event_only(station: ChargePoint) -> None:
    queued = update(station)
    answered(station, {"status": "Accepted"})
    firmware_status(station, "Downloading", 999, 1)
    firmware_status(station, "Idle", None, 2)
    queued.refresh_from_db()
    assert queued.status == "Accepted" and steps(queued) == ["Requested", "Accepted"]
    assert ChargerEvent.objects.filter(charge_point=station, kind="firmware_status").count() == 2


def test_statuses_out_of_order_are_recorded_and_a_finished_update_stays_finished(station: ChargePoint) -> None:
    queued = update(station)
    answered(station, {"status": "Accepted"})
    firmware_status(station, "Installed", queued.request_id, 1)
    firmware_status(station, "Downloading", queued.request_id, 2)
    queued.refresh_from_db()
    assert queued.status == "Installed" and steps(queued)[-2:] == ["Installed", "Downloading"]


def test_a_notification_with_a_status_outside_the_schema_is_a_call_error_and_changes_nothing(
    station: ChargePoint,
) -> None:
    queued = update(station)
    answered(station, {"status": "Accepted"})
    reply = notify(station, "FirmwareStatusNotification", {"status": "Exploded", "requestId": 1}, "bad-1")
    assert reply.kind == Kind.ERROR and reply.error_code in ("PropertyConstraintViolation", "FormationViolation")
    queued.refresh_from_db()
    assert queued.status == "Accepted" and steps(queued) == ["Requested", "Accepted"]
    assert not ChargerEvent.objects.filter(charge_point=station).exists()


def _refused(station: ChargePoint, payload: dict[str, object]) -> CommandError:
    with pytest.raises(CommandError) as refused:
        command_enqueue(charge_point=station, action="UpdateFirmware", payload=payload)
    assert not FirmwareUpdate.objects.filter(charge_point=station).exists()
    return refused.value


def firmware(**fields: object) -> dict[str, object]:
    return {
        "requestId": 5,
        "firmware": {"location": FIRMWARE_URL, "retrieveDateTime": "2026-11-23T10:00:00Z", **fields},
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"location": "not a url"}, "firmware.location"),
        ({"location": "file:///etc/passwd"}, "firmware.location"),
        ({"retrieveDateTime": "yesterday"}, "firmware.retrieveDateTime"),
        ({"installDateTime": "2026-11-23T10:00:00"}, "firmware.installDateTime"),
        (
            {
                "signingCertificate": "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----",
                "signature": SIGNATURE,
            },
            "firmware.signingCertificate",
        ),
        ({"signingCertificate": "no pem at all", "signature": SIGNATURE}, "firmware.signingCertificate"),
        ({"signature": "not base64 !!", "signingCertificate": None}, "firmware.signature"),
        ({"signature": SIGNATURE}, "firmware.signingCertificate"),
    ],
)
def test_bad_update_firmware_requests_are_refused_before_queuing(
    station: ChargePoint, fields: dict[str, object], field: str
) -> None:
    if fields.get("signingCertificate", "") is None:
        fields = {**fields, "signingCertificate": root_pem()}
    refusal = _refused(station, firmware(**fields))
    assert field in refusal.errors, refusal.errors


def test_a_signed_update_without_its_signature_is_refused(station: ChargePoint) -> None:
    refusal = _refused(station, firmware(signingCertificate=root_pem()))
    assert "firmware.signature" in refusal.errors and "signature" in refusal.message


def test_an_expired_signing_certificate_is_refused(station: ChargePoint) -> None:
    refusal = _refused(station, firmware(signingCertificate=root_pem(days=-1), signature=SIGNATURE))
    assert "expired" in refusal.message


def test_a_request_id_already_used_is_refused(station: ChargePoint) -> None:
    command_enqueue(charge_point=station, action="UpdateFirmware", payload=firmware())
    refusal = _refused_again(station)
    assert "requestId" in refusal.errors


def _refused_again(station: ChargePoint) -> CommandError:
    with pytest.raises(CommandError) as refused:
        command_enqueue(charge_point=station, action="UpdateFirmware", payload=firmware())
    assert FirmwareUpdate.objects.filter(charge_point=station).count() == 1
    return refused.value


def test_the_generic_commands_path_records_the_update_too(station: ChargePoint) -> None:
    command = command_enqueue(charge_point=station, action="UpdateFirmware", payload=firmware())
    row = FirmwareUpdate.objects.get(command=command)
    assert (row.request_id, row.signed, row.retrieve_at) == (5, False, datetime(2026, 11, 23, 10, tzinfo=UTC))


# --- GetLog (block N) -----------------------------------------------------------------------------------


def log_status(station: ChargePoint, status: str, request_id: int, n: int) -> None:
    reply = notify(station, "LogStatusNotification", {"status": status, "requestId": request_id}, f"log-{n}")
    assert (reply.kind, reply.payload) == (Kind.RESULT, {})


def get_log(station: ChargePoint, log_type: str = "DiagnosticsLog") -> LogUpload:
    return services.log_upload_request(
        charge_point=station,
        log_type=log_type,
        remote_location=LOG_URL,
        oldest_at=datetime(2026, 11, 1, tzinfo=UTC),
        latest_at=datetime(2026, 11, 2, tzinfo=UTC),
    )


@pytest.mark.parametrize("log_type", ["DiagnosticsLog", "SecurityLog"])
def test_TC_N_25_CSMS_diagnostics_log_and_TC_N_35_CSMS_security_log_success(
    station: ChargePoint, log_type: str
) -> None:
    upload = get_log(station, log_type)
    command = answered(station, {"status": "Accepted", "filename": "cs-1.log"})
    assert command.request == {
        "logType": log_type,
        "requestId": upload.request_id,
        "log": {
            "remoteLocation": LOG_URL,
            "oldestTimestamp": "2026-11-01T00:00:00Z",
            "latestTimestamp": "2026-11-02T00:00:00Z",
        },
    }
    log_status(station, "Uploading", upload.request_id, 1)
    log_status(station, "Uploaded", upload.request_id, 2)
    upload.refresh_from_db()
    assert (upload.status, upload.file_name, upload.finished_at is not None) == ("Uploaded", "cs-1.log", True)
    assert steps(upload) == ["Requested", "Accepted", "Uploading", "Uploaded"]
    assert ChargerEvent.objects.filter(charge_point=station, kind="log_status").count() == 2


def test_TC_N_34_CSMS_get_log_rejected(station: ChargePoint) -> None:
    upload = get_log(station)
    answered(station, {"status": "Rejected"})
    upload.refresh_from_db()
    assert (upload.status, upload.finished_at is not None) == ("Rejected", True)


def test_TC_N_36_CSMS_second_request_cancels_the_first_upload(station: ChargePoint) -> None:
    first = get_log(station)
    answered(station, {"status": "Accepted", "filename": "a.log"})
    log_status(station, "Uploading", first.request_id, 1)
    second = get_log(station)
    assert answered(station, {"status": "AcceptedCanceled", "filename": "b.log"}).status == "accepted"
    log_status(station, "AcceptedCanceled", first.request_id, 2)
    log_status(station, "Uploading", second.request_id, 3)
    log_status(station, "Uploaded", second.request_id, 4)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.finished_at is not None) == ("Canceled", True)
    assert steps(first)[-2:] == ["Canceled", "AcceptedCanceled"]
    assert (second.status, second.file_name) == ("Uploaded", "b.log")


@pytest.mark.parametrize(
    ("log", "field"),
    [
        ({"remoteLocation": "nowhere"}, "log.remoteLocation"),
        ({"remoteLocation": LOG_URL, "oldestTimestamp": "last week"}, "log.oldestTimestamp"),
        (
            {
                "remoteLocation": LOG_URL,
                "oldestTimestamp": "2026-11-02T00:00:00Z",
                "latestTimestamp": "2026-11-01T00:00:00Z",
            },
            "log.oldestTimestamp",
        ),
    ],
)
def test_bad_get_log_requests_are_refused(station: ChargePoint, log: dict[str, str], field: str) -> None:
    with pytest.raises(CommandError) as refused:
        command_enqueue(
            charge_point=station, action="GetLog", payload={"logType": "SecurityLog", "requestId": 1, "log": log}
        )
    assert field in refused.value.errors
    assert not LogUpload.objects.exists()


# --- PublishFirmware / UnpublishFirmware (L03, L04) -----------------------------------------------------


def test_publish_firmware_lifecycle_then_unpublish(station: ChargePoint) -> None:
    publication = services.firmware_publish_request(charge_point=station, location=FIRMWARE_URL, checksum=CHECKSUM)
    command = answered(station, {"status": "Accepted"})
    assert command.request == {"location": FIRMWARE_URL, "checksum": CHECKSUM, "requestId": publication.request_id}
    for n, status in enumerate(["Downloading", "Downloaded", "ChecksumVerified"]):
        reply = notify(
            station,
            "PublishFirmwareStatusNotification",
            {"status": status, "requestId": publication.request_id},
            f"p{n}",
        )
        assert reply.payload == {}
    published = {"status": "Published", "requestId": publication.request_id, "location": ["http://lc.local/fw.bin"]}
    notify(station, "PublishFirmwareStatusNotification", published, "p9")
    publication.refresh_from_db()
    assert (publication.status, publication.published_locations) == ("Published", ["http://lc.local/fw.bin"])
    # The core's record is kept.
    assert ChargerEvent.objects.filter(charge_point=station, status="PublishFirmwareStatusNotification").count() == 4

    services.firmware_unpublish_request(publication=publication)
    command = answered(station, {"status": "Unpublished"})
    assert command.request == {"checksum": CHECKSUM}
    publication.refresh_from_db()
    assert publication.status == "Unpublished" and publication.unpublished_at is not None


def test_unpublish_download_ongoing_leaves_the_publication(station: ChargePoint) -> None:
    publication = services.firmware_publish_request(charge_point=station, location=FIRMWARE_URL, checksum=CHECKSUM)
    answered(station, {"status": "Accepted"})
    services.firmware_unpublish_request(publication=publication)
    answered(station, {"status": "DownloadOngoing"})
    publication.refresh_from_db()
    assert publication.status == "Accepted" and publication.unpublished_at is None


def test_a_checksum_that_is_no_md5_is_refused(station: ChargePoint) -> None:
    with pytest.raises(CommandError) as refused:
        command_enqueue(
            charge_point=station,
            action="PublishFirmware",
            payload={"location": FIRMWARE_URL, "checksum": "xyz", "requestId": 1},
        )
    assert "checksum" in refused.value.errors and not FirmwarePublication.objects.exists()


def test_a_log_status_handled_before_the_get_log_answer_keeps_the_upload_going(station: ChargePoint) -> None:
    upload = get_log(station)
    command = send(station)
    log_status(station, "Uploading", upload.request_id, 1)
    answer(command, {"status": "Accepted", "filename": "early.log"})
    upload.refresh_from_db()
    assert (upload.status, upload.file_name) == ("Uploading", "early.log")
