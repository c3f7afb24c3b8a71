"""End to end, firmware and logs: an ``ocpp`` package client (1.6 and 2.0.1) -> our gateway -> broker -> bridge ->
Celery worker -> back. The operator asks through the API; the client answers the command and then sends its
status notifications, as a charger does; the lifecycles are read back from the database."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from websockets.asyncio.client import connect

from apikeys.testing import ApiClientFactory
from chargers.models import Command
from conftest import Stack
from gateway import services as gateway
from gateway.tests.conftest import OCPP16, new_cid, stack_topics
from gateway.tests.test_v201_e2e import OCPP201, STATION, await_for
from maintenance.models import FirmwareUpdate, LogUpload

from .helpers import FIRMWARE_URL, LOG_URL, SIGNATURE, root_pem

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

INSTALL = ["Downloading", "Downloaded", "SignatureVerified", "Installing", "Installed"]


def headers(cid: str) -> dict[str, str]:
    _, password = gateway.credential_set_password(charge_point_id=cid)
    return {"Authorization": "Basic " + base64.b64encode(f"{cid}:{password}".encode()).decode()}


def steps(row: FirmwareUpdate | LogUpload) -> list[str]:
    return list(row.changes.values_list("status", flat=True))


def answered(command_id: int) -> Callable[[], bool]:
    """The command's answer is applied (it may be handled after the notifications that followed it)."""
    return lambda: Command.objects.filter(pk=command_id, status__in=["accepted", "rejected"]).exists()


def notified(row: FirmwareUpdate | LogUpload) -> list[str]:
    """The charger's statuses in order (its answer and its first notification may be handled either way round)."""
    return list(row.changes.filter(source="notification").values_list("status", flat=True))


class Station201(ChargePoint201):
    """Takes the first update and starts downloading it; takes a second one by dropping the first
    (AcceptedCanceled) and installs it; uploads the logs it is asked for."""

    updates: list[int]

    @on("UpdateFirmware")
    def on_update_firmware(self, request_id: int, firmware: dict[str, Any], **_: Any) -> Any:
        self.updates = [*getattr(self, "updates", []), request_id]
        assert firmware["signature"] == SIGNATURE and "BEGIN CERTIFICATE" in firmware["signing_certificate"]
        return result201.UpdateFirmware(status="AcceptedCanceled" if len(self.updates) > 1 else "Accepted")

    @after("UpdateFirmware")
    async def after_update_firmware(self, request_id: int, **_: Any) -> None:
        for status in INSTALL if len(self.updates) > 1 else INSTALL[:1]:
            await self.call(call201.FirmwareStatusNotification(status=status, request_id=request_id))

    @on("GetLog")
    def on_get_log(self, log_type: str, request_id: int, log: dict[str, Any], **_: Any) -> Any:
        return result201.GetLog(status="Accepted", filename=f"{log_type}-{request_id}.log")

    @after("GetLog")
    async def after_get_log(self, request_id: int, **_: Any) -> None:
        for status in ("Uploading", "Uploaded"):
            await self.call(call201.LogStatusNotification(status=status, request_id=request_id))


def test_TC_L_01_TC_L_10_TC_N_35_CSMS_firmware_and_logs_of_a_2_0_1_station(
    stack: Stack, start_gateway: Any, api_client: ApiClientFactory
) -> None:
    gw = start_gateway(**stack_topics())
    cid = new_cid("fw201")
    auth = headers(cid)
    client = api_client("operator")

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(f"/api/v1/chargers/{cid}/{path}/", body, format="json")
        assert response.status_code == 202, response.content
        return dict(response.json())

    def update(request_id: int, status: str) -> Callable[[], bool]:
        return lambda: FirmwareUpdate.objects.filter(
            charge_point__charge_point_id=cid, request_id=request_id, status=status
        ).exists()

    signed = {"location": FIRMWARE_URL, "signing_certificate": root_pem(), "signature": SIGNATURE}

    async def scenario() -> None:
        async with connect(f"{gw.url}/{cid}", subprotocols=[OCPP201], additional_headers=auth) as ws:  # type: ignore[list-item]
            station = Station201(cid, ws, response_timeout=20)
            receiver = asyncio.create_task(station.start())
            try:
                boot = await station.call(call201.BootNotification(charging_station=STATION, reason="PowerUp"))
                assert boot.status == "Accepted"
                first = await asyncio.to_thread(post, "firmware-updates", signed)
                await await_for(update(first["request_id"], "Downloading"), timeout=30)
                second = await asyncio.to_thread(post, "firmware-updates", signed)
                await await_for(update(second["request_id"], "Installed"), timeout=30)
                await await_for(answered(first["command_id"]))
                await await_for(answered(second["command_id"]))
                upload = await asyncio.to_thread(
                    post, "log-uploads", {"log_type": "SecurityLog", "remote_location": LOG_URL}
                )
                await await_for(
                    lambda: LogUpload.objects.filter(request_id=upload["request_id"], status="Uploaded").exists()
                )
            finally:
                receiver.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await receiver

    asyncio.run(scenario())
    first, second = FirmwareUpdate.objects.filter(charge_point__charge_point_id=cid).order_by("request_id")
    assert (first.status, notified(first), steps(first)[-1]) == ("Canceled", ["Downloading"], "Canceled")
    assert (second.status, notified(second)) == ("Installed", INSTALL)
    assert {"Requested", "Accepted"} <= set(steps(first)) and "AcceptedCanceled" in steps(second)
    upload = LogUpload.objects.get(charge_point__charge_point_id=cid)
    assert (upload.status, upload.file_name) == ("Uploaded", f"SecurityLog-{upload.request_id}.log")


