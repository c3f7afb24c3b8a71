"""Firmware updates, log uploads and firmware publications: every write.

Two sides meet here. Operators ask (``firmware_update_request``, ``log_upload_request``,
``firmware_publish_request``, ``firmware_unpublish_request``): a fresh ``requestId``, the charger's version
builds the command (``builders_register``: each protocol package registers its builders, the domain never
imports them), ``chargers.commands.command_enqueue`` checks and queues it. The versions' protocol side tells
what happened, with typed values: a command queued (``*_queued``: the row is made, whoever queued the
command, the generic commands API included), answered (``*_answered``) and the charger's status
notifications (``*_status_report``).

Lifecycles: ``status`` is the latest step; every step is kept with its time (``FirmwareStatusChange``,
``LogStatusChange``), statuses out of order too. A final status ends the lifecycle (``finished_at``); what
comes after it is kept in the timeline and changes nothing else. An ``AcceptedCanceled`` answer means the
charger dropped the request it was running for this one: the charger's earlier open one is ``Canceled``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from backoffice.events import fleet_event
from chargers.commands import CommandError, command_enqueue
from chargers.models import ChargePoint, Command

from .models import FirmwarePublication, FirmwareStatusChange, FirmwareUpdate, LogStatusChange, LogUpload

REQUESTED = "Requested"
CANCELED = "Canceled"
#: GetDiagnostics answered without a file name: the charger has no diagnostics to upload.
NO_FILE = "NoFile"

#: Statuses after which a firmware update goes no further (answers and notifications, both versions).
FIRMWARE_FINAL = frozenset(
    {
        "Rejected",
        "InvalidCertificate",
        "RevokedCertificate",
        CANCELED,
        "DownloadFailed",
        "InstallationFailed",
        "InstallVerificationFailed",
        "InvalidSignature",
        "Installed",
    }
)
#: Answers to GetLog / GetDiagnostics that end the upload.
LOG_FINAL_ANSWERS = frozenset({"Rejected", NO_FILE})
#: LogStatusNotification / DiagnosticsStatusNotification statuses that end the upload. 2.0.1's
#: ``AcceptedCanceled`` is the notice of the request a second GetLog replaced (N01.FR.12, TC_N_36).
LOG_FINAL_REPORTS = frozenset(
    {
        "Uploaded",
        "UploadFailed",
        "UploadFailure",
        "BadMessage",
        "NotSupportedOperation",
        "PermissionDenied",
        "AcceptedCanceled",
    }
)
#: Answers that take the request (its lifecycle goes on).
ACCEPTING = frozenset({"Accepted", "AcceptedCanceled"})
#: A firmware update status that says no update runs: it is about none of them.
IDLE = "Idle"
UNPUBLISHED = "Unpublished"


# --- what each version builds ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FirmwareRequest:
    request_id: int
    location: str
    retrieve_at: datetime
    install_at: datetime | None = None
    retries: int | None = None
    retry_interval: int | None = None
    signing_certificate: str = ""
    signature: str = ""


@dataclasses.dataclass(frozen=True)
class LogRequest:
    request_id: int
    log_type: str
    remote_location: str
    oldest_at: datetime | None = None
    latest_at: datetime | None = None
    retries: int | None = None
    retry_interval: int | None = None
    #: The command to send, when the version has more than one (1.6: GetDiagnostics or GetLog); "" its default.
    action: str = ""


@dataclasses.dataclass(frozen=True)
class PublishRequest:
    request_id: int
    location: str
    checksum: str
    retries: int | None = None
    retry_interval: int | None = None


#: (action, payload) of the command a request goes out as.
Built = tuple[str, dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class Builders:
    """How one OCPP version asks for each (None: the version has no such command)."""

    firmware_update: Callable[[FirmwareRequest], Built]
    log_upload: Callable[[LogRequest], Built]
    publish: Callable[[PublishRequest], Built] | None = None
    unpublish: Callable[[str], Built] | None = None


BUILDERS: dict[str, Builders] = {}


def builders_register(version: str, builders: Builders) -> None:
    """The commands ``version``'s chargers get for these requests (called by its protocol package)."""
    BUILDERS[version] = builders


