"""OCPP 1.6's enumerations, defined once: read from the 1.6 schemas, and what the API and dashboard offer."""

from __future__ import annotations

from typing import cast

from django import forms
from rest_framework import serializers

from chargers import ports
from chargers.api.serializers import TriggerSerializer
from chargers.filtersets import CONNECTOR_STATUSES
from dashboard.forms import CommandForm
from protocols.v16 import enums
from protocols.v201 import enums as v201


def test_the_enumerations_are_the_16_schemas_own() -> None:
    # Read from the schemas: the lists offered are what validation accepts.
    assert enums.TRIGGER_MESSAGES == (
        "BootNotification",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StatusNotification",
    )
    assert set(enums.RESET_TYPES) == {"Soft", "Hard"}
    assert set(enums.AVAILABILITY_TYPES) == {"Operative", "Inoperative"}
    assert "SuspendedEVSE" in enums.CONNECTOR_STATUSES and "Unknown" not in enums.CONNECTOR_STATUSES
    assert len(enums.CONNECTOR_STATUSES) == 9 and "NoError" in enums.CONNECTOR_ERROR_CODES


def test_the_api_and_the_dashboard_offer_the_trigger_messages_of_the_chargers_version() -> None:
    port = ports.port_for("1.6")
    assert port.trigger_messages == enums.TRIGGER_MESSAGES
    api = TriggerSerializer(context={"port": port}).fields["requested_message"]
    assert isinstance(api, serializers.ChoiceField) and tuple(api.choices) == enums.TRIGGER_MESSAGES
    dashboard = CommandForm({}, port=port).fields["requested_message"]
    assert isinstance(dashboard, forms.ChoiceField)
    assert tuple(value for value, _ in cast(list[tuple[str, str]], dashboard.choices)) == enums.TRIGGER_MESSAGES


def test_the_domains_connector_statuses_are_16s_and_201s_and_unknown() -> None:
    # The domain stores the status a StatusNotification reports, or "Unknown" before the first one;
    # its filters cannot import the protocol packages, so this pins their list to both schemas'.
    assert {value for value, _ in CONNECTOR_STATUSES} == {
        *enums.CONNECTOR_STATUSES,
        *v201.CONNECTOR_STATUSES,
        "Unknown",
    }
