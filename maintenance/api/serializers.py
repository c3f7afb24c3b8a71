"""Serializers of the firmware and logs API: explicit fields, input serializers for the requests."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from maintenance.models import FirmwarePublication, FirmwareStatusChange, FirmwareUpdate, LogUpload


class StatusChangeSerializer(serializers.ModelSerializer):
    """One step of a lifecycle (``source``: csms (queued, canceled), answer (the command's) or notification)."""

    class Meta:
        model = FirmwareStatusChange
        fields = ["status", "source", "at"]


class _CommandFields(serializers.Serializer):
    command_id = serializers.IntegerField(source="command.pk", allow_null=True, default=None)
    command_status = serializers.CharField(source="command.status", allow_null=True, default=None)


class FirmwareUpdateSerializer(_CommandFields, serializers.ModelSerializer):
    charge_point_id = serializers.CharField(source="charge_point.charge_point_id")
    changes = StatusChangeSerializer(many=True, read_only=True)

    class Meta:
        model = FirmwareUpdate
        fields = [
            "charge_point_id",
            "request_id",
            "action",
            "location",
            "retrieve_at",
            "install_at",
            "retries",
            "retry_interval",
            "signed",
            "signing_certificate",
            "signature",
            "status",
            "command_id",
            "command_status",
            "requested_by",
            "created_at",
            "updated_at",
            "finished_at",
            "changes",
        ]


class LogUploadSerializer(_CommandFields, serializers.ModelSerializer):
    charge_point_id = serializers.CharField(source="charge_point.charge_point_id")
    changes = StatusChangeSerializer(many=True, read_only=True)

    class Meta:
        model = LogUpload
        fields = [
            "charge_point_id",
            "request_id",
            "action",
            "log_type",
            "remote_location",
            "oldest_at",
            "latest_at",
            "retries",
            "retry_interval",
            "status",
            "file_name",
            "command_id",
            "command_status",
            "requested_by",
            "created_at",
            "updated_at",
            "finished_at",
            "changes",
        ]


class FirmwarePublicationSerializer(_CommandFields, serializers.ModelSerializer):
    charge_point_id = serializers.CharField(source="charge_point.charge_point_id")

    class Meta:
        model = FirmwarePublication
        fields = [
            "charge_point_id",
            "request_id",
            "location",
            "checksum",
            "retries",
            "retry_interval",
            "status",
            "published_locations",
            "command_id",
            "command_status",
            "requested_by",
            "created_at",
            "updated_at",
            "unpublished_at",
        ]


def _window(attrs: dict[str, Any], first: str, last: str) -> None:
    if attrs.get(first) and attrs.get(last) and attrs[first] > attrs[last]:
        raise serializers.ValidationError({first: [f"must not be after {last}"]})


class FirmwareUpdateRequestSerializer(serializers.Serializer):
    location = serializers.CharField(max_length=512, help_text="URL of the firmware file")
    retrieve_at = serializers.DateTimeField(required=False, help_text="When to download it (default: now)")
    install_at = serializers.DateTimeField(required=False, help_text="When to install it (signed updates in 1.6)")
    retries = serializers.IntegerField(required=False, min_value=0)
    retry_interval = serializers.IntegerField(required=False, min_value=0, help_text="Seconds")
    signing_certificate = serializers.CharField(
        required=False, max_length=5500, trim_whitespace=False, help_text="PEM certificate the firmware was signed with"
    )
    signature = serializers.CharField(required=False, max_length=800, help_text="Base64 signature of the firmware")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.setdefault("retrieve_at", timezone.now().replace(microsecond=0))
        _window(attrs, "retrieve_at", "install_at")
        return attrs


class LogUploadRequestSerializer(serializers.Serializer):
    log_type = serializers.ChoiceField(choices=LogUpload.LogType.choices, default=LogUpload.LogType.DIAGNOSTICS)
    remote_location = serializers.CharField(max_length=512, help_text="URL to upload the log to")
    oldest_at = serializers.DateTimeField(required=False)
    latest_at = serializers.DateTimeField(required=False)
    retries = serializers.IntegerField(required=False, min_value=0)
    retry_interval = serializers.IntegerField(required=False, min_value=0, help_text="Seconds")
    action = serializers.ChoiceField(
        choices=["GetDiagnostics", "GetLog"],
        required=False,
        help_text="1.6 only: GetDiagnostics (the default for a diagnostics log) or GetLog (security extension)",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _window(attrs, "oldest_at", "latest_at")
        return attrs


class PublishRequestSerializer(serializers.Serializer):
    location = serializers.CharField(max_length=512, help_text="URL of the firmware file")
    checksum = serializers.RegexField(r"^[0-9a-fA-F]{32}$", help_text="MD5 of the file, 32 hexadecimal digits")
    retries = serializers.IntegerField(required=False, min_value=0)
    retry_interval = serializers.IntegerField(required=False, min_value=0, help_text="Seconds")
