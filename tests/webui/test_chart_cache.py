"""The cache of rendered deal charts: a deal's chart is drawn once per state of the deal,
drawn again when the deal moves, and the cache stays small."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from flask.testing import FlaskClient

import diagrams
from engine.usecases.demo import FORMS
from engine.usecases.service import Service
from webui.chart_svg import ChartCache, deal_chart_key

from .conftest import deal_at_needs_analysis, login, open_task, text


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The formats drawn by diagrams.render_instance during the test."""
    drawn: list[str] = []
    real = diagrams.render_instance

    def counting(*args: Any, **kwargs: Any) -> bytes:
        drawn.append(args[2] if len(args) > 2 else kwargs.get("fmt", "svg"))
        return real(*args, **kwargs)

    monkeypatch.setattr(diagrams, "render_instance", counting)
    return drawn


def chart_of(page: str) -> str:
    """The deal's chart (the page has other inline SVG, such as the bell's icon)."""
    start = page.index("<svg", page.index('<div class="chart">'))
    return page[start : page.index("</svg>", start)]


def test_the_same_deal_twice_is_drawn_once(
    client: FlaskClient, staff: Service, renders: list[str]
) -> None:
    deal = deal_at_needs_analysis(staff)
    login(client, "alice")
    first = text(client.get(f"/deals/{deal}"))
    second = text(client.get(f"/deals/{deal}"))
    assert renders == ["svg"]
    assert chart_of(first) == chart_of(second)
    # The download shares the drawing; PNG and PDF are drawn each time.
    assert client.get(f"/deals/{deal}/chart.svg").data.startswith(b"<?xml")
    assert renders == ["svg"]
    client.get(f"/deals/{deal}/chart.png")
    assert renders == ["svg", "png"]


def test_the_chart_follows_the_deal(
    client: FlaskClient, staff: Service, renders: list[str]
) -> None:
    deal = deal_at_needs_analysis(staff)
    login(client, "alice")
    before = chart_of(text(client.get(f"/deals/{deal}")))
    svg_before = client.get(f"/deals/{deal}/chart.svg").data
    assert 'id="task_needs_analysis" class="node userTask state-ready"' in before

    task = open_task(staff, deal, "task_needs_analysis")
    staff.complete(task["task_id"], user="alice", data=FORMS["task_needs_analysis"])

    after = chart_of(text(client.get(f"/deals/{deal}")))
    assert renders == ["svg", "svg"]
    assert after != before
    assert 'id="task_needs_analysis" class="node userTask state-ready"' not in after
    assert client.get(f"/deals/{deal}/chart.svg").data != svg_before
    assert renders == ["svg", "svg"]


def test_a_claim_changes_the_key() -> None:
    deal: dict[str, Any] = {
        "instance_id": "7",
        "process_id": "sales_pipeline",
        "version": 1,
        "updated_at": "2026-01-01T00:00:00+00:00",
        "position": {"task_x": "READY"},
        "tasks": [{"task_id": "t1", "element_id": "task_x", "assignee": None, "lane": "Legal"}],
    }
    claimed = {**deal, "tasks": [{**deal["tasks"][0], "assignee": "lena"}]}
    assert deal_chart_key(deal) == deal_chart_key(dict(deal))
    assert deal_chart_key(deal) != deal_chart_key(claimed)
    assert deal_chart_key(deal) != deal_chart_key({**deal, "instance_id": "8"})


def test_the_cache_is_bounded_and_keeps_the_recent_ones() -> None:
    cache: ChartCache[str] = ChartCache(size=3)
    made: list[int] = []

    def make(n: int) -> str:
        made.append(n)
        return f"chart {n}"

    for n in range(5):
        assert cache.get_or_make(n, partial(make, n)) == f"chart {n}"
    assert len(cache) == 3
    cache.get_or_make(2, lambda: make(99))  # still there: used, so now the most recent
    cache.get_or_make(5, lambda: make(5))  # pushes out 3, the least recently used
    cache.get_or_make(3, lambda: make(3))
    assert made == [0, 1, 2, 3, 4, 5, 3]
    assert len(cache) == 3


def test_a_failed_drawing_is_not_kept() -> None:
    cache: ChartCache[str] = ChartCache(size=2)

    def broken() -> str:
        raise diagrams.DiagramError("no graphviz")

    with pytest.raises(diagrams.DiagramError):
        cache.get_or_make("k", broken)
    assert len(cache) == 0
    assert cache.get_or_make("k", lambda: "ok") == "ok"
