"""The firmware and logs data model: firmware updates, log uploads and (2.0.1) firmware publications, each
a request to one charger with its lifecycle, fed by the command's answer and the charger's notifications."""

from __future__ import annotations

from django.db import models

from chargers.models import ChargePoint, Command


class FirmwareUpdate(models.Model):
    """One firmware update asked of a charger (1.6 UpdateFirmware / SignedUpdateFirmware, 2.0.1 UpdateFirmware).

    ``request_id`` is the request's ``requestId`` (1.6 core UpdateFirmware has none: ours, never sent, and
    its FirmwareStatusNotifications are about the latest open update). ``status`` is the latest known step:
    ``Requested`` while the command waits, then the answer (Accepted, Rejected, AcceptedCanceled,
    InvalidCertificate, RevokedCertificate), then each status the charger notifies, or ``Canceled`` when a
    later update replaced it. ``finished_at`` is set when the lifecycle ended (a final status).
    """

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="firmware_updates")
    request_id = models.IntegerField()
    command = models.ForeignKey(Command, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=32, help_text="UpdateFirmware or SignedUpdateFirmware")
    location = models.CharField(max_length=512)
    retrieve_at = models.DateTimeField()
    install_at = models.DateTimeField(null=True, blank=True)
    retries = models.IntegerField(null=True, blank=True)
    retry_interval = models.IntegerField(null=True, blank=True, help_text="Seconds")
    signed = models.BooleanField(default=False)
    signing_certificate = models.TextField(blank=True)
    signature = models.TextField(blank=True)
    status = models.CharField(max_length=32, default="Requested")
    requested_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["charge_point", "request_id"], name="one_firmware_update_per_request_id")
        ]
        indexes = [models.Index(fields=["charge_point", "finished_at", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.request_id} -> {self.charge_point_id} ({self.status})"


class FirmwareStatusChange(models.Model):
    """One step of a firmware update's lifecycle, as it arrived (out of order ones too)."""

    class Source(models.TextChoices):
        CSMS = "csms"
        ANSWER = "answer"
        NOTIFICATION = "notification"

    update = models.ForeignKey(FirmwareUpdate, on_delete=models.CASCADE, related_name="changes")
    status = models.CharField(max_length=32)
    source = models.CharField(max_length=16, choices=Source.choices)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.update_id} {self.status}"


class LogUpload(models.Model):
    """One log upload asked of a charger (1.6 GetDiagnostics: a diagnostics log; GetLog in both versions).

    ``status`` as a firmware update's: ``Requested``, the answer (Accepted, Rejected, AcceptedCanceled;
    GetDiagnostics answered without a file name: ``NoFile``), then each LogStatusNotification /
    DiagnosticsStatusNotification status, or ``Canceled`` when a later request replaced it.
    """

    class LogType(models.TextChoices):
        DIAGNOSTICS = "DiagnosticsLog"
        SECURITY = "SecurityLog"

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="log_uploads")
    request_id = models.IntegerField()
    command = models.ForeignKey(Command, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=32, help_text="GetLog or GetDiagnostics")
    log_type = models.CharField(max_length=16, choices=LogType.choices)
    remote_location = models.CharField(max_length=512)
    oldest_at = models.DateTimeField(null=True, blank=True)
    latest_at = models.DateTimeField(null=True, blank=True)
    retries = models.IntegerField(null=True, blank=True)
    retry_interval = models.IntegerField(null=True, blank=True, help_text="Seconds")
    status = models.CharField(max_length=32, default="Requested")
    file_name = models.CharField(max_length=255, blank=True)
    requested_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["charge_point", "request_id"], name="one_log_upload_per_request_id")
        ]
        indexes = [models.Index(fields=["charge_point", "finished_at", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.log_type} {self.request_id} -> {self.charge_point_id} ({self.status})"


class LogStatusChange(models.Model):
    """One step of a log upload's lifecycle, as it arrived."""

    upload = models.ForeignKey(LogUpload, on_delete=models.CASCADE, related_name="changes")
    status = models.CharField(max_length=32)
    source = models.CharField(max_length=16, choices=FirmwareStatusChange.Source.choices)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.upload_id} {self.status}"


class FirmwarePublication(models.Model):
    """A firmware a 2.0.1 Local Controller is asked to publish to its stations (PublishFirmware, L03),
    until it is unpublished (UnpublishFirmware, L04).

    ``status``: ``Requested``, the answer (Accepted, Rejected), each PublishFirmwareStatusNotification
    status (``Published`` with the ``published_locations`` it serves it at), then ``Unpublished``.
    """

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="firmware_publications")
    request_id = models.IntegerField()
    command = models.ForeignKey(Command, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    location = models.CharField(max_length=512)
    checksum = models.CharField(max_length=32, help_text="MD5 of the firmware file, 32 hexadecimal digits")
    retries = models.IntegerField(null=True, blank=True)
    retry_interval = models.IntegerField(null=True, blank=True, help_text="Seconds")
    status = models.CharField(max_length=32, default="Requested")
    published_locations = models.JSONField(default=list, blank=True)
    requested_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    unpublished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["charge_point", "request_id"], name="one_publication_per_request_id")
        ]

    def __str__(self) -> str:
        return f"PublishFirmware {self.request_id} -> {self.charge_point_id} ({self.status})"