def _builders(charge_point: ChargePoint) -> Builders:
    version = charge_point.ocpp_version or "1.6"
    builders = BUILDERS.get(version)
    if builders is None:
        raise CommandError(f"no firmware or log commands for OCPP {version} ({charge_point})")
    return builders


def _next_request_id(model: type[FirmwareUpdate] | type[LogUpload] | type[FirmwarePublication], cp: ChargePoint) -> int:
    """One more than the charger's highest; the caller holds the charger's row lock (two requests at once
    would otherwise both take the same id)."""
    highest = model.objects.filter(charge_point=cp).aggregate(highest=Max("request_id"))["highest"]
    return max(highest or 0, 0) + 1


def _lock(charge_point: ChargePoint) -> None:
    ChargePoint.objects.select_for_update(no_key=True).filter(pk=charge_point.pk).first()


# --- operators ask --------------------------------------------------------------------------------------


def firmware_update_request(
    *,
    charge_point: ChargePoint,
    location: str,
    retrieve_at: datetime,
    install_at: datetime | None = None,
    retries: int | None = None,
    retry_interval: int | None = None,
    signing_certificate: str = "",
    signature: str = "",
    requested_by: str = "",
) -> FirmwareUpdate:
    """Queue a firmware update with a fresh requestId (1.6: UpdateFirmware, or SignedUpdateFirmware with a
    signing certificate; 2.0.1: UpdateFirmware). Raises CommandError when the charger's version refuses it."""
    builders = _builders(charge_point)
    with transaction.atomic():
        _lock(charge_point)
        request = FirmwareRequest(
            request_id=_next_request_id(FirmwareUpdate, charge_point),
            location=location,
            retrieve_at=retrieve_at,
            install_at=install_at,
            retries=retries,
            retry_interval=retry_interval,
            signing_certificate=signing_certificate,
            signature=signature,
        )
        action, payload = builders.firmware_update(request)
        command = command_enqueue(charge_point=charge_point, action=action, payload=payload, requested_by=requested_by)
        return FirmwareUpdate.objects.get(command=command)


def log_upload_request(
    *,
    charge_point: ChargePoint,
    log_type: str,
    remote_location: str,
    oldest_at: datetime | None = None,
    latest_at: datetime | None = None,
    retries: int | None = None,
    retry_interval: int | None = None,
    action: str = "",
    requested_by: str = "",
) -> LogUpload:
    """Queue a log upload with a fresh requestId (GetLog; a 1.6 diagnostics log: GetDiagnostics unless
    ``action`` is GetLog)."""
    builders = _builders(charge_point)
    with transaction.atomic():
        _lock(charge_point)
        request = LogRequest(
            request_id=_next_request_id(LogUpload, charge_point),
            log_type=log_type,
            remote_location=remote_location,
            oldest_at=oldest_at,
            latest_at=latest_at,
            retries=retries,
            retry_interval=retry_interval,
            action=action,
        )
        command_action, payload = builders.log_upload(request)
        command = command_enqueue(
            charge_point=charge_point, action=command_action, payload=payload, requested_by=requested_by
        )
        return LogUpload.objects.get(command=command)


def firmware_publish_request(
    *,
    charge_point: ChargePoint,
    location: str,
    checksum: str,
    retries: int | None = None,
    retry_interval: int | None = None,
    requested_by: str = "",
) -> FirmwarePublication:
    """Queue a PublishFirmware (a 2.0.1 Local Controller) with a fresh requestId."""
    builders = _builders(charge_point)
    if builders.publish is None:
        raise CommandError(f"OCPP {charge_point.ocpp_version or '1.6'} has no PublishFirmware")
    with transaction.atomic():
        _lock(charge_point)
        request = PublishRequest(
            request_id=_next_request_id(FirmwarePublication, charge_point),
            location=location,
            checksum=checksum,
            retries=retries,
            retry_interval=retry_interval,
        )
        action, payload = builders.publish(request)
        command = command_enqueue(charge_point=charge_point, action=action, payload=payload, requested_by=requested_by)
        return FirmwarePublication.objects.get(command=command)


