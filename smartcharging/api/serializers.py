"""Smart charging API bodies: what is read (profiles, limits, needs, composite schedules) and the
convenience endpoints' input, from which the 2.0.1 command is built."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from chargers.models import ChargingProfile

from ..models import ChargingLimit, CompositeSchedule, EVChargingNeeds, EVChargingSchedule, ProfileReport
from ..selectors import composite_chart

PURPOSES = ["ChargingStationExternalConstraints", "ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile"]
LIMIT_SOURCES = ["EMS", "Other", "SO", "CSO"]


class ChargingProfileSerializer(serializers.ModelSerializer[ChargingProfile]):
    evse_id = serializers.IntegerField(source="connector_id", help_text="0: the whole station")
    transaction_id = serializers.IntegerField(
        source="session_pk", allow_null=True, read_only=True, help_text="Our id of a TxProfile's session"
    )

    class Meta:
        model = ChargingProfile
        fields = [
            "profile_id",
            "evse_id",
            "stack_level",
            "purpose",
            "source",
            "charging_limit_source",
            "transaction_id",
            "request_id",
            "remote_start_id",
            "profile",
            "created_at",
        ]


class ChargingLimitSerializer(serializers.ModelSerializer[ChargingLimit]):
    class Meta:
        model = ChargingLimit
        fields = ["evse_id", "charging_limit_source", "is_grid_critical", "schedules", "reported_at"]


class EVChargingNeedsSerializer(serializers.ModelSerializer[EVChargingNeeds]):
    class Meta:
        model = EVChargingNeeds
        fields = [
            "evse_id",
            "requested_energy_transfer",
            "departure_time",
            "max_schedule_tuples",
            "needs",
            "status",
            "received_at",
        ]


class EVChargingScheduleSerializer(serializers.ModelSerializer[EVChargingSchedule]):
    class Meta:
        model = EVChargingSchedule
        fields = ["evse_id", "time_base", "schedule", "received_at"]


class CompositeScheduleSerializer(serializers.ModelSerializer[CompositeSchedule]):
    command_id = serializers.IntegerField(allow_null=True)
    svg_points = serializers.SerializerMethodField(help_text="The step chart's polyline (the dashboard's drawing)")

    class Meta:
        model = CompositeSchedule
        fields = [
            "command_id",
            "evse_id",
            "duration",
            "charging_rate_unit",
            "schedule_start",
            "periods",
            "received_at",
            "svg_points",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_svg_points(self, obj: CompositeSchedule) -> str | None:
        chart = composite_chart(obj)
        return chart.points if chart else None


class ProfileReportSerializer(serializers.ModelSerializer[ProfileReport]):
    class Meta:
        model = ProfileReport
        fields = ["request_id", "criteria", "status", "parts", "profiles", "requested_at", "completed_at"]


class SmartChargingSerializer(serializers.Serializer[Any]):
    """A station's smart charging state."""

    profiles = ChargingProfileSerializer(many=True)
    limits = ChargingLimitSerializer(many=True)
    ev_charging_needs = EVChargingNeedsSerializer(many=True)
    ev_charging_schedules = EVChargingScheduleSerializer(many=True)
    composite_schedule = CompositeScheduleSerializer(allow_null=True)
    last_report = ProfileReportSerializer(allow_null=True)


class _Expiring(serializers.Serializer[Any]):
    expires_in = serializers.IntegerField(
        required=False, min_value=1, help_text="Seconds the command may wait queued before it expires"
    )


class ProfileSetSerializer(_Expiring):
    evse_id = serializers.IntegerField(min_value=0, help_text="0: the station (TxDefaultProfile: every EVSE)")
    charging_profile = serializers.JSONField(help_text="ChargingProfileType, as OCPP 2.0.1 spells it")

    def payload(self) -> dict[str, Any]:
        return {"evseId": self.validated_data["evse_id"], "chargingProfile": self.validated_data["charging_profile"]}


class ProfileClearSerializer(_Expiring):
    charging_profile_id = serializers.IntegerField(required=False, help_text="Clear this profile (the rest ignored)")
    evse_id = serializers.IntegerField(required=False, min_value=0)
    purpose = serializers.ChoiceField(choices=PURPOSES, required=False)
    stack_level = serializers.IntegerField(required=False, min_value=0)

    def payload(self) -> dict[str, Any]:
        data = self.validated_data
        if "charging_profile_id" in data:
            return {"chargingProfileId": data["charging_profile_id"]}
        criteria = {
            key: data[field]
            for field, key in (
                ("evse_id", "evseId"),
                ("purpose", "chargingProfilePurpose"),
                ("stack_level", "stackLevel"),
            )
            if field in data
        }
        # No criteria at all: every profile the station holds (K10).
        return {"chargingProfileCriteria": criteria} if criteria else {}


class ProfileReportRequestSerializer(_Expiring):
    evse_id = serializers.IntegerField(required=False, min_value=0, help_text="Omitted: every EVSE; 0: the station")
    purpose = serializers.ChoiceField(choices=PURPOSES, required=False)
    stack_level = serializers.IntegerField(required=False, min_value=0)
    charging_profile_ids = serializers.ListField(child=serializers.IntegerField(), required=False, min_length=1)
    charging_limit_sources = serializers.ListField(
        child=serializers.ChoiceField(choices=LIMIT_SOURCES), required=False, min_length=1, max_length=4
    )

    def payload(self, request_id: int) -> dict[str, Any]:
        data = self.validated_data
        criterion: dict[str, Any] = {}
        for field, key in (
            ("purpose", "chargingProfilePurpose"),
            ("stack_level", "stackLevel"),
            ("charging_profile_ids", "chargingProfileId"),
            ("charging_limit_sources", "chargingLimitSource"),
        ):
            if field in data:
                criterion[key] = data[field]
        payload: dict[str, Any] = {"requestId": request_id, "chargingProfile": criterion}
        if "evse_id" in data:
            payload["evseId"] = data["evse_id"]
        return payload


class CompositeRequestSerializer(_Expiring):
    evse_id = serializers.IntegerField(min_value=0, help_text="0: the grid connection of the station")
    duration = serializers.IntegerField(min_value=1, help_text="Seconds from now")
    charging_rate_unit = serializers.ChoiceField(choices=["A", "W"], required=False)

    def payload(self) -> dict[str, Any]:
        data = self.validated_data
        payload: dict[str, Any] = {"evseId": data["evse_id"], "duration": data["duration"]}
        if "charging_rate_unit" in data:
            payload["chargingRateUnit"] = data["charging_rate_unit"]
        return payload
