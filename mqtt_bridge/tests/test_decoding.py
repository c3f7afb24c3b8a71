"""The bounded decoder at the edge (issue 14): whatever the bytes, a Frame or a Rejected, never an exception.

A fuzz run found frames that crashed the worker (nesting 500-950 deep), the bridge (nesting past
1,000, a 5,000-digit integer) or went unanswered (lone surrogates, ``1e999``, 100 KB payloads whose
id was readable, ``connectorId: -1`` answered InternalError after a check constraint). These are
its cases, and properties over any bytes and over payloads generated from the OCPP 1.6 schemas.
"""

from __future__ import annotations

import json
import pickle
from datetime import UTC
from functools import cache
from typing import Any

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import unique_cid
from mqtt_bridge import decoding, dialects
from mqtt_bridge.frames import Frame, Kind, Rejected, utcnow
from mqtt_bridge.models import MessageLog
from mqtt_bridge.tasks import handle_frames
from mqtt_bridge.topics import Route, TopicMatch
from protocols.v16.actions import CHARGER_ACTIONS as CHARGER_ACTIONS_16
from protocols.v16.actions import CSMS_ACTIONS as CSMS_ACTIONS_16
from protocols.validation import (
    _COLUMN_RANGES,
    OcppError,
    schema_validator,
    validate,
)

MAX_BYTES = 65536
BOUNDED = settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def decode(payload: bytes | str, *, max_bytes: int = MAX_BYTES, cid: str = "CP-1") -> Frame | Rejected:
    data = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
    match = TopicMatch(Route.CALL, cid)
    return dialects.decode(topic=f"ocpp/cp/{cid}", match=match, payload=data, received_at=utcnow(), max_bytes=max_bytes)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def data_transfer(data: str, message_id: str = "x", vendor: str = "v") -> str:
    """A DataTransfer Call whose ``data`` is written as is (raw JSON text)."""
    return f'[2,"{message_id}","DataTransfer",{{"vendorId":"{vendor}","data":{data}}}]'


def depth_of(value: Any) -> int:
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            pending += [(child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)]
    return deepest


def assert_well_formed(result: Frame | Rejected) -> None:
    """What every outcome of decode must be, for the bridge, Celery, the charger and PostgreSQL."""
    assert isinstance(result, Frame | Rejected)
    if isinstance(result, Rejected):
        stored = json.dumps(result.to_task(), ensure_ascii=False)
        assert "\\u0000" not in stored.replace("\\\\u0000", "")  # storable: NUL only as escaped text
        stored.encode()  # valid UTF-8: no lone surrogate in the raw text or the description
        if result.reply is not None:
            reply = result.reply
            assert reply.kind == Kind.ERROR and reply.message_id == result.message_id
            assert 0 < len(reply.message_id) <= 36 and reply.error_code
            json.loads(dialects.encode(reply))  # the charger can read it
        return
    task = result.to_task()
    dumped = json.dumps(task, ensure_ascii=False)
    dumped.encode()  # no lone surrogate reaches the worker
    assert "\\u0000" not in dumped.replace("\\\\u0000", "")  # no NUL reaches PostgreSQL
    pickle.dumps(task)  # nor a depth that kills the worker while pickling
    assert depth_of(result.payload) < django_settings.CSMS_MAX_JSON_DEPTH
    pending = [result.payload]
    while pending:
        item = pending.pop()
        if isinstance(item, dict | list):
            pending += item.values() if isinstance(item, dict) else item
        elif isinstance(item, float):
            assert item == item and abs(item) != float("inf")  # finite: jsonb takes it
        elif isinstance(item, int):
            assert -(2**63) <= item < 2**63  # exact, and fits bigint


# --- hostile frames: JSON with bad leaves, in both dialects, sometimes mutated ---------------------

_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([float("inf"), float("nan"), 2.0**64]),  # json.dumps writes Infinity and NaN
    st.text(max_size=20),
    st.lists(st.sampled_from(["a", "\x00", "\ud800", "\udfff", "\ud83d\ude00", "é", '"', "\\", "["]), max_size=5).map(
        "".join
    ),
)
_VALUES = st.recursive(
    _LEAVES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)
