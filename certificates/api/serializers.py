"""What the API shows of a charger's certificates: public data only (no private key exists for a charger here,
and the CA's is never serialized)."""

from __future__ import annotations

from rest_framework import serializers

from certificates.models import CertificateSigningRequest, InstalledCertificate, IssuedCertificate


class IssuedCertificateSerializer(serializers.ModelSerializer[IssuedCertificate]):
    class Meta:
        model = IssuedCertificate
        fields = [
            "serial_number",
            "common_name",
            "issuer",
            "not_before",
            "not_after",
            "status",
            "revoked_at",
            "certificate_pem",
            "created_at",
            "updated_at",
        ]


class CertificateSigningRequestSerializer(serializers.ModelSerializer[CertificateSigningRequest]):
    class Meta:
        model = CertificateSigningRequest
        fields = ["received_at", "ocpp_version", "certificate_type", "common_name", "outcome", "reason"]


class InstalledCertificateSerializer(serializers.ModelSerializer[InstalledCertificate]):
    issued_by = serializers.CharField(
        source="parent.serial_number", default=None, read_only=True, help_text="2.0.1: the serial of its parent"
    )

    class Meta:
        model = InstalledCertificate
        fields = [
            "certificate_type",
            "hash_algorithm",
            "issuer_name_hash",
            "issuer_key_hash",
            "serial_number",
            "issued_by",
            "reported_at",
        ]


class ChargerCertificatesSerializer(serializers.Serializer[dict[str, object]]):
    """A charger's certificates: issued by the CSMS CA, its latest CSRs, and what it reports installed."""

    issued = IssuedCertificateSerializer(many=True)
    requests = CertificateSigningRequestSerializer(many=True)
    installed = InstalledCertificateSerializer(many=True)
