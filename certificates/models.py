"""The CSMS CA, the certificates it issued, the CSRs it was asked to sign, and what chargers report installed.

Private keys: only the CA's is ever held here, encrypted at rest (PKCS#8 with the passphrase
``CSMS_CA_KEY_PASSPHRASE``, by default the Django secret key); a charger's private key never leaves
the charger (it sends a CSR). No admin page, serializer or log line reads ``private_key_pem``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from chargers.models import ChargePoint, Command


class CertificateAuthority(models.Model):
    """The CSMS CA: the root every charger certificate we issue chains to (one active at a time).

    Its certificate is what the gateway's ``CSMS_GATEWAY_TLS_CLIENT_CA`` verifies profile 3 clients
    with (``manage.py ca_export``).
    """

    name = models.CharField(max_length=64)
    certificate_pem = models.TextField()
    # PKCS#8, encrypted with CSMS_CA_KEY_PASSPHRASE: a database dump alone does not give the key away.
    private_key_pem = models.TextField(editable=False)
    serial_number = models.CharField(max_length=40)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "certificate authority"
        verbose_name_plural = "certificate authorities"
        constraints = [models.UniqueConstraint(fields=["active"], condition=Q(active=True), name="one_active_ca")]

    def __str__(self) -> str:
        return self.name


class CertificateSigningRequest(models.Model):
    """A CSR a charger sent (SignCertificate), with what we made of it: accepted (signed) or rejected, and why."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted"
        REJECTED = "rejected"

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="certificate_requests")
    ocpp_version = models.CharField(max_length=8)
    certificate_type = models.CharField(max_length=32, blank=True, help_text="2.0.1 certificateType, if given")
    # The CSR as sent (public data), cut at the size we accept: a refused oversized CSR is not kept whole.
    csr_pem = models.TextField(blank=True)
    common_name = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    reason = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "certificate signing request"
        indexes = [models.Index(fields=["charge_point", "-received_at"])]

    def __str__(self) -> str:
        return f"CSR of {self.charge_point_id} ({self.outcome})"


class IssuedCertificate(models.Model):
    """A certificate the CSMS CA (or the external signer) issued to a charger, sent in a CertificateSigned.

    issued (sent or queued) -> active (the charger answered Accepted; the one before it superseded)
    or rejected (it answered anything else); any of them -> revoked by an operator (``manage.py ca_revoke``),
    listed from then on in the CA's CRL (``manage.py ca_crl``, for CSMS_GATEWAY_TLS_CRL).
    """

    class Status(models.TextChoices):
        ISSUED = "issued"
        ACTIVE = "active"
        REJECTED = "rejected"
        SUPERSEDED = "superseded"
        REVOKED = "revoked"

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="issued_certificates")
    request = models.OneToOneField(
        CertificateSigningRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="certificate"
    )
    command = models.OneToOneField(
        Command, null=True, blank=True, on_delete=models.SET_NULL, related_name="issued_certificate"
    )
    serial_number = models.CharField(max_length=40, help_text="Hexadecimal")
    common_name = models.CharField(max_length=255)
    issuer = models.CharField(max_length=255)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    certificate_pem = models.TextField()
    chain_pem = models.TextField(help_text="As sent in CertificateSigned: the certificate, then its CA")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ISSUED)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "serial_number"], name="uniq_issued_certificate_serial"),
            models.UniqueConstraint(
                fields=["charge_point"], condition=Q(status="active"), name="one_active_cert_per_cp"
            ),
        ]
        indexes = [models.Index(fields=["status", "not_after"])]

    def __str__(self) -> str:
        return f"{self.common_name} #{self.serial_number} ({self.status})"


class InstalledCertificate(models.Model):
    """A certificate a charger says it has installed (GetInstalledCertificateIds), by its hash data.

    The inventory of a certificate type is replaced by each answer that covers it; an accepted
    InstallCertificate of a self-signed root adds its row, an accepted DeleteCertificate removes one.
    """

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="installed_certificates")
    certificate_type = models.CharField(max_length=40)
    hash_algorithm = models.CharField(max_length=8)
    issuer_name_hash = models.CharField(max_length=128)
    issuer_key_hash = models.CharField(max_length=128)
    serial_number = models.CharField(max_length=40)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children", help_text="2.0.1 child"
    )
    reported_at = models.DateTimeField()

    class Meta:
        ordering = ["charge_point", "certificate_type", "serial_number"]
        indexes = [models.Index(fields=["charge_point", "certificate_type"])]

    def __str__(self) -> str:
        return f"{self.charge_point_id} {self.certificate_type} #{self.serial_number}"
