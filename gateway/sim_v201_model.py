"""The state of a simulated OCPP 2.0.1 station (``gateway.simulator_v201``): its EVSEs, its device model
(OCPP 2.0.1 part 2, appendix 3 names) and what its functional blocks keep (certificates, firmware,
monitors, charging profiles, display messages, network profiles). Nothing here talks to a CSMS.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from websockets.typing import Subprotocol

from gateway.sim_certificates import CertificateStore
from gateway.simulator import VENDOR, Options, now_iso

SUBPROTOCOL = Subprotocol("ocpp2.0.1")
EVSES = (1, 2)
CONNECTOR_ID = 1  # one connector per EVSE
CONNECTOR_TYPE = "cType2"  # every connector is a Type 2 socket
MODEL = "SimStation-2x22"
ID_TOKEN_TYPE = "ISO14443"  # the demo fleet's drivers present RFID cards
# NotifyReport parts: a real station splits its report by its message size limit; ours by count.
REPORT_ITEMS_PER_PART = 20
VOLTAGE = 230.0
MEASURANDS = "Energy.Active.Import.Register,Power.Active.Import,SoC,Current.Import,Voltage"
TX_START_POINTS = "ParkingBayOccupancy,EVConnected,Authorized,DataSigned,PowerPathClosed,EnergyTransfer"
AVAILABILITY_STATES = "Available,Occupied,Reserved,Unavailable,Faulted"
NETWORK_SLOTS = "0,1,2,3"  # configuration slots of network connection profiles
MAX_STACK_LEVEL = 8
MAX_PERIODS = 24
MAX_MESSAGES = 10
MESSAGE_FORMATS = "ASCII,UTF8,URI"  # what its display shows (HTML: no)
MONITORABLE = ("integer", "decimal", "boolean")  # data types a monitor can watch
# How a driver ends a session whose time is up: with the card (E07) or by unplugging (E06).
LOCAL_STOPS = (("StopAuthorized", "Local"), ("EVCommunicationLost", "EVDisconnected"))


@dataclasses.dataclass
class Variable:
    """One variable of the device model: its Actual value, mutability and characteristics."""

    value: str
    data_type: str = "string"
    mutability: str = "ReadWrite"
    unit: str | None = None
    min_limit: float | None = None
    max_limit: float | None = None
    values_list: str | None = None
    reboot_required: bool = False
    live: Callable[[], str] | None = None  # a value the station measures (a clock, a state), not stores

    def read(self) -> str:
        return self.live() if self.live is not None else self.value

    def accepts(self, value: str) -> bool:
        """Whether ``value`` is a valid value of this variable's data type and limits."""
        if self.data_type in ("integer", "decimal"):
            try:
                number = int(value) if self.data_type == "integer" else float(value)
            except ValueError:
                return False
            return (self.min_limit is None or number >= self.min_limit) and (
                self.max_limit is None or number <= self.max_limit
            )
        if self.data_type == "boolean":
            return value in ("true", "false")
        allowed = (self.values_list or "").split(",")
        if self.data_type == "OptionList":
            return value in allowed
        if self.data_type in ("MemberList", "SequenceList"):
            return all(member in allowed for member in value.split(","))
        return (self.min_limit is None or len(value) >= self.min_limit) and (
            self.max_limit is None or len(value) <= self.max_limit
        )


# A component is named by (name, instance, EVSE id, connector id); a variable by (name, instance).
ComponentKey = tuple[str, str | None, int | None, int | None]
VariableKey = tuple[str, str | None]
DeviceModel = dict[ComponentKey, dict[VariableKey, Variable]]


@dataclasses.dataclass(frozen=True)
class Stop:
    """Why a transaction ends: the TransactionEvent's triggerReason and stoppedReason."""

    trigger: str
    reason: str


@dataclasses.dataclass
class Held:
    """A reservation the station holds on an EVSE (H01): for a token, or a token of its group, until expiry."""

    reservation_id: int
    id_token: str
    group_id_token: str | None
    expiry: datetime
    timer: asyncio.Task[None] | None = None  # this connection's expiry timer (re-armed on a reconnect)


