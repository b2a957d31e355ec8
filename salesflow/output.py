"""What the `salesflow` commands print for people (without `--json`): tables that line up
with CJK names, one-line reports, a deal or a digest as text.  Kept apart from salesflow.cli
so that the commands read as calls of the use cases."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from typing import Any

from engine.usecases.digests import as_text

__all__ = ["human", "table"]


def _width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows as columns that line up, a header first; "(none)" for no rows."""
    if not rows:
        return "(none)"
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max(_width(c), *(_width(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(_pad(c, w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(_pad(v, w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def _amount(value: float | None) -> str:
    return "-" if value is None else f"¥{value:,.2f}".removesuffix(".00")


def _outcome(deal: dict[str, Any]) -> str:
    if deal["outcome"] == "lost":
        return f"; LOST: {deal['lost_reason'] or 'no reason given'}"
    return "; WON" if deal["outcome"] == "won" else ""


def human(command: str, result: Any) -> str:
    """What a command prints without `--json`: a table, a line, or a short report."""
    if command == "handover":
        queued = f" ({result['queued']} to their role's queue)" if result["queued"] else ""
        verb = "would hand over" if result.get("dry_run") else "handed over"
        return (
            f"{verb} from {result['from']} to {result['to']}: {result['deals']} deals, "
            f"{result['tasks']} open tasks{queued}"
        )
    if command == "migrate":
        return migration_text(result)
    if command == "delegate":
        return (
            f"{result['to_user']} covers for {result['from_user']} from {result['starts_at']} "
            f"until {result['ends_at']} ({result['moved']} open tasks moved now)"
        )
    if command in ("tasks",):
        return table(result, ["task_id", "instance_id", "name", "lane", "assignee", "stage"])
    if command in ("instances",):
        return table(
            [{**d, "amount": _amount(d["amount"]), "outcome": d["outcome"] or ""} for d in result],
            ["instance_id", "name", "owner", "stage", "status", "outcome", "amount", "version"],
        )
    if command in ("definitions",):
        return table(result, ["process_id", "name", "version"])
    if command == "deploy":
        return table(result, ["process_id", "version", "changed"])
    if command == "export-definitions":
        return f"wrote {result['exported']} files to {result['directory']}"
    if command == "users list":
        return table(
            [{**u, "roles": ", ".join(u["roles"])} for u in result],
            ["username", "display_name", "roles", "email", "active"],
        )
    if command == "users deactivate":
        lines = [
            f"{result['username']} is deactivated ({result['tokens_revoked']} API tokens revoked)"
        ]
        if result["open_tasks"]:
            lines.append("open tasks that stay assigned to them:")
            lines.append(table(result["open_tasks"], ["task_id", "instance_id", "deal", "name"]))
        return "\n".join(lines)
    if command == "show":
        lines = [
            f"{result['name']} (#{result['instance_id']}, {result['process_id']} "
            f"v{result['version']})",
            f"  status {result['status']}, stage {result['stage']}, owner {result['owner']}",
            f"  value {_amount(result['amount'])}, expected close "
            f"{result['expected_close'] or '-'}" + _outcome(result),
            "  open tasks:",
        ]
        lines += [
            f"    {t['task_id']}  {t['name']} [{t['lane']}] -> {t['assignee'] or 'queue'}"
            for t in result["tasks"]
        ] or ["    (none)"]
        lines += [f"  timer {t['name']} due {t['due_at']}" for t in result["timers"]]
        lines.append("  data: " + json.dumps(result["data"], ensure_ascii=False))
        lines.append("  history:")
        lines += [
            f"    {h['at']}  {h['kind']:9} {h['element_name'] or h['element_id'] or ''}"
            + (f"  by {h['actor']}" if h["actor"] else "")
            for h in result["history"]
        ]
        return "\n".join(lines)
    if command == "lose":
        return f"deal {result['instance_id']} ({result['name']}) is lost: {result['lost_reason']}"
    if command == "tokens create":
        return str(result["token"])  # alone on its line, for scripts
    if command == "tokens list":
        return table(result, ["id", "name", "created_at", "last_used_at", "revoked"])
    if command == "digest":
        return as_text(result)
    if command == "render":
        return f"wrote {result['output']} ({result['bytes']:,} bytes)"
    if command == "export-all":
        return f"wrote {result['exported']} charts to {result['directory']}"
    if command == "message":
        again = " (this message id was sent before)" if result["duplicate"] else ""
        if result["status"] == "delivered":
            return f"delivered {result['name']} to deal {result['instance_id']}{again}"
        if result["status"] == "kept":
            return f"kept {result['name']} until {result['expires_at']}: no deal waits yet{again}"
        return f"{result['name']} expired at {result['expires_at']}, no deal took it{again}"
    if isinstance(result, dict):
        return "\n".join(f"{k}: {v}" for k, v in result.items())
    return str(result)


def migration_text(result: dict[str, Any]) -> str:
    """One line per deal (where it lands, or why it stays), then the totals."""
    rows = []
    for deal in result["deals"]:
        lands = ", ".join(t["name"] for t in deal["open"]) or "-"
        rows.append(
            {
                "instance_id": deal["instance_id"],
                "name": deal["name"],
                "from": deal["from_version"],
                "moves": "moved" if deal["migrated"] else "yes" if deal["can_move"] else "no",
                "lands at / reason": lands if deal["can_move"] else deal["reason"],
            }
        )
    columns = ["instance_id", "name", "from", "moves", "lands at / reason"]
    verb = "can move" if result["dry_run"] else "moved"
    count = result["movable"] if result["dry_run"] else result["migrated"]
    total = (
        f"{count} deals {verb} to version {result['to_version']}, "
        f"{result['refused']} cannot move"
        + (" (dry run: nothing changed)" if result["dry_run"] else "")
    )
    return table(rows, columns) + "\n" + total
