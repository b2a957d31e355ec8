"""Simplified Chinese texts of the parts of the UI that keep their own table (one module per
feature, each with an `ENTRIES` dict); webui.zh_hans merges them into ZH_HANS."""

from __future__ import annotations

import importlib
import pkgutil


def entries() -> dict[str, str]:
    merged: dict[str, str] = {}
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        table: dict[str, str] = importlib.import_module(f"{__name__}.{module}").ENTRIES
        for english, chinese in table.items():
            if merged.get(english, chinese) != chinese:
                raise ValueError(f"webui/zh/{module}.py translates {english!r} differently")
            merged[english] = chinese
    return merged