@dataclasses.dataclass
class Evse:
    """One EVSE and its connector (the state survives reconnects, like a real station's)."""

    energy_wh: float
    status: str = "Available"  # the connector's ConnectorStatus
    available: bool = True  # Operative
    transaction_id: str | None = None
    id_token: dict[str, str] | None = None
    seq_no: int = 0  # the next TransactionEvent's seqNo in the current transaction
    charging_state: str = "Idle"
    power_w: float = 0.0
    soc: float | None = None
    stop: Stop | None = None  # asked to end (remote stop, reset): the metering task ends it
    wake: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    # One TransactionEvent at a time per EVSE, so seqNo order on the wire is the order of the events.
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    task: asyncio.Task[None] | None = None
    reservation: Held | None = None
    faulted: bool = False  # a fault (NotifyEvent Problem) is active
    transaction_started: datetime | None = None  # when its transaction began (Relative profiles start then)
    energy_start_wh: float = 0.0
    tx_profile: dict[str, Any] | None = None  # a RequestStartTransaction's TxProfile, for the transaction to come


@dataclasses.dataclass
class Job:
    """A firmware update, log upload or firmware publication the station runs: its request id, the
    status it reported last, and the task doing it."""

    request_id: int
    status: str
    task: asyncio.Task[Any] | None = None
    detail: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Monitor:
    """A variable monitor (N04): what it watches, how, and who set it (HardWired, Preconfigured, Custom)."""

    id: int
    component: ComponentKey
    variable: VariableKey
    type: str
    value: float
    severity: int
    transaction: bool = False
    kind: str = "Custom"
    tripped: bool = False  # a threshold crossed (its NotifyEvent sent, the clearing one not yet)
    reference: float | None = None  # a Delta monitor's value at its last event

    def json(self) -> dict[str, Any]:
        """NotifyMonitoringReport's VariableMonitoringType."""
        return {
            "id": self.id,
            "transaction": self.transaction,
            "value": self.value,
            "type": self.type,
            "severity": self.severity,
        }


@dataclasses.dataclass
class Profile:
    """A charging profile the station keeps (K01): for an EVSE (0: the station), as sent (snake_case)."""

    evse_id: int
    profile: dict[str, Any]

    @property
    def purpose(self) -> str:
        return str(self.profile["charging_profile_purpose"])

    @property
    def stack_level(self) -> int:
        return int(self.profile["stack_level"])

    @property
    def transaction_id(self) -> str | None:
        return self.profile.get("transaction_id")


@dataclasses.dataclass
class StationState:
    """Everything a station remembers across connections (and its device model across reboots)."""

    cid: str
    max_power_w: float
    password: str | None = None
    evses: dict[int, Evse] = dataclasses.field(
        default_factory=lambda: {e: Evse(energy_wh=random.uniform(0, 5e6)) for e in EVSES}
    )
    heartbeat_interval: int = 300
    accepted: bool = False  # Accepted since its last (re)boot: a reconnect needs no BootNotification
    boot_reason: str = "PowerUp"
    local_list_version: int = 0
    local_list: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    reset_on_idle: bool = False
    sessions_done: int = 0
    model: DeviceModel = dataclasses.field(default_factory=dict)
    firmware_version: str = "1.0.0"
    certificates: CertificateStore = dataclasses.field(default_factory=CertificateStore)
    firmware: Job | None = None  # the firmware update under way (L01)
    firmware_done: Job | None = None  # the update to report Installed after its reboot
    log_upload: Job | None = None  # the log upload under way (N01)
    published: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # checksum -> locations (L03)
    publishing: Job | None = None
    monitors: dict[int, Monitor] = dataclasses.field(default_factory=dict)
    next_monitor_id: int = 100
    next_event_id: int = 1
    profiles: dict[int, Profile] = dataclasses.field(default_factory=dict)  # charging profiles by id (K01)
    messages: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)  # display messages by id (O01)
    # Network connection profiles by configuration slot (B09); slot 0 is the one the station was set up with.
    network_profiles: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)
    connected_slot: int = 0
    customer_history: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # id token -> what we keep
    costs: dict[str, float] = dataclasses.field(default_factory=dict)  # transaction id -> last CostUpdated

    @classmethod
    def new(cls, cid: str, options: Options) -> StationState:
        state = cls(cid=cid, max_power_w=random.choice(options.max_power_w), password=options.password)
        state.model = device_model(state, options)
        state.network_profiles[0] = {
            "ocpp_version": "OCPP20",
            "ocpp_transport": "JSON",
            "ocpp_csms_url": options.url,
            "message_timeout": int(options.response_timeout),
            "security_profile": initial_security_profile(options.url, state.password),
            "ocpp_interface": "Wired0",
        }
        state.variable("SecurityCtrlr", "SecurityProfile").value = str(state.network_profiles[0]["security_profile"])
        state.monitors = preconfigured_monitors()
        return state

    def variable(self, component: str, name: str, instance: str | None = None) -> Variable:
        """A variable of a station-level component (these always exist)."""
        return self.model[(component, None, None, None)][(name, instance)]

    def number(self, component: str, name: str, instance: str | None = None) -> int:
        try:
            return int(self.variable(component, name, instance).read())
        except ValueError:
            return 0

    def flag(self, component: str, name: str) -> bool:
        return self.variable(component, name).read() == "true"

    def members(self, component: str, name: str) -> list[str]:
        return [member for member in self.variable(component, name).read().split(",") if member]

    def availability(self, evse_id: int) -> str:
        evse = self.evses[evse_id]
        return evse.status if evse.available else "Unavailable"


