"""Pure translation rules (no I/O)."""

from __future__ import annotations

import pytest

from gateway import protocol


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/ocpp/CP1", "CP1"),
        ("/ocpp/CP%201?x=1", "CP 1"),
        ("/ocpp/" + "x" * 48, "x" * 48),
        ("/ocpp/" + "x" * 49, None),
        ("/ocpp/", None),
        ("/ocpp/a/b", None),
        ("/ocpp/a%2Fb", None),
        ("/ocpp/a%2Bb", None),
        ("/ocpp/a%23b", None),
        ("/other/CP1", None),
    ],
)
def test_charge_point_id_from_path(path: str, expected: str | None) -> None:
    assert protocol.charge_point_id_from_path(path, "/ocpp") == expected


def test_presence_topics_fill_the_node_into_the_backoffice_templates() -> None:
    templates = [
        "$SYS/brokers/+/gateway/ocpp/clients/{cid}/connected",
        "$SYS/brokers/+/gateway/ocpp/clients/{cid}/disconnected",
        "ocpp/presence/+/{cid}/connected",
        "ocpp/presence/+/{cid}/disconnected",
    ]
    # `$` topics belong to the broker: a client never publishes there.
    assert protocol.presence_topics(templates, node="emqx@127.0.0.1", cid="CP1", event="connected") == [
        "ocpp/presence/emqx@127.0.0.1/CP1/connected"
    ]
    assert protocol.presence_topics(templates, node="n", cid="CP1", event="disconnected") == [
        "ocpp/presence/n/CP1/disconnected"
    ]


def test_call_error_loses_its_details_and_accepts_four_elements() -> None:
    five = protocol.upstream_from_frame('[4, "id", "NotSupported", "no", {"x": 1}]')
    four = protocol.upstream_from_frame('[4, "id", "NotSupported", "no"]')
    expected = {"MessageTypeId": 4, "UniqueId": "id", "ErrorCode": "NotSupported", "ErrorDescription": "no"}
    assert five.envelope == four.envelope == expected


def test_downlink_interval_only_from_an_accepted_result() -> None:
    accepted = protocol.downlink_from_payload(
        b'{"MessageTypeId":3,"UniqueId":"1","Payload":{"status":"Accepted","interval":30}}'
    )
    pending = protocol.downlink_from_payload(
        b'{"MessageTypeId":3,"UniqueId":"1","Payload":{"status":"Pending","interval":30}}'
    )
    call = protocol.downlink_from_payload(
        b'{"MessageTypeId":2,"UniqueId":"1","Action":"X","Payload":{"status":"Accepted","interval":30}}'
    )
    assert (accepted.heartbeat_interval(), pending.heartbeat_interval(), call.heartbeat_interval()) == (30, None, None)


def test_raw_ocpp_j_downlinks_are_forwarded() -> None:
    assert protocol.downlink_from_payload(b'[3,"1",{}]').text == '[3,"1",{}]'
    with pytest.raises(protocol.FrameError):
        protocol.downlink_from_payload(b'["3","1",{}]')


def test_basic_credentials() -> None:
    assert protocol.basic_credentials("Basic Q1AxOnNlY3JldDpwYXJ0") == ("CP1", "secret:part")
    assert protocol.basic_credentials("Bearer abc") is None
    assert protocol.basic_credentials("Basic %%%") is None
    assert protocol.basic_credentials(None) is None
