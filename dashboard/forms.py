"""Input of the dashboard's command buttons, registration decisions and id tag page, parsed at the edge.

A command form only turns what an operator typed into the arguments of an operator shortcut; the
charger's OCPP version spells the payload (``chargers.ports.port_of(charge_point).shortcuts``), and
whether and when the command goes out is decided by ``chargers.commands.command_enqueue`` (which
also validates the payload against the version's schema).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms

from chargers.commands import CommandError
from chargers.models import ID_TOKEN_MAX_LENGTH, IdTag, IdTokenType, RegistrationStatus
from chargers.ports import CommandRequest, ProtocolPort, Shortcuts
from chargers.services import id_tag_case_clash
from chargers.tokens import tags_matching

Build = Callable[[Shortcuts, dict[str, Any]], CommandRequest]

# The page's buttons: each one's shortcut, called with the form's cleaned fields. A connector left
# empty (or 0) on remote start and trigger means "any": the charger picks (as the page's placeholder says).
BUTTONS: dict[str, Build] = {
    "remote_start": lambda s, d: s.remote_start(id_tag=d["id_tag"], connector_id=d.get("connector_id") or None),
    "remote_stop": lambda s, d: s.remote_stop(transaction_id=d["transaction_id"]),
    "reset": lambda s, d: s.reset(hard=d["reset_type"] == "Hard"),
    "unlock": lambda s, d: s.unlock(connector_id=d["connector_id"]),
    "availability": lambda s, d: s.availability(
        connector_id=d["connector_id"], operative=d["availability"] == "Operative"
    ),
    "trigger": lambda s, d: s.trigger(message=d["requested_message"], connector_id=d.get("connector_id") or None),
    "configuration_read": lambda s, d: s.configuration_read(),
}
_REQUIRED = {
    "remote_start": ("id_tag",),
    "remote_stop": ("transaction_id",),
    "reset": ("reset_type",),
    "unlock": ("connector_id",),
    "availability": ("connector_id", "availability"),
    "trigger": ("requested_message",),
}


def button_actions(port: ProtocolPort) -> dict[str, str]:
    """Each button by the action it sends in ``port``'s version (RemoteStartTransaction -> remote_start
    in 1.6), so a post that names the action (as the page did before it posted the button's name)
    still works. Read off the builders with placeholder fields, so no action name is written here;
    a builder that refuses the placeholders (2.0.1's remote stop looks the session up) is left out,
    and its button is posted by name."""
    sample = {
        "id_tag": "-",
        "transaction_id": 1,
        "connector_id": 1,
        "reset_type": "Soft",
        "availability": "Operative",
        "requested_message": port.trigger_messages[0] if port.trigger_messages else "StatusNotification",
    }
    actions: dict[str, str] = {}
    for button, build in BUTTONS.items():
        try:
            actions[build(port.shortcuts, sample).action] = button
        except CommandError:
            continue
    return actions


class CommandForm(forms.Form):
    """One command button: the action and the few fields it needs, for one charger's version.

    ``action`` is what the button sends in the charger's version (what the page posts) or the
    button's own name (``remote_start``, ``reset``...: the same in every version).
    """

    action = forms.ChoiceField()
    connector_id = forms.IntegerField(required=False, min_value=0, max_value=1000)
    # 2.1's idToken takes 255 characters; the version's schema (1.6: 20, 2.0.1: 36) is checked when it is queued.
    id_tag = forms.CharField(required=False, max_length=ID_TOKEN_MAX_LENGTH)
    transaction_id = forms.IntegerField(required=False, min_value=1)
    # The page's words for the two choices, which the builders turn into the version's.
    reset_type = forms.ChoiceField(required=False, choices=[("Soft", "Soft"), ("Hard", "Hard")])
    availability = forms.ChoiceField(
        required=False, choices=[("Operative", "Operative"), ("Inoperative", "Inoperative")]
    )
    requested_message = forms.ChoiceField(required=False)

    def __init__(self, data: Any, *, port: ProtocolPort) -> None:
        super().__init__(data)
        self.port = port
        self.buttons = {**button_actions(port), **{button: button for button in BUTTONS}}
        for name, values in (("action", self.buttons), ("requested_message", port.trigger_messages)):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [(value, value) for value in values]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        button = self.buttons.get(data.get("action", ""))
        for field in _REQUIRED.get(button or "", ()):
            if data.get(field) in (None, ""):
                self.add_error(field, "This field is required for this command.")
        if button == "unlock" and data.get("connector_id") == 0:
            self.add_error("connector_id", "Unlock needs a connector (1 or more).")
        return data

    def command(self) -> CommandRequest:
        """The cleaned button as the charger's version spells it."""
        data = self.cleaned_data
        return BUTTONS[self.buttons[data["action"]]](self.port.shortcuts, data)


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
        super().clean()
        data = self.cleaned_data
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

    # 2.1's idToken takes 255 characters (a 1.6 charger's idTag 20, 2.0.1's 36: a longer one never reaches them).
    id_tag = forms.CharField(max_length=ID_TOKEN_MAX_LENGTH, label="Id tag", strip=False)
    expiry_date = forms.DateTimeField(
        required=False,
        label="Expires",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    parent = forms.CharField(max_length=ID_TOKEN_MAX_LENGTH, required=False, label="Parent id tag")
    # 2.0.1 asks for a token by value and type; 1.6 has no types and finds it by value.
    type = forms.TypedChoiceField(
        choices=IdTokenType.choices,
        initial=IdTokenType.ISO14443,
        required=False,
        empty_value=IdTokenType.ISO14443,
        label="Type (2.0.1)",
    )
    note = forms.CharField(max_length=200, required=False)

    def clean_id_tag(self) -> str:
        value = self.cleaned_data["id_tag"]
        # The same rules as the API (the tag is part of its URL there and here).
        if not value or value != value.strip():
            raise forms.ValidationError("Must not be blank or start or end with spaces.")
        if "/" in value:
            raise forms.ValidationError("Must not contain '/'.")
        existing = id_tag_case_clash(id_tag=value)
        if existing == value:
            raise forms.ValidationError("This id tag exists already.")
        if existing is not None:
            raise forms.ValidationError(
                f"Id tag {existing!r} exists already: id tags match whatever their case (OCPP), so it is the same."
            )
        return value

    def clean_parent(self) -> IdTag | None:
        value = self.cleaned_data.get("parent", "").strip()
        if not value:
            return None
        found = tags_matching({value})  # whatever its case, as tokens match
        parent = found[0] if found else None
        if parent is None:
            raise forms.ValidationError("No such id tag.")
        return parent


class IdTagActionForm(forms.Form):
    """A button on an id tag's row."""

    action = forms.ChoiceField(choices=[("block", "Block"), ("unblock", "Unblock"), ("expire", "Expire now")])
