"""OCPP 2.1's framing on the bridge: SEND (6) and CALLRESULTERROR (5) read on a 2.1 route, never answered
(a malformed one included: refused, logged, counted), unknown types on the routes of older versions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from backoffice import metrics
from mqtt_bridge import dialects, tasks
from mqtt_bridge.frames import Frame, Kind, Rejected, utcnow
from mqtt_bridge.models import MessageLog
from mqtt_bridge.processing import rejected_record
from mqtt_bridge.topics import V21_SPEC, Route, RouteSpec, TopicMatch, Topics

V21 = TopicMatch(Route.CALL, "CS-21", spec=V21_SPEC)
V21_REPLY = TopicMatch(Route.REPLY, "CS-21", spec=V21_SPEC)
V201 = TopicMatch(Route.CALL, "CS-21", spec=RouteSpec(dialects=("emqx", "ocppj"), ocpp_version="2.0.1"))
V16 = TopicMatch(Route.CALL, "CS-21", spec=RouteSpec(dialects=("emqx", "ocppj"), ocpp_version="1.6"))

NOTIFY = {"id": 1, "pending": 0, "basetime": "2026-12-01T10:00:00Z", "data": [{"t": 0, "v": "1.5"}]}


def decode(payload: Any, match: TopicMatch = V21) -> Frame | Rejected:
    raw = payload if isinstance(payload, str) else json.dumps(payload)
    return dialects.decode(topic="t/CS-21", match=match, payload=raw.encode(), received_at=utcnow(), max_bytes=4096)


@pytest.mark.parametrize(
    "payload",
    [
        [6, "s-1", "NotifyPeriodicEventStream", NOTIFY],
        {"MessageTypeId": 6, "UniqueId": "s-1", "Action": "NotifyPeriodicEventStream", "Payload": NOTIFY},
    ],
)
def test_a_send_is_read_on_a_2_1_route(payload: Any) -> None:
    frame = decode(payload)
    assert isinstance(frame, Frame)
    assert (frame.kind, frame.message_id, frame.action, frame.payload, frame.ocpp_version) == (
        Kind.SEND,
        "s-1",
        "NotifyPeriodicEventStream",
        NOTIFY,
        "2.1",
    )


@pytest.mark.parametrize(
    "payload",
    [
        [5, "r-1", "FormatViolation", "bad currentTime", {"field": "currentTime"}],
        {
            "MessageTypeId": 5,
            "UniqueId": "r-1",
            "ErrorCode": "FormatViolation",
            "ErrorDescription": "bad currentTime",
            "ErrorDetails": {"field": "currentTime"},
        },  # fmt: skip
    ],
)
def test_a_callresulterror_is_read_on_a_2_1_route(payload: Any) -> None:
    frame = decode(payload, V21_REPLY)
    assert isinstance(frame, Frame)
    assert (frame.kind, frame.message_id, frame.error_code, frame.error_description, frame.error_details) == (
        Kind.RESULT_ERROR,
        "r-1",
        "FormatViolation",
        "bad currentTime",
        {"field": "currentTime"},
    )


@pytest.mark.parametrize(
    "payload",
    [
        [6, "s-1", "NotifyPeriodicEventStream"],  # no payload
        [6, "s-1", "NotifyPeriodicEventStream", []],  # a payload that is no object
        [6, "s-1", 17, {}],  # no action
        [6, "s-1", "X" * 70, {}],  # an action too long to be one
        [6, 17, "NotifyPeriodicEventStream", {}],  # an id that is no string
        [6, "x" * 40, "NotifyPeriodicEventStream", {}],  # an id too long
        [6],
        [5, "r-1"],
        [5, 9, "FormatViolation", ""],
        {"MessageTypeId": 6, "UniqueId": "s-1", "Action": "NotifyPeriodicEventStream"},
        {"MessageTypeId": 6, "UniqueId": 7, "Action": "NotifyPeriodicEventStream", "Payload": {}},
        '[6, "s-1", "NotifyPeriodicEventStream", {"id": 1e999}]',  # refused by the decoder
        '[6, "s-1", "NotifyPeriodicEventStream", {"v": "' + "x" * 5000 + '"}]',  # oversized
    ],
)
def test_a_malformed_send_or_callresulterror_is_refused_and_never_answered(payload: Any) -> None:
    rejected = decode(payload)
    assert isinstance(rejected, Rejected)
    assert rejected.reply is None


def test_a_refused_send_is_one_log_line_counted_and_kept(db: None, caplog: pytest.LogCaptureFixture) -> None:
    rejected = decode([6, "s-9", "NotifyPeriodicEventStream"])
    assert isinstance(rejected, Rejected)
    before = _counted("csms_frames_rejected_total")
    assert rejected_record(rejected) is None
    assert _counted("csms_frames_rejected_total") == before + 1
    row = MessageLog.objects.get(message_id="s-9")
    assert (row.direction, row.kind) == ("in", "invalid")
    assert MessageLog.objects.count() == 1  # nothing went out
    lines = [record for record in caplog.records if "rejected frame" in record.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None


def _counted(name: str) -> int:
    return sum(int(value) for value in metrics.get_redis().hgetall(metrics.COUNTER_PREFIX + name).values())


@pytest.mark.parametrize("match", [V201, V16])
def test_types_5_and_6_are_unknown_before_2_1(match: TopicMatch) -> None:
    for payload in ([6, "s-1", "NotifyPeriodicEventStream", NOTIFY], [5, "r-1", "FormatViolation", "", {}]):
        rejected = decode(payload, match)
        assert isinstance(rejected, Rejected)
        if match.spec.ocpp_version == "1.6":
            assert rejected.reply is None  # 1.6 has no code for it: dropped, as any unknown type
        else:
            assert rejected.reply is not None
            assert (rejected.reply.message_id, rejected.reply.error_code) == (payload[1], "MessageTypeNotSupported")


def test_2_1_answers_unreadable_calls_as_2_0_1_does() -> None:
    rejected = decode("not json")
    assert isinstance(rejected, Rejected) and rejected.reply is not None
    assert (rejected.reply.message_id, rejected.reply.error_code, rejected.reply.ocpp_version) == (
        "-1",
        "RpcFrameworkError",
        "2.1",
    )
    unknown = decode([7, "m-1", "Heartbeat", {}])
    assert isinstance(unknown, Rejected) and unknown.reply is not None
    assert unknown.reply.error_code == "MessageTypeNotSupported"
    bad = decode([2, "m-2", "Heartbeat", []])
    assert isinstance(bad, Rejected) and bad.reply is not None and bad.reply.error_code == "FormatViolation"


def test_the_2_1_route_comes_from_its_topics() -> None:
    topics = Topics(
        call="ocpp/cp/{cid}",
        reply="ocpp/cp/{cid}/Reply",
        downstream="ocpp/cs/{cid}",
        call_v21="ocpp/v21/cp/{cid}",
        reply_v21="ocpp/v21/cp/{cid}/Reply",
    )
    call, reply = topics.match("ocpp/v21/cp/CS-21"), topics.match("ocpp/v21/cp/CS-21/Reply")
    assert call is not None and (call.route, call.spec.ocpp_version) == (Route.CALL, "2.1")
    assert reply is not None and (reply.route, reply.spec.ocpp_version) == (Route.REPLY, "2.1")
    off = Topics(call="ocpp/cp/{cid}", reply="ocpp/cp/{cid}/Reply", downstream="ocpp/cs/{cid}", call_v21="")
    assert off.match("ocpp/v21/cp/CS-21") is None


def test_sends_and_callresulterrors_are_runs_of_their_own_and_get_no_reply(db: None) -> None:
    items = [
        {"frame": _task(Kind.CALL, "c-1", action="Heartbeat", payload={})},
        {"frame": _task(Kind.SEND, "s-1", action="NotifyPeriodicEventStream", payload=NOTIFY)},
        {"frame": _task(Kind.SEND, "s-2", action="NotifyPeriodicEventStream", payload=NOTIFY)},
        {"frame": _task(Kind.RESULT_ERROR, "c-1", error_code="InternalError")},
    ]
    runs = tasks._runs(items)
    assert [len(run) for run in runs] == [1, 2, 1]
    replies = [reply for run in runs for reply in tasks._handle_run(run)]
    # The Heartbeat is answered (its charger unknown here: not yet accepted); nothing else is.
    assert [reply.message_id for reply in replies] == ["c-1"]
    kinds = sorted(MessageLog.objects.filter(direction="in").values_list("kind", flat=True))
    assert kinds == ["call", "result_error", "send", "send"]


def _task(kind: Kind, message_id: str, **fields: Any) -> dict[str, Any]:
    frame = Frame(
        charge_point_id="CS-21", kind=kind, message_id=message_id, ocpp_version="2.1", received_at=utcnow(), **fields
    )
    return frame.to_task()
