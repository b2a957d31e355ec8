# ruff: noqa: RUF001 - full-width Chinese punctuation is right here; one text per line
"""Simplified Chinese for the timeline's event kinds added with issue 5."""

from __future__ import annotations

ENTRIES: dict[str, str] = {
    "Escalated (SLA passed)": "已升级（超出时限）",
    "Retried after an incident": "故障处理后重试",
    "Step skipped after an incident": "故障处理后跳过此步",
    "Reassigned": "已改派",
    "Handed over": "已移交",
    "Delegated for a holiday": "休假期间已委托",
    "Back from holiday": "休假结束，已收回",
    "Moved to another version": "已迁移到另一版本",
}
