"""Input of the dashboard's command buttons, registration decisions and id tag page, parsed at the edge.

A form only turns what an operator typed into an OCPP payload; whether and when the command goes
out is decided by ``chargers.commands.command_enqueue`` (which also validates the payload
against the OCPP schema).
"""

from __future__ import annotations

from typing import Any

from django import forms

from chargers.models import IdTag, RegistrationStatus

TRIGGER_MESSAGES = (
    "BootNotification",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StatusNotification",
)
ACTIONS = (
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "Reset",
    "UnlockConnector",
    "ChangeAvailability",
    "TriggerMessage",
    "GetConfiguration",
)


class CommandForm(forms.Form):
    """One command button: the action and the few fields it needs."""

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    connector_id = forms.IntegerField(required=False, min_value=0, max_value=1000)
    id_tag = forms.CharField(required=False, max_length=20)
    transaction_id = forms.IntegerField(required=False, min_value=1)
    reset_type = forms.ChoiceField(required=False, choices=[("Soft", "Soft"), ("Hard", "Hard")])
    availability = forms.ChoiceField(
        required=False, choices=[("Operative", "Operative"), ("Inoperative", "Inoperative")]
    )
    requested_message = forms.ChoiceField(required=False, choices=[(m, m) for m in TRIGGER_MESSAGES])

    _REQUIRED = {
        "RemoteStartTransaction": ("id_tag",),
        "RemoteStopTransaction": ("transaction_id",),
        "Reset": ("reset_type",),
        "UnlockConnector": ("connector_id",),
        "ChangeAvailability": ("connector_id", "availability"),
        "TriggerMessage": ("requested_message",),
    }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for field in self._REQUIRED.get(data.get("action", ""), ()):
            if data.get(field) in (None, ""):
                self.add_error(field, "This field is required for this command.")
        if data.get("action") == "UnlockConnector" and data.get("connector_id") == 0:
            self.add_error("connector_id", "Unlock needs a connector (1 or more).")
        return data

    def payload(self) -> dict[str, Any]:
        """The OCPP 1.6 request payload of the cleaned command."""
        data = self.cleaned_data
        action = data["action"]
        connector = data.get("connector_id")
        if action == "RemoteStartTransaction":
            payload: dict[str, Any] = {"idTag": data["id_tag"]}
            if connector:
                payload["connectorId"] = connector
            return payload
        if action == "RemoteStopTransaction":
            return {"transactionId": data["transaction_id"]}
        if action == "Reset":
            return {"type": data["reset_type"]}
        if action == "UnlockConnector":
            return {"connectorId": connector}
        if action == "ChangeAvailability":
            return {"connectorId": connector, "type": data["availability"]}
        if action == "TriggerMessage":
            payload = {"requestedMessage": data["requested_message"]}
            if connector:
                payload["connectorId"] = connector
            return payload
        return {}


class RegistrationForm(forms.Form):
    """An operator's decision on a pending (or rejected) charger."""

    status = forms.ChoiceField(
        choices=[(RegistrationStatus.ACCEPTED, "Accept"), (RegistrationStatus.REJECTED, "Reject")]
    )


# How many chargers one "accept selected" may name: a page holds 50; this only bounds a forged post.
MAX_SELECTED = 1000


class BulkAcceptForm(forms.Form):
    """Accept several waiting chargers: the ticked ones, or every one with the tab's status."""

    scope = forms.ChoiceField(choices=[("selected", "Accept selected"), ("all", "Accept all")])
    status = forms.ChoiceField(
        choices=[(RegistrationStatus.PENDING, "Pending"), (RegistrationStatus.REJECTED, "Rejected")],
        required=False,
    )

    def __init__(self, data: Any, *, charge_point_ids: list[str]) -> None:
        super().__init__(data)
        self.charge_point_ids = charge_point_ids

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["status"] = data.get("status") or RegistrationStatus.PENDING
        if data.get("scope") == "selected":
            ids = list(dict.fromkeys(cid for cid in self.charge_point_ids if cid and len(cid) <= 48))
            if not ids:
                raise forms.ValidationError("Tick the chargers to accept first.")
            if len(ids) > MAX_SELECTED:
                raise forms.ValidationError(f"At most {MAX_SELECTED} chargers at once.")
            data["charge_point_ids"] = ids
        return data


class IdTagCreateForm(forms.Form):
    """A new id tag, as an operator types it: the tag, an optional expiry, parent and note."""

    id_tag = forms.CharField(max_length=20, label="Id tag", strip=False)
    expiry_date = forms.DateTimeField(
        required=False,
        label="Expires",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    parent = forms.CharField(max_length=20, required=False, label="Parent id tag")
    note = forms.CharField(max_length=200, required=False)

    def clean_id_tag(self) -> str:
        value = self.cleaned_data["id_tag"]
        # The same rules as the API (the tag is part of its URL there and here).
        if not value or value != value.strip():
            raise forms.ValidationError("Must not be blank or start or end with spaces.")
        if "/" in value:
            raise forms.ValidationError("Must not contain '/'.")
        if IdTag.objects.filter(id_tag=value).exists():
            raise forms.ValidationError("This id tag exists already.")
        return value

    def clean_parent(self) -> IdTag | None:
        value = self.cleaned_data.get("parent", "").strip()
        if not value:
            return None
        parent = IdTag.objects.filter(id_tag=value).first()
        if parent is None:
            raise forms.ValidationError("No such id tag.")
        return parent


class IdTagActionForm(forms.Form):
    """A button on an id tag's row."""

    action = forms.ChoiceField(choices=[("block", "Block"), ("unblock", "Unblock"), ("expire", "Expire now")])
