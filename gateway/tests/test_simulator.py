"""The simulated charger answers the commands a real one answers (through the real gateway)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import ssl
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from ocpp.charge_point import snake_to_camel_case
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as call_result16
from ocpp.v16.enums import Action as Action16
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from certificates.services import certificate_hash_data
from gateway.simulator import ChargerState, FleetStats, Options, now_iso, run_charger
from gateway.tests.certificates import Authority
from gateway.tests.conftest import Backoffice, call_topic, new_cid, reply_topic
from monitoring import mrec

COMMANDS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("GetConfiguration", {"key": ["HeartbeatInterval", "Nope"]}, {"unknownKey": ["Nope"]}),
    ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "120"}, {"status": "Accepted"}),
    ("ChangeConfiguration", {"key": "NumberOfConnectors", "value": "5"}, {"status": "Rejected"}),
    ("TriggerMessage", {"requestedMessage": "Heartbeat"}, {"status": "Accepted"}),
    ("ClearCache", {}, {"status": "Accepted"}),
    ("DataTransfer", {"vendorId": "other"}, {"status": "UnknownVendorId"}),
    ("UnlockConnector", {"connectorId": 1}, {"status": "Unlocked"}),
    (
        "ReserveNow",
        {"connectorId": 2, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "T1", "reservationId": 7},
        {"status": "Accepted"},
    ),
    ("CancelReservation", {"reservationId": 7}, {"status": "Accepted"}),
    (
        "SetChargingProfile",
        {
            "connectorId": 1,
            "csChargingProfiles": {
                "chargingProfileId": 3,
                "stackLevel": 0,
                "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Absolute",
                "chargingSchedule": {
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 3000}],
                },
            },
        },
        {"status": "Accepted"},
    ),
    ("GetCompositeSchedule", {"connectorId": 1, "duration": 600}, {"status": "Accepted"}),
    ("ClearChargingProfile", {"id": 3}, {"status": "Accepted"}),
    ("SendLocalList", {"listVersion": 2, "updateType": "Full"}, {"status": "Accepted"}),
    ("GetLocalListVersion", {}, {"listVersion": 2}),
    ("ChangeAvailability", {"connectorId": 2, "type": "Inoperative"}, {"status": "Accepted"}),
    ("RemoteStartTransaction", {"idTag": "T1", "connectorId": 1}, {"status": "Accepted"}),
    ("RemoteStopTransaction", {"transactionId": 999999}, {"status": "Rejected"}),
    ("GetDiagnostics", {"location": "ftp://example.invalid/"}, {"fileName": None}),
    ("UpdateFirmware", {"location": "https://example.invalid/fw.bin", "retrieveDate": "2030-01-01T00:00:00Z"}, {}),
    ("Reset", {"type": "Soft"}, {"status": "Accepted"}),
]


def answer_calls(backoffice: Backoffice, cid: str, until: str, timeout: float = 10) -> list[dict[str, Any]]:
    """Answer the charger's Calls (as the backoffice would) until one with action ``until``."""
    seen = []
    while True:
        body, _ = backoffice.expect(call_topic(cid), timeout)
        seen.append(body)
        payload: dict[str, Any] = {}
        if body["Action"] == "BootNotification":
            payload = {"status": "Accepted", "interval": 300, "currentTime": "2026-11-23T10:00:00Z"}
        elif body["Action"] == "StartTransaction":
            payload = {"transactionId": 42, "idTagInfo": {"status": "Accepted"}}
        elif body["Action"] == "Heartbeat":
            payload = {"currentTime": "2026-11-23T10:00:00Z"}
        backoffice.send(cid, {"MessageTypeId": 3, "UniqueId": body["UniqueId"], "Payload": payload})
        if body["Action"] == until:
            return seen


