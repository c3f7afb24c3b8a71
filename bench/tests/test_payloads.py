"""Every payload the benchmark sends or answers is valid against the official OCPP 1.6 schemas."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import ocpp
import pytest

from bench.payloads import CONNECTORS, SESSION_SCRIPT, ChargerScript
from bench.replies import CHARGER_RESULTS, charger_result, csms_result
from bench.responder import Responder

SCHEMAS = Path(ocpp.__file__).parent / "v16" / "schemas"


@cache
def validator(name: str) -> jsonschema.Draft4Validator:
    """A draft-4 validator (with format checks) for ``<name>.json``."""
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def assert_valid(name: str, payload: dict[str, Any]) -> None:
    errors = [error.message for error in validator(name).iter_errors(payload)]
    assert not errors, f"{name}: {errors}"


def play(script: ChargerScript, calls: int) -> list[tuple[str, dict[str, Any]]]:
    """Drive a charger with the bare responder's replies and collect its Calls."""
    sent = []
    for _ in range(calls):
        action, payload = script.next_call()
        sent.append((action, payload))
        script.on_reply(action, csms_result(action, payload))
    return sent


def test_a_charger_boots_then_reports_each_connector() -> None:
    actions = [action for action, _ in play(ChargerScript("bench-x-00001"), 1 + CONNECTORS)]
    assert actions == ["BootNotification"] + ["StatusNotification"] * CONNECTORS


def test_every_scripted_call_and_its_reply_are_valid() -> None:
    sent = play(ChargerScript("bench-x-00002", offset=3), 1 + CONNECTORS + 3 * len(SESSION_SCRIPT))
    actions = {action for action, _ in sent}
    assert {"Heartbeat", "Authorize", "StartTransaction", "MeterValues", "StopTransaction"} <= actions
    for action, payload in sent:
        assert_valid(action, payload)
        assert_valid(f"{action}Response", csms_result(action, payload))


def test_meter_values_carry_several_measurands_and_the_transaction() -> None:
    sent = play(ChargerScript("bench-x-00003"), 1 + CONNECTORS + len(SESSION_SCRIPT))
    meter = next(payload for action, payload in sent if action == "MeterValues")
    start_reply_ids = {payload["transactionId"] for action, payload in sent if action == "StopTransaction"}
    measurands = {value["measurand"] for value in meter["meterValue"][0]["sampledValue"]}
    assert measurands == {"Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage", "SoC"}
    assert meter["transactionId"] in start_reply_ids


def test_without_an_accepted_start_no_transaction_messages_are_sent() -> None:
    script = ChargerScript("bench-x-00004")
    for _ in range(1 + CONNECTORS + 2 * len(SESSION_SCRIPT)):
        action, _payload = script.next_call()
        assert action not in ("MeterValues", "StopTransaction")
        script.on_reply(action, None)  # every reply is a CallError


@pytest.mark.parametrize("action", sorted(CHARGER_RESULTS))
def test_charger_answers_to_csms_calls_are_valid(action: str) -> None:
    result = charger_result(action)
    assert result is not None
    assert_valid(f"{action}Response", result)


def test_responder_answers_a_call_and_ignores_the_rest() -> None:
    call = {"MessageTypeId": 2, "UniqueId": "7", "Action": "Heartbeat", "Payload": {}}
    reply = json.loads(Responder.reply_to(json.dumps(call).encode()) or b"null")
    assert reply["MessageTypeId"] == 3 and reply["UniqueId"] == "7"
    assert_valid("HeartbeatResponse", reply["Payload"])
    assert Responder.reply_to(b"not json") is None
    assert Responder.reply_to(b'{"MessageTypeId": 3, "UniqueId": "7", "Payload": {}}') is None
