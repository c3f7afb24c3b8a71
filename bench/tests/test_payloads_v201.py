"""The 2.0.1 bench station: every payload it sends or answers passes the official 2.0.1 schemas, its
transactions are well formed (one UUID, seqNo from 0), and the bench's reply check counts what it should."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import ocpp
import pytest

from bench import payloads_v201
from bench.loadgen import Charger, LoadGenerator, result_problem, summarize
from bench.mqtt import V201_TOPICS, Topics
from bench.payloads import CONNECTORS
from bench.payloads_v201 import SESSION_SCRIPT, ChargerScript
from bench.replies_v201 import CHARGER_RESULTS, charger_result, csms_result
from bench.responder import Responder
from bench.versions import V16, V201
from protocols.validation import Kind, validate

SCHEMAS = Path(ocpp.__file__).parent / "v201" / "schemas"
Sent = list[tuple[str, dict[str, Any]]]


@cache
def checker(name: str) -> Any:
    """jsonschema's validator for ``<name>.json`` with format checks (date-time), which ours skips."""
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def assert_valid(kind: Kind, action: str, payload: dict[str, Any]) -> None:
    validate(kind, action, payload, "2.0.1")  # raises OcppError, as the CSMS would answer it
    name = f"{action}Request" if kind == Kind.CALL else f"{action}Response"
    errors = [error.message for error in checker(name).iter_errors(payload)]
    assert not errors, f"{name}: {errors}"


def play(script: ChargerScript, calls: int) -> Sent:
    """Drive a station with the bare responder's replies and collect its Calls."""
    sent = []
    for _ in range(calls):
        action, payload = script.next_call()
        sent.append((action, payload))
        script.on_reply(action, csms_result(action, payload))
    return sent


def events(sent: Sent) -> list[dict[str, Any]]:
    return [payload for action, payload in sent if action == "TransactionEvent"]


def test_a_station_boots_then_reports_each_evse() -> None:
    sent = play(ChargerScript("bench-x-00001"), 1 + CONNECTORS)
    assert [action for action, _ in sent] == ["BootNotification"] + ["StatusNotification"] * CONNECTORS
    assert [payload["evseId"] for _, payload in sent[1:]] == list(range(1, CONNECTORS + 1))


@pytest.mark.parametrize("offset", range(len(SESSION_SCRIPT)))
def test_every_scripted_call_and_its_reply_pass_the_201_schemas(offset: int) -> None:
    sent = play(ChargerScript(f"bench-x-{offset:05d}", offset=offset), 1 + CONNECTORS + 3 * len(SESSION_SCRIPT))
    actions = {action for action, _ in sent}
    assert actions == {"BootNotification", "StatusNotification", "Heartbeat", "Authorize"} | {
        "TransactionEvent",
        "MeterValues",
    }
    assert {payload["eventType"] for payload in events(sent)} == {"Started", "Updated", "Ended"}
    for action, payload in sent:
        assert_valid(Kind.CALL, action, payload)
        assert_valid(Kind.RESULT, action, csms_result(action, payload))


def test_the_mix_is_the_16_one_step_for_step() -> None:
    from bench.payloads import SESSION_SCRIPT as V16_SCRIPT

    assert len(SESSION_SCRIPT) == len(V16_SCRIPT)
    kinds = Counter(step.partition(":")[0] for step in SESSION_SCRIPT)
    assert kinds["Heartbeat"] == V16_SCRIPT.count("Heartbeat") and kinds["Authorize"] == 1
    metering = SESSION_SCRIPT.count("TransactionEvent:Updated") + kinds["MeterValues"]
    assert metering == V16_SCRIPT.count("MeterValues")


