"""What the API shows of a station's display messages, and what it takes to set one."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from displays.models import DisplayMessage
from displays.services import MessageInfo


class DisplayMessageSerializer(serializers.ModelSerializer[DisplayMessage]):
    command = serializers.IntegerField(source="command_id", read_only=True, allow_null=True)

    class Meta:
        model = DisplayMessage
        fields = [
            "message_id",
            "priority",
            "state",
            "format",
            "language",
            "content",
            "start_at",
            "end_at",
            "transaction_id",
            "display",
            "status",
            "answer",
            "command",
            "report_request_id",
            "reported_at",
            "created_at",
            "updated_at",
        ]


class DisplayMessageCreateSerializer(serializers.Serializer[dict[str, Any]]):
    """A message to show: SetDisplayMessage with a fresh id, or with ``message_id`` to replace one (O06)."""

    message_id = serializers.IntegerField(
        required=False, min_value=0, max_value=2**31 - 1, help_text="Absent: a fresh id (the highest known + 1)"
    )
    priority = serializers.ChoiceField(choices=DisplayMessage.Priority.choices)
    state = serializers.ChoiceField(choices=DisplayMessage.State.choices, required=False, help_text="Shown only then")
    format = serializers.ChoiceField(choices=DisplayMessage.Format.choices)
    language = serializers.CharField(max_length=8, required=False, allow_blank=True)
    content = serializers.CharField(max_length=512, trim_whitespace=False)
    start_at = serializers.DateTimeField(required=False)
    end_at = serializers.DateTimeField(required=False)
    transaction_id = serializers.CharField(
        max_length=36, required=False, help_text="The station's transactionId of an active session"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start_at"), attrs.get("end_at")
        if start is not None and end is not None and end <= start:
            raise serializers.ValidationError({"end_at": ["must be after start_at"]})
        return attrs

    def message(self, message_id: int) -> MessageInfo:
        data = self.validated_data
        return MessageInfo(
            message_id=data.get("message_id", message_id),
            priority=data["priority"],
            format=data["format"],
            content=data["content"],
            language=data.get("language", ""),
            state=data.get("state", ""),
            start_at=data.get("start_at"),
            end_at=data.get("end_at"),
            transaction_id=data.get("transaction_id", ""),
        )