_MESSAGE_IDS = st.one_of(
    st.sampled_from(["m1", "3335862321", "x" * 36]), st.text(min_size=1, max_size=40), st.integers(), st.just("\ud800")
)


@st.composite
def hostile_frames(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from([2, 2, 2, 2, 3, 3, 4, 5, "2", True]))
    message_id = draw(_MESSAGE_IDS)
    action = draw(st.sampled_from(["Heartbeat", "DataTransfer", "StatusNotification", "MeterValues", "", "X" * 70]))
    payload = draw(_VALUES)
    depth = draw(st.sampled_from([0, 0, 0, 31, 33, 500, 1025, 5000]))
    if depth:  # json.dumps cannot write what the stdlib decoder cannot read: a marker, replaced below
        payload = {"data": "@@deep@@", **(payload if isinstance(payload, dict) else {})}
    if draw(st.booleans()):
        frame: Any = [kind, message_id, action, payload][: draw(st.integers(1, 5))]
    else:
        frame = {"MessageTypeId": kind, "UniqueId": message_id, "Action": action, "Payload": payload}
    text = json.dumps(frame, ensure_ascii=draw(st.booleans()))
    text = text.replace('"@@deep@@"', nested(depth))
    raw = text.encode("utf-8", "surrogatepass")  # a lone surrogate as bytes too (not UTF-8)
    mutation = draw(st.sampled_from(["none"] * 5 + ["truncate", "insert", "flip"]))
    if mutation == "truncate":
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif mutation == "insert":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(max_size=8)) + raw[at:]
    elif mutation == "flip" and raw:
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + bytes([raw[at] ^ draw(st.integers(1, 255))]) + raw[at + 1 :]
    return raw


@BOUNDED
@given(st.one_of(st.binary(max_size=300), hostile_frames()))
def test_any_bytes_decode_to_a_frame_or_a_rejection_never_an_exception(payload: bytes) -> None:
    assert_well_formed(decode(payload))
    assert_well_formed(decode(payload, max_bytes=256))  # the oversized path reads ids from the first bytes


@BOUNDED
@given(_VALUES, st.booleans())
def test_a_well_formed_call_with_any_values_is_a_safe_frame_or_answered(payload: Any, envelope: bool) -> None:
    """The Frame path: whatever the values (surrogates, NUL, huge or infinite numbers), a Frame is safe."""
    frame: Any = [2, "m1", "DataTransfer", {"vendorId": "v", "data": payload}]
    if envelope:
        frame = {"MessageTypeId": 2, "UniqueId": "m1", "Action": frame[2], "Payload": frame[3]}
    result = decode(json.dumps(frame))  # ASCII: a lone surrogate as the escape \udXXX
    assert_well_formed(result)
    if isinstance(result, Rejected):
        assert result.reply is not None and result.reply.message_id == "m1"


@BOUNDED
@given(st.one_of(st.binary(max_size=200), hostile_frames(), st.text(max_size=50)))
def test_loads_raises_nothing_but_decode_error(payload: bytes | str) -> None:
    try:
        decoding.loads(payload, max_bytes=MAX_BYTES)
    except decoding.DecodeError as exc:
        assert exc.reason and exc.description and exc.error_code("1.6") and exc.error_code("2.0.1")


@BOUNDED
@given(hostile_frames())
def test_a_call_refused_by_the_decoder_is_answered_exactly_when_its_id_is_readable(payload: bytes) -> None:
    try:
        decoding.loads(payload, max_bytes=MAX_BYTES)
    except decoding.DecodeError:
        result = decode(payload)
        assert isinstance(result, Rejected)
        readable = decoding.readable_call_id(payload)
        assert (result.reply is not None) == (readable is not None)
        if readable is not None and result.reply is not None:
            assert (result.reply.dialect, result.reply.message_id) == readable


# --- schema-generated payloads through validation ------------------------------------------------


def _schema_actions() -> list[tuple[Kind, str]]:
    """Calls a charger sends, results of Calls we send: what validate meets from chargers."""
    pairs = [(Kind.CALL, action) for action in sorted(CHARGER_ACTIONS_16)]
    pairs += [(Kind.RESULT, action) for action in sorted(CSMS_ACTIONS_16)]
    return [(kind, action) for kind, action in pairs if _schema(kind, action) is not None]


