"""Admin for API tokens: create one (its key is shown once), revoke it; never see a key again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import APIToken
from .services import api_token_create, api_token_revoke


class APITokenCreateForm(forms.ModelForm):
    class Meta:
        model = APIToken
        fields = ["name", "user", "expires_at", "throttle_rate"]


@admin.register(APIToken)
class APITokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at", "user"]
    search_fields = ["name", "prefix", "user__username"]
    actions = ["revoke"]
    readonly_fields = [
        "name",
        "user",
        "prefix",
        "expires_at",
        "throttle_rate",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]

    def get_form(self, request: HttpRequest, obj: APIToken | None = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = APITokenCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: APIToken | None = None) -> list[str]:
        return self.readonly_fields if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: APIToken | None = None) -> bool:
        return False  # revoke instead: the row says who had access, and when

    def save_model(self, request: HttpRequest, obj: APIToken, form: forms.ModelForm, change: bool) -> None:
        if change:
            return  # nothing is editable after creation
        token, key = api_token_create(
            user=form.cleaned_data["user"],
            name=form.cleaned_data["name"],
            expires_at=form.cleaned_data["expires_at"],
            throttle_rate=form.cleaned_data["throttle_rate"],
        )
        # The admin's "added" message and redirect use ``obj``, not the row the service made: give
        # it that row's values (pk for the redirect, prefix for __str__ in the message).
        for field in APIToken._meta.concrete_fields:
            setattr(obj, field.attname, getattr(token, field.attname))
        messages.warning(request, f"The key of “{token.name}” is {key} — copy it now, it will not be shown again.")

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[APIToken]) -> None:
        for token in queryset:
            api_token_revoke(token=token)
        messages.success(request, f"{queryset.count()} token(s) revoked.")
