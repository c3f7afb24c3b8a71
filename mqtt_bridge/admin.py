"""The message log and the dead letters in the admin (read-only, searchable by charger and message id),
and the MQTT charger profiles (editable, checked like the API's)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import DeadLetter, MessageLog, MqttChargerProfile
from .profiles import (
    PROFILE_FIELDS,
    ProfileError,
    mqtt_profile_create,
    mqtt_profile_delete,
    mqtt_profile_update,
    profile_problems,
)


@admin.register(MessageLog)
class MessageLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "charge_point_id", "direction", "kind", "action", "message_id", "error_code"]
    list_filter = ["direction", "kind", "action", "error_code"]
    search_fields = ["=charge_point_id", "=message_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    """Quarantined frames: read-only, so what a charger sent stays as it came."""

    list_display = ["created_at", "charge_point_id", "action", "message_id", "reason", "deliveries", "answered"]
    list_filter = ["reason", "answered", "action"]
    search_fields = ["=charge_point_id", "=message_id"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "created_at",
        "charge_point_id",
        "message_id",
        "action",
        "reason",
        "description",
        "deliveries",
        "answered",
        "raw",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class MqttChargerProfileForm(forms.ModelForm):
    """The profile's fields, checked as the API checks them (``profiles.profile_problems``)."""

    class Meta:
        model = MqttChargerProfile
        fields = [
            "name",
            "uplink_template",
            "downlink_template",
            "ocpp_version",
            "reply_encoding",
            "accepts_calls",
            "ids_restart_at_boot",
            "notes",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk is not None:
            cleaned["name"] = self.instance.name  # read-only once created
        if all(cleaned.get(field) for field in ("name", "uplink_template", "downlink_template")):
            errors = profile_problems(
                name=cleaned["name"],
                uplink_template=cleaned["uplink_template"],
                downlink_template=cleaned["downlink_template"],
                instance=self.instance,
            )
            for field, messages in errors.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
        return cleaned


@admin.register(MqttChargerProfile)
class MqttChargerProfileAdmin(admin.ModelAdmin):
    """MQTT charger profiles: topics, reply encoding and firmware quirks of chargers that speak MQTT themselves.

    The bridge serves a new or changed profile after its restart, or within CSMS_MQTT_PROFILES_RELOAD
    seconds when that is set; replies and commands follow a change at once.
    """

    form = MqttChargerProfileForm
    list_display = [
        "name",
        "uplink_template",
        "downlink_template",
        "ocpp_version",
        "reply_encoding",
        "accepts_calls",
        "ids_restart_at_boot",
        "updated_at",
    ]
    list_filter = ["ocpp_version", "reply_encoding", "accepts_calls", "ids_restart_at_boot"]
    search_fields = ["name", "uplink_template", "downlink_template"]

    def get_readonly_fields(self, request: HttpRequest, obj: MqttChargerProfile | None = None) -> list[str]:
        # Its chargers are known by its name (their dialect).
        return ["name", "created_at", "updated_at"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: MqttChargerProfile, form: forms.ModelForm, change: bool) -> None:
        # Through the services, as the API; the form has checked the same (a ProfileError here is a race).
        values = {field: form.cleaned_data[field] for field in PROFILE_FIELDS if field in form.cleaned_data}
        try:
            if change:
                values.pop("name", None)
                saved = mqtt_profile_update(profile=obj, **values)
            else:
                saved = mqtt_profile_create(**values)
        except ProfileError as exc:
            raise forms.ValidationError(str(exc)) from None
        obj.pk, obj.created_at, obj.updated_at = saved.pk, saved.created_at, saved.updated_at

    def delete_model(self, request: HttpRequest, obj: MqttChargerProfile) -> None:
        mqtt_profile_delete(profile=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[MqttChargerProfile]) -> None:
        for profile in queryset:
            mqtt_profile_delete(profile=profile)
