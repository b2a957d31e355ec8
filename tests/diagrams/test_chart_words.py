"""A chart's own words in the reader's language (issue 14): the legend, the notes under the
elements and the heatmap's counts and stays of a Chinese reader's chart are Chinese; an
English reader's chart stays as it was."""

from __future__ import annotations

import re

from diagrams import render_definition, render_instance
from diagrams.diff import render_diff
from tests.diagrams.graphs import ERROR_VIEW, HEAT, READY_VIEW, small_graph

LATIN_WORDS = re.compile(
    r"\b(Legend|done|ready|waiting|error|cancelled|reached|flow taken|deals?"
    r"|here now|median|compared|unchanged|added|changed|removed)\b"
)


def texts(svg: bytes) -> str:
    """The words an SVG shows (its <text> elements), ids and titles left out."""
    return " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg.decode()))


def test_a_deals_chart_speaks_the_readers_language() -> None:
    english = texts(render_instance(small_graph(), READY_VIEW, "svg"))
    assert "Legend" in english and "done (path taken)" in english
    chinese = texts(render_instance(small_graph(), READY_VIEW, "svg", lang="zh-CN"))
    assert "图例" in chinese and "已完成（走过的路径）" in chinese and "走过的流转" in chinese  # noqa: RUF001
    assert not LATIN_WORDS.search(chinese), chinese
    failed = texts(render_instance(small_graph(), ERROR_VIEW, "svg", lang="zh"))
    assert "⚠ 出错" in failed and "出错（悬停查看原因）" in failed  # noqa: RUF001


def test_a_heatmap_counts_and_stays_in_chinese() -> None:
    english = texts(render_definition(small_graph(), "svg", heat=HEAT))
    assert "Deals here now" in english and re.search(r"\d+ deals? · ", english)
    chinese = texts(render_definition(small_graph(), "svg", heat=HEAT, lang="zh-Hans"))
    assert "当前停留的商机" in chinese and re.search(
        r"\d+ 个商机 · [\d.]+ (天|小时|分钟|秒)", chinese
    )
    assert not LATIN_WORDS.search(chinese), chinese


def test_a_version_comparison_in_chinese() -> None:
    graph = small_graph()
    some = graph.nodes[1].id
    marks = {some: "changed"}
    english = texts(render_diff(graph, marks, "svg", side="new", old=1, new=2))
    assert "v2 compared with v1" in english and "unchanged" in english
    chinese = texts(render_diff(graph, marks, "svg", side="new", old=1, new=2, lang="zh"))
    assert "v2 与 v1 对比" in chinese and "v2 新增" in chinese and "未改动" in chinese
    assert not LATIN_WORDS.search(chinese), chinese