def firmware_unpublish_request(*, publication: FirmwarePublication, requested_by: str = "") -> Command:
    """Queue the UnpublishFirmware of a publication's checksum; its answer settles the publication."""
    charge_point = publication.charge_point
    builders = _builders(charge_point)
    if builders.unpublish is None:
        raise CommandError(f"OCPP {charge_point.ocpp_version or '1.6'} has no UnpublishFirmware")
    if publication.unpublished_at is not None:
        raise CommandError(f"publication {publication.request_id} is unpublished already")
    action, payload = builders.unpublish(publication.checksum)
    return command_enqueue(charge_point=charge_point, action=action, payload=payload, requested_by=requested_by)


# --- what the versions report: firmware -----------------------------------------------------------------


def firmware_update_queued(
    *,
    command: Command,
    request_id: int | None,
    location: str,
    retrieve_at: datetime,
    install_at: datetime | None = None,
    retries: int | None = None,
    retry_interval: int | None = None,
    signing_certificate: str = "",
    signature: str = "",
) -> FirmwareUpdate:
    """A queued firmware update command (``request_id`` None: 1.6 core's, which has none: one is ours)."""
    charge_point = command.charge_point
    _lock(charge_point)
    if request_id is None:
        request_id = _next_request_id(FirmwareUpdate, charge_point)
    now = command.created_at or timezone.now()
    update = FirmwareUpdate.objects.create(
        charge_point=charge_point,
        request_id=request_id,
        command=command,
        action=command.action,
        location=location,
        retrieve_at=retrieve_at,
        install_at=install_at,
        retries=retries,
        retry_interval=retry_interval,
        signed=bool(signing_certificate),
        signing_certificate=signing_certificate,
        signature=signature,
        requested_by=command.requested_by,
        created_at=now,
        updated_at=now,
    )
    FirmwareStatusChange.objects.create(
        update=update, status=REQUESTED, source=FirmwareStatusChange.Source.CSMS, at=now
    )
    fleet_event("firmware", charge_point.charge_point_id, request_id=request_id, status=REQUESTED)
    return update


def firmware_update_answered(*, command: Command, status: str, now: datetime) -> FirmwareUpdate | None:
    """The charger answered the update's command (``status``: Accepted, Rejected, AcceptedCanceled,
    InvalidCertificate, RevokedCertificate; 1.6 core's empty answer is Accepted)."""
    update = FirmwareUpdate.objects.select_for_update().filter(command=command).first()
    if update is None:
        return None
    if status == "AcceptedCanceled":
        # The charger stopped the update it was running to start this one (L01.FR.24, TC_L_10).
        earlier = FirmwareUpdate.objects.select_for_update().filter(
            charge_point_id=update.charge_point_id, finished_at__isnull=True, created_at__lte=update.created_at
        )
        for previous in earlier.exclude(pk=update.pk).exclude(status=REQUESTED):
            _firmware_step(previous, CANCELED, FirmwareStatusChange.Source.CSMS, now)
    _firmware_step(update, status, FirmwareStatusChange.Source.ANSWER, now, keep=_overtaken(update.status, status))
    return update


def firmware_status_report(
    *, charge_point: ChargePoint, request_id: int | None, status: str, now: datetime
) -> FirmwareUpdate | None:
    """A FirmwareStatusNotification (SignedFirmwareStatusNotification): the step of the update it names, or,
    without a requestId (1.6 core), of the charger's latest open update it accepted. None when it is about
    no update we know (an unknown requestId, Idle with none): the caller kept it as an event."""
    updates = FirmwareUpdate.objects.select_for_update(of=("self",)).filter(charge_point=charge_point)
    if request_id is not None:
        update = updates.filter(request_id=request_id).first()
    elif status == IDLE:
        update = None
    else:
        update = _latest_open(updates)
    if update is None:
        return None
    _firmware_step(update, status, FirmwareStatusChange.Source.NOTIFICATION, now)
    return update


