"""What `salesflow forecast` and `salesflow backtest` print for people (without `--json`):
the method first (and whether it fell back to the stage weights), then tables that line up."""

from __future__ import annotations

from typing import Any

from salesflow.output import table

__all__ = ["backtest_text", "forecast_text"]


def _money(value: float | None) -> str:
    return "-" if value is None else f"¥{value:,.0f}"


def _method(result: dict[str, Any]) -> str:
    if result["method"] == "history":
        line = (
            f"method: conditional frequencies from {result['closed']} closed deals "
            f"({result['won']} won)"
        )
        if result["fell_back"]:
            line += f"; {result['fell_back']} deals at steps with too little history keep "
            line += "their stage weight"
        return line
    return (
        f"method: stage weights (only {result['closed']} closed deals; history is used from "
        f"{result['min_closed']} on)"
    )


def forecast_text(result: dict[str, Any]) -> str:
    """The months (expected won value and its 80% band), then the deals, most value first."""
    months = [
        {
            "month": m["month"],
            "expected": _money(m["expected_value"]),
            "80% band": f"{_money(m['low'])} - {_money(m['high'])}",
        }
        for m in result["months"]
    ]
    deals = [
        {
            "id": d["instance_id"],
            "deal": d["name"],
            "owner": d["owner"] or "",
            "stage": d["stage"] or "",
            "chance": f"{d['probability']:.0f}%" + ("*" if d["basis"] != "history" else ""),
            "close": d["expected_close"] or "-",
            "80% interval": f"{d['close_low']} - {d['close_high']}" if d["close_low"] else "-",
            "value": _money(d["amount"]),
            "expected": _money(d["expected_value"]),
        }
        for d in result["deals"]
    ]
    columns = ["id", "deal", "owner", "stage", "chance", "close", "80% interval", "value"]
    lines = [
        f"forecast of {result['process_id']} as of {result['as_of'][:10]}",
        _method(result),
        "",
        table(months, ["month", "expected", "80% band"]),
        "",
        table(deals, [*columns, "expected"]),
    ]
    if result["fell_back"]:
        lines.append("* stage weight: too little history at the deal's step")
    return "\n".join(lines)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def backtest_text(result: dict[str, Any]) -> str:
    """The Brier scores of the forecast and of the stage weights, then both reliability
    tables side by side."""
    if not result["deals"]:
        return (
            f"backtest at {result['at']}: no deal open then has closed since; "
            f"{result['trained_on']} closed before it"
        )
    rows = [
        {
            "chance": f"{100 * ours['from']:.0f}-{100 * ours['to']:.0f}%",
            "deals": ours["deals"],
            "predicted": _share(ours["predicted"]),
            "won": _share(ours["observed"]),
            "deals (weights)": base["deals"],
            "predicted (weights)": _share(base["predicted"]),
            "won (weights)": _share(base["observed"]),
        }
        for ours, base in zip(result["reliability"], result["baseline_reliability"], strict=True)
    ]
    method = "history" if result["method"] == "history" else "stage weights (too few closed)"
    return "\n".join(
        [
            f"backtest at {result['at']}: trained on {result['trained_on']} deals closed before "
            f"it ({result['won_in_training']} won), method {method}",
            f"scored on {result['deals']} deals open then and closed since "
            f"({result['won']} won; {result['fell_back']} on stage weights)",
            f"Brier score: forecast {result['brier']:.4f}, stage weights "
            f"{result['baseline_brier']:.4f} (lower is better)",
            "",
            table(rows, list(rows[0])),
        ]
    )