@cache
def _schema(kind: Kind, action: str) -> dict[str, Any] | None:
    try:
        schema = schema_validator(kind, action).schema
    except OSError:
        return None
    assert isinstance(schema, dict)  # jsonschema types a schema as a mapping or a bool; OCPP's are objects
    return schema


def _from_schema(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Payloads after a 1.6 schema (draft 04: objects, arrays, enums, lengths, date-times).

    Our own: hypothesis-jsonschema 0.23 does not run on this Hypothesis. Integers range far past
    every column, strings past their maxLength now and then, so both outcomes of validate occur.
    """
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type")
    if kind == "object":
        properties = node.get("properties", {})
        required = set(node.get("required", ()))
        return st.fixed_dictionaries(
            {name: _from_schema(sub) for name, sub in properties.items() if name in required},
            optional={name: _from_schema(sub) for name, sub in properties.items() if name not in required},
        )
    if kind == "array":
        return st.lists(_from_schema(node.get("items", {})), max_size=3)
    if kind == "string":
        if node.get("format") == "date-time":
            return st.datetimes(timezones=st.just(UTC)).map(lambda at: at.isoformat().replace("+00:00", "Z"))
        return st.text(max_size=node.get("maxLength", 30) + 2)
    if kind == "integer":
        return st.integers(-3, 10) | st.integers(-(2**64), 2**64)
    if kind == "number":
        return st.integers(-100, 100_000).map(lambda tenths: tenths / 10) | st.floats(
            allow_nan=False, allow_infinity=False
        )
    if kind == "boolean":
        return st.booleans()
    return _VALUES


@cache
def _payloads(kind: Kind, action: str) -> st.SearchStrategy[Any]:
    return _from_schema(_schema(kind, action) or {})


_SCHEMA_CASES = st.sampled_from(_schema_actions()).flatmap(
    lambda pair: st.tuples(st.just(pair), _payloads(*pair) | _VALUES)
)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(_SCHEMA_CASES)
def test_schema_generated_payloads_validate_or_raise_an_ocpp_error(case: tuple[tuple[Kind, str], Any]) -> None:
    (kind, action), payload = case
    try:
        validate(kind, action, payload)
    except OcppError as exc:
        assert exc.code and exc.description
    # The same payload from a charger, in a Call of either dialect: decoded within the limits.
    if kind == Kind.CALL:
        for frame in (
            [2, "m1", action, payload],
            {"MessageTypeId": 2, "UniqueId": "m1", "Action": action, "Payload": payload},
        ):
            assert_well_formed(decode(json.dumps(frame)))


def test_every_column_range_names_an_integer_field_of_its_schema() -> None:
    for (version, kind, action), fields in _COLUMN_RANGES.items():
        schema = schema_validator(kind, action, version).schema
        assert isinstance(schema, dict)
        for field, _ in fields:
            node = schema
            for name in field.split("."):
                node = node["properties"][name]
            assert node["type"] == "integer", (action, field)


# --- the fuzz run's cases ------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [500, 1_000, 100_000])
def test_a_deeply_nested_call_is_answered_with_a_formation_violation(depth: int) -> None:
    payload = data_transfer(nested(depth))
    rejected = decode(payload, max_bytes=len(payload))
    assert isinstance(rejected, Rejected) and rejected.reason == "too_deep"
    assert rejected.reply is not None and rejected.reply.message_id == "x"
    assert rejected.reply.error_code == "FormationViolation" and rejected.reply.dialect == "ocppj"
    # Under the default size limit the 100,000-deep one is oversized, and answered all the same.
    answered = decode(payload)
    assert isinstance(answered, Rejected) and answered.reply is not None
    assert answered.reason == ("too_deep" if len(payload) <= MAX_BYTES else "oversized")


def test_nesting_up_to_the_limit_is_a_frame_one_more_is_refused() -> None:
    limit = django_settings.CSMS_MAX_JSON_DEPTH
    # The envelope is one level, the Payload object another: `data` holds limit - 2 more.
    assert isinstance(decode(data_transfer(nested(limit - 2))), Frame)
    refused = decode(data_transfer(nested(limit - 1)))
    assert isinstance(refused, Rejected) and refused.reason == "too_deep"
    # Brackets inside strings are text, not nesting (the pre-scan must not count them).
    assert isinstance(decode(data_transfer(json.dumps("[" * 100 + '\\"{' * 50))), Frame)
    assert isinstance(decode(data_transfer(json.dumps([["[" * 40], {"k": "]" * 40}]))), Frame)


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("1" * 100_000, "number_too_large"),
        ("9" * 5_000, "number_too_large"),
        ("-" + "9" * 400, "number_too_large"),
        ("1" * 300, "number_too_large"),  # orjson would read it as a float: never silently altered
        (str(2**63), "number_too_large"),
        (str(-(2**63) - 1), "number_too_large"),
        ("1e999", "not_finite"),
        ("-1.5e400", "not_finite"),
    ],
)
def test_a_number_no_column_can_hold_is_answered_with_a_property_constraint_violation(number: str, reason: str) -> None:
    for vendor in ("v", "\u00e9t\u00e9 \u26a1"):  # characters of several bytes before the number
        payload = data_transfer(number, vendor=vendor)
        rejected = decode(payload, max_bytes=len(payload.encode()))
        assert isinstance(rejected, Rejected) and rejected.reason == reason
        assert rejected.reply is not None and rejected.reply.error_code == "PropertyConstraintViolation"
        assert len(rejected.reply.error_description) < 100  # a summary, not the digits


@pytest.mark.parametrize("number", [str(2**63 - 1), str(-(2**63)), "1" * 18, "1e308", "1." + "5" * 1000])
def test_numbers_within_64_bits_and_a_double_are_kept_exactly(number: str) -> None:
    frame = decode(data_transfer(number))
    assert isinstance(frame, Frame) and frame.payload["data"] == json.loads(number)
    assert type(frame.payload["data"]) is type(json.loads(number))
    # A run of 19 digits in a string (an ICCID) stays a string.
    boot = decode(
        '[2,"b","BootNotification",{"chargePointVendor":"v","chargePointModel":"m","iccid":"8944500102198304826"}]'
    )
    assert isinstance(boot, Frame) and boot.payload["iccid"] == "8944500102198304826"


@BOUNDED
@given(
    st.integers(-(2**80), 2**80) | st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64]),
    st.sampled_from(["{}", "[{}]", "[1, {}]", '{"a": {}}', '{"a":1,"b":{}}', '["x\\" 123", {}]', "[\n{}]"]),
    st.text(alphabet='0123456789 ,:[-"a', max_size=40),
)
def test_integers_are_kept_exactly_or_refused_wherever_they_stand(number: int, template: str, text: str) -> None:
    document = template.replace("{}", str(number)).replace('\\" 123', json.dumps(text)[1:-1])
    try:
        data = decoding.loads(document, max_bytes=MAX_BYTES)
    except decoding.DecodeError as exc:
        assert exc.reason == "number_too_large" and not -(2**63) <= number < 2**63
    else:
        assert -(2**63) <= number < 2**63 and str(number) in json.dumps(data)
        assert data == json.loads(document)  # digits in strings stay text


@pytest.mark.parametrize(
    "payload",
    [
        data_transfer('"a\\ud800b"'),
        data_transfer('"\\udfff"'),
        data_transfer('{"\\ud800": 1}'),
        '{"MessageTypeId": 2, "UniqueId": "x", "Action": "Authorize", "Payload": {"idTag": "\\udc00"}}',
        '{"MessageTypeId": 2, "UniqueId": "x", "Action": "Authorize", "Payload": {"\\ud800k": "t"}}',
    ],
)
def test_a_lone_surrogate_is_refused_and_answered_not_replaced(payload: str) -> None:
    rejected = decode(payload)
    assert isinstance(rejected, Rejected) and rejected.reason == "invalid_unicode"
    assert rejected.reply is not None and rejected.reply.error_code == "FormationViolation"
    assert rejected.reply.message_id == "x" and rejected.raw == payload  # kept as received (escaped text)


def test_a_surrogate_pair_is_unicode_and_decodes() -> None:
    frame = decode(data_transfer('"\\ud83d\\ude00"'))
    assert isinstance(frame, Frame) and frame.payload["data"] == "\U0001f600"


def test_a_lone_surrogate_in_a_str_given_to_loads_is_a_decode_error() -> None:
    with pytest.raises(decoding.DecodeError) as caught:
        decoding.loads('["\ud800"]')
    assert caught.value.reason == "invalid_unicode"


def test_nan_and_infinity_literals_are_not_json() -> None:
    for literal in ("NaN", "Infinity", "-Infinity"):
        rejected = decode(data_transfer(literal))
        assert isinstance(rejected, Rejected) and rejected.reason == "not_json"
        assert rejected.reply is not None and rejected.reply.error_code == "FormationViolation"


@pytest.mark.parametrize("dialect", ["ocppj", "emqx"])
def test_a_100_kb_call_with_a_readable_id_is_answered(dialect: str) -> None:
    data = "z" * 100_000
    if dialect == "ocppj":
        payload = json.dumps([2, "big-1", "DataTransfer", {"vendorId": "v", "data": data}])
    else:
        payload = json.dumps(
            {
                "MessageTypeId": 2,
                "UniqueId": "big-1",
                "Action": "DataTransfer",
                "Payload": {"vendorId": "v", "data": data},
            }
        )
    rejected = decode(payload)
    assert isinstance(rejected, Rejected) and rejected.reason == "oversized"
    assert rejected.reply is not None and rejected.reply.error_code == "FormationViolation"
    assert (rejected.reply.message_id, rejected.reply.dialect) == ("big-1", dialect)
    assert rejected.size == len(payload) and len(rejected.raw) == MAX_BYTES


@pytest.mark.parametrize(
    "payload",
    [
        json.dumps([3, "r-1", {"data": "z" * 100_000}]),
        json.dumps([4, "r-1", "GenericError", "z" * 100_000, {}]),
        json.dumps({"MessageTypeId": 3, "UniqueId": "r-1", "Payload": {"data": "z" * 100_000}}),
        json.dumps(
            {"MessageTypeId": 4, "UniqueId": "r-1", "ErrorCode": "GenericError", "ErrorDescription": "z" * 100_000}
        ),
        json.dumps([3, "r-1", {"data": json.loads(nested(40))}]),
        '[3, "r-1", {"a": 1e999}]',
        '{"MessageTypeId": 3, "UniqueId": "r-1", "Payload": {"a": "\\ud800"}}',
    ],
)
def test_a_result_or_error_failing_a_limit_is_kept_with_its_id_and_never_answered(payload: str) -> None:
    rejected = decode(payload)
    assert isinstance(rejected, Rejected) and rejected.reply is None
    assert rejected.message_id == "r-1"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'[2, "m1", "X", {', ("ocppj", "m1")),
        (b' \n[ 2 ,"m\\u00e9"', ("ocppj", "m\u00e9")),
        (b'{"MessageTypeId": 2, "UniqueId": "e1", "Action": "A", "Payload": {"x"', ("emqx", "e1")),
        (b'{"Action": "A", "UniqueId": "e1", "MessageTypeId": 2, "Payload": {', ("emqx", "e1")),
        # A UniqueId inside the payload is not the message's.
        (b'{"MessageTypeId": 2, "Payload": {"UniqueId": "inner"}, "UniqueId": "e1"}', None),
        # The longest envelope head: an id of 36 escaped characters and a 64-character action, any key order.
        (
            b'{"Action": "'
            + b"A" * 64
            + b'", "MessageTypeId": 2, "UniqueId": "'
            + b"\\u00e9" * 36
            + b'", "Payload": {',
            ("emqx", "\u00e9" * 36),
        ),
        (b'[3, "r1", {', None),
        (b'{"MessageTypeId": 4, "UniqueId": "r1"', None),
        (b'{"MessageTypeId": 2.0, "UniqueId": "e1"', None),
        (b'{"MessageTypeId": "2", "UniqueId": "e1"', None),
        (b'[2, "' + b"x" * 37 + b'"', None),  # longer than OCPP allows: not an id we can answer to
        (b'[2, "\\ud800"', None),
        (b'[2, "a\\u0000"', None),
        (b'[2, ""', None),
        (b"\xff\xfe[\x002", None),
    ],
)
def test_readable_call_id_reads_only_a_calls_own_id(head: bytes, expected: tuple[str, str] | None) -> None:
    assert decoding.readable_call_id(head) == expected


@pytest.mark.django_db
def test_column_range_violations_are_answered_property_constraint_violation_and_their_batch_is_applied() -> None:
    """Before: connectorId -1 failed a check constraint and was answered InternalError; 2**40 failed its wave."""
    cid = unique_cid()
    calls = [
        json.dumps(
            [2, "neg", "StatusNotification", {"connectorId": -1, "errorCode": "NoError", "status": "Available"}]
        ),
        json.dumps(
            [2, "huge", "StatusNotification", {"connectorId": 2**40, "errorCode": "NoError", "status": "Available"}]
        ),
        json.dumps(
            [
                2,
                "start",
                "StartTransaction",
                {
                    "connectorId": 1,
                    "idTag": "T1",
                    "meterStart": 0,
                    "timestamp": "2026-11-24T00:00:00Z",
                    "reservationId": 2**40,
                },
            ]
        ),
        json.dumps([2, "ok", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}]),
        json.dumps([2, "hb", "Heartbeat", {}]),
    ]
    items = []
    for payload in calls:
        frame = decode(payload, cid=cid)
        assert isinstance(frame, Frame)  # the decoder lets them through: the columns are validation's
        items.append({"frame": frame.to_task()})
    handle_frames.run(items)
    replies = MessageLog.objects.filter(charge_point_id=cid, direction=MessageLog.Direction.OUT)
    answered = {row.message_id: row.error_code for row in replies}
    assert answered == {
        "neg": "PropertyConstraintViolation",
        "huge": "PropertyConstraintViolation",
        "start": "PropertyConstraintViolation",
        "ok": "",
        "hb": "",
    }
    descriptions = {row.message_id: row.error_description for row in replies}
    assert "connectorId" in descriptions["neg"] and "reservationId" in descriptions["start"]


def test_a_decimal_schema_cached_with_floats_by_someone_else_still_validates() -> None:
    """ocpp's get_validator caches one validator per schema, whatever ``parse_float`` asked for it.

    Found by the schema property test: once something had asked for GetCompositeSchedule's
    schema with floats, a result with a ``limit`` raised TypeError (Decimal / float) in jsonschema.
    """
    from ocpp import messages

    from protocols import validation

    key = "GetCompositeScheduleResponse_1.6"
    saved = (
        messages._validators.pop(key, None),
        validation._validators.pop((Kind.RESULT, "GetCompositeSchedule", "1.6"), None),
    )
    try:
        messages.get_validator(int(Kind.RESULT), "GetCompositeSchedule", "1.6")  # floats, cached for all
        period: dict[str, Any] = {"startPeriod": 0, "limit": 21.4}
        schedule = {"chargingRateUnit": "W", "chargingSchedulePeriod": [period]}
        validate(Kind.RESULT, "GetCompositeSchedule", {"status": "Accepted", "chargingSchedule": schedule})
        with pytest.raises(OcppError):
            period["limit"] = 21.45
            validate(Kind.RESULT, "GetCompositeSchedule", {"status": "Accepted", "chargingSchedule": schedule})
    finally:
        messages._validators.pop(key, None)
        validation._validators.pop((Kind.RESULT, "GetCompositeSchedule", "1.6"), None)
        if saved[0] is not None:
            messages._validators[key] = saved[0]
        if saved[1] is not None:
            validation._validators[(Kind.RESULT, "GetCompositeSchedule", "1.6")] = saved[1]


@pytest.mark.parametrize(("limit", "valid"), [(1e300, True), (1.7976931348623157e308, True), (21.45, False)])
def test_a_huge_number_in_a_decimal_schema_is_validated_not_an_exception(limit: float, valid: bool) -> None:
    """Found by the schema property test: multipleOf 0.1 on 1e300 raised decimal's DivisionImpossible."""
    schedule = {"chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}
    payload = {"status": "Accepted", "chargingSchedule": schedule}
    if valid:
        validate(Kind.RESULT, "GetCompositeSchedule", payload)
    else:
        with pytest.raises(OcppError):
            validate(Kind.RESULT, "GetCompositeSchedule", payload)
