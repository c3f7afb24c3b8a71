"""Operator alerts: raising (deduplicated) and acknowledging. Every caller (security events, the
gateway's lockout, the API, the admin) goes through these functions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from backoffice.events import fleet_event
from chargers.models import ChargePoint

from .models import Alert

#: The dashboard's live event kind (``backoffice.events.fleet_event``).
EVENT_KIND = "alert"


def alert_raise(
    *,
    kind: str,
    title: str,
    severity: str = Alert.Severity.WARNING,
    charge_point: ChargePoint | None = None,
    subject: str = "",
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Alert:
    """Raise an alert, or count one more occurrence of the same unacknowledged one (same kind, same charger,
    or without a charger the same ``subject``); the latest title, severity and detail win.

    The unique constraint on open alerts decides between two workers raising the same alert at once: the
    one whose insert fails counts on the other's row.
    """
    if severity not in Alert.Severity.values:
        raise ValueError(f"severity {severity!r} is not one of {Alert.Severity.values}")
    if not kind:
        raise ValueError("an alert needs a kind")
    now = now or timezone.now()
    subject = "" if charge_point is not None else subject[:64]
    fields = {"title": title[:200], "severity": severity, "detail": detail or {}}
    with transaction.atomic():
        alert = _count(charge_point, subject, kind, fields, now)
        if alert is None:
            try:
                with transaction.atomic():
                    alert = Alert.objects.create(
                        charge_point=charge_point,
                        subject=subject,
                        kind=kind[:64],
                        raised_at=now,
                        last_raised_at=now,
                        **fields,
                    )
            except IntegrityError:
                alert = _count(charge_point, subject, kind, fields, now)
                assert alert is not None  # the row the constraint met exists
        fleet_event(
            EVENT_KIND,
            charge_point.charge_point_id if charge_point is not None else "",
            alert_id=alert.pk,
            alert_kind=alert.kind,
            count=alert.count,
        )
    return alert


def _count(
    charge_point: ChargePoint | None, subject: str, kind: str, fields: dict[str, Any], now: datetime
) -> Alert | None:
    open_alert = (
        Alert.objects.select_for_update()
        .filter(charge_point=charge_point, subject=subject, kind=kind[:64], acknowledged_at__isnull=True)
        .first()
    )
    if open_alert is None:
        return None
    Alert.objects.filter(pk=open_alert.pk).update(count=F("count") + 1, last_raised_at=now, **fields)
    open_alert.refresh_from_db()
    return open_alert


def alert_acknowledge(
    *, alert: Alert, user: AbstractBaseUser | AnonymousUser | None = None, now: datetime | None = None
) -> Alert:
    """Acknowledge an alert (idempotent: an acknowledged one keeps its first acknowledgement)."""
    now = now or timezone.now()
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.acknowledged_at is None:
            alert.acknowledged_at = now
            alert.acknowledged_by_id = user.pk if user is not None and user.is_authenticated else None
            alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
            charge_point_id = (
                ChargePoint.objects.filter(pk=alert.charge_point_id).values_list("charge_point_id", flat=True).first()
                if alert.charge_point_id is not None
                else None
            )
            fleet_event(EVENT_KIND, charge_point_id or "", alert_id=alert.pk, acknowledged=True)
    return alert


#: Security event types (2.0.1 appendix "Security events", 1.6 whitepaper's list) that raise an operator
#: alert: tampering, signatures and certificates that do not verify, a cleared security log, replayed
#: messages, a TLS policy violation, exhausted memory, failed maintenance logins. The appendix also marks
#: routine facts critical (StartupOfTheDevice, ResetOrReboot, FirmwareUpdated, SettingSystemTime: the
#: station must push them at once): those are recorded as charger events, not alerted on every boot.
CRITICAL_SECURITY_EVENTS: dict[str, str] = {
    "TamperDetectionActivated": "Tamper detection activated",
    "InvalidFirmwareSignature": "Invalid firmware signature",
    "InvalidFirmwareSigningCertificate": "Invalid firmware signing certificate",
    "InvalidCsmsCertificate": "The charger could not verify the CSMS certificate",
    "InvalidCentralSystemCertificate": "The charger could not verify the CSMS certificate",
    "InvalidChargingStationCertificate": "Invalid charging station certificate",
    "InvalidChargePointCertificate": "Invalid charge point certificate",
    "SecurityLogWasCleared": "The security log was cleared",
    "AttemptedReplayAttacks": "Replayed messages received",
    "InvalidTLSVersion": "The CSMS offered a TLS version below 1.2",
    "InvalidTLSCipherSuite": "The CSMS offered no allowed TLS cipher suite",
    "MemoryExhaustion": "Memory exhausted",
    "MaintenanceLoginFailed": "Failed login at the local maintenance interface",
}


def security_event_alert(
    *, charge_point: ChargePoint, event_type: str, tech_info: str = "", now: datetime | None = None
) -> Alert | None:
    """Raise the operator alert of a charger's security event if its type is critical (None: it is not)."""
    title = CRITICAL_SECURITY_EVENTS.get(event_type)
    if title is None:
        return None
    return alert_raise(
        kind=f"security_event:{event_type}",
        severity=Alert.Severity.CRITICAL,
        title=title,
        charge_point=charge_point,
        detail={"type": event_type, "techInfo": tech_info},
        now=now,
    )
