"""A simulated fleet of OCPP 2.0.1 charging stations, built on the ``ocpp`` package's ``ocpp.v201.ChargePoint``.

The 2.0.1 sibling of ``gateway/simulator.py`` (1.6), with the same options, fleet loop and style. Each
station connects with the subprotocol ``ocpp2.0.1`` (HTTP Basic auth when given a password), boots
(BootNotification, retrying while Pending/Rejected), reports the connector of each of its EVSEs,
heartbeats, keeps a small device model (answered by GetVariables/SetVariables, reported by
GetBaseReport/GetReport in NotifyReport parts), runs charging sessions at random times (Authorize,
TransactionEvent Started/Updated/Ended with a seqNo per transaction, meter values inside the events,
clock-aligned MeterValues outside them) and answers the CSMS's commands.

Reservations (block H): ReserveNow is Accepted on an idle EVSE (any free one when no EVSE is named,
one with a connector of the type asked), Occupied / Faulted / Unavailable otherwise; the EVSE reports
Reserved, and the reservation ends with its use (the reserved token, or one of its group, starts a
session whose TransactionEvent carries ``reservationId``), CancelReservation, its expiry
(ReservationStatusUpdate Expired) or its EVSE going Inoperative (ReservationStatusUpdate Removed).
Unless idle, the driver who reserved comes now and then before the expiry, and sometimes too late.

The functional blocks added since live in modules of their own, mixed into ``SimulatedStation``:
``sim_v201_security`` (certificates, the CSR flow, network profiles and TLS), ``sim_v201_maintenance``
(firmware, logs, customer information), ``sim_v201_monitoring`` (monitors, NotifyEvent, the rare fault),
``sim_v201_smartcharging`` (charging profiles, the composite schedule, which caps session power) and
``sim_v201_displays`` (display messages, CostUpdated); ``sim_v201_model`` holds the state and device
model, ``sim_v201_base`` what they share.

Unlike the 1.6 simulator it does not boot again after a plain reconnect: a 2.0.1 station sends
BootNotification after a (re)boot only, so a reconnect starts with a Heartbeat (and boots after all if
the CSMS answers SecurityError, i.e. no longer holds it Accepted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.exceptions import OCPPError, SecurityError
from ocpp.routing import after, on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from gateway.sim_v201_base import StationBase
from gateway.sim_v201_displays import DisplayBlock
from gateway.sim_v201_maintenance import MaintenanceBlock
from gateway.sim_v201_model import (
    CONNECTOR_ID,
    CONNECTOR_TYPE,
    EVSES,
    ID_TOKEN_TYPE,
    LOCAL_STOPS,
    MODEL,
    REPORT_ITEMS_PER_PART,
    SUBPROTOCOL,
    VOLTAGE,
    ComponentKey,
    Held,
    StationState,
    Stop,
    Variable,
    VariableKey,
    component_key,
    power_at,
    report_data,
)
from gateway.sim_v201_monitoring import MonitoringBlock
from gateway.sim_v201_security import SecurityBlock, connection_for, connection_slots
from gateway.sim_v201_smartcharging import SmartChargingBlock
from gateway.simulator import ID_TAGS, VENDOR, FleetStats, Options, now_iso

__all__ = ["SUBPROTOCOL", "SimulatedStation", "StationState", "run_fleet", "run_station", "station_ids"]

logger = logging.getLogger(__name__)


class SimulatedStation(SecurityBlock, MaintenanceBlock, MonitoringBlock, SmartChargingBlock, DisplayBlock, StationBase):
    """One connection of a simulated station: the ``ocpp`` v201 ChargePoint plus our behaviour (its
    blocks are mixed in from the ``sim_v201_*`` modules)."""

    # --- lifecycle -------------------------------------------------------------------------------
    async def run(self) -> None:
        """Serve the connection: receive loop, boot (or resume), heartbeats and sessions until it closes."""
        receiver = asyncio.create_task(self.start())
        # Started beside the receive loop, not before it: a connection that closes while a Call waits
        # for its reply ends the connection at once, not after the reply's timeout.
        self.spawn(self.begin())
        try:
            await receiver  # returns (raises) when the connection closes
        finally:
            receiver.cancel()
            for task in list(self._tasks):
                task.cancel()
            for evse in self.state.evses.values():
                if evse.task is not None:
                    evse.task.cancel()
                    evse.task = None

    async def begin(self) -> None:
        """Boot (or resume), report the connectors, then start the behaviours; a reply that never
        came closes the connection, and the fleet loop connects again."""
        try:
            if self.state.accepted:
                await self.resume()
            else:
                await self.boot()
            for evse_id in EVSES:
                await self.send_status(evse_id)
            for evse_id in EVSES:
                self.reservation_arm(evse_id)
            await self.firmware_installed()
        except TimeoutError as exc:
            logger.warning("%s: %s", self.state.cid, exc)
            await self._connection.close()
            return
        behaviours = [self.heartbeat_loop]
        if not self.options.idle:
            behaviours += [self.aligned_data_loop, *(lambda e=e: self.session_loop(e) for e in EVSES)]
            behaviours.append(self.fault_loop)
        for behaviour in behaviours:
            self.spawn(self.keep_going(behaviour))

    async def keep_going(self, behaviour: Callable[[], Any]) -> None:
        """Run a behaviour loop; a reply that never came is logged and the loop starts over, as a
        station would carry on, instead of the task dying silently."""
        while True:
            try:
                await behaviour()
            except TimeoutError as exc:
                logger.warning("%s: %s", self.state.cid, exc)
                await asyncio.sleep(random.uniform(1, 5))

    async def boot(self) -> None:
        """BootNotification until Accepted; Pending/Rejected retry after the interval given (B01, B02)."""
        while True:
            response = await self.call(
                call.BootNotification(
                    charging_station={
                        "model": MODEL,
                        "vendorName": VENDOR,
                        "serialNumber": f"SN-{self.state.cid}"[:25],
                        "firmwareVersion": self.state.firmware_version,
                    },
                    reason=self.state.boot_reason,
                )
            )
            if response is None:  # CallError
                await asyncio.sleep(10)
                continue
            interval = response.interval or 60
            if response.status == "Accepted":
                self.booted(interval)
                return
            logger.info("%s: boot %s, retrying in %s s", self.state.cid, response.status, interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._accepted.wait(), timeout=interval)
            if self._accepted.is_set():
                return

    def booted(self, interval: int) -> None:
        self.state.accepted = True
        self.state.boot_reason = "Unknown"  # the next boot without a reboot before it (see resume)
        if interval > 0:
            self.set_heartbeat_interval(interval)

    async def resume(self) -> None:
        """A reconnect without a reboot: no BootNotification; a CSMS that no longer holds us Accepted
        answers SecurityError, and then we boot after all."""
        try:
            response = await self.call(call.Heartbeat(), suppress=False)
        except SecurityError:
            self.state.accepted = False
            await self.boot()
        except OCPPError as exc:
            logger.info("%s: heartbeat refused (%s)", self.state.cid, exc)
        else:
            logger.debug("%s: resumed at %s", self.state.cid, response.current_time)

    def set_heartbeat_interval(self, interval: int) -> None:
        self.state.heartbeat_interval = max(1, int(interval))
        self.state.variable("OCPPCommCtrlr", "HeartbeatInterval").value = str(self.state.heartbeat_interval)

    async def heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.state.heartbeat_interval * random.uniform(0.9, 1.0))
            await self.call(call.Heartbeat())

    async def send_status(self, evse_id: int, status: str | None = None) -> None:
        """StatusNotification of the EVSE's connector; ``status`` becomes its state first."""
        if status is not None:
            self.state.evses[evse_id].status = status
        await self.call(
            call.StatusNotification(
                timestamp=now_iso(),
                connector_status=self.state.availability(evse_id),
                evse_id=evse_id,
                connector_id=CONNECTOR_ID,
            )
        )

    async def aligned_data_loop(self) -> None:
        """Clock-aligned meter values (J01): MeterValues for an idle EVSE, an Updated event in a session."""
        while True:
            interval = self.state.number("AlignedDataCtrlr", "Interval")
            if interval <= 0 or not self.state.flag("AlignedDataCtrlr", "Enabled"):
                await asyncio.sleep(60)
                continue
            await asyncio.sleep(interval - time.time() % interval)
            measurands = self.state.members("AlignedDataCtrlr", "Measurands")
            for evse_id, evse in self.state.evses.items():
                if evse.transaction_id is None:
                    await self.send_meter_values(evse_id, "Sample.Clock", measurands)
                else:
                    await self.transaction_event(
                        evse_id, "Updated", "MeterValueClock", self.meter_value(evse_id, measurands, "Sample.Clock")
                    )

    # --- metering --------------------------------------------------------------------------------
    def meter_value(self, evse_id: int, measurands: Iterable[str], context: str) -> dict[str, Any] | None:
        """One meterValue with the measurands asked for that this EVSE measures (None: none of them)."""
        evse = self.state.evses[evse_id]
        current = evse.power_w / VOLTAGE / 3
        readings: dict[str, tuple[float | None, str]] = {
            "Energy.Active.Import.Register": (evse.energy_wh, "Wh"),
            "Power.Active.Import": (evse.power_w, "W"),
            "SoC": (None if evse.soc is None else evse.soc * 100, "Percent"),
            "Current.Import": (current, "A"),
            "Voltage": (VOLTAGE, "V"),
        }
        sampled = []
        for measurand in measurands:
            value, unit = readings.get(measurand, (None, ""))
            if value is not None:
                location = "EV" if measurand == "SoC" else None
                sampled.append(
                    {
                        "value": round(value, 1),
                        "measurand": measurand,
                        "context": context,
                        "location": location,
                        "unitOfMeasure": {"unit": unit},
                    }
                )
        return {"timestamp": now_iso(), "sampledValue": sampled} if sampled else None

    def sampled(self, evse_id: int, measurands: str, context: str) -> dict[str, Any] | None:
        """The meterValue of a transaction event: the measurands a SampledDataCtrlr variable lists."""
        return self.meter_value(evse_id, self.state.members("SampledDataCtrlr", measurands), context)

    async def send_meter_values(self, evse_id: int, context: str, measurands: Iterable[str]) -> None:
        meter_value = self.meter_value(evse_id, measurands, context)
        if meter_value is not None:
            await self.call(call.MeterValues(evse_id=evse_id, meter_value=[meter_value]))

    # --- charging sessions -----------------------------------------------------------------------
    async def transaction_event(
        self,
        evse_id: int,
        event_type: str,
        trigger: str,
        meter_value: dict[str, Any] | None = None,
        *,
        transaction: dict[str, Any] | None = None,
        id_token: dict[str, str] | None = None,
        transaction_id: str | None = None,
        reservation_id: int | None = None,
    ) -> Any:
        """One TransactionEvent of the EVSE's transaction, with the next seqNo (from 0 at Started)."""
        evse = self.state.evses[evse_id]
        async with evse.lock:
            transaction_id = transaction_id or evse.transaction_id
            if transaction_id is None:
                return None
            seq_no, evse.seq_no = evse.seq_no, evse.seq_no + 1
            return await self.call(
                call.TransactionEvent(
                    event_type=event_type,
                    timestamp=now_iso(),
                    trigger_reason=trigger,
                    seq_no=seq_no,
                    transaction_info={"transactionId": transaction_id, **(transaction or {})},
                    meter_value=[meter_value] if meter_value is not None else None,
                    evse={"id": evse_id, "connectorId": CONNECTOR_ID},
                    id_token=id_token,
                    reservation_id=reservation_id,
                )
            )

    @staticmethod
    def token_accepted(response: Any) -> bool:
        """Whether an answer carrying idTokenInfo (Authorize, TransactionEvent) accepts the token;
        an event answered without one keeps what was decided before."""
        if response is None:
            return False
        info = response.id_token_info
        return info is None or info.get("status") == "Accepted"

    async def start_transaction(
        self,
        evse_id: int,
        trigger: str,
        *,
        id_token: dict[str, str] | None,
        remote_start_id: int | None = None,
        group: str | None = None,
    ) -> bool:
        """TransactionEvent Started on the EVSE: a new transactionId (a UUID) and seqNo 0."""
        evse = self.state.evses[evse_id]
        evse.transaction_id = str(uuid.uuid4())
        evse.transaction_started = datetime.now(UTC)
        evse.energy_start_wh = evse.energy_wh
        if evse.tx_profile is not None:  # K05: RequestStartTransaction's TxProfile is this transaction's
            self.profile_keep(evse_id, {**evse.tx_profile, "transaction_id": evse.transaction_id})
            evse.tx_profile = None
        evse.seq_no = 0
        evse.stop = None
        evse.wake.clear()
        evse.id_token = id_token
        evse.charging_state = "Charging" if id_token is not None else "EVConnected"
        evse.soc = random.uniform(0.1, 0.6)
        response = await self.transaction_event(
            evse_id,
            "Started",
            trigger,
            self.sampled(evse_id, "TxStartedMeasurands", "Transaction.Begin"),
            transaction={"chargingState": evse.charging_state, "remoteStartId": remote_start_id},
            id_token=id_token,
            reservation_id=self.reservation_use(evse_id, id_token, group),
        )
        if id_token is not None and not self.token_accepted(response):
            await self.end_transaction(evse_id, Stop("Deauthorized", "DeAuthorized"))
            return False
        return True

    async def session_loop(self, evse_id: int) -> None:
        """A driver arrives now and then; a session already running (after a reconnect) resumes."""
        evse = self.state.evses[evse_id]
        if evse.transaction_id is not None:
            self.start_charging(evse_id)
        low, high = self.options.session_gap
        await asyncio.sleep(random.uniform(min(5.0, low), min(60.0, high)))
        while True:
            if evse.task is None and evse.status == "Available" and evse.available:
                await self.local_session(evse_id, {"idToken": random.choice(ID_TAGS), "type": ID_TOKEN_TYPE})
            if evse.task is not None:  # this session's, or one a RequestStartTransaction began
                with contextlib.suppress(asyncio.CancelledError):
                    await evse.task
            await asyncio.sleep(random.uniform(*self.options.session_gap))

    async def local_session(self, evse_id: int, id_token: dict[str, str]) -> None:
        """A driver plugs in and presents a card (C01); TxCtrlr.TxStartPoint says which one opens the
        transaction (E01: EVConnected on the cable, otherwise on the authorization)."""
        evse = self.state.evses[evse_id]
        await self.send_status(evse_id, "Occupied")
        on_cable = bool({"EVConnected", "ParkingBayOccupancy"} & set(self.state.members("TxCtrlr", "TxStartPoint")))
        if on_cable and not await self.start_transaction(evse_id, "CablePluggedIn", id_token=None):
            return
        authorization = await self.call(call.Authorize(id_token=id_token))
        authorized = self.token_accepted(authorization)
        group = self.group_of(authorization)
        if not authorized:
            if evse.transaction_id is not None:
                await self.end_transaction(evse_id, Stop("EVCommunicationLost", "EVDisconnected"))
            else:
                await self.send_status(evse_id, "Reserved" if evse.reservation is not None else "Available")
            return
        if evse.transaction_id is not None:
            evse.id_token, evse.charging_state = id_token, "Charging"
            response = await self.transaction_event(
                evse_id,
                "Updated",
                "Authorized",
                transaction={"chargingState": "Charging"},
                id_token=id_token,
                reservation_id=self.reservation_use(evse_id, id_token, group),
            )
            if not self.token_accepted(response):
                await self.end_transaction(evse_id, Stop("Deauthorized", "DeAuthorized"))
                return
        elif not await self.start_transaction(evse_id, "Authorized", id_token=id_token, group=group):
            return
        self.start_charging(evse_id)

    async def remote_session(self, evse_id: int, id_token: dict[str, str], remote_start_id: int) -> None:
        """RequestStartTransaction accepted (F01/F02): Authorize first only if AuthCtrlr.AuthorizeRemoteStart."""
        await self.send_status(evse_id, "Occupied")
        if self.state.flag("AuthCtrlr", "AuthorizeRemoteStart") and not self.token_accepted(
            await self.call(call.Authorize(id_token=id_token))
        ):
            await self.send_status(evse_id, "Reserved" if self.state.evses[evse_id].reservation else "Available")
            return
        if await self.start_transaction(evse_id, "RemoteStart", id_token=id_token, remote_start_id=remote_start_id):
            self.start_charging(evse_id)

    def start_charging(self, evse_id: int) -> None:
        """The EVSE's metering task, for a session of random length."""
        evse = self.state.evses[evse_id]
        if evse.transaction_id is not None:  # not stopped while it started
            remaining = random.uniform(*self.options.session_length)
            evse.task = asyncio.create_task(self.charge(evse_id, remaining=remaining))
            evse.task.add_done_callback(self._task_done)

    async def charge(self, evse_id: int, *, remaining: float) -> None:
        """Updated events every SampledDataCtrlr.TxUpdatedInterval, then Ended when the session's time is
        up or it was asked to stop (remote stop, reset)."""
        evse = self.state.evses[evse_id]
        loop = asyncio.get_running_loop()
        battery_wh = random.uniform(40_000, 90_000)
        soc = evse.soc if evse.soc is not None else random.uniform(0.1, 0.6)
        transaction_id = evse.transaction_id
        elapsed = 0.0
        try:
            while elapsed < remaining and evse.stop is None and evse.transaction_id == transaction_id:
                interval = max(1, self.state.number("SampledDataCtrlr", "TxUpdatedInterval"))
                started = loop.time()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(evse.wake.wait(), timeout=min(interval, remaining - elapsed))
                step = loop.time() - started
                elapsed += step
                power = power_at(self.state.max_power_w, elapsed, soc) if soc < 1.0 else 0.0
                evse.power_w = min(power, self.power_cap_w(evse_id))  # the composite schedule (K08)
                energy = evse.power_w * step / 3600.0
                evse.energy_wh += energy
                soc = min(1.0, soc + energy / battery_wh)
                evse.soc = soc
                if evse.wake.is_set():  # asked to stop meanwhile
                    break
                await self.variable_changed(("EVSE", None, evse_id, None), ("Power", None), f"{evse.power_w:.0f}")
                trigger, change = "MeterValuePeriodic", {}
                if soc >= 1.0 and evse.charging_state == "Charging":
                    evse.charging_state = "SuspendedEV"
                    trigger, change = "ChargingStateChanged", {"chargingState": "SuspendedEV"}
                await self.transaction_event(
                    evse_id,
                    "Updated",
                    trigger,
                    self.sampled(evse_id, "TxUpdatedMeasurands", "Sample.Periodic"),
                    transaction=change,
                )
            if evse.transaction_id == transaction_id:
                await self.end_transaction(evse_id, evse.stop or Stop(*random.choice(LOCAL_STOPS)))
        finally:
            evse.task = None

    async def end_transaction(self, evse_id: int, stop: Stop) -> None:
        """TransactionEvent Ended (its last seqNo), then the driver unplugs."""
        evse = self.state.evses[evse_id]
        transaction_id, evse.transaction_id = evse.transaction_id, None
        if transaction_id is None:
            return
        evse.power_w = 0.0
        unplugged = stop.reason == "EVDisconnected"
        await self.transaction_event(
            evse_id,
            "Ended",
            stop.trigger,
            self.sampled(evse_id, "TxEndedMeasurands", "Transaction.End"),
            transaction={"stoppedReason": stop.reason, "chargingState": "Idle" if unplugged else "EVConnected"},
            id_token=evse.id_token if stop.trigger == "StopAuthorized" else None,
            transaction_id=transaction_id,
        )
        self.state.sessions_done += 1
        if evse.id_token is not None:  # what CustomerInformation reports (N09)
            kwh = (evse.energy_wh - evse.energy_start_wh) / 1000
            history = self.state.customer_history.setdefault(evse.id_token["idToken"], [])
            history.append(f"{now_iso()} EVSE {evse_id}: transaction {transaction_id}, {kwh:.2f} kWh")
            del history[:-5]
        self.transaction_profiles_end(transaction_id)
        self.transaction_messages_end(transaction_id)
        self.state.costs.pop(transaction_id, None)
        evse.transaction_started = None
        evse.id_token, evse.soc, evse.stop, evse.charging_state = None, None, None, "Idle"
        await self.send_status(evse_id, "Reserved" if evse.reservation is not None else "Available")
        if self.state.reset_on_idle and not self.busy():
            self.state.reset_on_idle = False
            self.spawn(self.reboot())

    def request_stop(self, evse_id: int, stop: Stop) -> asyncio.Task[Any] | None:
        """Ask the EVSE's metering task to end its transaction (it sends Ended); the task to wait for."""
        evse = self.state.evses[evse_id]
        if evse.transaction_id is None:
            return None
        evse.stop = stop
        evse.wake.set()
        if evse.task is None:  # a session still starting: end it here
            return self.spawn(self.end_transaction(evse_id, stop))
        return evse.task

    async def reboot(self, reason: str = "RemoteReset") -> None:
        """A station reset (B11/B12) or a firmware installation (L01): end the transactions, close the
        connection; the fleet loop reconnects and the station boots again with ``reason``."""
        tasks = [t for e in EVSES if (t := self.request_stop(e, Stop("ResetCommand", "ImmediateReset")))]
        if tasks:
            await asyncio.wait(tasks, timeout=self.options.response_timeout)
        self.state.accepted = False
        self.state.boot_reason = reason
        await asyncio.sleep(0.5)
        await self._connection.close()

    # --- provisioning: device model and reset (block B) -------------------------------------------
    @on(Action.get_variables)
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **kwargs: Any) -> Any:
        self.check_items("DeviceDataCtrlr", "GetVariables", len(get_variable_data))
        results = []
        for item in get_variable_data:
            attribute = item.get("attribute_type") or "Actual"
            found, status = self.lookup(item["component"], item["variable"])
            if found is not None and attribute != "Actual":
                status = "NotSupportedAttributeType"
            elif found is not None and found.mutability == "WriteOnly":
                status = "Rejected"
            results.append(
                {
                    "attributeStatus": status,
                    "attributeType": attribute,
                    "attributeValue": found.read() if found is not None and status == "Accepted" else None,
                    "component": item["component"],
                    "variable": item["variable"],
                }
            )
        return call_result.GetVariables(get_variable_result=results)

    @on(Action.set_variables)
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **kwargs: Any) -> Any:
        self.check_items("DeviceDataCtrlr", "SetVariables", len(set_variable_data))
        results = []
        for item in set_variable_data:
            attribute = item.get("attribute_type") or "Actual"
            value = item["attribute_value"]
            found, status = self.lookup(item["component"], item["variable"])
            if found is not None:
                if attribute != "Actual":
                    status = "NotSupportedAttributeType"
                elif found.mutability == "ReadOnly" or found.live is not None or not found.accepts(value):
                    status = "Rejected"
                else:
                    found.value = value
                    self.variable_set(component_key(item["component"]), item["variable"]["name"], value)
                    status = "RebootRequired" if found.reboot_required else "Accepted"
            results.append(
                {
                    "attributeStatus": status,
                    "attributeType": attribute,
                    "component": item["component"],
                    "variable": item["variable"],
                }
            )
        return call_result.SetVariables(set_variable_result=results)

    def variable_set(self, component: ComponentKey, name: str, value: str) -> None:
        """What a new value changes beyond the device model (the rest is read where it is used)."""
        if component[0] == "OCPPCommCtrlr" and name == "HeartbeatInterval":
            self.set_heartbeat_interval(int(value))
        elif component[0] == "SecurityCtrlr" and name == "BasicAuthPassword":
            self.state.password = value  # used from the next connection on

    def report(self, include: Callable[[ComponentKey, VariableKey, Variable], bool]) -> list[dict[str, Any]]:
        return [
            report_data(component, key, variable)
            for component, variables in self.state.model.items()
            for key, variable in variables.items()
            if include(component, key, variable)
        ]

    async def send_report(self, request_id: int, data: list[dict[str, Any]]) -> None:
        """NotifyReport in parts: seqNo from 0, tbc on every part but the last (B07, B08)."""
        generated_at = now_iso()
        parts = [data[i : i + REPORT_ITEMS_PER_PART] for i in range(0, len(data), REPORT_ITEMS_PER_PART)]
        for seq_no, part in enumerate(parts):
            await self.call(
                call.NotifyReport(
                    request_id=request_id,
                    generated_at=generated_at,
                    seq_no=seq_no,
                    report_data=part,
                    tbc=seq_no < len(parts) - 1,
                )
            )

    def base_report(self, report_base: str) -> list[dict[str, Any]]:
        if report_base == "ConfigurationInventory":
            return self.report(lambda c, k, v: v.mutability != "ReadOnly")
        if report_base == "SummaryInventory":
            return self.report(lambda c, k, v: k[0] in ("AvailabilityState", "Available", "Problem"))
        return self.report(lambda c, k, v: True)

    @on(Action.get_base_report)
    def on_get_base_report(self, request_id: int, report_base: str, **kwargs: Any) -> Any:
        return call_result.GetBaseReport(status="Accepted")

    @after(Action.get_base_report)
    async def after_get_base_report(self, request_id: int, report_base: str, **kwargs: Any) -> None:
        await self.send_report(request_id, self.base_report(report_base))

    def custom_report(
        self, component_variable: list[dict[str, Any]] | None, component_criteria: list[str] | None
    ) -> list[dict[str, Any]]:
        """GetReport's selection: the variables named (a component alone names all of its variables),
        of the components that have every criterion (Active, Available, Enabled, Problem) true."""

        def named(component: ComponentKey, key: VariableKey) -> bool:
            for wanted in component_variable or []:
                variable = wanted.get("variable")
                if component_key(wanted["component"]) == component and (
                    variable is None or (variable["name"], variable.get("instance")) == key
                ):
                    return True
            return not component_variable

        def meets(component: ComponentKey) -> bool:
            variables = self.state.model[component]
            return all(
                (criterion, None) in variables and variables[(criterion, None)].read() == "true"
                for criterion in component_criteria or []
            )

        return self.report(lambda c, k, v: named(c, k) and meets(c))

    @on(Action.get_report)
    def on_get_report(
        self,
        request_id: int,
        component_variable: list[dict[str, Any]] | None = None,
        component_criteria: list[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        self.check_items("DeviceDataCtrlr", "GetReport", len(component_variable or []))
        found = self.custom_report(component_variable, component_criteria)
        return call_result.GetReport(status="Accepted" if found else "EmptyResultSet")

    @after(Action.get_report)
    async def after_get_report(
        self,
        request_id: int,
        component_variable: list[dict[str, Any]] | None = None,
        component_criteria: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        found = self.custom_report(component_variable, component_criteria)
        if found:
            await self.send_report(request_id, found)

    @on(Action.reset)
    def on_reset(self, type: str, evse_id: int | None = None, **kwargs: Any) -> Any:  # noqa: A002 (OCPP's name)
        if evse_id is not None and evse_id not in self.state.evses:
            return call_result.Reset(status="Rejected")
        busy = self.busy([evse_id] if evse_id is not None else EVSES)
        return call_result.Reset(status="Scheduled" if type == "OnIdle" and busy else "Accepted")

    @after(Action.reset)
    async def after_reset(self, type: str, evse_id: int | None = None, **kwargs: Any) -> None:  # noqa: A002
        if evse_id is not None:  # an EVSE reset: its transaction ends, the station stays up
            if evse_id in self.state.evses and type == "Immediate":
                self.request_stop(evse_id, Stop("ResetCommand", "ImmediateReset"))
            return
        if type == "OnIdle" and self.busy():
            self.state.reset_on_idle = True  # end_transaction reboots after the last one
            return
        await self.reboot()

    # --- authorization (blocks C, D) ----------------------------------------------------------------
    @on(Action.clear_cache)
    def on_clear_cache(self, **kwargs: Any) -> Any:
        enabled = self.state.flag("AuthCacheCtrlr", "Enabled")
        return call_result.ClearCache(status="Accepted" if enabled else "Rejected")

    @on(Action.get_local_list_version)
    def on_get_local_list_version(self, **kwargs: Any) -> Any:
        return call_result.GetLocalListVersion(version_number=self.state.local_list_version)

    @on(Action.send_local_list)
    def on_send_local_list(
        self,
        version_number: int,
        update_type: str,
        local_authorization_list: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> Any:
        if not self.state.flag("LocalAuthListCtrlr", "Enabled"):
            return call_result.SendLocalList(status="Failed")
        if update_type == "Differential" and version_number <= self.state.local_list_version:
            return call_result.SendLocalList(status="VersionMismatch")
        if update_type == "Full":
            self.state.local_list.clear()
        for entry in local_authorization_list or []:
            token = entry["id_token"]["id_token"]
            if entry.get("id_token_info") is None:
                self.state.local_list.pop(token, None)  # a differential update without info removes it
            else:
                self.state.local_list[token] = entry["id_token_info"]
        self.state.local_list_version = version_number
        return call_result.SendLocalList(status="Accepted")

    # --- transactions and remote control (blocks E, F) ----------------------------------------------
    @on(Action.get_transaction_status)
    def on_get_transaction_status(self, transaction_id: str | None = None, **kwargs: Any) -> Any:
        # Every event goes out when it happens: nothing is ever queued.
        if transaction_id is None:
            return call_result.GetTransactionStatus(messages_in_queue=False)
        ongoing = self.transaction_evse(transaction_id) is not None
        return call_result.GetTransactionStatus(messages_in_queue=False, ongoing_indicator=ongoing)

    @on(Action.request_start_transaction)
    def on_request_start(
        self,
        id_token: dict[str, Any],
        remote_start_id: int,
        evse_id: int | None = None,
        charging_profile: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        token = {"idToken": id_token["id_token"], "type": id_token["type"]}

        def free(e: int) -> bool:
            state = self.state.evses[e]
            idle = state.status == "Available" or (state.status == "Reserved" and self.reserved_for(e, token, None))
            return idle and state.available and state.transaction_id is None

        target = evse_id or next((e for e in self.state.evses if free(e)), None)
        if target is None or target not in self.state.evses or not free(target):
            return call_result.RequestStartTransaction(status="Rejected")
        if charging_profile is not None:  # K05: a TxProfile only, valid for this EVSE
            refusal = self.profile_refusal(target, charging_profile, starting=True)
            if charging_profile["charging_profile_purpose"] != "TxProfile" or refusal is not None:
                return call_result.RequestStartTransaction(status="Rejected")
        evse = self.state.evses[target]
        evse.tx_profile = charging_profile
        evse.status = "Occupied"  # claimed now: a second request for it is refused
        self.spawn(self.remote_session(target, token, remote_start_id))
        return call_result.RequestStartTransaction(status="Accepted")

    @on(Action.request_stop_transaction)
    def on_request_stop(self, transaction_id: str, **kwargs: Any) -> Any:
        evse_id = self.transaction_evse(transaction_id)
        if evse_id is None:
            return call_result.RequestStopTransaction(status="Rejected")
        self.request_stop(evse_id, Stop("RemoteStop", "Remote"))
        return call_result.RequestStopTransaction(status="Accepted")

    @on(Action.unlock_connector)
    def on_unlock_connector(self, evse_id: int, connector_id: int, **kwargs: Any) -> Any:
        if evse_id not in self.state.evses or connector_id != CONNECTOR_ID:
            return call_result.UnlockConnector(status="UnknownConnector")
        if self.state.evses[evse_id].transaction_id is not None:
            return call_result.UnlockConnector(status="OngoingAuthorizedTransaction")
        return call_result.UnlockConnector(status="Unlocked")

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, evse: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        supported = {
            "BootNotification",
            "Heartbeat",
            "StatusNotification",
            "MeterValues",
            "TransactionEvent",
            "FirmwareStatusNotification",
            "LogStatusNotification",
            "PublishFirmwareStatusNotification",
            "SignChargingStationCertificate",
        }
        if requested_message not in supported:
            return call_result.TriggerMessage(status="NotImplemented")
        targets = self.evse_target(evse)
        if targets is None:
            return call_result.TriggerMessage(status="Rejected")
        if requested_message == "BootNotification" and self.state.accepted:
            return call_result.TriggerMessage(status="Rejected")  # F06: an Accepted station refuses to boot again
        if requested_message == "TransactionEvent" and not self.busy(targets):
            return call_result.TriggerMessage(status="Rejected")
        return call_result.TriggerMessage(status="Accepted")

    @after(Action.trigger_message)
    async def after_trigger_message(
        self, requested_message: str, evse: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        targets = self.evse_target(evse) or []
        if requested_message == "BootNotification" and not self.state.accepted:
            self.state.boot_reason = "Triggered"
            response = await self.call(
                call.BootNotification(
                    charging_station={"model": MODEL, "vendorName": VENDOR}, reason=self.state.boot_reason
                )
            )
            if response is not None and response.status == "Accepted":
                self.booted(response.interval)
                self._accepted.set()
        elif requested_message == "Heartbeat":
            await self.call(call.Heartbeat())
        elif requested_message == "StatusNotification":
            for target in targets:
                await self.send_status(target)
        elif requested_message == "MeterValues":
            for target in targets:
                await self.send_meter_values(target, "Trigger", self.state.members("AlignedDataCtrlr", "Measurands"))
        elif requested_message == "TransactionEvent":
            measurands = self.state.members("SampledDataCtrlr", "TxUpdatedMeasurands")
            for target in targets:
                state = self.state.evses[target].charging_state
                await self.transaction_event(
                    target,
                    "Updated",
                    "Trigger",
                    self.meter_value(target, measurands, "Trigger"),
                    transaction={"chargingState": state},
                )
        elif requested_message == "SignChargingStationCertificate":
            await self.sign_certificate()
        else:
            await self.trigger_maintenance(requested_message)

    # --- availability (block G) ---------------------------------------------------------------------
    @on(Action.change_availability)
    def on_change_availability(self, operational_status: str, evse: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        targets = self.evse_target(evse)
        if targets is None:
            return call_result.ChangeAvailability(status="Rejected")
        available = operational_status == "Operative"
        for target in targets:
            if not available and (held := self.reservation_release(target)) is not None:
                self.spawn(self.reservation_notify(held, "Removed"))
            self.state.evses[target].available = available
            if not self.busy([target]):
                self.spawn(self.send_status(target))
        if not available and self.busy(targets):
            # A transaction goes on; its EVSE reports Unavailable when it ends.
            return call_result.ChangeAvailability(status="Scheduled")
        return call_result.ChangeAvailability(status="Accepted")

    # --- reservations (block H) ---------------------------------------------------------------------
    @on(Action.reserve_now)
    def on_reserve_now(
        self,
        id: int,  # noqa: A002 (OCPP's name)
        expiry_date_time: str,
        id_token: dict[str, Any],
        connector_type: str | None = None,
        evse_id: int | None = None,
        group_id_token: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """H01: a named EVSE if it is idle; none named, the first idle one (with a connector of
        ``connector_type`` if asked). A reservation with the id of one held replaces it."""
        if not self.state.flag("ReservationCtrlr", "Enabled") or (
            connector_type is not None and connector_type != CONNECTOR_TYPE
        ):
            return call_result.ReserveNow(status="Rejected")
        if evse_id is None and not self.state.flag("ReservationCtrlr", "NonEvseSpecific"):
            return call_result.ReserveNow(status="Rejected")
        if evse_id is not None and evse_id not in self.state.evses:
            return call_result.ReserveNow(status="Rejected")
        candidates = [evse_id] if evse_id is not None else list(EVSES)
        answers = {e: self.reservable(e, id) for e in candidates}
        target = next((e for e, status in answers.items() if status == "Accepted"), None)
        if target is None:
            # Named: why that EVSE cannot; none named: Occupied if some EVSE is only busy.
            found = set(answers.values())
            status = next(s for s in ("Occupied", "Faulted", "Unavailable") if s in found)
            return call_result.ReserveNow(status=status)
        for e in EVSES:
            held = self.state.evses[e].reservation
            if held is not None and held.reservation_id == id:
                self.reservation_release(e)
        group = (group_id_token or {}).get("id_token")
        expiry = datetime.fromisoformat(expiry_date_time)
        held = Held(id, id_token["id_token"], group, expiry if expiry.tzinfo else expiry.replace(tzinfo=UTC))
        self.state.evses[target].reservation = held
        self.state.evses[target].status = "Reserved"
        self.spawn(self.send_status(target))
        self.reservation_arm(target)
        if not self.options.idle:
            self.spawn(self.reserved_driver(target, held, {"idToken": held.id_token, "type": id_token["type"]}))
        return call_result.ReserveNow(status="Accepted")

    @on(Action.cancel_reservation)
    def on_cancel_reservation(self, reservation_id: int, **kwargs: Any) -> Any:
        """H02: Accepted for a reservation held (its EVSE Available again), Rejected otherwise."""
        for evse_id in EVSES:
            held = self.state.evses[evse_id].reservation
            if held is not None and held.reservation_id == reservation_id:
                self.reservation_release(evse_id)
                self.spawn(self.send_status(evse_id))
                return call_result.CancelReservation(status="Accepted")
        return call_result.CancelReservation(status="Rejected")

    def reservable(self, evse_id: int, reservation_id: int) -> str:
        """ReserveNow's answer for this EVSE: Accepted when idle (or held by this very reservation)."""
        evse = self.state.evses[evse_id]
        if not evse.available:
            return "Unavailable"
        if evse.status == "Faulted":
            return "Faulted"
        held = evse.reservation
        if evse.transaction_id is not None or evse.task is not None:
            return "Occupied"
        if evse.status == "Available" or (held is not None and held.reservation_id == reservation_id):
            return "Accepted"
        return "Occupied"

    def reserved_for(self, evse_id: int, id_token: dict[str, str] | None, group: str | None) -> bool:
        """Whether the EVSE's reservation is this token's: the same token, or a token of its group."""
        held = self.state.evses[evse_id].reservation
        if held is None or id_token is None:
            return False
        return id_token["idToken"] == held.id_token or (group is not None and group == held.group_id_token)

    def reservation_use(self, evse_id: int, id_token: dict[str, str] | None, group: str | None) -> int | None:
        """A session of the reserved token begins: the reservation ends, its id goes in the event."""
        if not self.reserved_for(evse_id, id_token, group):
            return None
        held = self.reservation_release(evse_id)
        return held.reservation_id if held is not None else None

    @staticmethod
    def group_of(authorization: Any) -> str | None:
        """The group id token an Authorize answer gives the token (``idTokenInfo.groupIdToken``)."""
        info = getattr(authorization, "id_token_info", None) or {}
        return (info.get("group_id_token") or {}).get("id_token")

    def reservation_release(self, evse_id: int) -> Held | None:
        """The EVSE holds its reservation no more (used, cancelled, expired, removed): no timer, and
        an EVSE that was only Reserved is Available (its StatusNotification is the caller's)."""
        evse = self.state.evses[evse_id]
        held, evse.reservation = evse.reservation, None
        if held is None:
            return None
        if held.timer is not None and held.timer is not asyncio.current_task():
            held.timer.cancel()
        if evse.status == "Reserved":
            evse.status = "Available"
        return held

    def reservation_arm(self, evse_id: int) -> None:
        """Start the expiry timer of the EVSE's reservation on this connection."""
        held = self.state.evses[evse_id].reservation
        if held is not None:
            held.timer = self.spawn(self.reservation_expire(evse_id, held))

    async def reservation_expire(self, evse_id: int, held: Held) -> None:
        """At its expiry a reservation ends: ReservationStatusUpdate Expired, and the EVSE is Available."""
        await asyncio.sleep(max(0.0, (held.expiry - datetime.now(UTC)).total_seconds()))
        if self.state.evses[evse_id].reservation is held:
            self.reservation_release(evse_id)
            await self.reservation_notify(held, "Expired")
            await self.send_status(evse_id)

    async def reservation_notify(self, held: Held, status: str) -> None:
        await self.call(
            call.ReservationStatusUpdate(reservation_id=held.reservation_id, reservation_update_status=status)
        )

    async def reserved_driver(self, evse_id: int, held: Held, id_token: dict[str, str]) -> None:
        """The driver who reserved comes, mostly before the expiry (the demo fleet's reservations get
        used), sometimes after it (and finds it expired)."""
        left = (held.expiry - datetime.now(UTC)).total_seconds()
        await asyncio.sleep(random.uniform(min(5.0, left), max(5.0, left * 1.2)))
        evse = self.state.evses[evse_id]
        if evse.reservation is held and evse.transaction_id is None and evse.task is None:
            await self.local_session(evse_id, id_token)

    # --- data transfer (block P) --------------------------------------------------------------------
    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, message_id: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        if vendor_id != VENDOR:
            return call_result.DataTransfer(status="UnknownVendorId")
        return call_result.DataTransfer(status="Accepted", data=data)


async def run_station(
    cid: str, options: Options, stats: FleetStats, stop: asyncio.Event, *, state: StationState | None = None
) -> None:
    """Keep one simulated station connected (reconnecting with jittered backoff) until ``stop``.
    ``state`` (a test's) replaces the station a fresh ``StationState.new`` would make.

    It connects with the network profile of the first configuration slot of
    OCPPCommCtrlr.NetworkConfigurationPriority (read again at each boot); a slot that cannot be used
    or fails NetworkProfileConnectionAttempts times in a row gives way to the next one (B10, A05)."""
    state = state or StationState.new(cid, options)
    slots, index, attempts = connection_slots(state), 0, 0
    delay = 1.0
    while not stop.is_set():
        slot = slots[index % len(slots)]
        failed = True
        try:
            connection = connection_for(state, slot, options.tls_ca)
            async with connect(
                connection.url,
                subprotocols=[SUBPROTOCOL],
                additional_headers=connection.headers,
                ssl=connection.ssl,
                compression=None,
                ping_interval=options.ws_ping_interval,
                open_timeout=30,
                max_size=2**20,
            ) as ws:
                stats.connects += 1
                stats.connected += 1
                delay, failed, attempts = 1.0, False, 0
                state.connected_slot = slot
                state.variable("SecurityCtrlr", "SecurityProfile").value = str(connection.security_profile)
                try:
                    station = SimulatedStation(state, ws, options)
                    runner = asyncio.create_task(station.run())
                    stopper = asyncio.create_task(stop.wait())
                    await asyncio.wait([runner, stopper], return_when=asyncio.FIRST_COMPLETED)
                    for task in (runner, stopper):
                        task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                        await runner
                finally:
                    stats.connected -= 1
        except ValueError as exc:  # this slot's profile cannot be used (no root certificate, no certificate)
            logger.warning("%s: network profile %s unusable: %s", cid, slot, exc)
            attempts = 1_000_000
        except InvalidStatus as exc:
            stats.refused += 1
            logger.warning("%s: handshake refused (HTTP %s)", cid, exc.response.status_code)
        except (OSError, ConnectionClosed, TimeoutError) as exc:
            stats.failures += 1
            logger.info("%s: connection lost (%s)", cid, exc)
        except Exception:
            stats.failures += 1
            logger.exception("%s: simulator error", cid)
        if stop.is_set():
            break
        if not failed and not state.accepted:  # a reboot: the priority list is read again
            slots, index = connection_slots(state), 0
        elif failed:
            attempts += 1
            if attempts >= state.number("OCPPCommCtrlr", "NetworkProfileConnectionAttempts") and len(slots) > 1:
                logger.warning("%s: network profile %s failed, trying the next", cid, slot)
                index, attempts = index + 1, 0
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay * random.uniform(0.5, 1.5))
        delay = min(options.reconnect_max, delay * 2)


def station_ids(count: int, prefix: str) -> list[str]:
    """The ids of a fleet of ``count``: ``<prefix><number>``, as the 1.6 fleet numbers its chargers."""
    width = max(3, len(str(count)))
    return [f"{prefix}{index:0{width}d}" for index in range(1, count + 1)]


async def run_fleet(
    *, count: int, prefix: str, options: Options, stop: asyncio.Event, ramp_per_second: float = 200.0
) -> FleetStats:
    """Start ``count`` stations (``ramp_per_second`` at a time) and keep them running until ``stop``."""
    stats = FleetStats()
    tasks = []
    reporter = asyncio.create_task(_report(stats, count, stop))
    for cid in station_ids(count, prefix):
        if stop.is_set():
            break
        tasks.append(asyncio.create_task(run_station(cid, options, stats, stop)))
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
            "fleet (2.0.1): %d/%d connected (%d connects, %d refused, %d failures) after %s",
            stats.connected,
            count,
            stats.connects,
            stats.refused,
            stats.failures,
            timedelta(seconds=int((datetime.now(UTC) - started).total_seconds())),
        )
