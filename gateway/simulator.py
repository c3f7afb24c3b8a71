"""A simulated fleet of OCPP 1.6-J charge points, built on the ``ocpp`` package's ChargePoint.

Each charger boots (retrying while Pending/Rejected), reports its connectors, heartbeats at the
interval it was given, runs charging sessions at random times (Authorize, StartTransaction, a
plausible power curve in MeterValues, StopTransaction), answers the remote commands a real charger
answers, and reconnects when its connection drops. Thousands fit in one process (``idle=True``
turns off the sessions for connection-count measurements).

The security whitepaper (edition 2) too: a certificate store (InstallCertificate, DeleteCertificate,
GetInstalledCertificateIds), the CSR flow (ExtendedTriggerMessage SignChargePointCertificate: a new key
pair, SignCertificate, CertificateSigned), AuthorizationKey rotation (the new password from the next
connection on), the SecurityProfile upgrade (reconnect at the new profile over TLS, trusting the
CentralSystemRootCertificates installed and ``Options.tls_ca``; back to the old profile when that fails),
SignedUpdateFirmware and GetLog with their status notifications. Firmware updates end with a reboot into
the new version; now and then (rarely) an idle connector has a fault with a ChargeX MREC code.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import dataclasses
import logging
import random
import re
import ssl
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from gateway.sim_certificates import CertificateStore, parse_chain

logger = logging.getLogger(__name__)

CONNECTORS = (1, 2)
VENDOR = "CSMS-Sim"
ID_TAGS = ("04A2B3C4", "04E1F2A3", "SIMTAG01", "SIMTAG02", "SIMTAG03")
# Configuration keys whose value GetConfiguration never shows (security whitepaper: AuthorizationKey).
WRITE_ONLY = frozenset({"AuthorizationKey"})
PASSWORD_LENGTH = (16, 40)  # OCPP's bounds of an AuthorizationKey
CSMS_ROOTS = ("CentralSystemRootCertificate",)
UPLOAD_SCHEMES = ("http", "https", "ftp", "ftps", "sftp")
# The (rare) faults of the demo fleet: OCPP's error code, the ChargeX MREC code, what the charger says.
FAULTS = (
    ("GroundFailure", "CX002", "residual current 32 mA AC"),
    ("HighTemperature", "CX003", "internal temperature 78 C"),
    ("ConnectorLockFailure", "CX001", "lock motor did not reach its end position"),
    ("OtherError", "CX014", "control pilot high level out of range"),
)
PROFILE_ATTEMPTS = 2  # connections tried with a new security profile before falling back to the old one


def now_iso() -> str:
    """Timestamps the way chargers send them: UTC, seconds, trailing Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
        return str(found[-1])
    parts = current.split(".")
    parts[-1] = str(int(parts[-1]) + 1) if parts[-1].isdigit() else parts[-1] + ".1"
    return ".".join(parts)


async def sleep_until(moment: datetime | None) -> None:
    if moment is not None:
        await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


@dataclasses.dataclass
class Options:
    """How a simulated charger behaves (shared by the whole fleet)."""

    url: str
    password: str | None = None
    idle: bool = False
    session_gap: tuple[float, float] = (60.0, 900.0)  # seconds between sessions on a connector
    session_length: tuple[float, float] = (300.0, 2400.0)
    meter_interval: tuple[float, float] = (10.0, 60.0)
    max_power_w: tuple[float, ...] = (7400.0, 11000.0, 22000.0)
    ws_ping_interval: float | None = 60.0
    reconnect_max: float = 30.0
    response_timeout: float = 30.0
    # Seconds between the steps of a firmware update, log upload or publication (the dashboard shows each).
    status_step: float = 2.0
    # Seconds between a 2.0.1 station's (rare) faults (NotifyEvent with a techCode, then its clearing).
    fault_gap: tuple[float, float] = (3600.0, 14400.0)
    fault_length: tuple[float, float] = (60.0, 180.0)
    # Security profiles 2 and 3: a CA file the chargers trust besides the CSMS roots installed on them,
    # and (1.6, which has no URL in its SecurityProfile key) the wss:// URL to use from profile 2 on.
    tls_ca: str | None = None
    tls_url: str | None = None


@dataclasses.dataclass
class Connector:
    """One connector's state (it survives reconnects, like a real charger's)."""

    status: str = "Available"
    transaction_id: int | None = None
    id_tag: str | None = None
    energy_wh: float = 0.0
    reserved_id: int | None = None
    available: bool = True
    task: asyncio.Task[None] | None = None


