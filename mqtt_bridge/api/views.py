"""Views of the message log API (every frame in and out, read-only) and of the MQTT charger profiles."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError

from apikeys.pagination import cursor_pagination
from apikeys.viewsets import TextLookupMixin
from mqtt_bridge.models import MessageLog, MqttChargerProfile
from mqtt_bridge.profiles import ProfileError, mqtt_profile_create, mqtt_profile_delete, mqtt_profile_update

from .filters import MessageLogFilter, MqttChargerProfileFilter
from .serializers import MessageLogSerializer, MqttChargerProfileSerializer


@extend_schema_view(
    list=extend_schema(
        summary="The message log",
        description="Every OCPP frame received and sent (unreadable ones included), newest first, "
        "cursor-paginated (follow `next`). Filter by charger, action, direction, kind and time.",
    ),
    retrieve=extend_schema(
        summary="One logged message",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Log entry id")],
    ),
)
class MessageLogViewSet(viewsets.ReadOnlyModelViewSet):
    """What travelled between the chargers and us."""

    queryset = MessageLog.objects.all()
    serializer_class = MessageLogSerializer
    filterset_class = MessageLogFilter
    pagination_class = cursor_pagination("-created_at", "-id")
    read_permissions = ("mqtt_bridge.view_messagelog",)


PROFILE_NAME_PARAM = OpenApiParameter(
    "name", OpenApiTypes.STR, OpenApiParameter.PATH, description="The profile's name (its chargers' dialect)"
)
_PROFILE_EXAMPLE = {
    "name": "esp32",
    "uplink_template": "/charger/{cid}",
    "downlink_template": "/system/{cid}",
    "ocpp_version": "1.6",
    "reply_encoding": "ocppj-action-id",
    "accepts_calls": False,
    "ids_restart_at_boot": True,
    "notes": "ESP32 firmware 1.x: QoS 1, retained uplink",
}


@extend_schema_view(
    list=extend_schema(summary="List MQTT charger profiles", description="By name."),
    retrieve=extend_schema(summary="One MQTT charger profile", parameters=[PROFILE_NAME_PARAM]),
    create=extend_schema(
        summary="Create an MQTT charger profile",
        description="Needs the admin role. The uplink template must contain `{cid}` once, as a whole level "
        "(`+` may stand for a level to ignore), and overlap neither the configured topics nor another profile's "
        "uplink; the downlink contains `{cid}` once and no wildcard, and overlaps none of our uplinks. The bridge "
        "serves a new profile after its restart, or within `CSMS_MQTT_PROFILES_RELOAD` seconds when that is set.",
        examples=[OpenApiExample("ESP32 firmware", value=_PROFILE_EXAMPLE, request_only=True)],
    ),
    update=extend_schema(
        summary="Replace an MQTT charger profile",
        description="The name cannot change.",
        parameters=[PROFILE_NAME_PARAM],
    ),
    partial_update=extend_schema(
        summary="Change an MQTT charger profile",
        description="The name cannot change.",
        parameters=[PROFILE_NAME_PARAM],
        examples=[OpenApiExample("Takes Calls", value={"accepts_calls": True}, request_only=True)],
    ),
    destroy=extend_schema(
        summary="Delete an MQTT charger profile",
        description="Its chargers are no longer heard once the bridge reads the profiles again; commands to them "
        "are refused.",
        parameters=[PROFILE_NAME_PARAM],
    ),
)
class MqttChargerProfileViewSet(TextLookupMixin, viewsets.ModelViewSet):
    """Chargers that speak OCPP-J over MQTT themselves: their topics, reply encoding and firmware quirks."""

    queryset = MqttChargerProfile.objects.all()
    serializer_class = MqttChargerProfileSerializer
    filterset_class = MqttChargerProfileFilter
    lookup_field = "name"
    lookup_value_regex = "[^/]+"  # any name reaches the view (and a 404 in JSON), not Django's HTML one
    read_permissions = ("mqtt_bridge.view_mqttchargerprofile",)
    action_permissions = {
        "create": ("mqtt_bridge.view_mqttchargerprofile", "mqtt_bridge.add_mqttchargerprofile"),
        "update": ("mqtt_bridge.view_mqttchargerprofile", "mqtt_bridge.change_mqttchargerprofile"),
        "partial_update": ("mqtt_bridge.view_mqttchargerprofile", "mqtt_bridge.change_mqttchargerprofile"),
        "destroy": ("mqtt_bridge.view_mqttchargerprofile", "mqtt_bridge.delete_mqttchargerprofile"),
    }

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        try:
            serializer.instance = mqtt_profile_create(**serializer.validated_data)
        except ProfileError as exc:
            raise ValidationError(exc.errors) from None

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        profile = serializer.instance
        assert isinstance(profile, MqttChargerProfile)  # an update's serializer holds the looked-up profile
        try:
            serializer.instance = mqtt_profile_update(profile=profile, **serializer.validated_data)
        except ProfileError as exc:
            raise ValidationError(exc.errors) from None

    def perform_destroy(self, instance: MqttChargerProfile) -> None:
        mqtt_profile_delete(profile=instance)
