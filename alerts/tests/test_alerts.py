"""Operator alerts (issue 17 item 5): raised by critical security events of both versions and by the gateway's
lockout, deduplicated while unacknowledged, listed and acknowledged through the API, shown on the dashboard.

OCTT: TC_077_CSMS (1.6 Invalid ChargePointCertificate Security Event), TC_078_CSMS (1.6 Invalid
CentralSystemCertificate Security Event); 2.0.1 A04 (SecurityEventNotification) by description.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from alerts import services
from alerts.models import Alert
from certificates.tests.helpers import call
from chargers.models import ChargePoint, ChargerEvent
from dashboard.panels import charger_panels, fleet_panels
from gateway import lockout
from gateway import services as gateway_services

pytestmark = pytest.mark.django_db
T0 = "2026-12-01T10:00:00Z"


@pytest.fixture(params=["1.6", "2.0.1"])
def charger(request: pytest.FixtureRequest) -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id=f"AL-{request.param}", ocpp_version=request.param, registration_status="Accepted", online=True
    )


def security_event(charger: ChargePoint, event_type: str, message_id: str = "s1") -> Any:
    payload = {"type": event_type, "timestamp": T0, "techInfo": "lid opened"}
    return call(
        "SecurityEventNotification",
        payload,
        cid=charger.charge_point_id,
        version=charger.ocpp_version,
        message_id=message_id,
    )


@pytest.mark.parametrize(
    "event_type", ["TamperDetectionActivated", "InvalidFirmwareSignature", "InvalidChargePointCertificate"]
)
def test_TC_077_CSMS_a_critical_security_event_raises_an_alert_and_is_recorded(
    charger: ChargePoint, event_type: str
) -> None:
    reply = security_event(charger, event_type)
    assert reply.kind.name == "RESULT" and reply.payload == {}
    event = ChargerEvent.objects.get(charge_point=charger, kind=ChargerEvent.Kind.SECURITY)
    assert event.status == event_type and event.detail["techInfo"] == "lid opened"
    assert event.charger_timestamp is not None
    alert = Alert.objects.get(charge_point=charger)
    assert (alert.kind, alert.severity, alert.count) == (f"security_event:{event_type}", "critical", 1)


def test_TC_078_CSMS_the_same_event_again_counts_on_the_open_alert(charger: ChargePoint) -> None:
    security_event(charger, "InvalidCentralSystemCertificate", "s1")
    security_event(charger, "InvalidCentralSystemCertificate", "s2")
    security_event(charger, "InvalidCsmsCertificate", "s3")
    alerts = {a.kind: a.count for a in Alert.objects.filter(charge_point=charger)}
    assert alerts == {"security_event:InvalidCentralSystemCertificate": 2, "security_event:InvalidCsmsCertificate": 1}
    first = Alert.objects.get(kind="security_event:InvalidCentralSystemCertificate")
    services.alert_acknowledge(alert=first)
    security_event(charger, "InvalidCentralSystemCertificate", "s4")
    # Acknowledged: the next occurrence is a new alert.
    assert Alert.objects.filter(kind="security_event:InvalidCentralSystemCertificate").count() == 2


@pytest.mark.parametrize("event_type", ["StartupOfTheDevice", "FirmwareUpdated", "SettingSystemTime", "Other"])
def test_a_routine_security_event_is_recorded_without_an_alert(charger: ChargePoint, event_type: str) -> None:
    security_event(charger, event_type)
    assert ChargerEvent.objects.filter(charge_point=charger, status=event_type).exists()
    assert not Alert.objects.exists()


def test_a_security_event_with_a_bad_timestamp_is_refused_and_raises_nothing(charger: ChargePoint) -> None:
    payload = {"type": "TamperDetectionActivated", "timestamp": "yesterday"}
    reply = call("SecurityEventNotification", payload, cid=charger.charge_point_id, version=charger.ocpp_version)
    assert reply.kind.name == "ERROR" and reply.error_code == "PropertyConstraintViolation"
    assert not Alert.objects.exists() and not ChargerEvent.objects.filter(charge_point=charger).exists()


def test_a_lockout_of_an_id_and_of_an_address_raises_alerts() -> None:
    cp = ChargePoint.objects.create(charge_point_id="AL-LOCK", registration_status="Accepted")
    gateway_services.credential_set_password(charge_point_id=cp.charge_point_id, password="right-password-00001")
    policy = lockout.Policy(threshold=2, address_threshold=2, base_seconds=30)
    address = "10.77.0.9"
    lockout.lockout_reset(charge_point_id=cp.charge_point_id, address=address)
    try:
        for _ in range(3):  # the third is refused as locked out: not counted, no alert
            gateway_services.handshake_authenticate(
                attempt=gateway_services.HandshakeAttempt(
                    charge_point_id=cp.charge_point_id,
                    username=cp.charge_point_id,
                    password="wrong-password-000001",
                    address=address,
                ),
                policy=policy,
            )
    finally:
        lockout.lockout_reset(charge_point_id=cp.charge_point_id, address=address)
    by_id = Alert.objects.get(kind="login_lockout")
    assert by_id.charge_point == cp and by_id.severity == "critical" and by_id.count == 1
    by_address = Alert.objects.get(kind="login_lockout_address")
    assert by_address.charge_point is None and by_address.subject == address and by_address.count == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_raising_the_same_alert_make_one_with_two_occurrences() -> None:
    cp = ChargePoint.objects.create(charge_point_id="AL-RACE", registration_status="Accepted")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def raise_one() -> None:
        try:
            barrier.wait(5)
            services.alert_raise(kind="security_event:TamperDetectionActivated", title="Tamper", charge_point=cp)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=raise_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors
    assert list(Alert.objects.values_list("count", flat=True)) == [2]


def test_bad_input_to_alert_raise_is_refused() -> None:
    with pytest.raises(ValueError, match="severity"):
        services.alert_raise(kind="x", title="x", severity="apocalyptic")
    with pytest.raises(ValueError, match="kind"):
        services.alert_raise(kind="", title="x")


def test_api_lists_open_alerts_and_acknowledges(charger: ChargePoint, api_client: Any) -> None:
    security_event(charger, "TamperDetectionActivated", "s1")
    security_event(charger, "SecurityLogWasCleared", "s2")
    viewer: APIClient = api_client("viewer")
    operator: APIClient = api_client("operator")
    listed = viewer.get("/api/v1/alerts/", {"acknowledged": "false"})
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert {r["kind"] for r in rows} == {
        "security_event:TamperDetectionActivated",
        "security_event:SecurityLogWasCleared",
    }
    assert all(r["charge_point_id"] == charger.charge_point_id for r in rows)
    pk = rows[0]["id"]
    assert viewer.post(f"/api/v1/alerts/{pk}/acknowledge/").status_code == 403
    acknowledged = operator.post(f"/api/v1/alerts/{pk}/acknowledge/")
    assert acknowledged.status_code == 200 and acknowledged.json()["acknowledged_at"] is not None
    assert acknowledged.json()["acknowledged_by"]
    first = acknowledged.json()["acknowledged_at"]
    assert operator.post(f"/api/v1/alerts/{pk}/acknowledge/").json()["acknowledged_at"] == first  # idempotent
    still_open = viewer.get("/api/v1/alerts/", {"acknowledged": "false"}).json()["results"]
    assert [r["id"] for r in still_open] == [rows[1]["id"]]
    assert viewer.get("/api/v1/alerts/", {"acknowledged": "maybe"}).status_code == 400
    assert viewer.get("/api/v1/alerts/", {"severity": "apocalyptic"}).status_code == 400
    assert operator.post("/api/v1/alerts/999999/acknowledge/").status_code == 404
    assert api_client("anonymous").get("/api/v1/alerts/").status_code in (401, 403)


def test_the_fleet_and_charger_pages_show_open_alerts(charger: ChargePoint) -> None:
    security_event(charger, "TamperDetectionActivated")
    alert = Alert.objects.get()
    fleet = {p.element: p.html for p in fleet_panels({})}["fleet-alerts"]
    page = {p.element: p.html for p in charger_panels(charger, {})}["charger-alerts"]
    assert f'id="alert-{alert.pk}"' in fleet and "Tamper detection activated" in fleet
    assert f'id="charger-alert-{alert.pk}"' in page
    services.alert_acknowledge(alert=alert)
    assert f'id="alert-{alert.pk}"' not in {p.element: p.html for p in fleet_panels({})}["fleet-alerts"]
