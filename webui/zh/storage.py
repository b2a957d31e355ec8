# ruff: noqa: E501, RUF001 - full-width Chinese punctuation is right here; one text per line
"""Simplified Chinese for a database that cannot store anything (webui.errors: 503)."""

from __future__ import annotations

ENTRIES: dict[str, str] = {
    "Cannot save right now": "暂时无法保存",
    "Nothing was changed and what was saved before is safe. Try again in a while.": "本次未做任何更改，之前保存的内容安然无恙。请稍后重试。",
}
