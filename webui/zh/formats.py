"""Simplified Chinese for due dates (webui.formats) and the time-zone choice (settings)."""

from __future__ import annotations

ENTRIES: dict[str, str] = {
    "%(span)s overdue": "逾期%(span)s",
    "due today": "今天到期",
    "due %(in_days)s": "%(in_days)s到期",
    "Common": "常用",
    "All time zones": "全部时区",
}