@dataclasses.dataclass
class Job:
    """A firmware update or log upload under way: its request id (None: 1.6 core messages have
    none), the status it reported last, and the task doing it."""

    request_id: int | None
    status: str
    task: asyncio.Task[Any] | None = None
    detail: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ChargerState:
    """Everything a charger remembers across connections."""

    cid: str
    max_power_w: float
    password: str | None = None
    security_profile: int = 0
    security_profile_next: int | None = None  # Accepted in ChangeConfiguration, tried at the next connection
    security_profile_failures: int = 0
    firmware_version: str = "1.0.0"
    certificates: CertificateStore = dataclasses.field(default_factory=CertificateStore)
    firmware: Job | None = None  # UpdateFirmware or SignedUpdateFirmware (request id) under way
    firmware_done: Job | None = None  # the signed update to report Installed after its reboot
    diagnostics: Job | None = None  # GetDiagnostics
    log_upload: Job | None = None  # GetLog
    connectors: dict[int, Connector] = dataclasses.field(
        default_factory=lambda: {c: Connector(energy_wh=random.uniform(0, 5e6)) for c in CONNECTORS}
    )
    heartbeat_interval: int = 300
    accepted: bool = False
    local_list_version: int = 0
    profiles: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)
    configuration: dict[str, tuple[str, bool]] = dataclasses.field(
        default_factory=lambda: {
            # key: (value, read-only)
            "HeartbeatInterval": ("300", False),
            "MeterValueSampleInterval": ("30", False),
            "MeterValuesSampledData": ("Energy.Active.Import.Register,Power.Active.Import", False),
            "ConnectionTimeOut": ("60", False),
            "AuthorizeRemoteTxRequests": ("false", False),
            "LocalAuthListEnabled": ("true", False),
            "LocalAuthListMaxLength": ("100", True),
            "NumberOfConnectors": (str(len(CONNECTORS)), True),
            "SupportedFeatureProfiles": (
                "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger",
                True,
            ),
            "ChargeProfileMaxStackLevel": ("10", True),
            # Security whitepaper (edition 2) keys
            "AuthorizationKey": ("", False),
            "SecurityProfile": ("0", False),
            "CpoName": ("CSMS demo", False),
            "CertificateStoreMaxLength": ("20", True),
            "CertificateSignedMaxChainSize": ("10000", True),
            "AdditionalRootCertificateCheck": ("false", True),
        }
    )
    sessions_done: int = 0


