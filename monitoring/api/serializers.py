"""Serializers of the monitoring API (explicit field lists)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from monitoring.models import StationFault, VariableMonitor
from monitoring.mrec import mrec_lookup


class MonitorSerializer(serializers.ModelSerializer[VariableMonitor]):
    class Meta:
        model = VariableMonitor
        fields = [
            "monitor_id",
            "component",
            "component_instance",
            "evse_id",
            "connector_id",
            "variable",
            "variable_instance",
            "type",
            "value",
            "severity",
            "transaction",
            "source",
            "updated_at",
        ]
        read_only_fields = fields


class MonitorSetSerializer(serializers.Serializer[Any]):
    """One monitor to set (a SetVariableMonitoring of one item): ``id`` replaces that monitor of the station."""

    id = serializers.IntegerField(required=False, min_value=0, help_text="Replace this monitor of the station")
    component = serializers.CharField(max_length=50)
    component_instance = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    evse_id = serializers.IntegerField(required=False, min_value=0, allow_null=True, default=None)
    connector_id = serializers.IntegerField(required=False, min_value=0, allow_null=True, default=None)
    variable = serializers.CharField(max_length=50)
    variable_instance = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    type = serializers.ChoiceField(choices=VariableMonitor.Type.choices)
    value = serializers.FloatField()
    severity = serializers.IntegerField(min_value=0, max_value=9, help_text="0 (Danger) .. 9 (Debug)")
    transaction = serializers.BooleanField(required=False, default=False)
    expires_in = serializers.IntegerField(required=False, min_value=1, max_value=86400)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("connector_id") is not None and attrs.get("evse_id") is None:
            raise serializers.ValidationError({"connector_id": ["a connector needs its evse_id"]})
        return attrs

    def payload(self) -> dict[str, Any]:
        """The SetVariableMonitoring request of the validated monitor."""
        data = self.validated_data
        component: dict[str, Any] = {"name": data["component"]}
        if data["component_instance"]:
            component["instance"] = data["component_instance"]
        if data["evse_id"] is not None:
            component["evse"] = {"id": data["evse_id"]}
            if data["connector_id"] is not None:
                component["evse"]["connectorId"] = data["connector_id"]
        variable: dict[str, Any] = {"name": data["variable"]}
        if data["variable_instance"]:
            variable["instance"] = data["variable_instance"]
        item: dict[str, Any] = {
            "value": data["value"],
            "type": data["type"],
            "severity": data["severity"],
            "transaction": data["transaction"],
            "component": component,
            "variable": variable,
        }
        if data.get("id") is not None:
            item["id"] = data["id"]
        return {"setMonitoringData": [item]}


class FaultSerializer(serializers.ModelSerializer[StationFault]):
    name = serializers.SerializerMethodField(help_text="The MREC name of the tech code, if it is one")
    meaning = serializers.SerializerMethodField(help_text="What the MREC code means, if it is one")

    class Meta:
        model = StationFault
        fields = [
            "event_id",
            "component",
            "component_instance",
            "evse_id",
            "connector_id",
            "variable",
            "variable_instance",
            "tech_code",
            "name",
            "meaning",
            "tech_info",
            "actual_value",
            "trigger",
            "raised_at",
            "cleared_at",
            "cleared_by_event_id",
        ]
        read_only_fields = fields

    def get_name(self, fault: StationFault) -> str:
        code = mrec_lookup(fault.tech_code) if fault.tech_code else None
        return code.name if code else ""

    def get_meaning(self, fault: StationFault) -> str:
        code = mrec_lookup(fault.tech_code) if fault.tech_code else None
        return code.meaning if code else ""


class RebootPendingSerializer(serializers.Serializer[Any]):
    variable = serializers.CharField(help_text="Component[.instance][@evse].variable[instance]")
    attribute_type = serializers.CharField()
    value = serializers.CharField(help_text="The value set")
    answered_at = serializers.DateTimeField(allow_null=True)
    command_id = serializers.IntegerField(help_text="The SetVariables command")


class MonitoringSerializer(serializers.Serializer[Any]):
    monitoring_base = serializers.CharField(allow_null=True)
    monitoring_level = serializers.IntegerField(allow_null=True)
    open_faults = serializers.IntegerField()
    monitors = serializers.IntegerField()
    reboot_pending = RebootPendingSerializer(many=True)
