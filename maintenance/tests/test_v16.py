"""1.6 firmware management (UpdateFirmware, GetDiagnostics) and the security whitepaper's SignedUpdateFirmware and
GetLog through the processing: queued by the service, sent, answered, then the charger's notifications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from chargers.commands import CommandError, command_enqueue
from chargers.models import ChargePoint, ChargerEvent
from maintenance import services
from maintenance.models import FirmwareUpdate, LogUpload
from mqtt_bridge.frames import Kind

from .helpers import FIRMWARE_URL, LOG_URL, SIGNATURE, answer, answered, charger, notify, refuse, root_pem, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def cp() -> ChargePoint:
    return charger("CP-16", "1.6")


def steps(row: FirmwareUpdate | LogUpload) -> list[str]:
    return list(row.changes.values_list("status", flat=True))


def status(cp: ChargePoint, action: str, payload: dict[str, object], n: int) -> None:
    reply = notify(cp, action, payload, f"{action}-{n}")
    assert (reply.kind, reply.payload) == (Kind.RESULT, {})


def test_TC_044_1_CSMS_and_TC_044_2_CSMS_update_firmware_the_latest_open_update_gets_the_statuses(
    cp: ChargePoint,
) -> None:
    old = services.firmware_update_request(charge_point=cp, location=FIRMWARE_URL, retrieve_at=timezone.now())
    answered(cp, {})
    status(cp, "FirmwareStatusNotification", {"status": "DownloadFailed"}, 0)
    update = services.firmware_update_request(
        charge_point=cp, location=FIRMWARE_URL, retrieve_at=datetime(2026, 11, 23, 10, tzinfo=UTC), retries=3
    )
    command = answered(cp, {})
    assert command.action == "UpdateFirmware" and command.status == "accepted"
    assert command.request == {"location": FIRMWARE_URL, "retrieveDate": "2026-11-23T10:00:00Z", "retries": 3}
    for n, step in enumerate(["Downloading", "Downloaded", "Installing", "Installed"]):
        status(cp, "FirmwareStatusNotification", {"status": step}, n + 1)
    old.refresh_from_db()
    update.refresh_from_db()
    assert steps(old) == ["Requested", "Accepted", "DownloadFailed"]
    assert steps(update) == ["Requested", "Accepted", "Downloading", "Downloaded", "Installing", "Installed"]
    assert update.status == "Installed" and update.finished_at is not None and not update.signed
    assert ChargerEvent.objects.filter(charge_point=cp, kind="firmware_status").count() == 5


def test_a_firmware_status_with_no_open_update_is_an_event_only(cp: ChargePoint) -> None:
    queued = services.firmware_update_request(charge_point=cp, location=FIRMWARE_URL, retrieve_at=timezone.now())
    # Not answered yet: the charger cannot be telling us about it.
    status(cp, "FirmwareStatusNotification", {"status": "Downloading"}, 1)
    status(cp, "FirmwareStatusNotification", {"status": "Idle"}, 2)
    queued.refresh_from_db()
    assert steps(queued) == ["Requested"]
    assert ChargerEvent.objects.filter(charge_point=cp, kind="firmware_status").count() == 2


def test_a_1_6_unsigned_update_has_no_install_time(cp: ChargePoint) -> None:
    with pytest.raises(CommandError) as refused:
        services.firmware_update_request(
            charge_point=cp, location=FIRMWARE_URL, retrieve_at=timezone.now(), install_at=timezone.now()
        )
    assert "installDateTime" in refused.value.errors and not FirmwareUpdate.objects.exists()


def test_TC_080_CSMS_secure_firmware_update(cp: ChargePoint) -> None:
    later = timezone.now() + timedelta(hours=1)
    update = services.firmware_update_request(
        charge_point=cp,
        location=FIRMWARE_URL,
        retrieve_at=timezone.now(),
        install_at=later,
        signing_certificate=root_pem(),
        signature=SIGNATURE,
    )
    command = answered(cp, {"status": "Accepted"})
    assert command.action == "SignedUpdateFirmware" and command.request["requestId"] == update.request_id
    assert command.request["firmware"]["signature"] == SIGNATURE
    for n, step in enumerate(["Downloading", "Downloaded", "SignatureVerified", "Installing", "Installed"]):
        status(cp, "SignedFirmwareStatusNotification", {"status": step, "requestId": update.request_id}, n)
    update.refresh_from_db()
    assert update.signed and update.status == "Installed" and update.finished_at is not None
    assert steps(update)[-1] == "Installed" and len(steps(update)) == 7
    assert ChargerEvent.objects.filter(charge_point=cp, kind="signed_firmware_status").count() == 5


def test_TC_080_CSMS_invalid_signature_ends_the_signed_update(cp: ChargePoint) -> None:
    update = services.firmware_update_request(
        charge_point=cp,
        location=FIRMWARE_URL,
        retrieve_at=timezone.now(),
        signing_certificate=root_pem(),
        signature=SIGNATURE,
    )
    answered(cp, {"status": "Accepted"})
    status(cp, "SignedFirmwareStatusNotification", {"status": "InvalidSignature", "requestId": update.request_id}, 1)
    update.refresh_from_db()
    assert (update.status, update.finished_at is not None) == ("InvalidSignature", True)


def test_signed_update_accepted_canceled_cancels_the_running_one(cp: ChargePoint) -> None:
    first = services.firmware_update_request(
        charge_point=cp,
        location=FIRMWARE_URL,
        retrieve_at=timezone.now(),
        signing_certificate=root_pem(),
        signature=SIGNATURE,
    )
    answered(cp, {"status": "Accepted"})
    second = services.firmware_update_request(
        charge_point=cp,
        location=FIRMWARE_URL,
        retrieve_at=timezone.now(),
        signing_certificate=root_pem(),
        signature=SIGNATURE,
    )
    command = answered(cp, {"status": "AcceptedCanceled"})
    # The 1.6 rule for the command itself is left as it is (only Accepted is accepted).
    assert command.status == "rejected"
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status, second.finished_at) == ("Canceled", "AcceptedCanceled", None)


@pytest.mark.parametrize(
    ("firmware", "field"),
    [
        ({"location": "ftp//no-scheme"}, "firmware.location"),
        ({"retrieveDateTime": "soon"}, "firmware.retrieveDateTime"),
        ({"signingCertificate": "garbage"}, "firmware.signingCertificate"),
        ({"signature": ""}, "firmware.signature"),
    ],
)
def test_bad_signed_update_firmware_requests_are_refused(cp: ChargePoint, firmware: dict[str, str], field: str) -> None:
    payload = {
        "requestId": 1,
        "firmware": {
            "location": FIRMWARE_URL,
            "retrieveDateTime": "2026-11-23T10:00:00Z",
            "signingCertificate": root_pem(),
            "signature": SIGNATURE,
            **firmware,
        },
    }
    with pytest.raises(CommandError) as refused:
        command_enqueue(charge_point=cp, action="SignedUpdateFirmware", payload=payload)
    assert field in refused.value.errors and not FirmwareUpdate.objects.exists()


def test_bad_update_firmware_requests_are_refused(cp: ChargePoint) -> None:
    for payload, field in (
        ({"location": "no url", "retrieveDate": "2026-11-23T10:00:00Z"}, "location"),
        ({"location": FIRMWARE_URL, "retrieveDate": "23/11/2026"}, "retrieveDate"),
    ):
        with pytest.raises(CommandError) as refused:
            command_enqueue(charge_point=cp, action="UpdateFirmware", payload=payload)
        assert field in refused.value.errors
    assert not FirmwareUpdate.objects.exists()


# --- logs -----------------------------------------------------------------------------------------------


def test_TC_045_1_CSMS_get_diagnostics_and_its_status_notifications(cp: ChargePoint) -> None:
    upload = services.log_upload_request(
        charge_point=cp,
        log_type="DiagnosticsLog",
        remote_location=LOG_URL,
        oldest_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    command = answered(cp, {"fileName": "diag-cp16.zip"})
    assert command.action == "GetDiagnostics"
    assert command.request == {"location": LOG_URL, "startTime": "2026-11-01T00:00:00Z"}
    status(cp, "DiagnosticsStatusNotification", {"status": "Uploading"}, 1)
    status(cp, "DiagnosticsStatusNotification", {"status": "Uploaded"}, 2)
    upload.refresh_from_db()
    assert (upload.status, upload.file_name, upload.log_type) == ("Uploaded", "diag-cp16.zip", "DiagnosticsLog")
    assert steps(upload) == ["Requested", "Accepted", "Uploading", "Uploaded"]
    assert ChargerEvent.objects.filter(charge_point=cp, kind="diagnostics_status").count() == 2


def test_get_diagnostics_without_a_file_name_has_nothing_to_upload(cp: ChargePoint) -> None:
    upload = services.log_upload_request(charge_point=cp, log_type="DiagnosticsLog", remote_location=LOG_URL)
    answered(cp, {})
    upload.refresh_from_db()
    assert (upload.status, upload.finished_at is not None) == ("NoFile", True)
    # A later status is about no open upload: kept as an event only.
    status(cp, "DiagnosticsStatusNotification", {"status": "Uploaded"}, 1)
    upload.refresh_from_db()
    assert upload.status == "NoFile"


def test_TC_079_CSMS_get_security_log(cp: ChargePoint) -> None:
    upload = services.log_upload_request(charge_point=cp, log_type="SecurityLog", remote_location=LOG_URL)
    command = answered(cp, {"status": "Accepted", "filename": "security.log"})
    assert command.action == "GetLog"
    assert command.request == {
        "logType": "SecurityLog",
        "requestId": upload.request_id,
        "log": {"remoteLocation": LOG_URL},
    }
    status(cp, "LogStatusNotification", {"status": "Uploading", "requestId": upload.request_id}, 1)
    status(cp, "LogStatusNotification", {"status": "Uploaded", "requestId": upload.request_id}, 2)
    upload.refresh_from_db()
    assert (upload.status, upload.file_name) == ("Uploaded", "security.log")
    assert ChargerEvent.objects.filter(charge_point=cp, kind="log_status").count() == 2


def test_a_diagnostics_log_by_get_log_and_a_security_log_by_get_diagnostics(cp: ChargePoint) -> None:
    services.log_upload_request(charge_point=cp, log_type="DiagnosticsLog", remote_location=LOG_URL, action="GetLog")
    assert answered(cp, {"status": "Rejected"}).action == "GetLog"
    with pytest.raises(CommandError):
        services.log_upload_request(
            charge_point=cp, log_type="SecurityLog", remote_location=LOG_URL, action="GetDiagnostics"
        )
    assert list(LogUpload.objects.values_list("status", flat=True)) == ["Rejected"]


def test_bad_get_diagnostics_requests_are_refused(cp: ChargePoint) -> None:
    for payload, field in (
        ({"location": "nowhere"}, "location"),
        ({"location": LOG_URL, "startTime": "then"}, "startTime"),
        ({"location": LOG_URL, "startTime": "2026-11-02T00:00:00Z", "stopTime": "2026-11-01T00:00:00Z"}, "startTime"),
    ):
        with pytest.raises(CommandError) as refused:
            command_enqueue(charge_point=cp, action="GetDiagnostics", payload=payload)
        assert field in refused.value.errors
    assert not LogUpload.objects.exists()


def test_a_log_status_outside_the_schema_is_a_call_error_and_changes_nothing(cp: ChargePoint) -> None:
    upload = services.log_upload_request(charge_point=cp, log_type="SecurityLog", remote_location=LOG_URL)
    answered(cp, {"status": "Accepted"})
    reply = notify(cp, "LogStatusNotification", {"status": "Done", "requestId": upload.request_id}, "bad")
    assert reply.kind == Kind.ERROR
    upload.refresh_from_db()
    assert steps(upload) == ["Requested", "Accepted"] and not ChargerEvent.objects.exists()


def test_a_status_handled_before_the_answer_of_a_sent_update_is_not_lost(cp: ChargePoint) -> None:
    """The charger notifies right after its conf; the two may be handled the other way round."""
    update = services.firmware_update_request(charge_point=cp, location=FIRMWARE_URL, retrieve_at=timezone.now())
    command = send(cp)
    status(cp, "FirmwareStatusNotification", {"status": "Downloading"}, 1)
    answer(command, {})
    update.refresh_from_db()
    assert update.status == "Downloading" and steps(update) == ["Requested", "Downloading", "Accepted"]


def test_TC_044_3_CSMS_installation_failed_ends_the_update(cp: ChargePoint) -> None:
    update = services.firmware_update_request(charge_point=cp, location=FIRMWARE_URL, retrieve_at=timezone.now())
    answered(cp, {})
    for n, step in enumerate(["Downloading", "Downloaded", "Installing", "InstallationFailed"]):
        status(cp, "FirmwareStatusNotification", {"status": step}, n)
    update.refresh_from_db()
    assert (update.status, update.finished_at is not None) == ("InstallationFailed", True)


def test_TC_045_2_CSMS_get_diagnostics_upload_failed(cp: ChargePoint) -> None:
    upload = services.log_upload_request(charge_point=cp, log_type="DiagnosticsLog", remote_location=LOG_URL)
    answered(cp, {"fileName": "d.zip"})
    status(cp, "DiagnosticsStatusNotification", {"status": "Uploading"}, 1)
    status(cp, "DiagnosticsStatusNotification", {"status": "UploadFailed"}, 2)
    upload.refresh_from_db()
    assert (upload.status, upload.finished_at is not None) == ("UploadFailed", True)


def test_an_update_refused_with_a_call_error_gets_no_statuses(cp: ChargePoint) -> None:
    older = services.firmware_update_request(charge_point=cp, location=FIRMWARE_URL, retrieve_at=timezone.now())
    answered(cp, {})
    newer = services.firmware_update_request(charge_point=cp, location=FIRMWARE_URL, retrieve_at=timezone.now())
    refuse(send(cp), "NotSupported")
    status(cp, "FirmwareStatusNotification", {"status": "Downloading"}, 1)
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.status, newer.status, newer.command and newer.command.status) == (
        "Downloading",
        "Requested",
        "failed",
    )