class SimulatedChargePoint(ChargePoint):
    """One connection of a simulated charger: the ``ocpp`` ChargePoint plus our behaviour."""

    def __init__(self, state: ChargerState, connection: ClientConnection, options: Options) -> None:
        super().__init__(state.cid, connection, response_timeout=options.response_timeout)
        self.state = state
        self.options = options
        self._tasks: set[asyncio.Task[Any]] = set()
        self.reset_requested: str | None = None
        # Set when a BootNotification the CSMS triggered (an operator accepted us) was Accepted: the
        # boot loop stops waiting out its retry interval.
        self._accepted = asyncio.Event()

    # --- lifecycle -------------------------------------------------------------------------------
    async def run(self) -> None:
        """Serve the connection: receive loop, boot, heartbeats and sessions until it closes."""
        receiver = asyncio.create_task(self.start())
        try:
            await self.boot()
            await self.firmware_installed()
            await self.send_status(0, "Available" if all(c.available for c in self.conns()) else "Unavailable")
            for cid in CONNECTORS:
                await self.send_status(cid, self.state.connectors[cid].status)
            behaviours = [asyncio.create_task(self.keep_going(self.heartbeat_loop))]
            if not self.options.idle:
                behaviours += [
                    asyncio.create_task(self.keep_going(lambda c=c: self.session_loop(c))) for c in CONNECTORS
                ]
                behaviours.append(asyncio.create_task(self.keep_going(self.fault_loop)))
            self._tasks.update(behaviours)
            await receiver  # returns (raises) when the connection closes
        finally:
            receiver.cancel()
            for task in list(self._tasks):
                task.cancel()
            for connector in self.conns():
                if connector.task is not None:
                    connector.task.cancel()
                    connector.task = None

    async def keep_going(self, behaviour: Any) -> None:
        """Run a behaviour loop; a reply that never came (30 s) is logged and the loop starts over,
        as a charger would carry on, instead of the task dying silently."""
        while True:
            try:
                await behaviour()
            except TimeoutError as exc:
                logger.warning("%s: %s", self.state.cid, exc)
                await asyncio.sleep(random.uniform(1, 5))

    def conns(self) -> list[Connector]:
        return list(self.state.connectors.values())

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def boot(self) -> None:
        """BootNotification until Accepted; Pending/Rejected retry after the interval given."""
        while True:
            response = await self.call(
                call.BootNotification(
                    charge_point_model="SimCharger-2x22",
                    charge_point_vendor=VENDOR,
                    charge_point_serial_number=f"SN-{self.state.cid}"[:25],
                    firmware_version=self.state.firmware_version,
                )
            )
            if response is None:  # CallError
                await asyncio.sleep(10)
                continue
            interval = response.interval or 60
            if response.status == "Accepted":
                self.state.accepted = True
                self.set_heartbeat_interval(interval)
                return
            logger.info("%s: boot %s, retrying in %s s", self.state.cid, response.status, interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._accepted.wait(), timeout=interval)
            if self._accepted.is_set():
                return

    def set_heartbeat_interval(self, interval: int) -> None:
        self.state.heartbeat_interval = max(1, int(interval))
        self.state.configuration["HeartbeatInterval"] = (str(self.state.heartbeat_interval), False)

    async def heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.state.heartbeat_interval * random.uniform(0.9, 1.0))
            await self.call(call.Heartbeat())

    async def send_status(
        self,
        connector_id: int,
        status: str,
        error_code: str = "NoError",
        *,
        vendor_error_code: str | None = None,
        info: str | None = None,
    ) -> None:
        if connector_id:
            self.state.connectors[connector_id].status = status
        await self.call(
            call.StatusNotification(
                connector_id=connector_id,
                error_code=error_code,
                status=status,
                timestamp=now_iso(),
                vendor_error_code=vendor_error_code,
                info=info,
                vendor_id=VENDOR if vendor_error_code else None,
            )
        )

    async def fault_loop(self) -> None:
        """Now and then (rarely: ``Options.fault_gap``) a fault on an idle connector: Faulted with an
        OCPP error code and the ChargeX MREC code as vendorErrorCode, Available again a while later."""
        while True:
            await asyncio.sleep(random.uniform(*self.options.fault_gap))
            idle = [
                c
                for c, connector in self.state.connectors.items()
                if connector.available and connector.status == "Available" and connector.reserved_id is None
            ]
            if not idle:
                continue
            connector_id = random.choice(idle)
            error_code, vendor_code, info = random.choice(FAULTS)
            await self.send_status(connector_id, "Faulted", error_code, vendor_error_code=vendor_code, info=info)
            await asyncio.sleep(random.uniform(*self.options.fault_length))
            if self.state.connectors[connector_id].status == "Faulted":
                await self.send_status(
                    connector_id, "Available" if self.state.connectors[connector_id].available else "Unavailable"
                )

    # --- charging sessions -----------------------------------------------------------------------
    async def session_loop(self, connector_id: int) -> None:
        """A driver arrives now and then; a session already running (after a reconnect) resumes."""
        connector = self.state.connectors[connector_id]
        if connector.transaction_id is not None:
            await self.charge(connector_id, remaining=random.uniform(*self.options.session_length))
        await asyncio.sleep(random.uniform(5, 60))
        while True:
            if connector.status == "Available" and connector.available and connector.reserved_id is None:
                id_tag = random.choice(ID_TAGS)
                response = await self.call(call.Authorize(id_tag=id_tag))
                if response is not None and response.id_tag_info.get("status") == "Accepted":
                    await self.start_session(connector_id, id_tag)
                    if connector.task is not None:
                        with contextlib.suppress(asyncio.CancelledError):
                            await connector.task
            await asyncio.sleep(random.uniform(*self.options.session_gap))

    async def start_session(self, connector_id: int, id_tag: str) -> bool:
        """Preparing, StartTransaction, Charging, then the metering task; False when refused."""
        connector = self.state.connectors[connector_id]
        await self.send_status(connector_id, "Preparing")
        response = await self.call(
            call.StartTransaction(
                connector_id=connector_id,
                id_tag=id_tag,
                meter_start=int(connector.energy_wh),
                timestamp=now_iso(),
                reservation_id=connector.reserved_id,
            )
        )
        connector.reserved_id = None
        if response is None or response.id_tag_info.get("status") != "Accepted":
            await self.send_status(connector_id, "Available")
            return False
        connector.transaction_id = response.transaction_id
        connector.id_tag = id_tag
        await self.send_status(connector_id, "Charging")
        connector.task = asyncio.create_task(
            self.charge(connector_id, remaining=random.uniform(*self.options.session_length))
        )
        return True

    def power_at(self, elapsed: float, soc: float) -> float:
        """A plausible AC/DC curve: 30 s ramp-up, flat, tapering above 80 % state of charge."""
        power = self.state.max_power_w * min(1.0, elapsed / 30.0)
        if soc > 0.8:
            power *= max(0.1, (1.0 - soc) / 0.2)
        return power * random.uniform(0.97, 1.0)

    async def charge(self, connector_id: int, *, remaining: float) -> None:
        """Meter values every 10-60 s, then StopTransaction when the session's time is up."""
        connector = self.state.connectors[connector_id]
        interval = random.uniform(*self.options.meter_interval)
        soc = random.uniform(0.1, 0.6)
        battery_wh = random.uniform(40_000, 90_000)
        elapsed = 0.0
        try:
            while elapsed < remaining and connector.transaction_id is not None:
                step = min(interval, remaining - elapsed)
                await asyncio.sleep(step)
                elapsed += step
                power = self.power_at(elapsed, soc)
                energy = power * step / 3600.0
                connector.energy_wh += energy
                soc = min(1.0, soc + energy / battery_wh)
                await self.send_meter_values(
                    connector_id,
                    "Sample.Periodic",
                    {"value": f"{power:.0f}", "measurand": "Power.Active.Import", "unit": "W"},
                    {"value": f"{soc * 100:.0f}", "measurand": "SoC", "unit": "Percent"},
                )
            await self.stop_session(connector_id, "Local" if connector.transaction_id is not None else "Remote")
        finally:
            connector.task = None

    async def send_meter_values(self, connector_id: int, context: str, *extra: dict[str, str]) -> None:
        """One MeterValues: the energy register, plus ``extra`` sampled values, all in ``context``."""
        connector = self.state.connectors[connector_id]
        energy = {"value": f"{connector.energy_wh:.0f}", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
        sampled = [{**value, "context": context} for value in (energy, *extra)]
        await self.call(
            call.MeterValues(
                connector_id=connector_id,
                transaction_id=connector.transaction_id,
                meter_value=[{"timestamp": now_iso(), "sampledValue": sampled}],
            )
        )

    async def stop_session(self, connector_id: int, reason: str) -> None:
        connector = self.state.connectors[connector_id]
        transaction_id = connector.transaction_id
        if transaction_id is None:
            return
        connector.transaction_id = None
        await self.send_status(connector_id, "Finishing")
        await self.call(
            call.StopTransaction(
                meter_stop=int(connector.energy_wh),
                timestamp=now_iso(),
                transaction_id=transaction_id,
                reason=reason,
                id_tag=connector.id_tag,
            )
        )
        self.state.sessions_done += 1
        connector.id_tag = None
        await self.send_status(connector_id, "Available" if connector.available else "Unavailable")

    def transaction_connector(self, transaction_id: int) -> int | None:
        for connector_id, connector in self.state.connectors.items():
            if connector.transaction_id == transaction_id:
                return connector_id
        return None

    # --- Core profile: remote commands -------------------------------------------------------------
    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, connector_id: int | None = None, **kwargs: Any) -> Any:
        target = connector_id or next(
            (c for c, s in self.state.connectors.items() if s.status == "Available" and s.available), None
        )
        if target not in self.state.connectors or self.state.connectors[target].transaction_id is not None:
            return call_result.RemoteStartTransaction(status="Rejected")
        if not self.state.connectors[target].available or self.state.connectors[target].status == "Faulted":
            return call_result.RemoteStartTransaction(status="Rejected")
        # AuthorizeRemoteTxRequests is false: start without an Authorize, right after answering.
        self.spawn(self.start_session(target, id_tag))
        return call_result.RemoteStartTransaction(status="Accepted")

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int, **kwargs: Any) -> Any:
        connector_id = self.transaction_connector(transaction_id)
        if connector_id is None:
            return call_result.RemoteStopTransaction(status="Rejected")
        connector = self.state.connectors[connector_id]
        if connector.task is not None:
            connector.task.cancel()
            connector.task = None
        self.spawn(self.stop_session(connector_id, "Remote"))
        return call_result.RemoteStopTransaction(status="Accepted")

    @on(Action.reset)
    def on_reset(self, type: str, **kwargs: Any) -> Any:  # noqa: A002 (OCPP's field name)
        self.reset_requested = type
        return call_result.Reset(status="Accepted")

    @after(Action.reset)
    async def after_reset(self, type: str, **kwargs: Any) -> None:  # noqa: A002
        for connector_id in CONNECTORS:
            await self.stop_session(connector_id, "HardReset" if type == "Hard" else "SoftReset")
        await asyncio.sleep(0.5)
        await self._connection.close()  # the reboot: the fleet loop reconnects and boots again

    @on(Action.unlock_connector)
    def on_unlock(self, connector_id: int, **kwargs: Any) -> Any:
        if connector_id not in self.state.connectors:
            return call_result.UnlockConnector(status="NotSupported")
        return call_result.UnlockConnector(status="Unlocked")

    @on(Action.change_availability)
    def on_change_availability(self, connector_id: int, type: str, **kwargs: Any) -> Any:  # noqa: A002
        targets = list(CONNECTORS) if connector_id == 0 else [connector_id]
        if any(t not in self.state.connectors for t in targets):
            return call_result.ChangeAvailability(status="Rejected")
        available = type == "Operative"
        busy = any(self.state.connectors[t].transaction_id is not None for t in targets)
        for target in targets:
            self.state.connectors[target].available = available
        if busy and not available:
            return call_result.ChangeAvailability(status="Scheduled")
        for target in targets:
            self.spawn(self.send_status(target, "Available" if available else "Unavailable"))
        return call_result.ChangeAvailability(status="Accepted")

    @on(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None, **kwargs: Any) -> Any:
        config = self.state.configuration
        keys = key or list(config)
        known = [
            {"key": k, "readonly": config[k][1], "value": None if k in WRITE_ONLY else config[k][0]}
            for k in keys
            if k in config
        ]
        unknown = [k for k in keys if k not in config]
        return call_result.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str, **kwargs: Any) -> Any:
        config = self.state.configuration
        if key not in config:
            return call_result.ChangeConfiguration(status="NotSupported")
        if config[key][1]:
            return call_result.ChangeConfiguration(status="Rejected")
        if key in ("HeartbeatInterval", "MeterValueSampleInterval", "ConnectionTimeOut"):
            if not value.isdigit() or int(value) <= 0:
                return call_result.ChangeConfiguration(status="Rejected")
        if key == "AuthorizationKey":
            # Credential rotation: the new password is used from the next connection on.
            if not PASSWORD_LENGTH[0] <= len(value) <= PASSWORD_LENGTH[1]:
                return call_result.ChangeConfiguration(status="Rejected")
            self.state.password = value
        if key == "SecurityProfile":
            refusal = self.security_profile_refusal(value)
            if refusal:
                logger.info("%s: SecurityProfile %s refused: %s", self.state.cid, value, refusal)
                return call_result.ChangeConfiguration(status="Rejected")
            self.state.security_profile_next = int(value)
            self.state.security_profile_failures = 0
            return call_result.ChangeConfiguration(status="Accepted")  # in force once connected with it
        config[key] = (value, False)
        if key == "HeartbeatInterval":
            self.set_heartbeat_interval(int(value))
        return call_result.ChangeConfiguration(status="Accepted")

    def security_profile_refusal(self, value: str) -> str:
        """Why a SecurityProfile change is refused ("": it is not): an unknown or lower profile, or
        TLS without a CSMS root certificate installed (and, for profile 3, without our certificate)."""
        if value not in ("0", "1", "2", "3"):
            return "not a security profile"
        profile = int(value)
        if profile < self.state.security_profile:
            return "a charger never lowers its security profile"
        if profile >= 2 and not self.state.certificates.roots(*CSMS_ROOTS) and not self.options.tls_ca:
            return "no CentralSystemRootCertificate installed"
        if profile == 3 and not self.state.certificates.own_chain:
            return "no charge point certificate installed"
        return ""

    @after(Action.change_configuration)
    async def after_change_configuration(self, key: str, value: str, **kwargs: Any) -> None:
        if key == "SecurityProfile" and self.state.security_profile_next == int(value):
            # The whitepaper's upgrade: disconnect, then connect again with the new profile.
            await asyncio.sleep(0.5)
            await self._connection.close()

    @on(Action.clear_cache)
    def on_clear_cache(self, **kwargs: Any) -> Any:
        return call_result.ClearCache(status="Accepted")

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **kwargs: Any) -> Any:
        if vendor_id != VENDOR:
            return call_result.DataTransfer(status="UnknownVendorId")
        return call_result.DataTransfer(status="Accepted", data=kwargs.get("data"))

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, connector_id: int | None = None, **kwargs: Any) -> Any:
        supported = {
            "BootNotification",
            "Heartbeat",
            "StatusNotification",
            "MeterValues",
            "DiagnosticsStatusNotification",
            "FirmwareStatusNotification",
        }
        if requested_message not in supported or (connector_id and connector_id not in self.state.connectors):
            return call_result.TriggerMessage(
                status="NotImplemented" if requested_message not in supported else "Rejected"
            )
        return call_result.TriggerMessage(status="Accepted")

    @after(Action.trigger_message)
    async def after_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **kwargs: Any
    ) -> None:
        if requested_message == "BootNotification":
            response = await self.call(
                call.BootNotification(charge_point_model="SimCharger-2x22", charge_point_vendor=VENDOR)
            )
            if response is not None and response.status == "Accepted":
                self.state.accepted = True
                self.set_heartbeat_interval(response.interval)
                self._accepted.set()
        elif requested_message == "Heartbeat":
            await self.call(call.Heartbeat())
        elif requested_message == "StatusNotification":
            for target in [connector_id] if connector_id else [0, *CONNECTORS]:
                status = "Available" if target == 0 else self.state.connectors[target].status
                await self.send_status(target, status)
        elif requested_message == "MeterValues":
            for target in [connector_id] if connector_id else list(CONNECTORS):
                await self.send_meter_values(target, "Trigger")
        elif requested_message == "DiagnosticsStatusNotification":
            job = self.state.diagnostics
            await self.call(call.DiagnosticsStatusNotification(status=job.status if job else "Idle"))
        elif requested_message == "FirmwareStatusNotification":
            job = self.state.firmware
            status = job.status if job is not None and job.request_id is None else "Idle"
            await self.call(call.FirmwareStatusNotification(status=status))

    # --- Reservation ---------------------------------------------------------------------------------
    @on(Action.reserve_now)
    def on_reserve_now(self, connector_id: int, reservation_id: int, **kwargs: Any) -> Any:
        connector = self.state.connectors.get(connector_id)
        if connector is None:
            return call_result.ReserveNow(status="Rejected")
        if not connector.available:
            return call_result.ReserveNow(status="Unavailable")
        if connector.status == "Faulted":
            return call_result.ReserveNow(status="Faulted")
        if connector.status != "Available" or connector.reserved_id is not None:
            return call_result.ReserveNow(status="Occupied")
        connector.reserved_id = reservation_id
        self.spawn(self.send_status(connector_id, "Reserved"))
        return call_result.ReserveNow(status="Accepted")

    @on(Action.cancel_reservation)
    def on_cancel_reservation(self, reservation_id: int, **kwargs: Any) -> Any:
        for connector_id, connector in self.state.connectors.items():
            if connector.reserved_id == reservation_id:
                connector.reserved_id = None
                self.spawn(self.send_status(connector_id, "Available"))
                return call_result.CancelReservation(status="Accepted")
        return call_result.CancelReservation(status="Rejected")

    # --- Smart charging ------------------------------------------------------------------------------
    @on(Action.set_charging_profile)
    def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any], **kwargs: Any) -> Any:
        if connector_id != 0 and connector_id not in self.state.connectors:
            return call_result.SetChargingProfile(status="Rejected")
        # The ocpp package hands nested payloads over in snake_case too.
        profile_id = int(cs_charging_profiles.get("charging_profile_id", 0))
        self.state.profiles[profile_id] = {**cs_charging_profiles, "connector_id": connector_id}
        return call_result.SetChargingProfile(status="Accepted")

    @on(Action.clear_charging_profile)
    def on_clear_charging_profile(self, id: int | None = None, **kwargs: Any) -> Any:  # noqa: A002
        if id is not None:
            found = self.state.profiles.pop(id, None) is not None
        else:
            found = bool(self.state.profiles)
            self.state.profiles.clear()
        return call_result.ClearChargingProfile(status="Accepted" if found else "Unknown")

    @on(Action.get_composite_schedule)
    def on_get_composite_schedule(self, connector_id: int, duration: int, **kwargs: Any) -> Any:
        if connector_id != 0 and connector_id not in self.state.connectors:
            return call_result.GetCompositeSchedule(status="Rejected")
        unit = kwargs.get("charging_rate_unit") or "W"
        limit = self.state.max_power_w if unit == "W" else round(self.state.max_power_w / 230 / 3, 1)
        for profile in self.state.profiles.values():
            if profile.get("connector_id") in (0, connector_id):
                periods = profile.get("charging_schedule", {}).get("charging_schedule_period") or []
                if periods:
                    limit = min(limit, float(periods[0].get("limit", limit)))
        return call_result.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=now_iso(),
            charging_schedule={
                "duration": duration,
                "chargingRateUnit": unit,
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
            },
        )

    # --- Local auth list -------------------------------------------------------------------------
    @on(Action.get_local_list_version)
    def on_get_local_list_version(self, **kwargs: Any) -> Any:
        return call_result.GetLocalListVersion(list_version=self.state.local_list_version)

    @on(Action.send_local_list)
    def on_send_local_list(self, list_version: int, update_type: str, **kwargs: Any) -> Any:
        if update_type == "Differential" and list_version <= self.state.local_list_version:
            return call_result.SendLocalList(status="VersionMismatch")
        self.state.local_list_version = list_version
        return call_result.SendLocalList(status="Accepted")

    # --- Firmware management ---------------------------------------------------------------------
    async def step(self) -> None:
        await asyncio.sleep(self.options.status_step)

    @on(Action.get_diagnostics)
    def on_get_diagnostics(self, location: str, **kwargs: Any) -> Any:
        if self.state.diagnostics is not None:  # one upload at a time
            return call_result.GetDiagnostics()
        self.state.diagnostics = Job(None, "Idle", detail={"location": location})
        return call_result.GetDiagnostics(file_name=f"diagnostics-{self.state.cid}.log")

    @after(Action.get_diagnostics)
    async def after_get_diagnostics(self, **kwargs: Any) -> None:
        job = self.state.diagnostics
        if job is not None and job.task is None:
            job.task = self.spawn(self.diagnostics_upload(job))

    async def diagnostics_upload(self, job: Job) -> None:
        try:
            job.status = "Uploading"
            await self.call(call.DiagnosticsStatusNotification(status="Uploading"))
            await self.step()
            uploaded = urlsplit(str(job.detail["location"])).scheme.lower() in UPLOAD_SCHEMES
            job.status = "Uploaded" if uploaded else "UploadFailed"
            await self.call(call.DiagnosticsStatusNotification(status=job.status))
        finally:
            self.state.diagnostics = None

    @on(Action.update_firmware)
    def on_update_firmware(self, location: str, retrieve_date: str, **kwargs: Any) -> Any:
        running = self.state.firmware
        if running is not None and running.task is not None and running.task.done():
            running = None  # ended with its connection
        if running is not None and running.status in ("Installing", "InstallRebooting"):
            return call_result.UpdateFirmware()  # too late to change: the installation goes on
        if running is not None and running.task is not None:
            running.task.cancel()
        self.state.firmware = Job(None, "Idle", detail={"location": location, "retrieve": retrieve_date})
        return call_result.UpdateFirmware()

    @after(Action.update_firmware)
    async def after_update_firmware(self, **kwargs: Any) -> None:
        job = self.state.firmware
        if job is not None and job.request_id is None and job.task is None and job.status == "Idle":
            job.task = self.spawn(self.firmware_update(job))

    async def firmware_status(self, job: Job, status: str) -> None:
        job.status = status
        if job.request_id is None:
            await self.call(call.FirmwareStatusNotification(status=status))
        else:
            await self.call(call.SignedFirmwareStatusNotification(status=status, request_id=job.request_id))

    async def firmware_update(self, job: Job) -> None:
        """Download at the retrieve date, verify (signed), install once no transaction runs, reboot into
        the new version. 1.6 core: Installed before the reboot; signed: InstallRebooting, and Installed
        after the boot (``firmware_installed``)."""
        signed = job.request_id is not None
        retrieve = parse_time(job.detail["retrieve"])
        if retrieve is not None and retrieve > datetime.now(UTC):
            if signed:
                await self.firmware_status(job, "DownloadScheduled")
            await sleep_until(retrieve)
        for status in ("Downloading", "Downloaded"):
            await self.firmware_status(job, status)
            await self.step()
        if signed:
            try:
                base64.b64decode(job.detail["signature"], validate=True)
            except (binascii.Error, ValueError):
                await self.firmware_status(job, "InvalidSignature")
                self.state.firmware = None
                return
            await self.firmware_status(job, "SignatureVerified")
            await self.step()
            install = parse_time(job.detail.get("install"))
            if install is not None and install > datetime.now(UTC):
                await self.firmware_status(job, "InstallScheduled")
                await sleep_until(install)
        while any(c.transaction_id is not None for c in self.conns()):  # a session under way ends first
            await asyncio.sleep(5)
        await self.firmware_status(job, "Installing")
        await self.step()
        await self.firmware_status(job, "InstallRebooting" if signed else "Installed")
        await self.step()
        self.state.firmware_version = next_version(self.state.firmware_version, str(job.detail["location"]))
        self.state.firmware, self.state.firmware_done = None, job if signed else None
        await self._connection.close()  # the reboot: the fleet loop reconnects and boots the new version

    async def firmware_installed(self) -> None:
        job, self.state.firmware_done = self.state.firmware_done, None
        if job is not None:
            await self.firmware_status(job, "Installed")

    # --- Security extension: signed firmware, logs -------------------------------------------------
    @on(Action.signed_update_firmware)
    def on_signed_update_firmware(self, request_id: int, firmware: dict[str, Any], **kwargs: Any) -> Any:
        try:
            parse_chain(firmware["signing_certificate"])
        except ValueError:
            return call_result.SignedUpdateFirmware(status="InvalidCertificate")
        running = self.state.firmware
        if running is not None and running.task is not None and running.task.done():
            running = None  # ended with its connection
        if running is not None and running.status in ("Installing", "InstallRebooting"):
            return call_result.SignedUpdateFirmware(status="Rejected")
        status = "Accepted"
        if running is not None:
            if running.task is not None:
                running.task.cancel()
            status = "AcceptedCanceled"
        self.state.firmware = Job(
            request_id,
            "Idle",
            detail={
                "location": firmware["location"],
                "retrieve": firmware["retrieve_date_time"],
                "install": firmware.get("install_date_time"),
                "signature": firmware["signature"],
            },
        )
        return call_result.SignedUpdateFirmware(status=status)

    @after(Action.signed_update_firmware)
    async def after_signed_update_firmware(self, request_id: int, **kwargs: Any) -> None:
        job = self.state.firmware
        if job is not None and job.request_id == request_id and job.task is None and job.status == "Idle":
            job.task = self.spawn(self.firmware_update(job))

    @on(Action.get_log)
    def on_get_log(self, log: dict[str, Any], log_type: str, request_id: int, **kwargs: Any) -> Any:
        running = self.state.log_upload
        status = "Accepted"
        if running is not None:  # the upload under way is cancelled for this one
            if running.task is not None:
                running.task.cancel()
            status = "AcceptedCanceled"
        filename = f"{self.state.cid}-{log_type}-{request_id}.log"
        self.state.log_upload = Job(request_id, "Idle", detail={**log, "filename": filename})
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
            uploaded = urlsplit(str(job.detail["remote_location"])).scheme.lower() in UPLOAD_SCHEMES
            job.status = "Uploaded" if uploaded else "UploadFailure"
        finally:
            if self.state.log_upload is job:
                self.state.log_upload = None  # done: a trigger now reports Idle
        await self.call(call.LogStatusNotification(status=job.status, request_id=job.request_id))

    # --- Security extension: certificates ------------------------------------------------------------
    @on(Action.install_certificate)
    def on_install_certificate(self, certificate_type: str, certificate: str, **kwargs: Any) -> Any:
        store_max = int(self.state.configuration["CertificateStoreMaxLength"][0])
        if len(self.state.certificates.installed) >= store_max:
            return call_result.InstallCertificate(status="Failed")
        return call_result.InstallCertificate(status=self.state.certificates.install(certificate_type, certificate))

    @on(Action.delete_certificate)
    def on_delete_certificate(self, certificate_hash_data: dict[str, Any], **kwargs: Any) -> Any:
        return call_result.DeleteCertificate(status=self.state.certificates.delete(certificate_hash_data))

    @on(Action.get_installed_certificate_ids)
    def on_get_installed_certificate_ids(self, certificate_type: str, **kwargs: Any) -> Any:
        found = [data for kind, data in self.state.certificates.ids([certificate_type])]
        if not found:
            return call_result.GetInstalledCertificateIds(status="NotFound")
        return call_result.GetInstalledCertificateIds(status="Accepted", certificate_hash_data=found)

    async def sign_certificate(self) -> None:
        """A new key pair and SignCertificate with its CSR (CN = our id, O = CpoName)."""
        csr = self.state.certificates.csr_new(self.state.cid, self.state.configuration["CpoName"][0])
        response = await self.call(call.SignCertificate(csr=csr))
        if response is not None and response.status != "Accepted":
            logger.info("%s: SignCertificate %s", self.state.cid, response.status)

    @on(Action.certificate_signed)
    def on_certificate_signed(self, certificate_chain: str, **kwargs: Any) -> Any:
        accepted, why = self.state.certificates.signed(certificate_chain, self.state.cid)
        if not accepted:
            logger.info("%s: CertificateSigned refused: %s", self.state.cid, why)
        return call_result.CertificateSigned(status="Accepted" if accepted else "Rejected")

    @after(Action.certificate_signed)
    async def after_certificate_signed(self, **kwargs: Any) -> None:
        if self.state.certificates.refusal:  # the whitepaper's security event for a refused certificate
            await self.call(
                call.SecurityEventNotification(
                    type="InvalidChargePointCertificate",
                    timestamp=now_iso(),
                    tech_info=self.state.certificates.refusal[:255],
                )
            )

    @on(Action.extended_trigger_message)
    def on_extended_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **kwargs: Any
    ) -> Any:
        if connector_id is not None and connector_id not in self.state.connectors:
            return call_result.ExtendedTriggerMessage(status="Rejected")
        return call_result.ExtendedTriggerMessage(status="Accepted")

    @after(Action.extended_trigger_message)
    async def after_extended_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **kwargs: Any
    ) -> None:
        if connector_id is not None and connector_id not in self.state.connectors:
            return
        if requested_message == "SignChargePointCertificate":
            await self.sign_certificate()
        elif requested_message == "LogStatusNotification":
            job = self.state.log_upload
            await self.call(
                call.LogStatusNotification(
                    status=job.status if job else "Idle", request_id=job.request_id if job else None
                )
            )
        elif requested_message == "FirmwareStatusNotification":  # the signed update's status
            job = self.state.firmware
            signed = job is not None and job.request_id is not None
            await self.call(
                call.SignedFirmwareStatusNotification(
                    status=job.status if job is not None and signed else "Idle",
                    request_id=job.request_id if job is not None and signed else None,
                )
            )
        else:  # the core TriggerMessage's messages
            await self.after_trigger_message(requested_message, connector_id)


