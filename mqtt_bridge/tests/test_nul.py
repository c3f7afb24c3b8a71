"""Input PostgreSQL cannot store as is (the NUL character, an action name past our columns) never reaches the database.

Before the fix a Call holding ``\\u0000`` decoded into a Frame, failed the write of its wave, was
retried alone, failed again and was lost without an answer; garbage with a NUL byte failed in the
message log.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from backoffice import metrics
from conftest import unique_cid
from mqtt_bridge import dialects
from mqtt_bridge.frames import Frame, Kind, Rejected, utcnow
from mqtt_bridge.models import InboundCall, MessageLog
from mqtt_bridge.tasks import handle_frames
from mqtt_bridge.topics import Route, TopicMatch

NUL = "\x00"


def decode(payload: bytes | str, cid: str = "CP-1", max_bytes: int = 65536) -> Frame | Rejected:
    data = payload.encode() if isinstance(payload, str) else payload
    match = TopicMatch(Route.CALL, cid)
    return dialects.decode(topic=f"ocpp/cp/{cid}", match=match, payload=data, received_at=utcnow(), max_bytes=max_bytes)


def envelope(kind: int, message_id: str, **fields: Any) -> str:
    return json.dumps({"MessageTypeId": kind, "UniqueId": message_id, **fields})


@pytest.mark.parametrize(
    ("payload", "dialect"),
    [
        (json.dumps([2, "m1", "Heartbeat", {"x": f"a{NUL}b"}]), "ocppj"),
        (json.dumps([2, "m1", "DataTransfer", {"vendorId": "v", "data": [{"deep": [NUL]}]}]), "ocppj"),
        (json.dumps([2, "m1", f"Heart{NUL}beat", {}]), "ocppj"),
        (envelope(2, "m1", Action="Heartbeat", Payload={"x": f"a{NUL}b"}), "emqx"),
        (envelope(2, "m1", Action="Heartbeat", Payload={f"k{NUL}": 1}), "emqx"),
        (envelope(2, "m1", Action=f"Heart{NUL}beat", Payload={}), "emqx"),
    ],
)
def test_a_call_holding_nul_is_answered_with_a_formation_violation(payload: str, dialect: str) -> None:
    assert "\\u0000" in payload  # how JSON writes NUL
    rejected = decode(payload)
    assert isinstance(rejected, Rejected)
    assert (rejected.reason, rejected.message_id, rejected.charge_point_id) == ("nul_character", "m1", "CP-1")
    assert rejected.reply is not None
    assert (rejected.reply.kind, rejected.reply.message_id, rejected.reply.dialect) == (Kind.ERROR, "m1", dialect)
    assert rejected.reply.error_code == "FormationViolation"
    assert "NUL" in rejected.reply.error_description and NUL not in rejected.reply.error_description
    assert rejected.raw == payload  # the escape is storable text: the raw message is kept as received
    # The encoded answer is what the charger reads, in its own dialect.
    answer = json.loads(dialects.encode(rejected.reply))
    if dialect == "ocppj":
        assert answer[:3] == [4, "m1", "FormationViolation"]
    else:
        assert (answer["MessageTypeId"], answer["UniqueId"], answer["ErrorCode"]) == (4, "m1", "FormationViolation")
    # An escaped backslash followed by "u0000" is six ordinary characters, not a NUL.
    assert isinstance(decode(payload.replace("\\u0000", "\\\\u0000")), Frame)


@pytest.mark.parametrize(
    "payload",
    [
        json.dumps([3, "r1", {"status": f"Accep{NUL}ted"}]),
        json.dumps([4, "r1", "GenericError", f"bo{NUL}om", {}]),
        json.dumps([4, "r1", "GenericError", "boom", {"why": NUL}]),
        envelope(3, "r1", Payload={"status": f"Accep{NUL}ted"}),
        envelope(4, "r1", ErrorCode=f"Generic{NUL}Error", ErrorDescription="boom"),
    ],
)
def test_a_result_or_error_holding_nul_is_rejected_and_not_answered(payload: str) -> None:
    rejected = decode(payload)
    assert isinstance(rejected, Rejected)
    assert (rejected.reason, rejected.message_id, rejected.reply) == ("nul_character", "r1", None)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\x00\x00\x00", "not_json"),
        (b"abc\x00def", "not_json"),
        (json.dumps([2, f"m{NUL}1", "Heartbeat", {}]), "nul_character"),  # no readable id: no answer
        (json.dumps([NUL, "m1", "Heartbeat", {}]), "nul_character"),
        (json.dumps({"x": NUL}), "nul_character"),
        (json.dumps(NUL), "nul_character"),
    ],
)
def test_garbage_holding_nul_is_rejected_with_storable_raw_text(payload: bytes | str, reason: str) -> None:
    rejected = decode(payload)
    assert isinstance(rejected, Rejected)
    assert (rejected.reason, rejected.reply, rejected.message_id) == (reason, None, "")
    assert NUL not in rejected.raw and NUL not in rejected.description
    assert "\\u0000" in rejected.raw


def test_a_call_with_a_raw_nul_byte_is_not_json_and_answered_when_its_id_is_readable() -> None:
    # A raw control character is not JSON; the Call's id is still readable from its first bytes.
    rejected = decode(b'[2, "m1", "Heartbeat", {"x": "a\x00b"}]')
    assert isinstance(rejected, Rejected) and (rejected.reason, rejected.message_id) == ("not_json", "m1")
    assert rejected.reply is not None and rejected.reply.error_code == "FormationViolation"
    assert NUL not in rejected.raw and NUL not in rejected.reply.error_description


def test_an_oversized_payload_with_nul_bytes_keeps_storable_raw_text() -> None:
    rejected = decode(b"\x00" * 300, max_bytes=256)
    assert isinstance(rejected, Rejected) and rejected.reason == "oversized"
    assert rejected.raw == "\\u0000" * 256


def test_a_utf16_payload_is_not_json() -> None:
    # OCPP-J is UTF-8. The stdlib decoder guessed UTF-16 and UTF-32 (where the NUL escape is not the
    # bytes b"\\u0000"); the bounded decoder refuses them, so a NUL cannot hide in one either.
    rejected = decode(json.dumps([2, "m1", "Heartbeat", {"x": NUL}]).encode("utf-16"))
    assert isinstance(rejected, Rejected) and rejected.reason == "not_json" and rejected.reply is None
    assert NUL not in rejected.raw


def test_a_rejection_built_elsewhere_is_storable_and_survives_the_task_round_trip() -> None:
    rejected = Rejected(reason="bad_topic", description=f"topic {NUL}", topic="x", raw=f"a{NUL}b")
    assert (rejected.raw, rejected.description) == ("a\\u0000b", "topic \\u0000")
    assert Rejected.from_task(json.loads(json.dumps(rejected.to_task()))) == rejected


def rejected_count(reason: str) -> float:
    for family in text_string_to_metric_families(metrics.render().decode()):
        if family.name == "csms_frames_rejected":
            for sample in family.samples:
                if sample.name == "csms_frames_rejected_total" and sample.labels.get("reason") == reason:
                    return sample.value
    return 0.0


@pytest.mark.django_db
def test_a_batch_with_nul_frames_is_stored_and_nothing_is_lost() -> None:
    """The worker's task, as the bridge feeds it: every message lands in the message log in PostgreSQL."""
    cid, other = unique_cid(), unique_cid()
    messages: list[tuple[str, bytes | str]] = [
        (cid, json.dumps([2, "ok-1", "Heartbeat", {}])),
        (cid, json.dumps([2, "nul-1", "Heartbeat", {"x": f"a{NUL}b"}])),
        (other, envelope(2, "ok-2", Action="Heartbeat", Payload={})),
        (other, envelope(2, "nul-2", Action="DataTransfer", Payload={"vendorId": NUL})),
        (cid, json.dumps([3, "nul-3", {"status": NUL}])),
        (cid, b"\xff\x00garbage\x00"),
        (cid, json.dumps([2, "ok-3", "Heartbeat", {}])),
    ]
    items = []
    for charger, payload in messages:
        decoded = decode(payload, cid=charger)
        items.append({"rejected": decoded.to_task()} if isinstance(decoded, Rejected) else {"frame": decoded.to_task()})
    before = rejected_count("nul_character"), rejected_count("not_json")

    handle_frames(items)

    # The healthy Calls around them were applied and answered once.
    answered = InboundCall.objects.filter(charge_point_id__in=[cid, other])
    assert set(answered.values_list("message_id", flat=True)) == {"ok-1", "ok-2", "ok-3"}
    log = MessageLog.objects.filter(charge_point_id__in=[cid, other])
    assert set(log.filter(direction="out", kind="result").values_list("message_id", flat=True)) == {
        "ok-1",
        "ok-2",
        "ok-3",
    }
    # The Calls holding NUL were answered with a FormationViolation, logged as invalid with their raw text.
    errors = log.filter(direction="out", kind="error")
    assert set(errors.values_list("message_id", "error_code")) == {
        ("nul-1", "FormationViolation"),
        ("nul-2", "FormationViolation"),
    }
    invalid = {row.message_id: row for row in log.filter(kind="invalid")}
    assert set(invalid) == {"nul-1", "nul-2", "nul-3", ""}
    assert invalid["nul-1"].raw == messages[1][1] and invalid["nul-1"].error_code == "nul_character"
    assert invalid[""].raw == "\ufffd\\u0000garbage\\u0000" and invalid[""].error_code == "not_json"
    assert all(NUL not in row.raw for row in invalid.values())
    assert rejected_count("nul_character") >= before[0] + 3
    assert rejected_count("not_json") >= before[1] + 1


