"""Every write of the monitoring app: a station's monitors, its monitoring base and level, the parts of its
monitoring reports, and the faults its events raise and clear.

Services take parsed values (the protocol package reads the payloads). They run in the caller's transaction
(the processing's results or handlers transaction); the dashboard hears of a change once it commits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from backoffice.events import fleet_event
from chargers.models import ChargePoint

from .models import MonitoringReportPart, MonitoringSettings, StationFault, VariableMonitor

#: The ``fleet_event`` kind of a change of a station's monitoring (its page re-renders).
EVENT_KIND = "monitoring"


@dataclasses.dataclass(frozen=True)
class MonitorKey:
    """Which variable a monitor watches (its component, the component's EVSE and connector, its name)."""

    component: str
    variable: str
    component_instance: str = ""
    variable_instance: str = ""
    evse_id: int | None = None
    connector_id: int | None = None


@dataclasses.dataclass(frozen=True)
class MonitorSpec:
    """One monitor as the station knows it (VariableMonitoringType and the variable it is on)."""

    monitor_id: int
    key: MonitorKey
    type: str
    value: float
    severity: int
    transaction: bool = False


def _fields(spec: MonitorSpec) -> dict[str, object]:
    key = spec.key
    return {
        "component": key.component,
        "component_instance": key.component_instance,
        "evse_id": key.evse_id,
        "connector_id": key.connector_id,
        "variable": key.variable,
        "variable_instance": key.variable_instance,
        "type": spec.type,
        "value": spec.value,
        "severity": spec.severity,
        "transaction": spec.transaction,
    }


def _changed(charge_point: ChargePoint) -> None:
    fleet_event(EVENT_KIND, charge_point.charge_point_id)


def monitors_set_record(*, charge_point: ChargePoint, monitors: list[MonitorSpec], now: datetime) -> None:
    """Keep the monitors the station accepted from a SetVariableMonitoring of ours (a monitor id it
    already had is replaced: N04, ``id`` in the request replaces that monitor)."""
    if not monitors:
        return
    with transaction.atomic():
        for spec in monitors:
            VariableMonitor.objects.update_or_create(
                charge_point=charge_point,
                monitor_id=spec.monitor_id,
                defaults={**_fields(spec), "source": VariableMonitor.Source.CSMS, "updated_at": now},
            )
    _changed(charge_point)


def monitors_clear_record(*, charge_point: ChargePoint, monitor_ids: Iterable[int]) -> int:
    """Forget the monitors the station cleared (or says it does not have); return how many were known."""
    ids = list(monitor_ids)
    if not ids:
        return 0
    deleted, _ = VariableMonitor.objects.filter(charge_point=charge_point, monitor_id__in=ids).delete()
    if deleted:
        _changed(charge_point)
    return deleted


def monitoring_base_record(*, charge_point: ChargePoint, monitoring_base: str, now: datetime) -> None:
    """The station took a SetMonitoringBase. FactoryDefault and HardWiredOnly remove every custom monitor
    (N03.FR.04 / N03.FR.05): the ones we set are gone; what remains is in the station's next report."""
    with transaction.atomic():
        MonitoringSettings.objects.update_or_create(
            charge_point=charge_point, defaults={"monitoring_base": monitoring_base, "updated_at": now}
        )
        if monitoring_base in ("FactoryDefault", "HardWiredOnly"):
            VariableMonitor.objects.filter(charge_point=charge_point, source=VariableMonitor.Source.CSMS).delete()
    _changed(charge_point)


def monitoring_level_record(*, charge_point: ChargePoint, severity: int, now: datetime) -> None:
    """The station took a SetMonitoringLevel: it reports events of ``severity`` or more urgent (lower)."""
    MonitoringSettings.objects.update_or_create(
        charge_point=charge_point, defaults={"monitoring_level": severity, "updated_at": now}
    )
    _changed(charge_point)


def monitoring_report_part_record(
    *,
    charge_point: ChargePoint,
    request_id: int,
    seq_no: int,
    tbc: bool,
    generated_at: datetime,
    monitors: list[MonitorSpec],
    full: bool,
    now: datetime,
) -> bool:
    """Keep one NotifyMonitoringReport part and the monitors it lists; return whether the report is complete.

    A monitor listed keeps its source (one we set stays ours); a new one is the station's. When the last part
    of a ``full`` report (a GetMonitoringReport of every monitor) is in and no part is missing, the monitors
    it did not list are gone from the station and are forgotten, except those set since the report began.
    The charger row is locked: two parts of one report handled at once must not both find it complete
    (or both incomplete) and skip the clean-up.
    """
    with transaction.atomic():
        ChargePoint.objects.select_for_update(no_key=True).filter(pk=charge_point.pk).first()
        MonitoringReportPart.objects.get_or_create(
            charge_point=charge_point,
            request_id=request_id,
            seq_no=seq_no,
            defaults={"tbc": tbc, "monitors": len(monitors), "generated_at": generated_at, "received_at": now},
        )
        for spec in monitors:
            monitor, created = VariableMonitor.objects.get_or_create(
                charge_point=charge_point,
                monitor_id=spec.monitor_id,
                defaults={
                    **_fields(spec),
                    "source": VariableMonitor.Source.STATION,
                    "report_request_id": request_id,
                    "updated_at": now,
                },
            )
            if not created:
                for field, value in _fields(spec).items():
                    setattr(monitor, field, value)
                monitor.report_request_id = request_id
                monitor.updated_at = now
                monitor.save()
        parts = list(
            MonitoringReportPart.objects.filter(charge_point=charge_point, request_id=request_id).values_list(
                "seq_no", "tbc", "received_at"
            )
        )
        numbers = {number for number, _, _ in parts}
        last = [number for number, more, _ in parts if not more]
        complete = bool(last) and numbers >= set(range(min(last) + 1))
        if complete and full:
            began = min(received for _, _, received in parts)
            VariableMonitor.objects.filter(charge_point=charge_point, updated_at__lt=began).filter(
                Q(report_request_id__isnull=True) | ~Q(report_request_id=request_id)
            ).delete()
    _changed(charge_point)
    return complete


@dataclasses.dataclass(frozen=True)
class DeviceEventFact:
    """What a NotifyEvent's EventDataType says that matters for faults."""

    event_id: int
    key: MonitorKey
    timestamp: datetime
    trigger: str
    actual_value: str
    cleared: bool
    tech_code: str = ""
    tech_info: str = ""

    @property
    def is_problem(self) -> bool:
        """A fault: a technical code, or the ``Problem`` variable set (an uncleared event)."""
        if self.cleared:
            return False
        problem = self.key.variable.lower() == "problem" and self.actual_value.lower() not in ("false", "0")
        return bool(self.tech_code) or problem


def _same_variable(key: MonitorKey) -> Q:
    return Q(
        component__iexact=key.component,
        component_instance__iexact=key.component_instance,
        evse_id=key.evse_id,
        connector_id=key.connector_id,
        variable__iexact=key.variable,
        variable_instance__iexact=key.variable_instance,
    )


def faults_record(*, charge_point: ChargePoint, events: list[DeviceEventFact]) -> None:
    """Open a fault for each problem event; end the open faults a cleared event clears.

    A cleared event ends the open fault raised by the same ``eventId``; when none is (stations also clear
    under a new id), the open faults of the same variable (and of the same ``techCode``, if it has one).
    A fault raised twice (a redelivered NotifyEvent) is kept once (``eventId`` and time are its key).
    """
    changed = False
    with transaction.atomic():
        for event in events:
            if event.cleared:
                open_faults = StationFault.objects.filter(charge_point=charge_point, cleared_at__isnull=True)
                ended = open_faults.filter(event_id=event.event_id)
                if not ended.exists():
                    ended = open_faults.filter(_same_variable(event.key))
                    if event.tech_code:
                        ended = ended.filter(tech_code__iexact=event.tech_code)
                changed |= bool(ended.update(cleared_at=event.timestamp, cleared_by_event_id=event.event_id))
            elif event.is_problem:
                key = event.key
                _, created = StationFault.objects.get_or_create(
                    charge_point=charge_point,
                    event_id=event.event_id,
                    raised_at=event.timestamp,
                    defaults={
                        "component": key.component,
                        "component_instance": key.component_instance,
                        "evse_id": key.evse_id,
                        "connector_id": key.connector_id,
                        "variable": key.variable,
                        "variable_instance": key.variable_instance,
                        "tech_code": event.tech_code[:50],
                        "tech_info": event.tech_info[:500],
                        "actual_value": event.actual_value[:2500],
                        "trigger": event.trigger[:10],
                    },
                )
                changed |= created
    if changed:
        _changed(charge_point)