@dataclasses.dataclass
class FleetStats:
    """What the fleet loop reports."""

    connected: int = 0
    connects: int = 0
    refused: int = 0
    failures: int = 0


def charger_connection(state: ChargerState, options: Options) -> tuple[str, ssl.SSLContext | None, dict[str, str]]:
    """The URL, TLS context and headers of the charger's next connection: its security profile (a new
    one while it is being tried). Profiles 2 and 3 use ``options.tls_url`` (default: ``options.url`` as
    wss://) and trust the CentralSystemRootCertificates installed (and ``options.tls_ca``); profile 3
    presents the certificate CertificateSigned installed. ValueError when that is not possible."""
    profile = state.security_profile_next if state.security_profile_next is not None else state.security_profile
    url = options.url
    if profile >= 2 and not url.startswith("wss://"):
        url = options.tls_url or re.sub(r"^ws://", "wss://", options.url)
    context = None
    if url.startswith("wss://"):
        context = state.certificates.client_context(CSMS_ROOTS, options.tls_ca, client_certificate=profile == 3)
    headers = {}
    if profile in (0, 1, 2) and state.password is not None:
        token = base64.b64encode(f"{state.cid}:{state.password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return url.rstrip("/") + "/" + state.cid, context, headers


def security_profile_failed(state: ChargerState) -> None:
    """A connection with a new security profile failed: after PROFILE_ATTEMPTS, back to the old one."""
    if state.security_profile_next is None:
        return
    state.security_profile_failures += 1
    if state.security_profile_failures >= PROFILE_ATTEMPTS:
        logger.warning(
            "%s: security profile %s failed, back to %s", state.cid, state.security_profile_next, state.security_profile
        )
        state.security_profile_next = None


async def run_charger(
    cid: str, options: Options, stats: FleetStats, stop: asyncio.Event, *, state: ChargerState | None = None
) -> None:
    """Keep one simulated charger connected (reconnecting with jittered backoff) until ``stop``.
    ``state`` (a test's) replaces the charger a fresh ``ChargerState`` would be."""
    if state is None:
        state = ChargerState(cid=cid, max_power_w=random.choice(options.max_power_w), password=options.password)
        state.security_profile = 1 if options.password is not None else 0
        if options.url.startswith("wss://"):
            state.security_profile = 2
    state.configuration["SecurityProfile"] = (str(state.security_profile), False)
    delay = 1.0
    while not stop.is_set():
        try:
            url, context, headers = charger_connection(state, options)
            async with connect(
                url,
                subprotocols=[Subprotocol("ocpp1.6")],
                additional_headers=headers,
                ssl=context,
                compression=None,
                ping_interval=options.ws_ping_interval,
                open_timeout=30,
                max_size=2**20,
            ) as ws:
                if state.security_profile_next is not None:  # the new profile works: it is the profile now
                    state.security_profile, state.security_profile_next = state.security_profile_next, None
                    state.configuration["SecurityProfile"] = (str(state.security_profile), False)
                stats.connects += 1
                stats.connected += 1
                delay = 1.0
                try:
                    charger = SimulatedChargePoint(state, ws, options)
                    runner = asyncio.create_task(charger.run())
                    stopper = asyncio.create_task(stop.wait())
                    await asyncio.wait([runner, stopper], return_when=asyncio.FIRST_COMPLETED)
                    for task in (runner, stopper):
                        task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                        await runner
                finally:
                    stats.connected -= 1
        except ValueError as exc:  # the new security profile cannot be used
            logger.warning("%s: %s", cid, exc)
            security_profile_failed(state)
        except InvalidStatus as exc:
            stats.refused += 1
            logger.warning("%s: handshake refused (HTTP %s)", cid, exc.response.status_code)
            security_profile_failed(state)
        except (OSError, ConnectionClosed, TimeoutError) as exc:
            stats.failures += 1
            logger.info("%s: connection lost (%s)", cid, exc)
            if not isinstance(exc, ConnectionClosed):
                security_profile_failed(state)
        except Exception:
            stats.failures += 1
            logger.exception("%s: simulator error", cid)
        if stop.is_set():
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay * random.uniform(0.5, 1.5))
        delay = min(options.reconnect_max, delay * 2)