class Charger16(ChargePoint16):
    """Installs every update it is given (core and signed) and uploads its diagnostics."""

    @on("UpdateFirmware")
    def on_update_firmware(self, location: str, retrieve_date: str, **_: Any) -> Any:
        return result16.UpdateFirmware()

    @after("UpdateFirmware")
    async def after_update_firmware(self, **_: Any) -> None:
        for status in ("Downloading", "Downloaded", "Installing", "Installed"):
            await self.call(call16.FirmwareStatusNotification(status=status))

    @on("SignedUpdateFirmware")
    def on_signed_update_firmware(self, request_id: int, firmware: dict[str, Any], **_: Any) -> Any:
        return result16.SignedUpdateFirmware(status="Accepted")

    @after("SignedUpdateFirmware")
    async def after_signed_update_firmware(self, request_id: int, **_: Any) -> None:
        for status in INSTALL:
            await self.call(call16.SignedFirmwareStatusNotification(status=status, request_id=request_id))

    @on("GetDiagnostics")
    def on_get_diagnostics(self, location: str, **_: Any) -> Any:
        return result16.GetDiagnostics(file_name="diagnostics.zip")

    @after("GetDiagnostics")
    async def after_get_diagnostics(self, **_: Any) -> None:
        for status in ("Uploading", "Uploaded"):
            await self.call(call16.DiagnosticsStatusNotification(status=status))


def test_TC_044_1_TC_045_1_TC_080_CSMS_firmware_and_diagnostics_of_a_1_6_charger(
    stack: Stack, start_gateway: Any, api_client: ApiClientFactory
) -> None:
    gw = start_gateway(**stack_topics())
    cid = new_cid("fw16")
    auth = headers(cid)
    client = api_client("operator")

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(f"/api/v1/chargers/{cid}/{path}/", body, format="json")
        assert response.status_code == 202, response.content
        return dict(response.json())

    def installed(request_id: int) -> Callable[[], bool]:
        return lambda: FirmwareUpdate.objects.filter(
            charge_point__charge_point_id=cid, request_id=request_id, status="Installed"
        ).exists()

    async def scenario() -> None:
        async with connect(f"{gw.url}/{cid}", subprotocols=[OCPP16], additional_headers=auth) as ws:
            charger = Charger16(cid, ws, response_timeout=20)
            receiver = asyncio.create_task(charger.start())
            try:
                boot = await charger.call(
                    call16.BootNotification(charge_point_vendor="ACME", charge_point_model="FW-16")
                )
                assert boot.status == "Accepted"
                core = await asyncio.to_thread(post, "firmware-updates", {"location": FIRMWARE_URL})
                assert core["action"] == "UpdateFirmware"
                await await_for(installed(core["request_id"]), timeout=30)
                diagnostics = await asyncio.to_thread(post, "log-uploads", {"remote_location": LOG_URL})
                await await_for(
                    lambda: LogUpload.objects.filter(request_id=diagnostics["request_id"], status="Uploaded").exists()
                )
                signed = await asyncio.to_thread(
                    post,
                    "firmware-updates",
                    {"location": FIRMWARE_URL, "signing_certificate": root_pem(), "signature": SIGNATURE},
                )
                assert signed["action"] == "SignedUpdateFirmware"
                await await_for(installed(signed["request_id"]), timeout=30)
                for command_id in (core["command_id"], signed["command_id"], diagnostics["command_id"]):
                    await await_for(answered(command_id))
            finally:
                receiver.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await receiver

    asyncio.run(scenario())
    core, signed = FirmwareUpdate.objects.filter(charge_point__charge_point_id=cid).order_by("request_id")
    assert notified(core) == ["Downloading", "Downloaded", "Installing", "Installed"]
    assert notified(signed) == INSTALL and signed.signed
    assert steps(core)[0] == "Requested" and "Accepted" in steps(core) and "Accepted" in steps(signed)
    upload = LogUpload.objects.get(charge_point__charge_point_id=cid)
    assert (upload.action, upload.status, upload.file_name) == ("GetDiagnostics", "Uploaded", "diagnostics.zip")
