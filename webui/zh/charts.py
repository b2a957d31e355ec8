# ruff: noqa: RUF001 - full-width Chinese punctuation is right here; one text per line
"""Simplified Chinese for the charts in pages: zoom, pan and fit, the lane names, and a deal's
stage progress bar (阶段 stage, 商机 deal)."""

from __future__ import annotations

ENTRIES: dict[str, str] = {
    # --- the chart view (templates/_chart_view.html)
    "Chart view": "流程图视图",
    "Zoom in": "放大",
    "Zoom out": "缩小",
    "Fit": "适合窗口",
    "Drag to move; Ctrl + wheel to zoom.": "拖动可移动；按住 Ctrl 滚动滚轮可缩放。",
    # --- the stage progress bar (templates/deals/_progress.html, webui/chart_pages.py)
    "Stages of this deal": "此商机的阶段",
    "under a day": "不到 1 天",
    "1 day": "1 天",
    "%(days)s days": "%(days)s 天",
    "done": "已完成",
    "current stage": "当前阶段",
    "skipped": "已跳过",
    "not reached yet": "尚未到达",
    "lost here": "在此阶段丢单",
}
