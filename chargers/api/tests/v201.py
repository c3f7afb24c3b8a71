"""A 2.0.1 station's rows as the services leave them, for the read side's tests (API, dashboard).

Built with the models and the domain's services directly (no 2.0.1 handler involved): a station with
two EVSEs of one connector each (both numbered 1 on their EVSE), part of a device model, an active
session "abc-123" with its TransactionEvents and meter values, and an ended one with no register
reading (no meter start: no energy).
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from chargers.models import ChargePoint, DeviceVariable, Evse, IdTag, IdTokenType
from chargers.services import StatusReport, status_notifications_record
from transactions.models import MeterValue, Transaction, TransactionEvent

CID = "CS-2001"
VERSION = "2.0.1"
ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"


def v201_station(charge_point_id: str = CID) -> SimpleNamespace:
    """The station and its rows; the namespace names each one."""
    now = timezone.now().replace(microsecond=0)
    hour = timedelta(hours=1)
    cp = ChargePoint.objects.create(
        charge_point_id=charge_point_id,
        ocpp_version=VERSION,
        registration_status="Accepted",
        online=True,
        vendor="Volta",
        model="DC-150",
        last_seen_at=now,
    )
    status_notifications_record(
        reports=[
            StatusReport(charge_point=cp, evse_id=1, connector_id=1, status="Occupied", error_code=""),
            StatusReport(charge_point=cp, evse_id=2, connector_id=1, status="Available", error_code=""),
        ],
        now=now,
    )
    # EVSE 2 made inoperative by an accepted ChangeAvailability.
    Evse.objects.filter(charge_point=cp, evse_id=2).update(availability=Evse.Availability.INOPERATIVE)

    def variable(component: str, name: str, value: str | None, mutability: str, **extra: object) -> DeviceVariable:
        return DeviceVariable.objects.create(
            charge_point=cp,
            component=component,
            variable=name,
            value=value,
            mutability=mutability,
            updated_at=now,
            **extra,
        )

    variables = SimpleNamespace(
        heartbeat=variable("OCPPCommCtrlr", "HeartbeatInterval", "300", "ReadWrite", unit="s", data_type="integer"),
        items=variable("DeviceDataCtrlr", "ItemsPerMessage", "4", "ReadOnly", variable_instance="GetVariables"),
        password=variable("SecurityCtrlr", "BasicAuthPassword", None, "WriteOnly"),
        evse1_power=variable("EVSE", "Power", "150000", "ReadOnly", evse_id=1, unit="W"),
        evse1_power_max=variable("EVSE", "Power", "150000", "ReadOnly", evse_id=1, attribute_type="MaxSet"),
        evse2_availability=variable("EVSE", "AvailabilityState", "Unavailable", "ReadOnly", evse_id=2),
        connector_type=variable("Connector", "ConnectorType", "cCCS2", "ReadOnly", evse_id=1, connector_id=1),
    )
    IdTag.objects.create(id_tag="EMA-DE-8AA-1A2B3C4D5-X", type=IdTokenType.EMAID)

    started = now - hour
    active = Transaction.objects.create(
        charge_point=cp,
        charger_transaction_id="abc-123",
        evse_id=1,
        connector_id=1,
        id_tag="EMA-DE-8AA-1A2B3C4D5-X",
        id_token_type=IdTokenType.EMAID,
        id_tag_status="Accepted",
        remote_start_id=4242,
        meter_start=10_000,
        started_at=started,
        start_received_at=started,
        charging_state="Charging",
        time_spent_charging=3000,
    )
    events = []
    for seq_no, (event_type, trigger, state) in enumerate(
        [("Started", "Authorized", "EVConnected"), ("Updated", "ChargingStateChanged", "Charging")]
        + [("Updated", "MeterValuePeriodic", "Charging")] * 3
    ):
        at = started + seq_no * timedelta(minutes=10)
        events.append(
            TransactionEvent(
                transaction=active,
                seq_no=seq_no,
                event_type=event_type,
                trigger_reason=trigger,
                timestamp=at,
                charging_state=state,
                evse_id=1,
                connector_id=1,
                id_tag=active.id_tag if seq_no == 0 else "",
                id_token_type=IdTokenType.EMAID if seq_no == 0 else "",
                payload={
                    "eventType": event_type,
                    "seqNo": seq_no,
                    "triggerReason": trigger,
                    "timestamp": at.isoformat(),
                    "transactionInfo": {"transactionId": "abc-123", "chargingState": state},
                },
                reply={"idTokenInfo": {"status": "Accepted"}} if seq_no == 0 else {},
                received_at=at,
            )
        )
    # Stored in reverse: the API's order is seqNo's, not the insertion's.
    TransactionEvent.objects.bulk_create(events[::-1])
    samples = []
    for i in range(4):
        at = started + (i + 1) * timedelta(minutes=10)
        for measurand, unit, value in [(ENERGY, "Wh", 10_000 + 2500.0 * (i + 1)), (POWER, "kW", 50.0 + i)]:
            samples.append(
                MeterValue(
                    charge_point=cp,
                    connector_id=1,
                    transaction=active,
                    timestamp=at,
                    received_at=at,
                    measurand=measurand,
                    unit=unit,
                    context="Sample.Periodic",
                    value=str(value),
                    numeric_value=value,
                    signed={"signedMeterData": "T0NNRg==", "signingMethod": "ECDSA", "encodingMethod": "OCMF"}
                    if i == 3 and measurand == ENERGY
                    else None,
                )
            )
    MeterValue.objects.bulk_create(samples)

    ended = Transaction.objects.create(
        charge_point=cp,
        charger_transaction_id="xyz-9",
        evse_id=2,
        connector_id=1,
        id_tag="",
        id_token_type="",
        id_tag_status="",
        meter_start=None,
        started_at=now - 5 * hour,
        start_received_at=now - 5 * hour,
        stopped_at=now - 4 * hour,
        stop_received_at=now - 4 * hour,
        stop_reason="EVDisconnected",
        charging_state="Idle",
    )
    TransactionEvent.objects.create(
        transaction=ended,
        seq_no=0,
        event_type="Ended",
        trigger_reason="EVCommunicationLost",
        timestamp=now - 4 * hour,
        evse_id=2,
        connector_id=1,
        payload={"eventType": "Ended", "seqNo": 0},
        received_at=now - 4 * hour,
    )
    return SimpleNamespace(now=now, cp=cp, active=active, ended=ended, variables=variables)


@pytest.fixture
def v201(db: None) -> SimpleNamespace:
    """``v201_station()`` as a fixture."""
    return v201_station()