def device_model(state: StationState, options: Options) -> DeviceModel:
    """A small, realistic device model (OCPP 2.0.1 part 2, appendix 3 names): the station, its EVSEs
    and connectors, and the controllers a CSMS reads and sets."""
    some = random.Random(state.cid)  # the same station gets the same choices on every run

    def integer(value: float, unit: str | None = None, **kw: Any) -> Variable:
        return Variable(str(int(value)), "integer", unit=unit, **kw)

    def boolean(value: bool, **kw: Any) -> Variable:
        return Variable("true" if value else "false", "boolean", **kw)

    def members(value: str, values_list: str = MEASURANDS) -> Variable:
        return Variable(value, "MemberList", values_list=values_list)

    def fixed(value: str, data_type: str = "string", **kw: Any) -> Variable:
        return Variable(value, data_type, mutability="ReadOnly", **kw)

    def station_available() -> str:
        return "Available" if any(evse.available for evse in state.evses.values()) else "Unavailable"

    model: DeviceModel = {
        ("ChargingStation", None, None, None): {
            ("AvailabilityState", None): fixed(
                "", "OptionList", values_list=AVAILABILITY_STATES, live=station_available
            ),
            ("Available", None): fixed("true", "boolean"),
            ("Model", None): fixed(MODEL),
            ("VendorName", None): fixed(VENDOR),
            ("SupplyPhases", None): fixed("3", "integer"),
        },
        ("SecurityCtrlr", None, None, None): {
            ("SecurityProfile", None): fixed("1", "integer"),
            ("Identity", None): fixed(state.cid, max_limit=48),
            ("OrganizationName", None): Variable("CSMS demo", max_limit=50),
            ("BasicAuthPassword", None): Variable(
                state.password or "", mutability="WriteOnly", min_limit=16, max_limit=40
            ),
            ("CertificateEntries", None): fixed(
                "0", "integer", live=lambda: str(len(state.certificates.installed) + bool(state.certificates.own_chain))
            ),
            ("MaxCertificateChainSize", None): fixed("10000", "integer"),
        },
        ("OCPPCommCtrlr", None, None, None): {
            ("HeartbeatInterval", None): integer(state.heartbeat_interval, "s", min_limit=1),
            ("MessageTimeout", "Default"): fixed(str(int(options.response_timeout)), "integer", unit="s"),
            ("OfflineThreshold", None): integer(60, "s", min_limit=0),
            ("ResetRetries", None): integer(2, min_limit=0),
            ("FileTransferProtocols", None): fixed("HTTPS", "MemberList", values_list="FTP,FTPS,HTTP,HTTPS,SFTP"),
            # Applied to the next connection: a new value needs a reconnect, as on a real station.
            ("WebSocketPingInterval", None): integer(
                options.ws_ping_interval or 0, "s", min_limit=0, reboot_required=True
            ),
            # The configuration slots (SetNetworkProfile) in the order they are tried; used from the next boot.
            ("NetworkConfigurationPriority", None): Variable(
                "0", "SequenceList", values_list=NETWORK_SLOTS, reboot_required=True
            ),
            ("NetworkProfileConnectionAttempts", None): integer(2, min_limit=1),
        },
        ("DeviceDataCtrlr", None, None, None): {
            ("ItemsPerMessage", "GetReport"): fixed("4", "integer"),
            ("ItemsPerMessage", "GetVariables"): fixed("4", "integer"),
            ("ItemsPerMessage", "SetVariables"): fixed("4", "integer"),
            ("BytesPerMessage", "GetReport"): fixed("65536", "integer"),
            ("BytesPerMessage", "GetVariables"): fixed("65536", "integer"),
            ("BytesPerMessage", "SetVariables"): fixed("65536", "integer"),
        },
        ("AuthCtrlr", None, None, None): {
            ("Enabled", None): boolean(True),
            ("AuthorizeRemoteStart", None): boolean(False),
            ("LocalAuthorizeOffline", None): boolean(True),
            ("LocalPreAuthorize", None): boolean(False),
            ("OfflineTxForUnknownIdEnabled", None): boolean(False),
        },
        ("AuthCacheCtrlr", None, None, None): {
            ("Enabled", None): boolean(True),
            ("LifeTime", None): integer(86400, "s", min_limit=0),
        },
        ("LocalAuthListCtrlr", None, None, None): {
            ("Enabled", None): boolean(True),
            ("Entries", None): fixed("0", "integer", live=lambda: str(len(state.local_list))),
            ("ItemsPerMessage", None): fixed("100", "integer"),
        },
        ("TxCtrlr", None, None, None): {
            # Either the cable (Started: CablePluggedIn) or the card (Started: Authorized) opens a session.
            ("TxStartPoint", None): members(some.choice(("PowerPathClosed", "EVConnected")), TX_START_POINTS),
            ("TxStopPoint", None): members("EVConnected,Authorized", TX_START_POINTS),
            ("EVConnectionTimeOut", None): integer(60, "s", min_limit=1),
            ("StopTxOnEVSideDisconnect", None): fixed("true", "boolean"),
            ("StopTxOnInvalidId", None): boolean(True),
        },
        ("SampledDataCtrlr", None, None, None): {
            ("Enabled", None): boolean(True),
            ("TxStartedMeasurands", None): members("Energy.Active.Import.Register"),
            ("TxUpdatedMeasurands", None): members("Energy.Active.Import.Register,Power.Active.Import,SoC"),
            ("TxUpdatedInterval", None): integer(
                max(1, round(some.uniform(*options.meter_interval))), "s", min_limit=1
            ),
            ("TxEndedMeasurands", None): members("Energy.Active.Import.Register"),
            ("TxEndedInterval", None): integer(0, "s", min_limit=0),
        },
        ("AlignedDataCtrlr", None, None, None): {
            ("Enabled", None): boolean(True),
            ("Measurands", None): members("Energy.Active.Import.Register"),
            ("Interval", None): integer(900, "s", min_limit=0),
        },
        ("ReservationCtrlr", None, None, None): {
            ("Available", None): fixed("true", "boolean"),
            ("Enabled", None): boolean(True),
            ("NonEvseSpecific", None): boolean(True),
        },
        ("MonitoringCtrlr", None, None, None): {
            ("Available", None): fixed("true", "boolean"),
            ("Enabled", None): boolean(True),
            ("ActiveMonitoringBase", None): fixed("All", "OptionList", values_list="All,FactoryDefault,HardWiredOnly"),
            ("ActiveMonitoringLevel", None): integer(9, min_limit=0, max_limit=9),
            ("ItemsPerMessage", "SetVariableMonitoring"): fixed("4", "integer"),
            ("ItemsPerMessage", "ClearVariableMonitoring"): fixed("4", "integer"),
            ("BytesPerMessage", "SetVariableMonitoring"): fixed("65536", "integer"),
            ("BytesPerMessage", "ClearVariableMonitoring"): fixed("65536", "integer"),
        },
        ("SmartChargingCtrlr", None, None, None): {
            ("Available", None): fixed("true", "boolean"),
            ("Enabled", None): boolean(True),
            ("Entries", "ChargingProfiles"): fixed("0", "integer", live=lambda: str(len(state.profiles))),
            ("ProfileStackLevel", None): fixed(str(MAX_STACK_LEVEL), "integer"),
            ("PeriodsPerSchedule", None): fixed(str(MAX_PERIODS), "integer"),
            ("ChargingScheduleChargingRateUnit", None): fixed("A,W", "MemberList", values_list="A,W"),
            ("LimitChangeSignificance", None): Variable("10", "decimal", unit="Percent", min_limit=0, max_limit=100),
        },
        ("DisplayMessageCtrlr", None, None, None): {
            ("Available", None): fixed("true", "boolean"),
            ("Enabled", None): boolean(True),
            ("DisplayMessages", None): fixed(
                "0", "integer", max_limit=MAX_MESSAGES, live=lambda: str(len(state.messages))
            ),
            ("SupportedFormats", None): fixed(MESSAGE_FORMATS, "MemberList", values_list="ASCII,HTML,URI,UTF8"),
            ("SupportedPriorities", None): fixed(
                "AlwaysFront,InFront,NormalCycle", "MemberList", values_list="AlwaysFront,InFront,NormalCycle"
            ),
        },
        ("ClockCtrlr", None, None, None): {
            ("DateTime", None): fixed("", "dateTime", live=now_iso),
            ("TimeSource", None): Variable(
                "Heartbeat", "SequenceList", values_list="Heartbeat,NTP,GPS,RealTimeClock,MobileNetwork"
            ),
        },
    }
    for evse_id in EVSES:
        model[("EVSE", None, evse_id, None)] = {
            ("AvailabilityState", None): fixed(
                "", "OptionList", values_list=AVAILABILITY_STATES, live=lambda e=evse_id: state.availability(e)
            ),
            ("Available", None): fixed("true", "boolean"),
            ("Problem", None): fixed("false", "boolean", live=lambda e=evse_id: str(state.evses[e].faulted).lower()),
            ("Power", None): fixed(
                "0",
                "decimal",
                unit="W",
                max_limit=state.max_power_w,
                live=lambda e=evse_id: f"{state.evses[e].power_w:.0f}",
            ),
            ("SupplyPhases", None): fixed("3", "integer"),
        }
        model[("Connector", None, evse_id, CONNECTOR_ID)] = {
            ("AvailabilityState", None): fixed(
                "", "OptionList", values_list=AVAILABILITY_STATES, live=lambda e=evse_id: state.availability(e)
            ),
            ("ConnectorType", None): fixed(CONNECTOR_TYPE),
        }
    return model


