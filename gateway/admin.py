"""Admin for charger credentials: set a password and a security profile, never see a hash."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from gateway import services
from gateway.models import (
    ChargerCredential,
    CredentialRotation,
    SecurityProfileUpgrade,
    SecurityProfileUpgradeStep,
)


class ChargerCredentialForm(forms.ModelForm):
    """Edits a credential; the password field is write-only (blank keeps the current one)."""

    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="The charger's AuthorizationKey, 16 to 40 characters. Leave blank to keep the current "
        "password (or, for a new credential, to generate one that is shown once).",
    )

    class Meta:
        model = ChargerCredential
        fields = ["charge_point_id", "enabled", "security_profile", "note"]

    def clean_charge_point_id(self) -> str:
        value = self.cleaned_data["charge_point_id"]
        if not services.charge_point_id_is_valid(value):
            raise forms.ValidationError("1..48 characters, none of / + #")
        return value

    def clean_password(self) -> str:
        value = self.cleaned_data.get("password") or ""
        problem = services.password_problem(value) if value else None
        if problem:
            raise forms.ValidationError(problem)
        return value


@admin.register(ChargerCredential)
class ChargerCredentialAdmin(admin.ModelAdmin):
    form = ChargerCredentialForm
    list_display = ["charge_point_id", "enabled", "security_profile", "note", "updated_at"]
    list_filter = ["enabled", "security_profile"]
    search_fields = ["charge_point_id", "note"]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["disable_credentials", "enable_credentials"]

    def save_model(self, request: HttpRequest, obj: ChargerCredential, form: Any, change: bool) -> None:
        password = form.cleaned_data.get("password") or None
        if change:
            obj.save()  # id, enabled flag and note (a renamed id included) before the password
            if password is None:
                return
        credential, clear = services.credential_set_password(
            charge_point_id=obj.charge_point_id,
            password=password,
            enabled=obj.enabled,
            note=obj.note,
            security_profile=obj.security_profile,
        )
        obj.pk = credential.pk
        obj.password_hash = credential.password_hash
        if password is None:
            messages.warning(request, f"Generated password for {obj.charge_point_id} (shown only once): {clear}")

    @admin.action(description="Disable selected credentials")
    def disable_credentials(self, request: HttpRequest, queryset: Any) -> None:
        queryset.update(enabled=False)

    @admin.action(description="Enable selected credentials")
    def enable_credentials(self, request: HttpRequest, queryset: Any) -> None:
        queryset.update(enabled=True)


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Records of operations: started through the API (or services), never edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(CredentialRotation)
class CredentialRotationAdmin(_ReadOnlyAdmin):
    list_display = ["created_at", "charge_point", "status", "reason", "requested_by", "completed_at"]
    list_filter = ["status"]
    search_fields = ["charge_point__charge_point_id"]
    # Never the hash, even read-only.
    fields = ["charge_point", "command", "status", "reason", "requested_by", "created_at", "completed_at"]


class SecurityProfileUpgradeStepInline(admin.TabularInline):
    model = SecurityProfileUpgradeStep
    fields = ("position", "action", "command", "status", "answer", "created_at", "completed_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(SecurityProfileUpgrade)
class SecurityProfileUpgradeAdmin(_ReadOnlyAdmin):
    list_display = ["created_at", "charge_point", "from_profile", "to_profile", "status", "reason"]
    list_filter = ["status", "to_profile"]
    search_fields = ["charge_point__charge_point_id"]
    readonly_fields = ["charge_point", "from_profile", "to_profile", "status", "reason", "plan", "requested_by"]
    inlines = [SecurityProfileUpgradeStepInline]
