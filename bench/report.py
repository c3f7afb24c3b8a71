"""The benchmark's short table and its JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

COLUMNS = ("target", "scenario", "N", "replies/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "lost", "rows/s")


def row(target: str, result: dict[str, Any]) -> list[str]:
    """One table row for a scenario result."""
    latency = result.get("latency_ms", {})
    scenario = result["scenario"]
    if scenario == "storm":
        scenario = f"storm {result.get('all_answered_s', 0):.2f}s"
    elif scenario == "open":
        scenario = f"open @{result.get('offered_rate', 0):g}/s"
    return [
        target,
        scenario,
        str(result.get("chargers", "")),
        f"{result.get('replies_per_s', 0):.0f}",
        *(f"{latency.get(key, 0):.1f}" for key in ("p50", "p95", "p99", "max")),
        str(result.get("call_errors", 0)),
        str(result.get("lost", 0)),
        f"{result.get('rows', {}).get('rows_per_s', 0):.0f}",
    ]


def table(results: dict[str, list[dict[str, Any]]], ratios: dict[str, float | None]) -> str:
    """Aligned text table of every target's scenarios, then the backoffice/ceiling ratios."""
    rows = [list(COLUMNS)] + [row(target, r) for target, items in results.items() for r in items]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.rjust(w) if i > 1 else cell.ljust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for scenario, ratio in ratios.items():
        text = "n/a" if ratio is None else f"{ratio:.2f}"
        lines.append(f"backoffice / ceiling ({scenario}, replies/s): {text}")
    return "\n".join(lines)


def ratios(results: dict[str, list[dict[str, Any]]]) -> dict[str, float | None]:
    """Backoffice replies/s over ceiling replies/s, per scenario present in both."""
    backoffice = {r["scenario"]: r for r in results.get("backoffice", [])}
    ceiling = {r["scenario"]: r for r in results.get("ceiling", [])}
    out: dict[str, float | None] = {}
    for scenario in backoffice.keys() & ceiling.keys():
        top = ceiling[scenario].get("replies_per_s") or 0
        out[scenario] = round(backoffice[scenario].get("replies_per_s", 0) / top, 3) if top else None
    return dict(sorted(out.items()))


def write(path: Path, document: dict[str, Any]) -> None:
    """Write the JSON document (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