def initial_security_profile(url: str, password: str | None) -> int:
    """The security profile a charger set up with ``url`` and ``password`` connects with: 2 over TLS,
    1 with a password (Basic auth), 0 without."""
    if url.startswith("wss://"):
        return 2
    return 1 if password is not None else 0


def preconfigured_monitors() -> dict[int, Monitor]:
    """The monitors the station comes with: a hard-wired one on each EVSE's Problem (faults are always
    reported) and a preconfigured over-power threshold (a FactoryDefault base restores it)."""
    monitors: dict[int, Monitor] = {}
    for evse_id in EVSES:
        monitors[evse_id] = Monitor(
            evse_id, ("EVSE", None, evse_id, None), ("Problem", None), "Delta", 1, 2, kind="HardWired"
        )
        monitors[10 + evse_id] = Monitor(
            10 + evse_id,
            ("EVSE", None, evse_id, None),
            ("Power", None),
            "UpperThreshold",
            22500,
            4,
            kind="Preconfigured",
        )
    return monitors


def component_key(component: dict[str, Any]) -> ComponentKey:
    """The key of a request's component (the ``ocpp`` package hands it over in snake_case)."""
    evse = component.get("evse") or {}
    return (component["name"], component.get("instance"), evse.get("id"), evse.get("connector_id"))


