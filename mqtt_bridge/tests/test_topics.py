"""Topic templates: the charge point id comes from matching the whole template."""

from __future__ import annotations

import pytest

from mqtt_bridge.topics import Route, Topics


def emqx_defaults() -> Topics:
    return Topics(
        call="ocpp/cp/{cid}",
        reply="ocpp/cp/{cid}/Reply",
        downstream="ocpp/cs/{cid}",
        call_overrides=["ocpp/cp/{cid}/Notify/{action}"],
        presence=[
            "$SYS/brokers/+/gateway/ocpp/clients/{cid}/connected",
            "$SYS/brokers/+/gateway/ocpp/clients/{cid}/disconnected",
        ],
    )


def test_subscriptions_cover_every_template() -> None:
    assert set(emqx_defaults().subscriptions) == {
        "ocpp/cp/+",
        "ocpp/cp/+/Reply",
        "ocpp/cp/+/Notify/+",
        "$SYS/brokers/+/gateway/ocpp/clients/+/connected",
        "$SYS/brokers/+/gateway/ocpp/clients/+/disconnected",
    }


@pytest.mark.parametrize(
    ("topic", "route", "cid", "action"),
    [
        ("ocpp/cp/CP-1", Route.CALL, "CP-1", ""),
        ("ocpp/cp/CP-1/Reply", Route.REPLY, "CP-1", ""),
        ("ocpp/cp/Reply", Route.CALL, "Reply", ""),
        ("ocpp/cp/CP-1/Notify/StatusNotification", Route.CALL, "CP-1", "StatusNotification"),
        ("$SYS/brokers/emqx@node1/gateway/ocpp/clients/CP-1/connected", Route.CONNECTED, "CP-1", ""),
        ("$SYS/brokers/n/gateway/ocpp/clients/CP-1/disconnected", Route.DISCONNECTED, "CP-1", ""),
    ],
)
def test_match(topic: str, route: Route, cid: str, action: str) -> None:
    match = emqx_defaults().match(topic)
    assert match is not None and (match.route, match.charge_point_id, match.action) == (route, cid, action)


@pytest.mark.parametrize("topic", ["ocpp/cp", "ocpp/cp/a/b", "ocpp/cs/CP-1", "other/CP-1", "ocpp/cp/" + "x" * 49])
def test_no_match(topic: str) -> None:
    assert emqx_defaults().match(topic) is None


def test_custom_templates_move_the_cid() -> None:
    topics = Topics(call="site/{cid}/up", reply="site/{cid}/up/reply", downstream="site/{cid}/down")
    match = topics.match("site/CP-9/up/reply")
    assert match is not None and (match.route, match.charge_point_id) == (Route.REPLY, "CP-9")
    assert topics.downstream_for("CP-9") == "site/CP-9/down"


def test_template_without_cid_is_refused() -> None:
    with pytest.raises(ValueError, match="cid"):
        Topics(call="ocpp/cp", reply="ocpp/cp/{cid}/Reply", downstream="ocpp/cs/{cid}")
