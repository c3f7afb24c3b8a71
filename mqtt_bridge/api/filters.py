"""FilterSets of the message log and MQTT charger profile APIs."""

from __future__ import annotations

from django_filters import rest_framework as filters

from chargers.filtersets import IsoDateTimeFilter
from mqtt_bridge.models import MessageLog, MqttChargerProfile


class MessageLogFilter(filters.FilterSet):
    charge_point = filters.CharFilter(field_name="charge_point_id", help_text="Charge point id")
    action = filters.CharFilter(help_text="OCPP action, e.g. StartTransaction")
    direction = filters.ChoiceFilter(choices=MessageLog.Direction.choices, help_text="in: from chargers; out: to them")
    kind = filters.MultipleChoiceFilter(choices=MessageLog.Kind.choices)
    message_id = filters.CharFilter()
    after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte", help_text="Inclusive")
    before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt", help_text="Exclusive")

    class Meta:
        model = MessageLog
        fields = ["charge_point", "action", "direction", "kind", "message_id", "after", "before"]


class MqttChargerProfileFilter(filters.FilterSet):
    ocpp_version = filters.ChoiceFilter(choices=MqttChargerProfile.OcppVersion.choices)
    reply_encoding = filters.ChoiceFilter(choices=MqttChargerProfile.ReplyEncoding.choices)
    accepts_calls = filters.BooleanFilter()
    ids_restart_at_boot = filters.BooleanFilter()

    class Meta:
        model = MqttChargerProfile
        fields = ["ocpp_version", "reply_encoding", "accepts_calls", "ids_restart_at_boot"]