@pytest.mark.django_db
def test_a_presence_event_holding_nul_is_rejected_and_kept_as_storable_text() -> None:
    # Presence events go through the bounded decoder too (the bridge), which refuses NUL.
    from mqtt_bridge.ingest import Ingest

    cid = unique_cid()
    payload = json.dumps({"clientid": cid, "reason": f"kicked{NUL}out", "disconnected_at": 1_790_000_000_000})
    item = Ingest().presence(f"ocpp/presence/{cid}/disconnected", cid, False, payload.encode(), utcnow())
    handle_frames.run([item])
    row = MessageLog.objects.get(charge_point_id=cid, kind=MessageLog.Kind.INVALID)
    assert row.error_code == "bad_presence" and row.raw == payload


@pytest.mark.django_db
def test_a_call_with_an_overlong_action_is_answered_and_stored() -> None:
    cid = unique_cid()
    rejected = decode(json.dumps([2, "long-1", "A" * 100, {}]), cid=cid)
    assert isinstance(rejected, Rejected)
    handle_frames.run(
        [{"rejected": rejected.to_task()}, {"frame": decode('[2, "hb-1", "Heartbeat", {}]', cid=cid).to_task()}]
    )
    assert (
        MessageLog.objects.get(charge_point_id=cid, message_id="long-1", direction="out").error_code == "NotImplemented"
    )
    assert InboundCall.objects.filter(charge_point_id=cid, message_id="hb-1").exists()
