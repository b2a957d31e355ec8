# ruff: noqa: E501, RUF001 - full-width Chinese punctuation is right here; one text per line
"""Simplified Chinese for the page layout: the phone's menu button."""

from __future__ import annotations

ENTRIES: dict[str, str] = {
    "Menu": "菜单",
}