async def run_fleet(
    *, count: int, prefix: str, options: Options, stop: asyncio.Event, ramp_per_second: float = 200.0
) -> FleetStats:
    """Start ``count`` chargers (``ramp_per_second`` at a time) and keep them running until ``stop``."""
    stats = FleetStats()
    tasks = []
    width = max(3, len(str(count)))
    reporter = asyncio.create_task(_report(stats, count, stop))
    for index in range(1, count + 1):
        if stop.is_set():
            break
        cid = f"{prefix}{index:0{width}d}"
        tasks.append(asyncio.create_task(run_charger(cid, options, stats, stop)))
        if ramp_per_second > 0:
            await asyncio.sleep(1.0 / ramp_per_second)
    await stop.wait()
    await asyncio.gather(*tasks, return_exceptions=True)
    reporter.cancel()
    return stats


async def _report(stats: FleetStats, count: int, stop: asyncio.Event) -> None:
    started = datetime.now(UTC)
    while not stop.is_set():
        await asyncio.sleep(10)
        logger.info(
            "fleet: %d/%d connected (%d connects, %d refused, %d failures) after %s",
            stats.connected,
            count,
            stats.connects,
            stats.refused,
            stats.failures,
            timedelta(seconds=int((datetime.now(UTC) - started).total_seconds())),
        )
