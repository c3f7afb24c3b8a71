"""The dashboard panels' data: a charger's certificates (issued, installed, its latest CSRs) and the fleet's
certificates needing attention (ending within the renewal window, or the charger's last CSR refused).

Public data only: serials, names, dates, hash data, outcomes. No PEM is read or shown (a certificate is
public, but the page has no use for it), and no key of any kind. The fleet panel is two queries whatever
the fleet's size (the dashboard's query-count test holds each fleet panel to two).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from chargers.models import ChargePoint

from .models import CertificateSigningRequest, InstalledCertificate, IssuedCertificate

#: Rows per table of the charger panel (newest first; the API and the admin have the rest).
LATEST = 10
#: Rows of the fleet panel.
PANEL_LIMIT = 10

_STATUS_BADGES: dict[str, str] = {
    IssuedCertificate.Status.ACTIVE: "ok",
    IssuedCertificate.Status.ISSUED: "info",
    IssuedCertificate.Status.SUPERSEDED: "muted",
    IssuedCertificate.Status.REJECTED: "bad",
    IssuedCertificate.Status.REVOKED: "bad",
}
# Only these can still be renewed: a superseded, rejected or revoked certificate ends as it ends.
_LIVE = (IssuedCertificate.Status.ACTIVE, IssuedCertificate.Status.ISSUED)


@dataclasses.dataclass(frozen=True)
class IssuedRow:
    """One certificate we issued, as the charger panel shows it."""

    pk: int
    serial_number: str
    common_name: str
    not_before: datetime
    not_after: datetime
    status: str
    badge: str
    #: Whole days left (negative: ended that long ago); None for a certificate no longer in use.
    days_left: int | None
    #: Ending within CSMS_CA_RENEW_BEFORE_DAYS (or ended) while still in use: the renewal is due.
    renewal_due: bool


@dataclasses.dataclass(frozen=True)
class FleetRow:
    """A charger's certificate needing attention on the fleet page."""

    charge_point_id: str
    #: "expiring" (an active certificate within the renewal window) or "csr_rejected" (its last CSR refused).
    kind: str
    at: datetime
    text: str
    days_left: int | None = None


def _horizon(now: datetime) -> datetime:
    return now + timedelta(days=int(settings.CSMS_CA_RENEW_BEFORE_DAYS))


def _days_left(not_after: datetime, now: datetime) -> int:
    return (not_after - now) // timedelta(days=1)


def issued_rows(charge_point: ChargePoint, *, now: datetime) -> list[IssuedRow]:
    """The charger's latest LATEST certificates we issued, newest first."""
    horizon = _horizon(now)
    found = (
        IssuedCertificate.objects.filter(charge_point=charge_point)
        .only("serial_number", "common_name", "not_before", "not_after", "status")
        .order_by("-created_at", "-id")[:LATEST]
    )
    rows = []
    for certificate in found:
        live = certificate.status in _LIVE
        rows.append(
            IssuedRow(
                pk=certificate.pk,
                serial_number=certificate.serial_number,
                common_name=certificate.common_name,
                not_before=certificate.not_before,
                not_after=certificate.not_after,
                status=certificate.status,
                badge=_STATUS_BADGES.get(certificate.status, "muted"),
                days_left=_days_left(certificate.not_after, now) if live else None,
                renewal_due=live and certificate.not_after <= horizon,
            )
        )
    return rows


def charger_context(charge_point: ChargePoint) -> Mapping[str, Any]:
    """The charger panel: issued certificates, the installed inventory, the latest CSRs (three queries)."""
    now = timezone.now()
    installed = (
        InstalledCertificate.objects.filter(charge_point=charge_point)
        .only(
            "certificate_type",
            "hash_algorithm",
            "issuer_name_hash",
            "issuer_key_hash",
            "serial_number",
            "parent_id",
            "reported_at",
        )
        .order_by("certificate_type", "parent_id", "serial_number")
    )
    requests = (
        CertificateSigningRequest.objects.filter(charge_point=charge_point)
        # the CSR itself is public, but the page does not show it: no reason to read it
        .defer("csr_pem")
        .order_by("-received_at", "-id")[:LATEST]
    )
    return {
        "issued": issued_rows(charge_point, now=now),
        "installed": list(installed),
        "requests": list(requests),
        "renew_before_days": int(settings.CSMS_CA_RENEW_BEFORE_DAYS),
    }


def fleet_rows(*, now: datetime, limit: int = PANEL_LIMIT) -> tuple[list[FleetRow], bool]:
    """At most ``limit`` rows: active certificates ending within the renewal window (soonest first), then chargers
    whose last CSR was rejected (latest first); and whether there are more. Two queries."""
    expiring = list(
        IssuedCertificate.objects.filter(status=IssuedCertificate.Status.ACTIVE, not_after__lte=_horizon(now))
        .select_related("charge_point")
        .only("serial_number", "not_after", "charge_point__charge_point_id")
        .order_by("not_after", "id")[: limit + 1]
    )
    # The charger's last CSR: none received after it (the same instant: none with a larger id).
    later = CertificateSigningRequest.objects.filter(charge_point=OuterRef("charge_point")).filter(
        Q(received_at__gt=OuterRef("received_at")) | Q(received_at=OuterRef("received_at"), id__gt=OuterRef("id"))
    )
    rejected = list(
        CertificateSigningRequest.objects.filter(outcome=CertificateSigningRequest.Outcome.REJECTED)
        .exclude(Exists(later))
        .select_related("charge_point")
        .only("reason", "received_at", "charge_point__charge_point_id")
        .order_by("-received_at", "-id")[: limit + 1]
    )
    rows = [
        FleetRow(
            charge_point_id=certificate.charge_point.charge_point_id,
            kind="expiring",
            at=certificate.not_after,
            text=f"certificate #{certificate.serial_number}",
            days_left=_days_left(certificate.not_after, now),
        )
        for certificate in expiring
    ] + [
        FleetRow(
            charge_point_id=request.charge_point.charge_point_id,
            kind="csr_rejected",
            at=request.received_at,
            text=request.reason,
        )
        for request in rejected
    ]
    return rows[:limit], len(rows) > limit


def fleet_context() -> Mapping[str, Any]:
    rows, more = fleet_rows(now=timezone.now())
    return {"rows": rows, "more": more, "renew_before_days": int(settings.CSMS_CA_RENEW_BEFORE_DAYS)}
