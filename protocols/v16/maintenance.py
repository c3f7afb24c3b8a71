"""Firmware management and the security whitepaper's logs: UpdateFirmware, SignedUpdateFirmware, GetDiagnostics,
GetLog and their status notifications as lifecycles (``maintenance.services``).

- checks: a location that is no URL, a date that is no date, a time window upside down, a signing certificate
  that is no (unexpired) PEM certificate or a signature that is no base64, a requestId already used on this
  charger: refused before queuing.
- queued: the firmware update / log upload is recorded (1.6 core's UpdateFirmware and GetDiagnostics carry
  no requestId: the domain gives them one of ours, never sent).
- effects: the answer settles it. UpdateFirmware's empty answer is Accepted; SignedUpdateFirmware's status is
  kept as it is (AcceptedCanceled: the charger's earlier update is Canceled; the 1.6 rule still records the
  command itself ``rejected``); GetDiagnostics without a fileName: ``NoFile``, nothing to upload.
- handlers: FirmwareStatusNotification, SignedFirmwareStatusNotification, DiagnosticsStatusNotification and
  LogStatusNotification are recorded as the core does (a ChargerEvent), then advance the lifecycle: the update
  (upload) of their requestId, or without one (1.6 core) the charger's latest open one it accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from chargers.commands import CommandError
from chargers.models import ChargePoint, Command
from maintenance import checks
from maintenance import services as maintenance

from .. import Handler
from ..blocks import Block
from ..payloads import iso
from .handlers import HANDLERS as CORE

VERSION = "1.6"


def _retries(retries: int | None, retry_interval: int | None) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if retries is not None:
        payload["retries"] = retries
    if retry_interval is not None:
        payload["retryInterval"] = retry_interval
    return payload


# --- builders -------------------------------------------------------------------------------------------


def firmware_update(request: maintenance.FirmwareRequest) -> maintenance.Built:
    if not request.signing_certificate and not request.signature:
        if request.install_at is not None:
            raise CommandError(
                "1.6 UpdateFirmware has no install time: give a signing certificate and signature "
                "(SignedUpdateFirmware) or leave the install time out",
                {"installDateTime": ["only with a signed update (SignedUpdateFirmware) in OCPP 1.6"]},
            )
        payload = {
            "location": request.location,
            "retrieveDate": iso(request.retrieve_at),
            **_retries(request.retries, request.retry_interval),
        }
        return "UpdateFirmware", payload
    firmware: dict[str, Any] = {
        "location": request.location,
        "retrieveDateTime": iso(request.retrieve_at),
        "signingCertificate": request.signing_certificate,
        "signature": request.signature,
    }
    if request.install_at is not None:
        firmware["installDateTime"] = iso(request.install_at)
    return "SignedUpdateFirmware", {
        "requestId": request.request_id,
        **_retries(request.retries, request.retry_interval),
        "firmware": firmware,
    }


def log_upload(request: maintenance.LogRequest) -> maintenance.Built:
    action = request.action or ("GetDiagnostics" if request.log_type == "DiagnosticsLog" else "GetLog")
    if action not in ("GetDiagnostics", "GetLog"):
        raise CommandError(f"{action!r} uploads no log in OCPP 1.6", {"action": ["GetDiagnostics or GetLog"]})
    if action == "GetDiagnostics":
        if request.log_type != "DiagnosticsLog":
            raise CommandError(
                "GetDiagnostics uploads the diagnostics log only: a security log is GetLog",
                {"logType": ["GetDiagnostics uploads DiagnosticsLog only"]},
            )
        payload: dict[str, Any] = {
            "location": request.remote_location,
            **_retries(request.retries, request.retry_interval),
        }
        if request.oldest_at is not None:
            payload["startTime"] = iso(request.oldest_at)
        if request.latest_at is not None:
            payload["stopTime"] = iso(request.latest_at)
        return action, payload
    log: dict[str, Any] = {"remoteLocation": request.remote_location}
    if request.oldest_at is not None:
        log["oldestTimestamp"] = iso(request.oldest_at)
    if request.latest_at is not None:
        log["latestTimestamp"] = iso(request.latest_at)
    return action, {
        "logType": request.log_type,
        "requestId": request.request_id,
        **_retries(request.retries, request.retry_interval),
        "log": log,
    }


maintenance.builders_register(VERSION, maintenance.Builders(firmware_update=firmware_update, log_upload=log_upload))


# --- checks and queued ----------------------------------------------------------------------------------


def _time(payload: dict[str, Any], field: str, prefix: str = "") -> datetime | None:
    value = payload.get(field)
    return None if value is None else checks.datetime_check(prefix + field, value)


def _check_update_firmware(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    checks.location_check("location", payload["location"])
    _time(payload, "retrieveDate")


def _check_signed_update_firmware(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    firmware = payload["firmware"]
    checks.location_check("firmware.location", firmware["location"])
    _time(firmware, "retrieveDateTime", "firmware.")
    _time(firmware, "installDateTime", "firmware.")
    checks.signing_check(
        "firmware.signingCertificate", firmware["signingCertificate"], "firmware.signature", firmware["signature"]
    )
    checks.request_id_check(charge_point, "requestId", payload["requestId"], "firmware")


def _check_get_diagnostics(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    checks.location_check("location", payload["location"])
    checks.window_check("startTime", _time(payload, "startTime"), "stopTime", _time(payload, "stopTime"))


def _check_get_log(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    log = payload["log"]
    checks.location_check("log.remoteLocation", log["remoteLocation"])
    oldest, latest = _time(log, "oldestTimestamp", "log."), _time(log, "latestTimestamp", "log.")
    checks.window_check("log.oldestTimestamp", oldest, "log.latestTimestamp", latest)
    checks.request_id_check(charge_point, "requestId", payload["requestId"], "log")


def _queued_update_firmware(command: Command) -> None:
    payload = command.request
    retrieve_at = _time(payload, "retrieveDate")
    assert retrieve_at is not None  # required by the schema, checked before queuing
    maintenance.firmware_update_queued(
        command=command,
        request_id=None,
        location=payload["location"],
        retrieve_at=retrieve_at,
        retries=payload.get("retries"),
        retry_interval=payload.get("retryInterval"),
    )


def _queued_signed_update_firmware(command: Command) -> None:
    payload = command.request
    firmware = payload["firmware"]
    retrieve_at = _time(firmware, "retrieveDateTime")
    assert retrieve_at is not None
    maintenance.firmware_update_queued(
        command=command,
        request_id=payload["requestId"],
        location=firmware["location"],
        retrieve_at=retrieve_at,
        install_at=_time(firmware, "installDateTime"),
        retries=payload.get("retries"),
        retry_interval=payload.get("retryInterval"),
        signing_certificate=firmware["signingCertificate"],
        signature=firmware["signature"],
    )


def _queued_get_diagnostics(command: Command) -> None:
    payload = command.request
    maintenance.log_upload_queued(
        command=command,
        request_id=None,
        log_type="DiagnosticsLog",
        remote_location=payload["location"],
        oldest_at=_time(payload, "startTime"),
        latest_at=_time(payload, "stopTime"),
        retries=payload.get("retries"),
        retry_interval=payload.get("retryInterval"),
    )


def _queued_get_log(command: Command) -> None:
    payload = command.request
    log = payload["log"]
    maintenance.log_upload_queued(
        command=command,
        request_id=payload["requestId"],
        log_type=payload["logType"],
        remote_location=log["remoteLocation"],
        oldest_at=_time(log, "oldestTimestamp"),
        latest_at=_time(log, "latestTimestamp"),
        retries=payload.get("retries"),
        retry_interval=payload.get("retryInterval"),
    )


# --- effects --------------------------------------------------------------------------------------------


def _answered_update_firmware(command: Command, response: dict[str, Any], now: datetime) -> None:
    # UpdateFirmware.conf is empty: answered is accepted.
    maintenance.firmware_update_answered(command=command, status="Accepted", now=now)


def _answered_signed_update_firmware(command: Command, response: dict[str, Any], now: datetime) -> None:
    maintenance.firmware_update_answered(command=command, status=response["status"], now=now)


def _answered_get_diagnostics(command: Command, response: dict[str, Any], now: datetime) -> None:
    file_name = response.get("fileName") or ""
    status = "Accepted" if file_name else maintenance.NO_FILE
    maintenance.log_upload_answered(command=command, status=status, file_name=file_name, now=now)


def _answered_get_log(command: Command, response: dict[str, Any], now: datetime) -> None:
    maintenance.log_upload_answered(
        command=command, status=response["status"], file_name=response.get("filename") or "", now=now
    )


# --- handlers -------------------------------------------------------------------------------------------


def _lifecycle(action: str, report: Callable[..., object]) -> Handler:
    """The core's handler of ``action`` (it keeps the ChargerEvent), then the lifecycle's step."""
    core = CORE[action]

    def handle(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
        reply = core(cp, payload, now)
        report(charge_point=cp, request_id=payload.get("requestId"), status=payload["status"], now=now)
        return reply

    return handle


BLOCK = Block(
    "maintenance",
    handlers={
        "FirmwareStatusNotification": _lifecycle("FirmwareStatusNotification", maintenance.firmware_status_report),
        "SignedFirmwareStatusNotification": _lifecycle(
            "SignedFirmwareStatusNotification", maintenance.firmware_status_report
        ),
        "DiagnosticsStatusNotification": _lifecycle("DiagnosticsStatusNotification", maintenance.log_status_report),
        "LogStatusNotification": _lifecycle("LogStatusNotification", maintenance.log_status_report),
    },
    effects={
        "UpdateFirmware": _answered_update_firmware,
        "SignedUpdateFirmware": _answered_signed_update_firmware,
        "GetDiagnostics": _answered_get_diagnostics,
        "GetLog": _answered_get_log,
    },
    checks={
        "UpdateFirmware": _check_update_firmware,
        "SignedUpdateFirmware": _check_signed_update_firmware,
        "GetDiagnostics": _check_get_diagnostics,
        "GetLog": _check_get_log,
    },
    queued={
        "UpdateFirmware": _queued_update_firmware,
        "SignedUpdateFirmware": _queued_signed_update_firmware,
        "GetDiagnostics": _queued_get_diagnostics,
        "GetLog": _queued_get_log,
    },
)
