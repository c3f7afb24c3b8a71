"""Firmware, logs and customer data of a simulated 2.0.1 station (blocks L and N): UpdateFirmware with its
FirmwareStatusNotification lifecycle and the reboot into the new version (L01, L02; a second update
while one downloads cancels it: AcceptedCanceled), PublishFirmware / UnpublishFirmware (L03, L04: the
station as a local controller), GetLog with its LogStatusNotification lifecycle (N01), and
CustomerInformation (N09, N10).

Nothing is really downloaded or uploaded: each step takes ``Options.status_step`` seconds so that a
dashboard shows it. A signature, when there is one, "verifies" if it is base64 (the station holds no
image to check it against); a signing certificate that is not a PEM certificate is InvalidCertificate.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ocpp.routing import after, on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from gateway.sim_certificates import parse_chain, same_hash
from gateway.sim_v201_base import StationBase
from gateway.sim_v201_model import Job
from gateway.sim_v201_security import reason

logger = logging.getLogger("gateway.simulator_v201")

UPLOAD_SCHEMES = ("http", "https", "ftp", "ftps", "sftp")
INSTALLING = ("Installing", "InstallRebooting")
NOTIFY_TEXT_LENGTH = 512  # NotifyCustomerInformation.data


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def next_version(current: str, location: str) -> str:
    """The version a firmware image brings: the one its file name says (``fw-1.4.2.bin``), otherwise
    the current version with its last number increased."""
    found = re.findall(r"\d+(?:\.\d+){1,3}", urlsplit(location).path.rsplit("/", 1)[-1])
    if found and found[-1] != current:
        return found[-1]
    parts = current.split(".")
    parts[-1] = str(int(parts[-1]) + 1) if parts[-1].isdigit() else parts[-1] + ".1"
    return ".".join(parts)


async def sleep_until(moment: datetime | None) -> None:
    if moment is not None:
        await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


class MaintenanceBlock(StationBase):
    """Blocks L and N of a simulated station."""

    async def step(self) -> None:
        await asyncio.sleep(self.options.status_step)

    # --- firmware (L01, L02) -----------------------------------------------------------------------
    @on(Action.update_firmware)
    def on_update_firmware(self, request_id: int, firmware: dict[str, Any], **kwargs: Any) -> Any:
        running = self.state.firmware
        if running is not None and running.task is not None and running.task.done():
            running = None  # ended with its connection
        if running is not None and running.status in INSTALLING:
            return call_result.UpdateFirmware(status="Rejected", status_info=reason("InstallInProgress"))
        if firmware.get("signing_certificate"):
            try:
                parse_chain(firmware["signing_certificate"])
            except ValueError as exc:
                return call_result.UpdateFirmware(
                    status="InvalidCertificate", status_info=reason("InvalidCertificate", str(exc))
                )
        status = "Accepted"
        if running is not None:  # L01.FR.24: the update under way is cancelled for this one
            if running.task is not None:
                running.task.cancel()
            status = "AcceptedCanceled"
        self.state.firmware = Job(request_id, "Accepted", detail=dict(firmware))
        return call_result.UpdateFirmware(status=status)

    @after(Action.update_firmware)
    async def after_update_firmware(self, request_id: int, **kwargs: Any) -> None:
        job = self.state.firmware
        if job is not None and job.request_id == request_id and job.task is None and job.status == "Accepted":
            job.task = self.spawn(self.firmware_update(job))

    async def firmware_status(self, job: Job, status: str) -> None:
        job.status = status
        await self.call(call.FirmwareStatusNotification(status=status, request_id=job.request_id))

    async def firmware_update(self, job: Job) -> None:
        """Download (at retrieveDateTime), verify, install (at installDateTime, once no transaction
        runs), reboot; Installed follows the boot (``firmware_installed``)."""
        firmware = job.detail
        retrieve = parse_time(firmware.get("retrieve_date_time"))
        if retrieve is not None and retrieve > datetime.now(UTC):
            await self.firmware_status(job, "DownloadScheduled")
            await sleep_until(retrieve)
        for status in ("Downloading", "Downloaded"):
            await self.firmware_status(job, status)
            await self.step()
        if firmware.get("signature"):
            try:
                base64.b64decode(firmware["signature"], validate=True)
            except (binascii.Error, ValueError):
                await self.firmware_status(job, "InvalidSignature")
                self.state.firmware = None
                return
            await self.firmware_status(job, "SignatureVerified")
            await self.step()
        install = parse_time(firmware.get("install_date_time"))
        if install is not None and install > datetime.now(UTC):
            await self.firmware_status(job, "InstallScheduled")
            await sleep_until(install)
        while self.busy():  # L01.FR.06: a transaction under way ends before the installation
            await asyncio.sleep(5)
        await self.firmware_status(job, "Installing")
        await self.step()
        await self.firmware_status(job, "InstallRebooting")
        await self.step()
        self.state.firmware_version = next_version(self.state.firmware_version, str(firmware["location"]))
        self.state.firmware, self.state.firmware_done = None, job
        await self.reboot("FirmwareUpdate")

    async def firmware_installed(self) -> None:
        """After the reboot into a new firmware: Installed (L01.FR.?? in the new firmware's first boot)."""
        job, self.state.firmware_done = self.state.firmware_done, None
        if job is not None:
            await self.firmware_status(job, "Installed")

    # --- publishing firmware as a local controller (L03, L04) --------------------------------------------
    @on(Action.publish_firmware)
    def on_publish_firmware(self, location: str, checksum: str, request_id: int, **kwargs: Any) -> Any:
        if self.state.publishing is not None:
            return call_result.PublishFirmware(status="Rejected", status_info=reason("PublishInProgress"))
        self.state.publishing = Job(request_id, "Accepted", detail={"location": location, "checksum": checksum})
        return call_result.PublishFirmware(status="Accepted")

    @after(Action.publish_firmware)
    async def after_publish_firmware(self, request_id: int, **kwargs: Any) -> None:
        job = self.state.publishing
        if job is not None and job.request_id == request_id and job.task is None:
            job.task = self.spawn(self.firmware_publish(job))

    async def firmware_publish(self, job: Job) -> None:
        try:
            for status in ("Downloading", "Downloaded", "ChecksumVerified"):
                job.status = status
                await self.call(call.PublishFirmwareStatusNotification(status=status, request_id=job.request_id))
                await self.step()
            checksum = str(job.detail["checksum"])
            name = urlsplit(str(job.detail["location"])).path.rsplit("/", 1)[-1] or f"{checksum}.bin"
            locations = [f"http://{self.state.cid}.local/firmware/{name}"]
            self.state.published[checksum] = locations
            job.status = "Published"
        finally:
            self.state.publishing = None  # done: it can be unpublished from now on
        await self.call(
            call.PublishFirmwareStatusNotification(status="Published", location=locations, request_id=job.request_id)
        )

    @on(Action.unpublish_firmware)
    def on_unpublish_firmware(self, checksum: str, **kwargs: Any) -> Any:
        publishing = self.state.publishing
        if publishing is not None and publishing.detail["checksum"] == checksum:
            return call_result.UnpublishFirmware(status="DownloadOngoing")
        if self.state.published.pop(checksum, None) is None:
            return call_result.UnpublishFirmware(status="NoFirmware")
        return call_result.UnpublishFirmware(status="Unpublished")

    # --- logs (N01) --------------------------------------------------------------------------------------
    @on(Action.get_log)
    def on_get_log(self, log: dict[str, Any], log_type: str, request_id: int, **kwargs: Any) -> Any:
        running = self.state.log_upload
        status = "Accepted"
        if running is not None:  # N01.FR.?: the upload under way is cancelled for this one
            if running.task is not None:
                running.task.cancel()
            self.spawn(self.call(call.LogStatusNotification(status="AcceptedCanceled", request_id=running.request_id)))
            status = "AcceptedCanceled"
        filename = f"{self.state.cid}-{log_type}-{request_id}.log"
        self.state.log_upload = Job(request_id, "Accepted", detail={**log, "filename": filename})
        return call_result.GetLog(status=status, filename=filename)

    @after(Action.get_log)
    async def after_get_log(self, request_id: int, **kwargs: Any) -> None:
        job = self.state.log_upload
        if job is not None and job.request_id == request_id and job.task is None:
            job.task = self.spawn(self.log_upload(job))

    async def log_upload(self, job: Job) -> None:
        try:
            job.status = "Uploading"
            await self.call(call.LogStatusNotification(status="Uploading", request_id=job.request_id))
            await self.step()
            scheme = urlsplit(str(job.detail["remote_location"])).scheme.lower()
            job.status = "Uploaded" if scheme in UPLOAD_SCHEMES else "UploadFailure"
        finally:
            if self.state.log_upload is job:
                self.state.log_upload = None  # done: a trigger now reports Idle
        await self.call(call.LogStatusNotification(status=job.status, request_id=job.request_id))

    # --- customer information (N09, N10) ------------------------------------------------------------------
    @on(Action.customer_information)
    def on_customer_information(
        self,
        request_id: int,
        report: bool,
        clear: bool,
        id_token: dict[str, Any] | None = None,
        customer_certificate: dict[str, Any] | None = None,
        customer_identifier: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if id_token is None and customer_certificate is None and customer_identifier is None:
            return call_result.CustomerInformation(status="Invalid")  # whose data? (N09.FR.?)
        if not report and not clear:
            return call_result.CustomerInformation(status="Rejected")
        return call_result.CustomerInformation(status="Accepted")

    @after(Action.customer_information)
    async def after_customer_information(
        self,
        request_id: int,
        report: bool,
        clear: bool,
        id_token: dict[str, Any] | None = None,
        customer_certificate: dict[str, Any] | None = None,
        customer_identifier: str | None = None,
        **kwargs: Any,
    ) -> None:
        if id_token is None and customer_certificate is None and customer_identifier is None:
            return
        if not report and not clear:
            return
        lines = self.customer_data(id_token, customer_certificate, customer_identifier) if report else []
        if clear:
            if id_token is not None:
                self.state.customer_history.pop(id_token["id_token"], None)
            if customer_certificate is not None:
                self.state.certificates.delete(customer_certificate)
            lines.append("customer data cleared")
        await self.send_customer_information(request_id, lines or ["no data kept for this customer"])

    def customer_data(
        self, id_token: dict[str, Any] | None, certificate: dict[str, Any] | None, identifier: str | None
    ) -> list[str]:
        """What the station keeps about a customer, one line a fact."""
        lines = []
        if id_token is not None:
            token = str(id_token["id_token"])
            entry = self.state.local_list.get(token)
            if entry is not None:
                lines.append(f"idToken {token}: in the local authorization list ({entry.get('status')})")
            lines += [f"idToken {token}: {line}" for line in self.state.customer_history.get(token, [])]
        if certificate is not None:
            store = self.state.certificates
            if any(same_hash(certificate, i.certificate, store.issuer_of(i.certificate)) for i in store.installed):
                lines.append(f"certificate {certificate.get('serial_number')}: installed")
        if identifier is not None:
            lines.append(f"customer {identifier}: no data kept by this station")
        return lines

    async def send_customer_information(self, request_id: int, lines: list[str]) -> None:
        """NotifyCustomerInformation in parts of at most 512 characters (seqNo from 0, tbc on all but the last)."""
        text = "\n".join(lines)
        parts = [text[i : i + NOTIFY_TEXT_LENGTH] for i in range(0, len(text), NOTIFY_TEXT_LENGTH)]
        generated_at = self.now()
        for seq_no, part in enumerate(parts):
            await self.call(
                call.NotifyCustomerInformation(
                    data=part,
                    seq_no=seq_no,
                    generated_at=generated_at,
                    request_id=request_id,
                    tbc=seq_no < len(parts) - 1,
                )
            )

    # --- triggered notifications (F06) ---------------------------------------------------------------
    async def trigger_maintenance(self, requested_message: str) -> None:
        """A triggered FirmwareStatusNotification / LogStatusNotification / PublishFirmwareStatusNotification:
        the status of the job under way (with its requestId), Idle when none runs."""
        if requested_message == "FirmwareStatusNotification":
            job = self.state.firmware
            status = job.status if job is not None and job.status != "Accepted" else "Idle"
            await self.call(call.FirmwareStatusNotification(status=status, request_id=job.request_id if job else None))
        elif requested_message == "LogStatusNotification":
            job = self.state.log_upload
            status = job.status if job is not None and job.status != "Accepted" else "Idle"
            await self.call(call.LogStatusNotification(status=status, request_id=job.request_id if job else None))
        elif requested_message == "PublishFirmwareStatusNotification":
            job = self.state.publishing
            status = job.status if job is not None and job.status != "Accepted" else "Idle"
            await self.call(
                call.PublishFirmwareStatusNotification(status=status, request_id=job.request_id if job else None)
            )
