# ruff: noqa: E501, RUF001 - full-width Chinese punctuation is right here; one text per line
"""Simplified Chinese for the limits on what a request may send and how often (webui.errors:
413, 429)."""

from __future__ import annotations

ENTRIES: dict[str, str] = {
    "Too large": "内容过大",
    "Too many attempts": "尝试次数过多",
    "What was sent is larger than this server accepts; nothing was changed.": "发送的内容超过了服务器允许的大小；未做任何更改。",
}