def test_simulated_charger_answers_remote_commands(start_gateway: Any, backoffice: Backoffice) -> None:
    gw = start_gateway(allow_anonymous=True)
    cid = new_cid("sim")

    async def scenario() -> None:
        stop = asyncio.Event()
        stats = FleetStats()
        task = asyncio.create_task(run_charger(cid, Options(url=gw.url, idle=True), stats, stop))
        try:
            boot = await asyncio.to_thread(answer_calls, backoffice, cid, "BootNotification")
            assert boot[-1]["Payload"]["chargePointVendor"] == "CSMS-Sim"
            statuses = []
            for _ in range(3):
                statuses += await asyncio.to_thread(answer_calls, backoffice, cid, "StatusNotification")
            assert [s["Payload"]["connectorId"] for s in statuses] == [0, 1, 2]
            for index, (action, request, expected) in enumerate(COMMANDS):
                unique_id = f"cmd-{index}"
                await asyncio.to_thread(
                    backoffice.send,
                    cid,
                    {"MessageTypeId": 2, "UniqueId": unique_id, "Action": action, "Payload": request},
                )
                while True:  # answer whatever the charger sends meanwhile (status, heartbeat, start...)
                    topic, body, _ = await asyncio.to_thread(backoffice.messages.get, True, 10)
                    if topic == reply_topic(cid):
                        break
                    if topic == call_topic(cid):
                        reply: dict[str, Any] = (
                            {"currentTime": "2026-11-23T10:00:00Z"} if body["Action"] == "Heartbeat" else {}
                        )
                        if body["Action"] == "StartTransaction":
                            reply = {"transactionId": 42, "idTagInfo": {"status": "Accepted"}}
                        await asyncio.to_thread(
                            backoffice.send, cid, {"MessageTypeId": 3, "UniqueId": body["UniqueId"], "Payload": reply}
                        )
                assert body["MessageTypeId"] == 3, (action, body)
                assert body["UniqueId"] == unique_id
                for key, value in expected.items():
                    assert key in body["Payload"] if value is None else body["Payload"][key] == value, (action, body)
            # Reset: the charger reboots, i.e. reconnects and boots again
            await asyncio.to_thread(answer_calls, backoffice, cid, "BootNotification", 20)
            assert stats.connects == 2
        finally:
            stop.set()
            await task

    asyncio.run(scenario())


# --- the security extension, firmware and logs, against a CSMS of the test's own (``ocpp.v16``) -----------


def sign_csr(authority: Authority, csr_pem: str, common_name: str | None = None) -> str:
    """What a CSMS CA answers a CSR with: the leaf (CN from the CSR, or ``common_name``) and the CA."""
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    subject = csr.subject
    if common_name is not None:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(authority.issued.certificate.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.now(UTC) - timedelta(minutes=5))
        .not_valid_after(datetime.now(UTC) + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(authority.issued.key, hashes.SHA256())
    )
    return (certificate.public_bytes(serialization.Encoding.PEM) + authority.issued.cert_file.read_bytes()).decode()


class Csms16(ChargePoint16):
    """The CSMS end of one 1.6 connection: answers the charger, records its Calls."""

    def __init__(self, cid: str, ws: ServerConnection, server: Csms16Server) -> None:
        super().__init__(cid, ws)
        self.server = server
        self.ws = ws

    async def route_message(self, raw_msg: str) -> None:
        message = json.loads(raw_msg)
        if message[0] == 2:
            self.server.calls.put_nowait((message[2], message[3]))
        await super().route_message(raw_msg)

    @on(Action16.boot_notification)
    def on_boot(self, **kwargs: Any) -> Any:
        return call_result16.BootNotification(current_time=now_iso(), interval=300, status="Accepted")

    @on(Action16.heartbeat)
    def on_heartbeat(self, **kwargs: Any) -> Any:
        return call_result16.Heartbeat(current_time=now_iso())

    @on(Action16.status_notification)
    def on_status(self, **kwargs: Any) -> Any:
        return call_result16.StatusNotification()

    @on(Action16.firmware_status_notification)
    def on_firmware_status(self, **kwargs: Any) -> Any:
        return call_result16.FirmwareStatusNotification()

    @on(Action16.signed_firmware_status_notification)
    def on_signed_firmware_status(self, **kwargs: Any) -> Any:
        return call_result16.SignedFirmwareStatusNotification()

    @on(Action16.diagnostics_status_notification)
    def on_diagnostics_status(self, **kwargs: Any) -> Any:
        return call_result16.DiagnosticsStatusNotification()

    @on(Action16.log_status_notification)
    def on_log_status(self, **kwargs: Any) -> Any:
        return call_result16.LogStatusNotification()

    @on(Action16.sign_certificate)
    def on_sign_certificate(self, **kwargs: Any) -> Any:
        return call_result16.SignCertificate(status="Accepted")

    @on(Action16.security_event_notification)
    def on_security_event(self, **kwargs: Any) -> Any:
        return call_result16.SecurityEventNotification()


