"""The benchmark's short tables and its JSON file."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

COLUMNS = (
    "target", "scenario", "N", "replies/s", "p50 ms", "p95 ms", "p99 ms", "max ms",
    "errors", "invalid", "lost", "rows/s",
)  # fmt: skip
# The closed loop of each OCPP version, as the version comparison reads them.
COMPARED = {"1.6": "closed", "2.0.1": "closed-v201"}
# Issue 15: 2.0.1's ratio to its ceiling within 10% of 1.6's.
RATIO_OF_RATIOS_TARGET = 0.9
VERSION_COLUMNS = (
    "version", "scenario", "replies/s", "ceiling", "ratio", "p50 ms", "p99 ms", "errors", "cpu ms/reply", "pg ms/reply",
)  # fmt: skip
# Our processes in a backoffice phase; PostgreSQL is counted apart (its processes serve every client).
OWN_ROLES = ("bridge", "worker")
# The 1.6 closed loop over each transport, and the broker process role (``procs.SERVICE_NAMES``) it crosses.
TRANSPORTS = {"mqtt": ("closed", "broker"), "amqp": ("closed-amqp", "rabbitmq")}
TRANSPORT_COLUMNS = (
    "transport", "scenario", "replies/s", "ceiling", "ratio", "p50 ms", "p99 ms", "lost", "errors",
    "cpu ms/reply", "broker ms/reply",
)  # fmt: skip


def row(target: str, result: dict[str, Any]) -> list[str]:
    """One table row for a scenario result."""
    latency = result.get("latency_ms", {})
    scenario = result["scenario"]
    if "round" in result:
        scenario = f"{scenario} #{result['round']}"
    if result["scenario"] == "storm":
        scenario = f"{scenario} {result.get('all_answered_s', 0):.2f}s"
    elif result["scenario"] == "open":
        scenario = f"{scenario} @{result.get('offered_rate', 0):g}/s"
    return [
        target,
        scenario,
        str(result.get("chargers", "")),
        f"{result.get('replies_per_s', 0):.0f}",
        *(f"{latency.get(key, 0):.1f}" for key in ("p50", "p95", "p99", "max")),
        str(result.get("call_errors", 0)),
        str(result.get("invalid_replies", 0)),
        str(result.get("lost", 0)),
        f"{result.get('rows', {}).get('rows_per_s', 0):.0f}",
    ]


def table(results: dict[str, list[dict[str, Any]]], ratios: dict[str, float | None]) -> str:
    """Aligned text table of every target's scenarios, then the backoffice/ceiling ratios."""
    lines = _aligned([list(COLUMNS)] + [row(target, r) for target, items in results.items() for r in items], 2)
    for scenario, ratio in ratios.items():
        text = "n/a" if ratio is None else f"{ratio:.2f}"
        lines.append(f"backoffice / ceiling ({scenario}, replies/s): {text}")
    return "\n".join(lines)


