"""GET /api/v1/chargers/{id}/certificates/: a charger's certificate inventory, read-only."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from apikeys.viewsets import TextLookupMixin
from certificates.models import CertificateSigningRequest, InstalledCertificate, IssuedCertificate
from chargers.api.views import CHARGE_POINT_ID_PARAM
from chargers.models import ChargePoint

from .serializers import ChargerCertificatesSerializer

#: How many issued certificates and CSRs are shown (newest first); the admin has them all.
LATEST = 20


class ChargerCertificatesViewSet(TextLookupMixin, viewsets.GenericViewSet):
    """The certificates of one charge point, both versions."""

    serializer_class = ChargerCertificatesSerializer
    # Public data about the charger: whoever may see the charger may see it.
    read_permissions = ("chargers.view_chargepoint",)

    @extend_schema(
        summary="Certificates of a charge point",
        description="The certificates the CSMS CA issued to the charger (SignCertificate, then CertificateSigned: "
        "`issued` until it answers, `active` when it accepted, `rejected`, `superseded` by a newer one, or "
        "`revoked` by an operator), its "
        f"latest {LATEST} CSRs with the outcome and the reason of a refusal, and the certificates it reported "
        "installed (GetInstalledCertificateIds, by hash data; `issued_by`: a 2.0.1 child's parent). "
        "No private key is ever shown.",
        parameters=[CHARGE_POINT_ID_PARAM],
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        charge_point = get_object_or_404(ChargePoint.objects.only("pk"), charge_point_id=kwargs["charge_point_id"])
        data = {
            "issued": IssuedCertificate.objects.filter(charge_point=charge_point)[:LATEST],
            "requests": CertificateSigningRequest.objects.filter(charge_point=charge_point)[:LATEST],
            "installed": InstalledCertificate.objects.filter(charge_point=charge_point).select_related("parent"),
        }
        return Response(self.get_serializer(data).data)