class Csms16Server:
    """A websockets server speaking ocpp1.6: the Calls chargers sent, each connection's CSMS and handshake."""

    def __init__(self) -> None:
        self.calls: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.connections: asyncio.Queue[Csms16] = asyncio.Queue()
        self.handshakes: list[str | None] = []  # the Authorization header of each

    async def handler(self, ws: ServerConnection) -> None:
        cid = ws.request.path.rsplit("/", 1)[-1] if ws.request else ""
        self.handshakes.append(ws.request.headers.get("Authorization") if ws.request else None)
        csms = Csms16(cid, ws, self)
        self.connections.put_nowait(csms)
        with contextlib.suppress(ConnectionClosed):
            await csms.start()

    async def take(self, action: str, timeout: float = 15.0) -> dict[str, Any]:
        """The payload of the next Call ``action`` (the ones before it are skipped)."""
        async with asyncio.timeout(timeout):
            while True:
                got, payload = await self.calls.get()
                if got == action:
                    return payload

    async def connected(self) -> Csms16:
        """The CSMS of the charger's next connection, once it has booted and reported its connectors."""
        csms = await asyncio.wait_for(self.connections.get(), 20)
        await self.take("BootNotification")
        for _ in range(3):
            await self.take("StatusNotification")
        return csms


@contextlib.asynccontextmanager
async def charger(**options: Any) -> AsyncIterator[tuple[Csms16Server, str, ChargerState, Options]]:
    """A 1.6 CSMS server and one idle simulated charger connected to it (``options``: its Options)."""
    server = Csms16Server()
    cid = f"sim16-{uuid.uuid4().hex[:8]}"
    async with serve(server.handler, "127.0.0.1", 0, subprotocols=[Subprotocol("ocpp1.6")]) as ws_server:
        port = next(iter(ws_server.sockets)).getsockname()[1]
        settings = Options(**{"url": f"ws://127.0.0.1:{port}/ocpp", "idle": True, "status_step": 0.05, **options})
        state = ChargerState(cid=cid, max_power_w=11000.0, password=settings.password)
        state.security_profile = 1 if settings.password else 0
        stop = asyncio.Event()
        task = asyncio.create_task(run_charger(cid, settings, FleetStats(), stop, state=state))
        try:
            yield server, cid, state, settings
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)


def test_charger_keeps_a_certificate_inventory(tmp_path: Path) -> None:
    """Security whitepaper: InstallCertificate, GetInstalledCertificateIds (RFC 6960 hash data, as the CSMS
    computes them), DeleteCertificate; garbage and non-CA certificates are Rejected."""
    authority = Authority(tmp_path, "csms-root")
    root_pem = authority.issued.cert_file.read_text()

    async def scenario() -> None:
        async with charger() as (server, cid, state, options):
            csms = await server.connected()
            response = await csms.call(
                call16.GetInstalledCertificateIds(certificate_type="CentralSystemRootCertificate")
            )
            assert response.status == "NotFound"
            kind = "CentralSystemRootCertificate"
            response = await csms.call(call16.InstallCertificate(certificate_type=kind, certificate=root_pem))
            assert response.status == "Accepted"
            response = await csms.call(call16.InstallCertificate(certificate_type=kind, certificate="garbage"))
            assert response.status == "Rejected"
            leaf = authority.issue("not-a-ca").cert_file.read_text()
            response = await csms.call(call16.InstallCertificate(certificate_type=kind, certificate=leaf))
            assert response.status == "Rejected"
            response = await csms.call(call16.GetInstalledCertificateIds(certificate_type=kind))
            expected = certificate_hash_data(certificate_pem=root_pem).to_ocpp()
            assert response.status == "Accepted"
            assert [snake_to_camel_case(d) for d in response.certificate_hash_data] == [expected]
            response = await csms.call(
                call16.GetInstalledCertificateIds(certificate_type="ManufacturerRootCertificate")
            )
            assert response.status == "NotFound"
            response = await csms.call(call16.DeleteCertificate(certificate_hash_data=expected))
            assert response.status == "Accepted"
            response = await csms.call(call16.DeleteCertificate(certificate_hash_data=expected))
            assert response.status == "NotFound"
            assert state.certificates.installed == []

    asyncio.run(scenario())


