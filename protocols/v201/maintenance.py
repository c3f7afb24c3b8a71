"""Firmware (block L) and logs (block N's GetLog): UpdateFirmware, PublishFirmware / UnpublishFirmware, GetLog
and their status notifications as lifecycles (``maintenance.services``).

- checks: a location that is no URL, a date that is no date, a time window upside down, a signing certificate
  without a signature (or a signature without its certificate), a signing certificate that is no (unexpired)
  PEM certificate, a signature that is no base64, a checksum that is no MD5, a requestId already used on this
  station: refused before queuing.
- queued: the update / upload / publication is recorded with its requestId.
- effects: the answer settles it: UpdateFirmware Accepted, Rejected, AcceptedCanceled (the station's earlier
  update is then Canceled, L01.FR.24), InvalidCertificate, RevokedCertificate; GetLog Accepted, Rejected,
  AcceptedCanceled (the earlier upload Canceled) with its filename; PublishFirmware Accepted / Rejected;
  UnpublishFirmware Unpublished (or NoFirmware) ends the publications of that checksum.
- handlers: FirmwareStatusNotification, LogStatusNotification and PublishFirmwareStatusNotification are recorded
  as the core does (a ChargerEvent), then advance the lifecycle of their requestId (without one: the latest
  open one; a requestId we never sent: the event only).
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

VERSION = "2.0.1"


def _retries(retries: int | None, retry_interval: int | None) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if retries is not None:
        payload["retries"] = retries
    if retry_interval is not None:
        payload["retryInterval"] = retry_interval
    return payload


# --- builders -------------------------------------------------------------------------------------------


def firmware_update(request: maintenance.FirmwareRequest) -> maintenance.Built:
    firmware: dict[str, Any] = {"location": request.location, "retrieveDateTime": iso(request.retrieve_at)}
    if request.install_at is not None:
        firmware["installDateTime"] = iso(request.install_at)
    if request.signing_certificate:
        firmware["signingCertificate"] = request.signing_certificate
    if request.signature:
        firmware["signature"] = request.signature
    return "UpdateFirmware", {
        "requestId": request.request_id,
        **_retries(request.retries, request.retry_interval),
        "firmware": firmware,
    }


def log_upload(request: maintenance.LogRequest) -> maintenance.Built:
    if request.action not in ("", "GetLog"):
        raise CommandError(f"{request.action!r} uploads no log in OCPP 2.0.1", {"action": ["GetLog"]})
    log: dict[str, Any] = {"remoteLocation": request.remote_location}
    if request.oldest_at is not None:
        log["oldestTimestamp"] = iso(request.oldest_at)
    if request.latest_at is not None:
        log["latestTimestamp"] = iso(request.latest_at)
    return "GetLog", {
        "logType": request.log_type,
        "requestId": request.request_id,
        **_retries(request.retries, request.retry_interval),
        "log": log,
    }


def publish(request: maintenance.PublishRequest) -> maintenance.Built:
    return "PublishFirmware", {
        "location": request.location,
        "checksum": request.checksum,
        "requestId": request.request_id,
        **_retries(request.retries, request.retry_interval),
    }


def unpublish(checksum: str) -> maintenance.Built:
    return "UnpublishFirmware", {"checksum": checksum}


maintenance.builders_register(
    VERSION,
    maintenance.Builders(firmware_update=firmware_update, log_upload=log_upload, publish=publish, unpublish=unpublish),
)


# --- checks and queued ----------------------------------------------------------------------------------


def _time(payload: dict[str, Any], field: str, prefix: str = "") -> datetime | None:
    value = payload.get(field)
    return None if value is None else checks.datetime_check(prefix + field, value)


def _check_update_firmware(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    firmware = payload["firmware"]
    checks.location_check("firmware.location", firmware["location"])
    _time(firmware, "retrieveDateTime", "firmware.")
    _time(firmware, "installDateTime", "firmware.")
    checks.signing_check(
        "firmware.signingCertificate",
        firmware.get("signingCertificate"),
        "firmware.signature",
        firmware.get("signature"),
    )
    checks.request_id_check(charge_point, "requestId", payload["requestId"], "firmware")


def _check_get_log(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    log = payload["log"]
    checks.location_check("log.remoteLocation", log["remoteLocation"])
    oldest, latest = _time(log, "oldestTimestamp", "log."), _time(log, "latestTimestamp", "log.")
    checks.window_check("log.oldestTimestamp", oldest, "log.latestTimestamp", latest)
    checks.request_id_check(charge_point, "requestId", payload["requestId"], "log")


def _check_publish_firmware(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    checks.location_check("location", payload["location"])
    checks.checksum_check("checksum", payload["checksum"])
    checks.request_id_check(charge_point, "requestId", payload["requestId"], "publication")


def _check_unpublish_firmware(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    checks.checksum_check("checksum", payload["checksum"])


def _queued_update_firmware(command: Command) -> None:
    payload = command.request
    firmware = payload["firmware"]
    retrieve_at = _time(firmware, "retrieveDateTime")
    assert retrieve_at is not None  # required by the schema, checked before queuing
    maintenance.firmware_update_queued(
        command=command,
        request_id=payload["requestId"],
        location=firmware["location"],
        retrieve_at=retrieve_at,
        install_at=_time(firmware, "installDateTime"),
        retries=payload.get("retries"),
        retry_interval=payload.get("retryInterval"),
        signing_certificate=firmware.get("signingCertificate", ""),
        signature=firmware.get("signature", ""),
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


def _queued_publish_firmware(command: Command) -> None:
    payload = command.request
    maintenance.firmware_publication_queued(
        command=command,
        request_id=payload["requestId"],
        location=payload["location"],
        checksum=payload["checksum"],
        retries=payload.get("retries"),
        retry_interval=payload.get("retryInterval"),
    )


# --- effects --------------------------------------------------------------------------------------------


def _answered_update_firmware(command: Command, response: dict[str, Any], now: datetime) -> None:
    maintenance.firmware_update_answered(command=command, status=response["status"], now=now)


def _answered_get_log(command: Command, response: dict[str, Any], now: datetime) -> None:
    maintenance.log_upload_answered(
        command=command, status=response["status"], file_name=response.get("filename") or "", now=now
    )


def _answered_publish_firmware(command: Command, response: dict[str, Any], now: datetime) -> None:
    maintenance.firmware_publication_answered(command=command, status=response["status"], now=now)


def _answered_unpublish_firmware(command: Command, response: dict[str, Any], now: datetime) -> None:
    maintenance.firmware_unpublish_answered(
        charge_point=command.charge_point, checksum=command.request["checksum"], status=response["status"], now=now
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


def _publish_status(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    reply = CORE["PublishFirmwareStatusNotification"](cp, payload, now)
    maintenance.publish_status_report(
        charge_point=cp,
        request_id=payload.get("requestId"),
        status=payload["status"],
        locations=list(payload.get("location", [])),
        now=now,
    )
    return reply


BLOCK = Block(
    "maintenance",
    handlers={
        "FirmwareStatusNotification": _lifecycle("FirmwareStatusNotification", maintenance.firmware_status_report),
        "LogStatusNotification": _lifecycle("LogStatusNotification", maintenance.log_status_report),
        "PublishFirmwareStatusNotification": _publish_status,
    },
    effects={
        "UpdateFirmware": _answered_update_firmware,
        "GetLog": _answered_get_log,
        "PublishFirmware": _answered_publish_firmware,
        "UnpublishFirmware": _answered_unpublish_firmware,
    },
    checks={
        "UpdateFirmware": _check_update_firmware,
        "GetLog": _check_get_log,
        "PublishFirmware": _check_publish_firmware,
        "UnpublishFirmware": _check_unpublish_firmware,
    },
    queued={
        "UpdateFirmware": _queued_update_firmware,
        "GetLog": _queued_get_log,
        "PublishFirmware": _queued_publish_firmware,
    },
)
