"""Input of the dashboard's command buttons and registration decisions, parsed at the edge.

A form only turns what an operator typed into an OCPP payload; whether and when the command goes
out is decided by ``chargers.commands.command_enqueue`` (which also validates the payload
against the OCPP schema).
"""

from __future__ import annotations

from typing import Any

from django import forms

from chargers.models import RegistrationStatus

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