def test_charger_sends_a_csr_when_triggered_and_installs_its_certificate(tmp_path: Path) -> None:
    """ExtendedTriggerMessage SignChargePointCertificate: a CSR for our id; CertificateSigned with a chain for
    it is Accepted, one for another id Rejected (and a SecurityEventNotification)."""
    authority = Authority(tmp_path, "csms-ca")

    async def scenario() -> None:
        async with charger() as (server, cid, state, options):
            csms = await server.connected()
            response = await csms.call(call16.ExtendedTriggerMessage(requested_message="SignChargePointCertificate"))
            assert response.status == "Accepted"
            csr_pem = (await server.take("SignCertificate"))["csr"]
            csr = x509.load_pem_x509_csr(csr_pem.encode())
            assert csr.is_signature_valid
            assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cid
            assert csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "CSMS demo"
            wrong = sign_csr(authority, csr_pem, common_name="someone-else")
            response = await csms.call(call16.CertificateSigned(certificate_chain=wrong))
            assert response.status == "Rejected"
            event = await server.take("SecurityEventNotification")
            assert event["type"] == "InvalidChargePointCertificate"
            response = await csms.call(call16.CertificateSigned(certificate_chain="not a certificate"))
            assert response.status == "Rejected"
            response = await csms.call(call16.CertificateSigned(certificate_chain=sign_csr(authority, csr_pem)))
            assert response.status == "Accepted"
            assert state.certificates.own_chain[0].public_key() == csr.public_key()

    asyncio.run(scenario())


def test_authorization_key_rotation_is_used_from_the_next_connection() -> None:
    async def scenario() -> None:
        async with charger(password="the-first-password-0123") as (server, cid, state, options):
            csms = await server.connected()
            response = await csms.call(call16.ChangeConfiguration(key="AuthorizationKey", value="short"))
            assert response.status == "Rejected"
            new = "the-rotated-password-456"
            response = await csms.call(call16.ChangeConfiguration(key="AuthorizationKey", value=new))
            assert response.status == "Accepted"
            response = await csms.call(call16.GetConfiguration(key=["AuthorizationKey"]))
            assert response.configuration_key == [{"key": "AuthorizationKey", "readonly": False}]  # write-only
            await csms.ws.close()
            await server.connected()
            first, second = (base64.b64decode(h.split()[1]).decode() for h in server.handshakes if h)
            assert (first, second) == (f"{cid}:the-first-password-0123", f"{cid}:{new}")

    asyncio.run(scenario())


@pytest.mark.parametrize("tls_listens", [True, False])
def test_security_profile_upgrade_reconnects_over_tls_or_falls_back(tmp_path: Path, tls_listens: bool) -> None:
    """SecurityProfile: Rejected without a CentralSystemRootCertificate and for a lower profile; Accepted
    with one: the charger reconnects over TLS trusting that root (profile 2: TLS and Basic auth), or, when
    the TLS connection fails, goes back to profile 1."""
    authority = Authority(tmp_path, "csms-root")
    issued = authority.issue("127.0.0.1", server=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert_file, issued.key_file)

    async def scenario() -> None:
        tls_server = Csms16Server()
        async with serve(tls_server.handler, "127.0.0.1", 0, ssl=context, subprotocols=[Subprotocol("ocpp1.6")]) as tls:
            port = next(iter(tls.sockets)).getsockname()[1] if tls_listens else 9
            async with charger(password="the-first-password-0123", tls_url=f"wss://127.0.0.1:{port}/ocpp") as (
                server,
                cid,
                state,
                options,
            ):
                csms = await server.connected()
                response = await csms.call(call16.ChangeConfiguration(key="SecurityProfile", value="2"))
                assert response.status == "Rejected"  # no root to verify the CSMS with
                response = await csms.call(call16.ChangeConfiguration(key="SecurityProfile", value="0"))
                assert response.status == "Rejected"  # never lower
                root = authority.issued.cert_file.read_text()
                kind = "CentralSystemRootCertificate"
                await csms.call(call16.InstallCertificate(certificate_type=kind, certificate=root))
                response = await csms.call(call16.ChangeConfiguration(key="SecurityProfile", value="2"))
                assert response.status == "Accepted"
                if tls_listens:
                    csms = await tls_server.connected()
                    token = base64.b64encode(f"{cid}:the-first-password-0123".encode()).decode()
                    assert tls_server.handshakes == [f"Basic {token}"]
                    assert state.security_profile == 2
                else:
                    csms = await server.connected()  # back on the plain URL
                    assert (state.security_profile, state.security_profile_next) == (1, None)
                response = await csms.call(call16.GetConfiguration(key=["SecurityProfile"]))
                assert response.configuration_key[0]["value"] == str(state.security_profile)

    asyncio.run(scenario())


