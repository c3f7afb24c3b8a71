"""2.0.1 bad input: the precise error code in 2.0.1's spelling, naming the field, and nothing stored.

Through the worker (``calls_handle``) where a station's Call is concerned, and on ``validate`` for the
schema patches: integers bounded to our columns wherever their definition is used, and any token
type in what a station sends (the ``ocpp`` package's own schemas untouched).
"""

from __future__ import annotations

from typing import Any

import pytest
from ocpp.messages import get_validator

from chargers.models import ChargePoint, ChargerEvent, Connector, DeviceVariable, RegistrationStatus
from mqtt_bridge.frames import Kind
from protocols.v201 import actions, errors, sessions
from protocols.validation import OcppError, schema_validator, validate

from .calls import BOOT, PAYLOADS, handle

V201 = "2.0.1"


@pytest.fixture
def accepted(db: None) -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id="CS-1", registration_status=RegistrationStatus.ACCEPTED, ocpp_version=V201
    )


def refused(action: str, payload: dict[str, Any]) -> tuple[str, str]:
    reply = handle(action, payload)
    assert reply.kind == Kind.ERROR, reply.payload
    return reply.error_code, str(reply.error_details.get("field", ""))


def test_an_unknown_property_is_a_format_violation(accepted: ChargePoint) -> None:
    assert refused("Heartbeat", {"x": 1}) == ("FormatViolation", "(payload)")


def test_a_missing_field_is_an_occurrence_constraint_violation_naming_it(accepted: ChargePoint) -> None:
    station = {key: value for key, value in BOOT["chargingStation"].items() if key != "model"}
    assert refused("BootNotification", {**BOOT, "chargingStation": station}) == (
        "OccurrenceConstraintViolation",
        "chargingStation.model",
    )
    assert ChargePoint.objects.get().vendor == ""


def test_a_value_outside_its_enumeration_or_too_long_is_a_property_constraint_violation(accepted: ChargePoint) -> None:
    assert refused("StatusNotification", {**PAYLOADS["StatusNotification"], "connectorStatus": "Charging"}) == (
        "PropertyConstraintViolation",
        "connectorStatus",
    )
    model = {**BOOT["chargingStation"], "model": "M" * 21}
    assert refused("BootNotification", {**BOOT, "chargingStation": model}) == (
        "PropertyConstraintViolation",
        "chargingStation.model",
    )
    assert not Connector.objects.exists()


def test_a_value_of_the_wrong_type_is_a_type_constraint_violation(accepted: ChargePoint) -> None:
    assert refused("StatusNotification", {**PAYLOADS["StatusNotification"], "evseId": "1"}) == (
        "TypeConstraintViolation",
        "evseId",
    )


@pytest.mark.parametrize(
    ("action", "payload", "field"),
    [
        ("StatusNotification", {**PAYLOADS["StatusNotification"], "evseId": 2**31}, "evseId"),
        ("StatusNotification", {**PAYLOADS["StatusNotification"], "connectorId": -1}, "connectorId"),
        ("NotifyReport", {**PAYLOADS["NotifyReport"], "requestId": 2**31}, "requestId"),
        (
            "NotifyReport",
            {
                **PAYLOADS["NotifyReport"],
                "reportData": [
                    {"component": {"name": "A"}, "variable": {"name": "B"}, "variableAttribute": [{"value": "1"}]},
                    {
                        "component": {"name": "A", "evse": {"id": 1, "connectorId": 2**40}},
                        "variable": {"name": "B"},
                        "variableAttribute": [{"value": "1"}],
                    },  # fmt: skip
                ],
            },
            "reportData.1.component.evse.connectorId",
        ),
        ("TransactionEvent", {**PAYLOADS["TransactionEvent"], "evse": {"id": -2}}, "evse.id"),
        ("TransactionEvent", {**PAYLOADS["TransactionEvent"], "seqNo": 2**63}, "seqNo"),
        (
            "TransactionEvent",
            {**PAYLOADS["TransactionEvent"], "transactionInfo": {"transactionId": "T", "remoteStartId": 2**31}},
            "transactionInfo.remoteStartId",
        ),
    ],
)
def test_a_schema_valid_integer_past_our_column_is_a_property_constraint_violation_naming_it(
    accepted: ChargePoint, action: str, payload: dict[str, Any], field: str
) -> None:
    # The official schema takes it (an unbounded integer); our column could not.
    get_validator(2, action, V201).validate(payload)
    assert refused(action, payload) == ("PropertyConstraintViolation", field)
    assert not Connector.objects.exists() and not DeviceVariable.objects.exists()
    assert not ChargerEvent.objects.exists()


