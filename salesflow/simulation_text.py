"""What `salesflow simulate` prints without `--json`: the current version and the change side
by side, the roles and tasks with their waits, the bottleneck and the validation figure."""

from __future__ import annotations

from typing import Any

from salesflow.output import table


def _side(name: str, r: dict[str, Any] | None) -> list[str]:
    if r is None:
        return []
    cycle = r["cycle_days"]
    lines = [
        f"{name}: {r['deals']} deals, {r['won']} won ({r['won_per_month']} a month), sales "
        f"cycle p50 {cycle['p50']} days, p90 {cycle['p90']} days"
    ]
    if r["bottleneck"] is not None:
        b = r["bottleneck"]
        why = "deals queue there" if b["reason"] == "queue" else "deals spend the most time there"
        lines.append(f"  bottleneck: {b['name']} ({b['role'] or '-'}): {why}")
    lines.append(
        table(
            [{**x, "utilisation": f"{x['utilisation']:.0%}"} for x in r["roles"]],
            ["role", "people", "slots", "hours_per_week", "utilisation", "wait_days_p50", "queue"],
        )
    )
    lines.append(
        table(r["tasks"], ["name", "role", "wait_days_p50", "work_days_p50", "queue", "source"])
    )
    return lines


def simulation_text(result: dict[str, Any]) -> str:
    """The simulation's result as a short report."""
    h = result["history"]
    v = result["current"]["validation"]
    lines = [
        f"{result['process_id']} v{result['version']}: {result['weeks']} weeks simulated "
        f"(seed {result['seed']}) on {h['deals']} deals of {h['weeks']} weeks of history, "
        f"{h['arrivals_per_week']} a week",
    ]
    lines += _side("current", result["current"])
    change = result["change"] or {}
    lines += _side(f"{change.get('kind', 'draft')}", result["draft"])
    if v["comparable"]:
        verdict = "within" if v["within"] else "OUTSIDE"
        lines.append(
            f"validation over {v['period']['weeks']} weeks ({v['period']['deals']} deals): "
            f"median cycle {v['actual']['cycle_days_p50']} days actual, "
            f"{v['simulated']['cycle_days_p50']} simulated; won {v['actual']['won']} actual, "
            f"{v['simulated']['won']} simulated: {verdict} the tolerance "
            f"(±{v['tolerance']['relative']:.0%})"
        )
    else:
        lines.append("validation: no deal was won in the history, nothing to compare")
    lines += [f"warning: {w['message']}" for w in result["warnings"]]
    return "\n".join(lines)
