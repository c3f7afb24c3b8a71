"""Read-only admin of the CA, the CSRs, the issued certificates and the inventory. No private key is shown."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import CertificateAuthority, CertificateSigningRequest, InstalledCertificate, IssuedCertificate


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CertificateAuthority)
class CertificateAuthorityAdmin(ReadOnly):
    # Explicit fields: private_key_pem is never listed, shown or exported.
    list_display = ("name", "serial_number", "not_before", "not_after", "active")
    fields = ("name", "serial_number", "not_before", "not_after", "active", "certificate_pem", "created_at")


@admin.register(CertificateSigningRequest)
class CertificateSigningRequestAdmin(ReadOnly):
    list_display = (
        "charge_point",
        "ocpp_version",
        "certificate_type",
        "common_name",
        "outcome",
        "reason",
        "received_at",
    )
    list_filter = ("outcome", "ocpp_version")
    search_fields = ("charge_point__charge_point_id", "common_name", "reason")
    list_select_related = ("charge_point",)


@admin.register(IssuedCertificate)
class IssuedCertificateAdmin(ReadOnly):
    list_display = ("charge_point", "common_name", "serial_number", "not_before", "not_after", "status", "revoked_at")
    list_filter = ("status",)
    search_fields = ("charge_point__charge_point_id", "serial_number", "common_name")
    list_select_related = ("charge_point",)
    raw_id_fields = ("charge_point", "request", "command")


@admin.register(InstalledCertificate)
class InstalledCertificateAdmin(ReadOnly):
    list_display = ("charge_point", "certificate_type", "hash_algorithm", "serial_number", "parent", "reported_at")
    list_filter = ("certificate_type",)
    search_fields = ("charge_point__charge_point_id", "serial_number")
    list_select_related = ("charge_point",)