def test_firmware_updates_report_their_steps_and_reboot_into_the_new_version(tmp_path: Path) -> None:
    """UpdateFirmware: Downloading .. Installed, then a BootNotification with the new version;
    SignedUpdateFirmware: the same with requestId, SignatureVerified and InstallRebooting, Installed after
    the boot; a second signed update while one downloads is AcceptedCanceled; a bad signing certificate
    is InvalidCertificate."""
    signing_pem = Authority(tmp_path, "firmware-signer").issued.cert_file.read_text()

    async def scenario() -> None:
        async with charger() as (server, cid, state, options):
            csms = await server.connected()
            now = now_iso()
            location = "https://fw.example.invalid/sim-1.2.0.bin"
            await csms.call(call16.UpdateFirmware(location=location, retrieve_date=now))
            statuses = [(await server.take("FirmwareStatusNotification"))["status"] for _ in range(4)]
            assert statuses == ["Downloading", "Downloaded", "Installing", "Installed"]
            boot = await server.take("BootNotification")
            assert boot["firmwareVersion"] == "1.2.0"

            csms = await asyncio.wait_for(server.connections.get(), 20)
            firmware = {
                "location": "https://fw.example.invalid/sim-1.3.0.bin",
                "retrieveDateTime": now,
                "signingCertificate": "garbage",
                "signature": base64.b64encode(b"sig").decode(),
            }
            response = await csms.call(call16.SignedUpdateFirmware(request_id=1, firmware=firmware))
            assert response.status == "InvalidCertificate"
            firmware["signingCertificate"] = signing_pem
            # far ahead: it waits, DownloadScheduled
            later = {**firmware, "retrieveDateTime": "2099-01-01T00:00:00Z"}
            response = await csms.call(call16.SignedUpdateFirmware(request_id=2, firmware=later))
            assert response.status == "Accepted"
            assert await server.take("SignedFirmwareStatusNotification") == {
                "status": "DownloadScheduled",
                "requestId": 2,
            }
            response = await csms.call(call16.SignedUpdateFirmware(request_id=3, firmware=firmware))
            assert response.status == "AcceptedCanceled"
            seen = [await server.take("SignedFirmwareStatusNotification") for _ in range(5)]
            assert [s["status"] for s in seen] == [
                "Downloading",
                "Downloaded",
                "SignatureVerified",
                "Installing",
                "InstallRebooting",
            ]
            assert {s["requestId"] for s in seen} == {3}
            assert (await server.take("BootNotification"))["firmwareVersion"] == "1.3.0"
            assert await server.take("SignedFirmwareStatusNotification") == {"status": "Installed", "requestId": 3}

    asyncio.run(scenario())