def _latest_open(rows: QuerySet[Any]) -> Any:
    """The latest open request the charger took, or may have: answered (not ``Requested`` any more), or
    sent and not answered yet (its answer may still be on the way, see ``_overtaken``) or timed out (the
    answer was lost, the charger may be at it). One still queued, or refused with a CallError, cannot be
    what the charger talks about."""
    in_flight = Q(status=REQUESTED, command__status__in=[Command.Status.SENT, Command.Status.TIMED_OUT])
    return (
        rows.filter(finished_at__isnull=True)
        .filter(in_flight | ~Q(status=REQUESTED))
        .order_by("-created_at", "-id")
        .first()
    )


def _overtaken(current: str, answer: str) -> bool:
    """A charger may notify its first status right after its answer, and the two are handled apart: when
    the notification was first, an accepting answer is kept in the timeline and the status stays."""
    return current != REQUESTED and answer in ACCEPTING


def _firmware_step(update: FirmwareUpdate, status: str, source: str, now: datetime, *, keep: bool = False) -> None:
    FirmwareStatusChange.objects.create(update=update, status=status[:32], source=source, at=now)
    if update.finished_at is None and not keep:
        update.status = status[:32]
        if status in FIRMWARE_FINAL:
            update.finished_at = now
    update.updated_at = now
    update.save(update_fields=["status", "finished_at", "updated_at"])
    fleet_event("firmware", update.charge_point.charge_point_id, request_id=update.request_id, status=status)


# --- logs -------------------------------------------------------------------------------------------------


def log_upload_queued(
    *,
    command: Command,
    request_id: int | None,
    log_type: str,
    remote_location: str,
    oldest_at: datetime | None = None,
    latest_at: datetime | None = None,
    retries: int | None = None,
    retry_interval: int | None = None,
) -> LogUpload:
    """A queued GetLog / GetDiagnostics (``request_id`` None: GetDiagnostics, which has none: one is ours)."""
    charge_point = command.charge_point
    _lock(charge_point)
    if request_id is None:
        request_id = _next_request_id(LogUpload, charge_point)
    now = command.created_at or timezone.now()
    upload = LogUpload.objects.create(
        charge_point=charge_point,
        request_id=request_id,
        command=command,
        action=command.action,
        log_type=log_type,
        remote_location=remote_location,
        oldest_at=oldest_at,
        latest_at=latest_at,
        retries=retries,
        retry_interval=retry_interval,
        requested_by=command.requested_by,
        created_at=now,
        updated_at=now,
    )
    LogStatusChange.objects.create(upload=upload, status=REQUESTED, source=FirmwareStatusChange.Source.CSMS, at=now)
    fleet_event("log_upload", charge_point.charge_point_id, request_id=request_id, status=REQUESTED)
    return upload


def log_upload_answered(*, command: Command, status: str, file_name: str, now: datetime) -> LogUpload | None:
    """The charger answered the upload's command (Accepted, Rejected, AcceptedCanceled; GetDiagnostics:
    Accepted with a file name, ``NoFile`` without), with the name of the file it will upload."""
    upload = LogUpload.objects.select_for_update().filter(command=command).first()
    if upload is None:
        return None
    if status == "AcceptedCanceled":
        earlier = LogUpload.objects.select_for_update().filter(
            charge_point_id=upload.charge_point_id, finished_at__isnull=True, created_at__lte=upload.created_at
        )
        for previous in earlier.exclude(pk=upload.pk).exclude(status=REQUESTED):
            _log_step(previous, CANCELED, FirmwareStatusChange.Source.CSMS, now, final=True)
    upload.file_name = file_name[:255]
    _log_step(
        upload,
        status,
        FirmwareStatusChange.Source.ANSWER,
        now,
        final=status in LOG_FINAL_ANSWERS,
        keep=_overtaken(upload.status, status),
    )
    return upload