def test_each_transaction_has_one_uuid_and_seqno_from_zero() -> None:
    sent = play(ChargerScript("bench-x-00002", offset=5), 1 + CONNECTORS + 4 * len(SESSION_SCRIPT))
    by_transaction: dict[str, list[dict[str, Any]]] = {}
    for payload in events(sent):
        by_transaction.setdefault(payload["transactionInfo"]["transactionId"], []).append(payload)
    assert len(by_transaction) >= 3
    for transaction_id, items in by_transaction.items():
        assert str(uuid.UUID(transaction_id)) == transaction_id
        assert [item["seqNo"] for item in items] == list(range(len(items)))
        # Steps of a transaction before the first Started (the offset) are skipped, never sent.
        assert items[0]["eventType"] == "Started"
    complete = list(by_transaction.values())[:-1]  # the last one may still run
    for items in complete:
        assert items[-1]["eventType"] == "Ended" and items[-1]["transactionInfo"]["stoppedReason"] == "Local"
        assert {item["eventType"] for item in items[1:-1]} == {"Updated"}
    started = complete[0][0]
    assert started["evse"] == {"id": 1, "connectorId": 1} and started["idToken"]["type"] == "ISO14443"
    assert started["meterValue"][0]["sampledValue"][0]["context"] == "Transaction.Begin"


