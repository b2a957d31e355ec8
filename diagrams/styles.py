"""Colours and line styles: what an element looks like in a state or at a heat level.

Every state differs in fill AND border (width and dash), so a greyscale print still tells
them apart: done = solid medium border on blue, ready = thick border on amber, waiting =
dashed, error = thick red with a warning sign, cancelled = dotted grey and struck through,
not reached = thin pale.  The heat scale is ColorBrewer's OrRd (white -> orange -> dark
red), whose lightness falls monotonically, so it stays a scale in greyscale too; it colours
by deals-here-now because the question it answers is "where do deals pile up", with the
median stay written on every element.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from engine.core.graph import STATES, Graph, Heat

INK = "black"
FONT = "Noto Sans CJK SC"
PALE = "#b4b4b4"
PATH = "#1f4e8c"  # the path taken: completed elements and the flows between them


@dataclass(frozen=True)
class Look:
    """How one element is painted on top of its BPMN notation."""

    fill: str = "white"
    pen: str = INK  # border and marker colour
    font: str = INK
    dash: str = ""  # "", "dashed" or "dotted"
    extra_width: float = 0.0  # added to the notation's own border width
    strike: bool = False
    notes: tuple[str, ...] = ()  # small lines under the name: assignee, due time, heat
    tooltip: str = ""


PLAIN = Look()
STATE_LOOKS: dict[str, Look] = {
    "completed": Look(fill="#c9daf0", pen=PATH, font="#0b2545", extra_width=0.8),
    "ready": Look(fill="#ffd863", pen="#9a4a00", font="#3d2200", extra_width=2.2),
    "waiting": Look(fill="#d7efe3", pen="#1b6b45", font="#0f3d27", dash="dashed", extra_width=0.8),
    "error": Look(fill="#f7c6c6", pen="#c00000", font="#600000", extra_width=2.2),
    "cancelled": Look(fill="#eeeeee", pen="#8c8c8c", font="#6e6e6e", dash="dotted", strike=True),
    "not-reached": Look(fill="white", pen=PALE, font="#9a9a9a"),
}
STATE_TEXT = {
    "completed": "done (path taken)",
    "ready": "ready: to do now",
    "waiting": "waiting (timer, message)",
    "error": "error (hover: message)",
    "cancelled": "cancelled",
    "not-reached": "not reached",
}
# Flows: taken (both ends reached) in the path colour, the rest pale.
TAKEN_WIDTH = 2.2


def state_look(
    state: str, note: str | None = None, error: str | None = None, *, zh: bool = False
) -> Look:
    look = STATE_LOOKS.get(state, STATE_LOOKS["not-reached"])
    if note:
        look = replace(look, notes=(note,))
    if state == "error":
        word = "出错" if zh else "error"
        look = replace(look, tooltip=error or word, notes=(*look.notes, f"⚠ {word}"))
    return look


# --- heat -----------------------------------------------------------------------------------

# ColorBrewer OrRd, 6 classes without the first (too close to white to see a single deal).
HEAT_COLOURS = ("#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000")


def heat_bins(top: int) -> list[tuple[int, int]]:
    """Up to five ranges of deals-here-now (1..top), each one colour; small counts get fewer."""
    if top <= 0:
        return []
    count = min(len(HEAT_COLOURS), top)
    edges = [math.ceil(top * (k + 1) / count) for k in range(count)]
    bins, low = [], 1
    for high in edges:
        if high >= low:
            bins.append((low, high))
            low = high + 1
    return bins


def heat_colour(n: int, bins: list[tuple[int, int]]) -> tuple[str, int]:
    """The fill for `n` deals here now and its level (0 = none, 1..5)."""
    for level, (low, high) in enumerate(bins, start=1):
        if low <= n <= high:
            # Spread the bins over the whole scale so the top bin is always the darkest.
            index = round((level - 1) * (len(HEAT_COLOURS) - 1) / max(1, len(bins) - 1))
            return HEAT_COLOURS[index], level
    return "white", 0


# Units of a stay: English, and Simplified Chinese (`zh`).
_UNITS = (("d", "天", 86400), ("h", "小时", 3600), ("min", "分钟", 60))


def duration(seconds: float, *, zh: bool = False) -> str:
    """A stay in human units: 45 s, 12 min, 3.5 h, 2.5 d (`zh`: 2.5 天)."""
    for unit, unit_zh, size in _UNITS:
        if seconds >= size:
            value = seconds / size
            shown = f"{value:.1f}" if value < 10 else f"{round(value)}"
            return f"{shown} {unit_zh if zh else unit}"
    return f"{round(seconds)} {'秒' if zh else 's'}"


def heat_note(element_id: str, heat: Heat, *, zh: bool = False) -> str | None:
    """ "3 deals · 2.5 d": deals here now and the median stay, when there is either."""
    here = heat.here_now.get(element_id)
    median = heat.median_seconds.get(element_id)
    if not here and median is None:
        return None
    n = here or 0
    english = f"{n} deal" if n == 1 else f"{n} deals"
    text = f"{n} 个商机" if zh else english
    return f"{text} · {duration(median, zh=zh)}" if median is not None else text


def heat_looks(heat: Heat, *, zh: bool = False) -> dict[str, Look]:
    bins = heat_bins(max(heat.here_now.values(), default=0))
    ids = set(heat.here_now) | set(heat.median_seconds)
    looks = {}
    for element_id in sorted(ids):
        fill, level = heat_colour(heat.here_now.get(element_id, 0), bins)
        note = heat_note(element_id, heat, zh=zh)
        looks[element_id] = Look(
            fill=fill,
            font="white" if level >= 4 else INK,
            extra_width=0.5 * level,
            notes=(note,) if note else (),
        )
    return looks


# --- legends: a title and rows of swatch + text (dot.py lays them out) ---------------------


@dataclass(frozen=True)
class LegendRow:
    """One row: a swatch painted with `swatch` (or the glyph `sample` in `sample_colour`) and
    its text; a row with neither spans the legend's width."""

    text: str
    swatch: Look | None = None
    sample: str = ""
    sample_colour: str = INK
    size: float = 9.0