def log_status_report(
    *, charge_point: ChargePoint, request_id: int | None, status: str, now: datetime
) -> LogUpload | None:
    """A LogStatusNotification (DiagnosticsStatusNotification: no requestId, the latest open upload)."""
    uploads = LogUpload.objects.select_for_update(of=("self",)).filter(charge_point=charge_point)
    if request_id is not None:
        upload = uploads.filter(request_id=request_id).first()
    elif status == IDLE:
        upload = None
    else:
        upload = _latest_open(uploads)
    if upload is None:
        return None
    _log_step(upload, status, FirmwareStatusChange.Source.NOTIFICATION, now, final=status in LOG_FINAL_REPORTS)
    return upload


def _log_step(upload: LogUpload, status: str, source: str, now: datetime, *, final: bool, keep: bool = False) -> None:
    LogStatusChange.objects.create(upload=upload, status=status[:32], source=source, at=now)
    if upload.finished_at is None and not keep:
        upload.status = status[:32]
        if final:
            upload.finished_at = now
    upload.updated_at = now
    upload.save(update_fields=["status", "file_name", "finished_at", "updated_at"])
    fleet_event("log_upload", upload.charge_point.charge_point_id, request_id=upload.request_id, status=status)


# --- publications (2.0.1) -------------------------------------------------------------------------------


def firmware_publication_queued(
    *,
    command: Command,
    request_id: int,
    location: str,
    checksum: str,
    retries: int | None = None,
    retry_interval: int | None = None,
) -> FirmwarePublication:
    """A queued PublishFirmware."""
    now = command.created_at or timezone.now()
    publication = FirmwarePublication.objects.create(
        charge_point=command.charge_point,
        request_id=request_id,
        command=command,
        location=location,
        checksum=checksum,
        retries=retries,
        retry_interval=retry_interval,
        requested_by=command.requested_by,
        created_at=now,
        updated_at=now,
    )
    fleet_event("firmware_publication", command.charge_point.charge_point_id, request_id=request_id, status=REQUESTED)
    return publication


def firmware_publication_answered(*, command: Command, status: str, now: datetime) -> FirmwarePublication | None:
    """The Local Controller answered PublishFirmware (Accepted, Rejected)."""
    publication = FirmwarePublication.objects.select_for_update().filter(command=command).first()
    if publication is not None:
        _publication_step(publication, status, now)
    return publication


def publish_status_report(
    *, charge_point: ChargePoint, request_id: int | None, status: str, locations: list[str], now: datetime
) -> FirmwarePublication | None:
    """A PublishFirmwareStatusNotification: the step of the publication it names (without a requestId,
    the latest one still published or publishing); ``Published`` with the URIs it serves the firmware at."""
    publications = FirmwarePublication.objects.select_for_update().filter(charge_point=charge_point)
    if request_id is not None:
        publication = publications.filter(request_id=request_id).first()
    else:
        publication = (
            publications.filter(unpublished_at__isnull=True).exclude(status=REQUESTED).order_by("-created_at").first()
        )
    if publication is None:
        return None
    if status == "Published" and locations:
        publication.published_locations = locations
    _publication_step(publication, status, now)
    return publication


def firmware_unpublish_answered(*, charge_point: ChargePoint, checksum: str, status: str, now: datetime) -> int:
    """UnpublishFirmware answered: ``Unpublished`` (or ``NoFirmware``: it holds none) ends the publications
    of that checksum; ``DownloadOngoing`` changes nothing (kept in the command's answer). How many ended."""
    if status not in (UNPUBLISHED, "NoFirmware"):
        return 0
    publications = list(
        FirmwarePublication.objects.select_for_update().filter(
            charge_point=charge_point, checksum__iexact=checksum, unpublished_at__isnull=True
        )
    )
    for publication in publications:
        publication.unpublished_at = now
        _publication_step(publication, UNPUBLISHED, now)
    return len(publications)


def _publication_step(publication: FirmwarePublication, status: str, now: datetime) -> None:
    if publication.unpublished_at is None or status == UNPUBLISHED:
        publication.status = status[:32]
    publication.updated_at = now
    publication.save(update_fields=["status", "published_locations", "unpublished_at", "updated_at"])
    fleet_event(
        "firmware_publication",
        publication.charge_point.charge_point_id,
        request_id=publication.request_id,
        status=status,
    )
