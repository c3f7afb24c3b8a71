"""Topic templates: the charge point id comes from matching the whole template."""

from __future__ import annotations

from typing import Any

import pytest

from mqtt_bridge.topics import Route, RouteSpec, Topics


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


def test_the_default_route_is_emqx_or_ocpp_j_in_1_6_over_mqtt() -> None:
    for topic in ("ocpp/cp/CP-1", "ocpp/cp/CP-1/Reply", "ocpp/cp/CP-1/Notify/Heartbeat"):
        match = emqx_defaults().match(topic)
        assert match is not None
        assert (match.spec.transport, match.spec.dialects, match.spec.ocpp_version) == (
            "mqtt",
            ("emqx", "ocppj"),
            "1.6",
        )


def test_a_route_entry_names_its_dialects_and_version() -> None:
    topics = Topics(
        call="ocpp/cp/{cid}",
        reply="ocpp/cp/{cid}/Reply",
        downstream="ocpp/cs/{cid}",
        routes=["ocppj@1.6:charger/{cid}", "ocppj+emqx@2.0.1:ocpp/v201/cp/{cid}"],
    )
    assert {"charger/+", "ocpp/v201/cp/+"} <= set(topics.subscriptions)
    raw = topics.match("charger/CP-7")
    assert raw is not None and raw.route == Route.CALL and raw.charge_point_id == "CP-7"
    assert raw.spec == RouteSpec(transport="mqtt", dialects=("ocppj",), ocpp_version="1.6")
    v201 = topics.match("ocpp/v201/cp/CP-8")
    assert v201 is not None and (v201.spec.dialects, v201.spec.ocpp_version) == (("ocppj", "emqx"), "2.0.1")
    default = topics.match("ocpp/cp/CP-9")
    assert default is not None and default.spec == RouteSpec()


@pytest.mark.parametrize("entry", ["charger/{cid}", "ocppj:charger/{cid}", "@1.6:charger/{cid}", "ocppj@v16:x/{cid}"])
def test_a_route_entry_without_dialect_and_version_is_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="must look like"):
        Topics(call="ocpp/cp/{cid}", reply="ocpp/cp/{cid}/Reply", downstream="ocpp/cs/{cid}", routes=[entry])


def test_a_template_on_two_routes_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        Topics(
            call="ocpp/cp/{cid}",
            reply="ocpp/cp/{cid}/Reply",
            downstream="ocpp/cs/{cid}",
            routes=["ocppj@1.6:ocpp/cp/{cid}"],
        )


def test_settings_put_the_default_dialect_first(settings: Any) -> None:
    settings.CSMS_DEFAULT_DIALECT = "ocppj"
    settings.CSMS_MQTT_ROUTES = ["ocppj@1.6:charger/{cid}"]
    topics = Topics.from_settings()
    assert topics.default.dialects == ("ocppj", "emqx")
    assert [(spec.dialects, spec.ocpp_version) for spec in topics.specs] == [
        (("ocppj", "emqx"), "1.6"),
        (("emqx", "ocppj"), "2.0.1"),  # the built-in 2.0.1 route: our gateway's envelope first, whatever the default
        (("emqx", "ocppj"), "2.1"),  # the built-in 2.1 route, the same way
        (("ocppj",), "1.6"),
    ]
