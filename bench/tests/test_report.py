"""The version comparison: each version's ratio to its own ceiling, and 2.0.1's over 1.6's."""

from __future__ import annotations

from typing import Any

from bench import report


def closed(
    scenario: str, replies_per_s: float, errors: int = 0, invalid: int = 0, cpu: dict[str, float] | None = None
) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "chargers": 1000,
        "replies": 10_000,
        "processes": {"cpu_seconds": cpu or {}},
        "replies_per_s": replies_per_s,
        "latency_ms": {"p50": 12.0, "p95": 30.0, "p99": 55.5, "max": 90.0},
        "call_errors": errors,
        "invalid_replies": invalid,
        "lost": 0,
    }


def results(v201: float, v201_ceiling: float, errors: int = 0) -> dict[str, list[dict[str, Any]]]:
    return {
        "backoffice": [closed("closed", 800.0), closed("closed-v201", v201, errors)],
        "ceiling": [closed("closed", 2600.0), closed("closed-v201", v201_ceiling)],
    }


def test_the_ratio_of_ratios_is_read_off_one_table() -> None:
    measured = results(v201=700.0, v201_ceiling=2400.0)
    ratios = report.ratios(measured)
    comparison = report.versions(measured, ratios)
    assert [row["version"] for row in comparison["rows"]] == ["1.6", "2.0.1"]
    assert comparison["rows"][1]["ceiling_replies_per_s"] == 2400.0
    assert comparison["ratio_of_ratios"] == round((700 / 2400) / (800 / 2600), 3) == 0.948
    assert comparison["target_met"]
    text = report.versions_table(comparison)
    assert "ratio of ratios (2.0.1 / 1.6): 0.948" in text and ": met" in text
    assert "  0.292  " in text.splitlines()[3]  # 700 / 2400 in the 2.0.1 row


def test_a_ratio_more_than_ten_percent_below_misses_the_target() -> None:
    measured = results(v201=500.0, v201_ceiling=2400.0)
    comparison = report.versions(measured, report.ratios(measured))
    assert comparison["ratio_of_ratios"] == 0.677 and not comparison["target_met"]
    assert "NOT met" in report.versions_table(comparison)


def test_a_fast_run_of_call_errors_misses_the_target() -> None:
    measured = results(v201=2000.0, v201_ceiling=2400.0, errors=5)
    comparison = report.versions(measured, report.ratios(measured))
    assert comparison["ratio_of_ratios"] > 1 and not comparison["target_met"]
    assert "(5 errors in 2.0.1)" in report.versions_table(comparison)


def test_no_comparison_without_both_versions() -> None:
    measured = {"backoffice": [closed("closed", 800.0)], "ceiling": [closed("closed", 2600.0)]}
    assert report.versions(measured, report.ratios(measured)) == {}


def test_the_main_table_shows_invalid_replies() -> None:
    measured = {"backoffice": [closed("closed-v201", 700.0, invalid=3)]}
    header, _, line = report.table(measured, {}).splitlines()[:3]
    assert header.split()[-3:] == ["invalid", "lost", "rows/s"] and line.split()[-3] == "3"


def test_rounds_compare_their_medians() -> None:
    rounds = [(800.0, 700.0, 2600.0, 2400.0), (600.0, 650.0, 2000.0, 2500.0), (900.0, 500.0, 3000.0, 2300.0)]
    measured: dict[str, list[dict[str, Any]]] = {"backoffice": [], "ceiling": []}
    for number, (v16, v201, v16_top, v201_top) in enumerate(rounds, 1):
        measured["backoffice"] += [
            {**closed("closed", v16), "round": number},
            {**closed("closed-v201", v201), "round": number},
        ]
        measured["ceiling"] += [
            {**closed("closed", v16_top), "round": number},
            {**closed("closed-v201", v201_top), "round": number},
        ]
    ratios = report.ratios(measured)
    assert ratios == {"closed": round(800 / 2600, 3), "closed-v201": round(650 / 2400, 3)}
    comparison = report.versions(measured, ratios)
    assert [row["rounds"] for row in comparison["rows"]] == [3, 3]
    assert comparison["ratio_of_ratios"] == round((650 / 2400) / (800 / 2600), 3)
    assert "(medians of 3 rounds)" in report.versions_table(comparison)
    assert "closed-v201 #2" in report.table(measured, ratios)


def test_what_a_reply_cost_each_version_in_cpu() -> None:
    measured = {
        "backoffice": [
            closed("closed", 800.0, cpu={"bridge": 1.0, "worker": 5.0, "postgres": 2.0, "loadgen": 9.0}),
            closed("closed-v201", 700.0, cpu={"bridge": 1.5, "worker": 7.5, "postgres": 4.0, "loadgen": 9.0}),
        ],
        "ceiling": [closed("closed", 2600.0), closed("closed-v201", 2400.0)],
    }
    comparison = report.versions(measured, report.ratios(measured))
    assert [row["cpu_ms_per_reply"] for row in comparison["rows"]] == [0.6, 0.9]  # 10,000 replies each
    assert [row["postgres_ms_per_reply"] for row in comparison["rows"]] == [0.2, 0.4]
    assert comparison["cost_ratios"] == {"cpu_ms_per_reply": 1.5, "postgres_ms_per_reply": 2.0}
    assert "bridge+worker 1.50x, postgres 2.00x" in report.versions_table(comparison)


def test_the_transports_table_puts_amqp_beside_mqtt_each_against_its_own_ceiling() -> None:
    measured = {
        "backoffice": [
            closed("closed", 800.0, cpu={"bridge": 1.0, "worker": 5.0, "broker": 0.5}),
            {**closed("closed-amqp", 600.0, cpu={"bridge": 2.0, "worker": 5.0, "rabbitmq": 3.0}), "lost": 2},
        ],
        "ceiling": [closed("closed", 2600.0), closed("closed-amqp", 1500.0)],
    }
    comparison = report.transports(measured, report.ratios(measured))
    mqtt, amqp = comparison["rows"]
    assert (mqtt["transport"], amqp["transport"]) == ("mqtt", "amqp")
    assert amqp["ceiling_replies_per_s"] == 1500.0 and amqp["ratio"] == 0.4 and amqp["lost"] == 2
    assert (mqtt["broker_ms_per_reply"], amqp["broker_ms_per_reply"]) == (0.05, 0.3)  # 10,000 replies each
    assert amqp["cpu_ms_per_reply"] == 0.7 and comparison["amqp_over_mqtt"] == 0.75
    text = report.transports_table(comparison)
    assert "AMQP / MQTT (backoffice replies/s): 0.750" in text
    assert text.splitlines()[3].split()[:5] == ["amqp", "closed-amqp", "600", "1500", "0.400"]


def test_no_transport_comparison_without_both_transports() -> None:
    measured = {"backoffice": [closed("closed", 800.0)], "ceiling": [closed("closed", 2600.0)]}
    assert report.transports(measured, report.ratios(measured)) == {}
