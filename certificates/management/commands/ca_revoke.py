"""Revoke a certificate the CSMS CA issued, by its serial number (hex): it enters the CA's CRL (``ca_crl``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from certificates.models import IssuedCertificate
from certificates.services import certificate_revoke


class Command(BaseCommand):
    help = "Revoke an issued charger certificate by its serial (hex, as the admin and the API show it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("serial", help="the certificate's serial number, hexadecimal")

    def handle(self, *args: Any, **options: Any) -> None:
        serial = options["serial"].lower().removeprefix("0x").lstrip("0") or "0"
        found = list(IssuedCertificate.objects.filter(serial_number=serial))
        if len(found) != 1:
            raise CommandError(f"{len(found)} issued certificates have serial {serial}")
        certificate = certificate_revoke(certificate=found[0], now=timezone.now())
        self.stderr.write(f"revoked {certificate} of {certificate.charge_point_id}: run ca_crl to publish it")