def component_json(key: ComponentKey) -> dict[str, Any]:
    name, instance, evse_id, connector_id = key
    evse = None if evse_id is None else {"id": evse_id, "connectorId": connector_id}
    return {"name": name, "instance": instance, "evse": evse}  # the package drops the None values


def report_data(component: ComponentKey, variable: VariableKey, value: Variable) -> dict[str, Any]:
    """One NotifyReport reportData: the variable's Actual attribute and its characteristics."""
    return {
        "component": component_json(component),
        "variable": {"name": variable[0], "instance": variable[1]},
        "variableAttribute": [
            {
                "type": "Actual",
                "value": None if value.mutability == "WriteOnly" else value.read(),
                "mutability": value.mutability,
                "persistent": value.live is None,
                "constant": False,
            }
        ],
        "variableCharacteristics": {
            "dataType": value.data_type,
            "unit": value.unit,
            "minLimit": value.min_limit,
            "maxLimit": value.max_limit,
            "valuesList": value.values_list,
            "supportsMonitoring": value.data_type in MONITORABLE,
        },
    }


def power_at(max_power_w: float, elapsed: float, soc: float) -> float:
    """A plausible AC/DC curve (as the 1.6 simulator's): 30 s ramp-up, flat, tapering above 80 % SoC."""
    power = max_power_w * min(1.0, elapsed / 30.0)
    if soc > 0.8:
        power *= max(0.1, (1.0 - soc) / 0.2)
    return power * random.uniform(0.97, 1.0)