def test_a_token_type_we_do_not_accept_passes_validation_to_reach_the_handler() -> None:
    cash = {"idToken": {"idToken": "COINS", "type": "Cash"}}
    validate(Kind.CALL, "Authorize", cash, V201)
    validate(Kind.CALL, "TransactionEvent", {**PAYLOADS["TransactionEvent"], "idToken": cash["idToken"]}, V201)
    # A type is still a short string.
    with pytest.raises(OcppError) as exc:
        validate(Kind.CALL, "Authorize", {"idToken": {"idToken": "X", "type": "T" * 21}}, V201)
    assert (exc.value.code, exc.value.details["field"]) == ("PropertyConstraintViolation", "idToken.type")
    # What the CSMS sends keeps the official enumeration.
    with pytest.raises(OcppError):
        validate(Kind.CALL, "RequestStartTransaction", {**cash, "remoteStartId": 1}, V201)
    # And the ocpp package's own validator (the simulator's) is untouched.
    with pytest.raises(Exception, match="Cash"):
        get_validator(2, "Authorize", V201).validate(cash)
    assert "enum" in get_validator(2, "Authorize", V201).schema["definitions"]["IdTokenEnumType"]


@pytest.mark.django_db
def test_a_cash_token_is_answered_by_the_handler_not_with_a_call_error(accepted: ChargePoint) -> None:
    if "Authorize" not in sessions.HANDLERS:
        pytest.skip("the sessions' handlers (protocols.v201.sessions) are not in yet")
    reply = handle("Authorize", {"idToken": {"idToken": "COINS", "type": "Cash"}})
    assert reply.kind == Kind.RESULT, (reply.error_code, reply.error_description)
    assert reply.payload["idTokenInfo"]["status"] in {"Invalid", "Unknown"}
    validate(Kind.RESULT, "Authorize", reply.payload, V201)


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["definitions"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def test_every_bound_names_an_integer_field_of_its_schema() -> None:
    for (kind, action), fields in errors.COLUMN_RANGES.items():
        schema = get_validator(kind, action, V201).schema
        for field, _ in fields:
            node: dict[str, Any] = schema
            for name in field.split("."):
                node = _resolve(schema, node["properties"][name])
            assert node["type"] == "integer", (action, field)
    for (kind, action), definitions in errors.DEFINITION_BOUNDS.items():
        schema = get_validator(kind, action, V201).schema
        for definition, properties in definitions.items():
            for field, (low, high) in properties.items():
                official = schema["definitions"][definition]["properties"][field]
                assert official["type"] == "integer", (action, definition, field)
                patched = schema_validator(kind, action, V201).schema
                assert isinstance(patched, dict)
                ours = patched["definitions"][definition]["properties"][field]
                assert (ours["minimum"], ours["maximum"]) == (low, high)
                assert "minimum" not in official  # the package's copy untouched


def test_no_2_0_1_schema_needs_decimal_numbers() -> None:
    """DECIMAL_SCHEMAS lists the schemas with ``multipleOf`` (validated with Decimal): 2.0.1 has none."""
    with_multiple_of = {
        path.name for path in actions.SCHEMAS.glob("*.json") if "multipleOf" in path.read_text(encoding="utf-8-sig")
    }
    assert with_multiple_of == set() and errors.DECIMAL_SCHEMAS == frozenset()
