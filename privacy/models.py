"""The customer information data model (OCPP 2.0.1 block N: N09 report, N10 clear)."""

from __future__ import annotations

from django.db import models

from chargers.models import ID_TOKEN_MAX_LENGTH, ChargePoint, Command


class CustomerInformationRequest(models.Model):
    """One CustomerInformation request to a station (by its requestId), or the parts of a report the
    station sent under a requestId we never used (``unsolicited``).

    The customer is named by exactly one of a customer identifier, an id token or a certificate's hash
    data (N09.FR.04, N10.FR.08). What the station reports comes in NotifyCustomerInformation parts
    (``CustomerInformationPart``), in order by ``seqNo``, until one says ``tbc`` false.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested"
        ACCEPTED = "accepted"
        REJECTED = "rejected"
        INVALID = "invalid"
        UNSOLICITED = "unsolicited"

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="customer_information")
    request_id = models.IntegerField()
    report = models.BooleanField(default=False)
    clear = models.BooleanField(default=False)
    customer_identifier = models.CharField(max_length=64, blank=True)
    id_token = models.CharField(max_length=ID_TOKEN_MAX_LENGTH, blank=True)
    id_token_type = models.CharField(max_length=16, blank=True)
    customer_certificate = models.JSONField(
        null=True,
        blank=True,
        help_text="CertificateHashDataType: hashAlgorithm, issuerNameHash, issuerKeyHash, serialNumber",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    status_info = models.JSONField(null=True, blank=True, help_text="The station's statusInfo, when it gave one")
    command = models.ForeignKey(Command, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    local_list_command = models.ForeignKey(
        Command,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The SendLocalList (Differential) that removed the cleared token from the station's local list",
    )
    complete = models.BooleanField(default=False, help_text="Every part up to the one with tbc false has come")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["charge_point", "-request_id"]
        constraints = [
            models.UniqueConstraint(fields=["charge_point", "request_id"], name="customer_information_unique_request"),
        ]

    def __str__(self) -> str:
        return f"{self.charge_point} customer information {self.request_id}"


class CustomerInformationPart(models.Model):
    """One NotifyCustomerInformation: a part of the station's report, by ``seqNo``."""

    request = models.ForeignKey(CustomerInformationRequest, on_delete=models.CASCADE, related_name="parts")
    seq_no = models.IntegerField()
    data = models.CharField(max_length=512, blank=True)
    tbc = models.BooleanField(default=False)
    generated_at = models.DateTimeField(help_text="The station's generatedAt")
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["request", "seq_no"]
        constraints = [
            models.UniqueConstraint(fields=["request", "seq_no"], name="customer_information_unique_part"),
        ]

    def __str__(self) -> str:
        return f"{self.request} part {self.seq_no}"