def test_meter_values_carry_the_16_measurands_and_their_evse() -> None:
    sent = play(ChargerScript("bench-x-00003"), 1 + CONNECTORS + len(SESSION_SCRIPT))
    periodic = next(p for p in events(sent) if p["triggerReason"] == "MeterValuePeriodic")
    clock = next(payload for action, payload in sent if action == "MeterValues")
    for meter in (periodic["meterValue"][0], clock["meterValue"][0]):
        values = meter["sampledValue"]
        assert {v["measurand"] for v in values} == {
            "Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage", "SoC",
        }  # fmt: skip
        assert {v["phase"] for v in values if v["measurand"] == "Current.Import"} == {"L1", "L2", "L3"}
    assert clock["evseId"] == 1 and clock["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Clock"
    registers = [p["meterValue"][0]["sampledValue"][0]["value"] for p in events(sent) if "meterValue" in p]
    assert registers == sorted(registers) and registers[0] < registers[-1]


def test_a_started_without_a_callresult_is_forgotten() -> None:
    script = ChargerScript("bench-x-00004")
    sent: Sent = []
    for _ in range(1 + CONNECTORS + 2 * len(SESSION_SCRIPT)):
        action, payload = script.next_call()
        sent.append((action, payload))
        # every Started gets a CallError; everything else its CallResult
        started = action == "TransactionEvent" and payload["eventType"] == "Started"
        script.on_reply(action, None if started else csms_result(action, payload))
    sent_events = [payload["eventType"] for payload in events(sent)]
    assert len(sent_events) >= 2 and set(sent_events) == {"Started"}


def test_a_token_that_is_not_accepted_ends_the_transaction_deauthorized() -> None:
    script = ChargerScript("bench-x-00005")
    sent: Sent = []
    for _ in range(1 + CONNECTORS + len(SESSION_SCRIPT)):
        action, payload = script.next_call()
        sent.append((action, payload))
        reply = csms_result(action, payload)
        if "idTokenInfo" in reply:
            reply = {"idTokenInfo": {"status": "Blocked"}}
        script.on_reply(action, reply)
    started, ended = events(sent)[:2]
    assert started["eventType"] == "Started" and ended["eventType"] == "Ended"
    assert ended["triggerReason"] == "Deauthorized" and ended["transactionInfo"]["stoppedReason"] == "DeAuthorized"
    assert ended["seqNo"] == 1 and "idToken" not in ended
    assert_valid(Kind.CALL, "TransactionEvent", ended)


@pytest.mark.parametrize("action", sorted(CHARGER_RESULTS))
def test_station_answers_to_csms_calls_are_valid(action: str) -> None:
    result = charger_result(action, {})
    assert result is not None
    assert_valid(Kind.RESULT, action, result)


def test_station_answers_every_variable_it_is_asked_for() -> None:
    asked: list[dict[str, Any]] = [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
        {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Power"}, "attributeType": "Actual"},
    ]
    got = charger_result("GetVariables", {"getVariableData": asked})
    assert got is not None
    assert_valid(Kind.RESULT, "GetVariables", got)
    assert [(r["component"], r["variable"]) for r in got["getVariableResult"]] == [
        (a["component"], a["variable"]) for a in asked
    ]
    to_set = [{**item, "attributeValue": "1"} for item in asked]
    set_result = charger_result("SetVariables", {"setVariableData": to_set})
    assert set_result is not None
    assert_valid(Kind.RESULT, "SetVariables", set_result)
    assert charger_result("GetCertificateStatus", {}) is None  # a CSMS-bound action: NotSupported


def test_responder_answers_each_topic_in_its_version() -> None:
    v16, v201 = Topics(), V201_TOPICS
    responder = Responder([(v16, V16), (v201, V201)])
    assert sorted(responder.subscriptions) == ["ocpp/cp/+", "ocpp/v201/cp/+"]
    found = responder.route("ocpp/v201/cp/st-1")
    assert found is not None and found[0] == "st-1" and found[2] is V201
    found = responder.route("ocpp/cp/cp-1")
    assert found is not None and found[0] == "cp-1" and found[2] is V16
    assert responder.route("ocpp/v201/cp/st-1/Reply") is None
    _, payload = play(ChargerScript("bench-x-00006"), 1 + CONNECTORS + 4)[-1]
    assert payload["eventType"] == "Started"
    call = {"MessageTypeId": 2, "UniqueId": "9", "Action": "TransactionEvent", "Payload": payload}
    reply = json.loads(Responder.reply_to(json.dumps(call).encode(), V201) or b"null")
    assert reply["UniqueId"] == "9" and reply["Payload"] == {"idTokenInfo": {"status": "Accepted"}}
    assert_valid(Kind.RESULT, "TransactionEvent", reply["Payload"])


def test_result_problem_names_what_the_schema_refuses() -> None:
    assert result_problem("2.0.1", "TransactionEvent", {}) is None
    assert result_problem("2.0.1", "Authorize", {}) == "OccurrenceConstraintViolation"
    assert result_problem("2.0.1", "Authorize", {"idTagInfo": {"status": "Accepted"}}) is not None  # 1.6's shape
    assert result_problem("1.6", "Authorize", {"idTagInfo": {"status": "Accepted"}}) is None


def test_call_errors_and_invalid_results_are_counted_apart() -> None:
    gen = LoadGenerator("mqtt://unused", "bench-x-", V201_TOPICS, version=V201)
    cids = [f"bench-x-{n}" for n in range(3)]
    for cid in cids:
        gen.chargers[cid] = Charger(V201.script(cid, 0))
    frames = [
        {"MessageTypeId": 3, "Payload": {"currentTime": "2026-01-01T00:00:00Z", "interval": 300, "status": "Accepted"}},
        {"MessageTypeId": 4, "ErrorCode": "NotImplemented", "ErrorDescription": "", "ErrorDetails": {}},
        {"MessageTypeId": 3, "Payload": {"status": "Accepted"}},  # a BootNotificationResponse without its fields
    ]
    for cid, frame in zip(cids, frames, strict=True):
        prepared = gen._prepare(cid)
        assert prepared is not None and json.loads(prepared[1])["Action"] == "BootNotification"
        assert prepared[0] == f"ocpp/v201/cp/{cid}"
        assert gen._take_reply(cid, {**frame, "UniqueId": gen.chargers[cid].pending_uid})
    result = summarize(gen.stats, 0.0, 1.0)
    assert result["replies"] == 3
    assert result["call_errors_by_kind"] == {"BootNotification:NotImplemented": 1}
    assert result["invalid_replies_by_kind"] == {"BootNotification:OccurrenceConstraintViolation": 1}


def test_payloads_v201_builders_stay_within_the_column_sizes() -> None:
    boot = payloads_v201.boot_notification("bench-abcdef-bv-00001-with-a-long-tail")
    assert len(boot["chargingStation"]["serialNumber"]) <= 25
    assert_valid(Kind.CALL, "BootNotification", boot)