# The legend in Simplified Chinese.
STATE_TEXT_ZH = {
    "completed": "已完成（走过的路径）",  # noqa: RUF001
    "ready": "待办：现在要做",  # noqa: RUF001
    "waiting": "等待中（定时器、消息）",  # noqa: RUF001
    "error": "出错（悬停查看原因）",  # noqa: RUF001
    "cancelled": "已取消",
    "not-reached": "未到达",
}


def state_legend(*, zh: bool = False, paper: bool = False) -> tuple[str, list[LegendRow]]:
    """The instance legend: its title and rows (`zh`: in Simplified Chinese; `paper`: for a
    printed page, where an error's message cannot be hovered)."""
    texts = dict(STATE_TEXT_ZH) if zh else dict(STATE_TEXT)
    if paper:  # on paper nothing can be hovered
        texts["error"] = "出错" if zh else "error"
    rows = [LegendRow(texts[s], STATE_LOOKS[s]) for s in STATES]
    rows.append(LegendRow("走过的流转" if zh else "flow taken", sample="━━▶", sample_colour=PATH))
    return ("图例" if zh else "Legend"), rows


def heat_legend(heat: Heat, *, zh: bool = False) -> tuple[str, list[LegendRow]]:
    """The heatmap legend: one row per colour of the scale (`zh`: in Simplified Chinese)."""
    deals = "个商机" if zh else "deals"
    bins = heat_bins(max(heat.here_now.values(), default=0))
    rows = [LegendRow(f"0 {deals}", Look())]
    for low, high in bins:
        fill, level = heat_colour(low, bins)
        count = f"{low} {'deal' if low == 1 and not zh else deals}"
        text = count if low == high else f"{low}\u2013{high} {deals}"
        rows.append(LegendRow(text, Look(fill=fill, extra_width=0.5 * level)))
    if zh and heat.simulated:
        rows.append(LegendRow("每个元素上：模拟中平均每天停留的商机数 · 停留时间中位数", size=8.0))  # noqa: RUF001
        return f"模拟中平均每天停留的商机（共模拟 {heat.deals:,} 个）", rows  # noqa: RUF001
    if zh:
        note = "每个元素上：当前停留的商机数 · 停留时间中位数"  # noqa: RUF001
        rows.append(LegendRow(note, size=8.0))
        return f"当前停留的商机（共 {heat.deals:,} 个）", rows  # noqa: RUF001
    if heat.simulated:
        note = "on each element: deals there on an average simulated day · median stay"
        rows.append(LegendRow(note, size=8.0))
        return f"Deals there on an average simulated day (of {heat.deals:,} simulated)", rows
    rows.append(LegendRow("on each element: deals here now · median stay", size=8.0))
    return f"Deals here now (of {heat.deals:,})", rows


# --- a note for tasks that no lane holds ----------------------------------------------------

HUMAN_TASKS = frozenset({"userTask", "manualTask", "task"})
OWNER_NOTE = "Tasks outside a lane go to the deal's owner"
OWNER_NOTE_ZH = "不在任何泳道中的任务交给商机负责人"


def outside_lanes(graph: Graph) -> list[str]:
    """The human tasks no lane holds (nor a lane of a sub-process around them): deploy gives
    them to the deal's owner, so the chart says so."""
    lane_of = {n.id: n.lane_id for n in graph.nodes}
    parent_of = {n.id: n.parent_id for n in graph.nodes}
    found = []
    for node in graph.nodes:
        if node.kind not in HUMAN_TASKS:
            continue
        current: str | None = node.id
        for _ in range(len(lane_of)):  # bounded: a parent cycle in a broken file ends too
            if current is None or lane_of.get(current) is not None:
                break
            current = parent_of.get(current)
        if current is None or current not in lane_of:
            found.append(node.id)
    return found


def owner_note(graph: Graph, *, zh: bool = False) -> str | None:
    """The chart's note about tasks outside every lane, or None when every human task sits in
    a lane (or there is none)."""
    if not outside_lanes(graph):
        return None
    return OWNER_NOTE_ZH if zh else OWNER_NOTE