def test_logs_and_diagnostics_are_uploaded_with_their_statuses() -> None:
    async def scenario() -> None:
        async with charger() as (server, cid, state, options):
            csms = await server.connected()
            response = await csms.call(call16.GetDiagnostics(location="ftp://logs.example.invalid/"))
            assert response.file_name == f"diagnostics-{cid}.log"
            assert [(await server.take("DiagnosticsStatusNotification"))["status"] for _ in range(2)] == [
                "Uploading",
                "Uploaded",
            ]
            log = {"remoteLocation": "https://logs.example.invalid/upload"}
            response = await csms.call(call16.GetLog(log=log, log_type="SecurityLog", request_id=7))
            assert (response.status, response.filename) == ("Accepted", f"{cid}-SecurityLog-7.log")
            assert [await server.take("LogStatusNotification") for _ in range(2)] == [
                {"status": "Uploading", "requestId": 7},
                {"status": "Uploaded", "requestId": 7},
            ]
            response = await csms.call(call16.ExtendedTriggerMessage(requested_message="LogStatusNotification"))
            assert response.status == "Accepted"
            assert await server.take("LogStatusNotification") == {"status": "Idle"}
            response = await csms.call(call16.ExtendedTriggerMessage(requested_message="FirmwareStatusNotification"))
            assert await server.take("SignedFirmwareStatusNotification") == {"status": "Idle"}

    asyncio.run(scenario())


def test_a_rare_fault_is_reported_with_its_mrec_code_and_cleared() -> None:
    """Faulted with an error code and the MREC code as vendorErrorCode (a faulted connector is not
    reserved), then Available again."""

    async def scenario() -> None:
        options = {"idle": False, "session_gap": (3600.0, 3600.0), "fault_gap": (0.2, 0.2), "fault_length": (1.0, 1.0)}
        async with charger(**options) as (server, cid, state, settings):
            csms = await server.connected()
            faulted = await server.take("StatusNotification")
            assert faulted["status"] == "Faulted" and faulted["errorCode"] != "NoError"
            assert faulted["vendorErrorCode"] in mrec.MREC and faulted["vendorId"] == "CSMS-Sim"
            connector = faulted["connectorId"]
            response = await csms.call(
                call16.ReserveNow(
                    connector_id=connector, expiry_date="2099-01-01T00:00:00Z", id_tag="T", reservation_id=1
                )
            )
            assert response.status == "Faulted"
            cleared = await server.take("StatusNotification")
            assert (cleared["connectorId"], cleared["status"], cleared["errorCode"]) == (
                connector,
                "Available",
                "NoError",
            )

    asyncio.run(scenario())


def test_security_profile_3_presents_the_certificate_certificate_signed_installed(tmp_path: Path) -> None:
    """After the CSR flow, SecurityProfile 3: the charger reconnects with mutual TLS (a server that requires
    a client certificate of our CA admits it) and without Basic auth."""
    authority = Authority(tmp_path, "csms-root")
    issued = authority.issue("127.0.0.1", server=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert_file, issued.key_file)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(authority.cert_file)

    async def scenario() -> None:
        tls_server = Csms16Server()
        async with serve(tls_server.handler, "127.0.0.1", 0, ssl=context, subprotocols=[Subprotocol("ocpp1.6")]) as tls:
            port = next(iter(tls.sockets)).getsockname()[1]
            async with charger(password="the-first-password-0123", tls_url=f"wss://127.0.0.1:{port}/ocpp") as (
                server,
                cid,
                state,
                options,
            ):
                csms = await server.connected()
                response = await csms.call(call16.ChangeConfiguration(key="SecurityProfile", value="3"))
                assert response.status == "Rejected"  # no root, no certificate yet
                root = authority.issued.cert_file.read_text()
                await csms.call(
                    call16.InstallCertificate(certificate_type="CentralSystemRootCertificate", certificate=root)
                )
                await csms.call(call16.ExtendedTriggerMessage(requested_message="SignChargePointCertificate"))
                csr_pem = (await server.take("SignCertificate"))["csr"]
                response = await csms.call(call16.CertificateSigned(certificate_chain=sign_csr(authority, csr_pem)))
                assert response.status == "Accepted"
                response = await csms.call(call16.ChangeConfiguration(key="SecurityProfile", value="3"))
                assert response.status == "Accepted"
                await tls_server.connected()
                assert tls_server.handshakes == [None]  # profile 3: the certificate is the credential
                assert state.security_profile == 3

    asyncio.run(scenario())