def _aligned(rows: list[list[str]], left: int) -> list[str]:
    """Rows as aligned lines (the first ``left`` columns to the left), a rule under the header."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def versions(results: dict[str, list[dict[str, Any]]], ratios: dict[str, float | None]) -> dict[str, Any]:
    """Each OCPP version's closed loop beside its own ceiling, and 2.0.1's ratio over 1.6's.

    Empty unless both versions' closed loops ran. Comparing ratios, not replies/s, takes out what
    the versions' frames cost the transport alone (2.0.1's TransactionEvents are larger than 1.6's
    MeterValues). With several rounds every figure is the median of the rounds'. The target is met
    only when 2.0.1's closed loop got no error and no invalid reply: answering CallErrors is fast.

    Beside it, what a reply cost in CPU (from the window's start until the queue was empty): the
    bridge's and worker's, and PostgreSQL's. Neighbours on the machine move replies/s by a fifth
    from run to run; they move these far less, so they say where a gap between versions comes from.
    """
    backoffice, ceiling = medians(results.get("backoffice", [])), medians(results.get("ceiling", []))
    if not all(scenario in backoffice or scenario in ceiling for scenario in COMPARED.values()):
        return {}
    rows = []
    for version, scenario in COMPARED.items():
        measured, top = backoffice.get(scenario, {}), ceiling.get(scenario, {})
        rows.append(
            {
                "version": version,
                "scenario": scenario,
                "rounds": measured.get("rounds", 0),
                "replies_per_s": measured.get("replies_per_s"),
                "ceiling_replies_per_s": top.get("replies_per_s"),
                "ratio": ratios.get(scenario),
                "p50_ms": measured.get("p50_ms"),
                "p99_ms": measured.get("p99_ms"),
                "errors": measured.get("errors", 0),
                "cpu_ms_per_reply": measured.get("cpu_ms_per_reply"),
                "postgres_ms_per_reply": measured.get("postgres_ms_per_reply"),
            }
        )
    # From the replies/s themselves: the ratios are rounded to 3 digits.
    v16, v201 = (_ratio(backoffice.get(scenario), ceiling.get(scenario)) for scenario in COMPARED.values())
    ratio_of_ratios = round(v201 / v16, 3) if v16 and v201 is not None else None
    met = ratio_of_ratios is not None and ratio_of_ratios >= RATIO_OF_RATIOS_TARGET and not rows[1]["errors"]
    costs = {
        key: round(rows[1][key] / rows[0][key], 3) if rows[0][key] and rows[1][key] is not None else None
        for key in ("cpu_ms_per_reply", "postgres_ms_per_reply")
    }
    return {
        "rows": rows,
        "ratio_of_ratios": ratio_of_ratios,
        "target": RATIO_OF_RATIOS_TARGET,
        "target_met": met,
        "cost_ratios": costs,
    }


def medians(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per scenario: the median replies/s, p50 and p99 over its rounds, its errors summed."""
    rounds: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        rounds.setdefault(item["scenario"], []).append(item)
    return {
        scenario: {
            "rounds": len(runs),
            "replies_per_s": statistics.median(r.get("replies_per_s") or 0 for r in runs),
            "p50_ms": statistics.median(r.get("latency_ms", {}).get("p50", 0) for r in runs),
            "p99_ms": statistics.median(r.get("latency_ms", {}).get("p99", 0) for r in runs),
            "errors": sum(r.get("call_errors", 0) + r.get("invalid_replies", 0) for r in runs),
            "cpu_ms_per_reply": _median_cost(runs, OWN_ROLES),
            "postgres_ms_per_reply": _median_cost(runs, ("postgres",)),
        }
        for scenario, runs in rounds.items()
    }


def _median_cost(runs: list[dict[str, Any]], roles: tuple[str, ...]) -> float | None:
    """The median over rounds of the CPU milliseconds ``roles`` spent per reply (None: not sampled)."""
    costs = []
    for run in runs:
        seconds = run.get("processes", {}).get("cpu_seconds", {})
        if run.get("replies") and any(role in seconds for role in roles):
            costs.append(1000 * sum(seconds.get(role, 0.0) for role in roles) / run["replies"])
    return round(statistics.median(costs), 3) if costs else None


def _ratio(measured: dict[str, Any] | None, top: dict[str, Any] | None) -> float | None:
    if not measured or not top or not top.get("replies_per_s"):
        return None
    return float(measured.get("replies_per_s") or 0) / float(top["replies_per_s"])


def versions_table(comparison: dict[str, Any]) -> str:
    """The version comparison as text: one row per version, then the ratio of ratios and the verdict."""

    def number(value: float | None, digits: int) -> str:
        return "n/a" if value is None else f"{value:.{digits}f}"

    rows = [list(VERSION_COLUMNS)]
    for item in comparison["rows"]:
        rows.append(
            [
                item["version"],
                item["scenario"],
                number(item["replies_per_s"], 0),
                number(item["ceiling_replies_per_s"], 0),
                number(item["ratio"], 3),
                number(item["p50_ms"], 1),
                number(item["p99_ms"], 1),
                str(item["errors"]),
                number(item.get("cpu_ms_per_reply"), 2),
                number(item.get("postgres_ms_per_reply"), 2),
            ]
        )
    lines = _aligned(rows, 2)
    verdict = "met" if comparison["target_met"] else "NOT met"
    errors = comparison["rows"][-1]["errors"]
    if errors:
        verdict += f" ({errors} errors in 2.0.1)"
    rounds = max(item.get("rounds", 1) for item in comparison["rows"])
    medians_of = f" (medians of {rounds} rounds)" if rounds > 1 else ""
    lines.append(
        f"ratio of ratios (2.0.1 / 1.6){medians_of}: {number(comparison['ratio_of_ratios'], 3)}"
        f"  target >= {comparison['target']:.2f}: {verdict}"
    )
    costs = comparison.get("cost_ratios", {})
    lines.append(
        f"CPU per reply (2.0.1 / 1.6): bridge+worker {number(costs.get('cpu_ms_per_reply'), 2)}x,"
        f" postgres {number(costs.get('postgres_ms_per_reply'), 2)}x (postgres: every client of the server)"
    )
    return "\n".join(lines)


def transports(results: dict[str, list[dict[str, Any]]], ratios: dict[str, float | None]) -> dict[str, Any]:
    """The 1.6 closed loop over MQTT and over AMQP, each beside its own ceiling (empty unless both ran).

    Each transport's ceiling is its bare responder on the same broker, so each ratio says what the
    backoffice costs on that path; ``amqp_over_mqtt`` compares the two paths' replies/s outright.
    Beside them, what a reply cost our processes (bridge and worker) and the broker it crossed
    (Mosquitto, RabbitMQ), from the window's start until the queue was empty.
    """
    phases = {target: medians(results.get(target, [])) for target in ("backoffice", "ceiling")}
    present = {scenario for found in phases.values() for scenario in found}
    if not all(scenario in present for scenario, _ in TRANSPORTS.values()):
        return {}
    rows = []
    for transport, (scenario, broker) in TRANSPORTS.items():
        measured, top = phases["backoffice"].get(scenario, {}), phases["ceiling"].get(scenario, {})
        runs = [r for r in results.get("backoffice", []) if r["scenario"] == scenario]
        rows.append(
            {
                "transport": transport,
                "scenario": scenario,
                "rounds": measured.get("rounds", 0),
                "replies_per_s": measured.get("replies_per_s"),
                "ceiling_replies_per_s": top.get("replies_per_s"),
                "ratio": ratios.get(scenario),
                "p50_ms": measured.get("p50_ms"),
                "p99_ms": measured.get("p99_ms"),
                "lost": sum(r.get("lost", 0) for r in runs),
                "errors": measured.get("errors", 0),
                "cpu_ms_per_reply": measured.get("cpu_ms_per_reply"),
                "broker_ms_per_reply": _median_cost(runs, (broker,)),
            }
        )
    mqtt, amqp = rows
    over = None
    if mqtt["replies_per_s"] and amqp["replies_per_s"] is not None:
        over = round(amqp["replies_per_s"] / mqtt["replies_per_s"], 3)
    return {"rows": rows, "amqp_over_mqtt": over}


def transports_table(comparison: dict[str, Any]) -> str:
    """The transport comparison as text: one row per transport, then AMQP's replies/s over MQTT's."""

    def number(value: float | None, digits: int) -> str:
        return "n/a" if value is None else f"{value:.{digits}f}"

    rows = [list(TRANSPORT_COLUMNS)]
    for item in comparison["rows"]:
        rows.append(
            [
                item["transport"],
                item["scenario"],
                number(item["replies_per_s"], 0),
                number(item["ceiling_replies_per_s"], 0),
                number(item["ratio"], 3),
                number(item["p50_ms"], 1),
                number(item["p99_ms"], 1),
                str(item["lost"]),
                str(item["errors"]),
                number(item["cpu_ms_per_reply"], 2),
                number(item["broker_ms_per_reply"], 2),
            ]
        )
    lines = _aligned(rows, 2)
    lines.append(f"AMQP / MQTT (backoffice replies/s): {number(comparison['amqp_over_mqtt'], 3)}")
    return "\n".join(lines)


def ratios(results: dict[str, list[dict[str, Any]]]) -> dict[str, float | None]:
    """Backoffice replies/s over ceiling replies/s (medians over rounds), per scenario present in both."""
    backoffice, ceiling = medians(results.get("backoffice", [])), medians(results.get("ceiling", []))
    out = {scenario: _ratio(backoffice[scenario], ceiling[scenario]) for scenario in backoffice.keys() & ceiling.keys()}
    return {scenario: None if ratio is None else round(ratio, 3) for scenario, ratio in sorted(out.items())}


def write(path: Path, document: dict[str, Any]) -> None:
    """Write the JSON document (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
