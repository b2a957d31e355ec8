"""Tasks that no lane holds go to the deal's owner when deployed; the chart says so, in the
reader's language, on definition charts and deal charts (and printed pages), and only when
some human task sits outside every lane."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

import diagrams
from diagrams.styles import OWNER_NOTE, OWNER_NOTE_ZH, outside_lanes
from engine.core.graph import Bounds, Graph, Node
from tests.diagrams.graphs import HEAT, READY_VIEW, small_graph
from tests.diagrams.svg import parse, texts

P = "proc"


def with_stray_task(kind: str = "userTask", parent: str | None = None) -> Graph:
    """The small graph plus a task in no lane (inside sub-process `parent`, if given)."""
    graph = small_graph()
    stray = Node("stray", kind, "Call back", P, None, parent, bounds=Bounds(560, 60, 100, 80))
    return replace(graph, nodes=(*graph.nodes, stray))


def note_of(svg: bytes) -> list[str]:
    return re.findall(f"{OWNER_NOTE}|{OWNER_NOTE_ZH}", texts(parse(svg)))


def test_a_chart_whose_tasks_all_sit_in_lanes_has_no_note() -> None:
    graph = small_graph()
    assert outside_lanes(graph) == []
    assert note_of(diagrams.render_definition(graph, "svg")) == []
    assert note_of(diagrams.render_instance(graph, READY_VIEW, "svg")) == []


@pytest.mark.parametrize("kind", ["userTask", "manualTask", "task"])
def test_a_human_task_outside_every_lane_gets_the_note(kind: str) -> None:
    graph = with_stray_task(kind)
    assert outside_lanes(graph) == ["stray"]
    assert note_of(diagrams.render_definition(graph, "svg")) == [OWNER_NOTE]
    assert note_of(diagrams.render_definition(graph, "svg", lang="zh-CN")) == [OWNER_NOTE_ZH]


def test_other_tasks_outside_lanes_need_no_note() -> None:
    assert outside_lanes(with_stray_task("serviceTask")) == []
    assert note_of(diagrams.render_definition(with_stray_task("scriptTask"), "svg")) == []


def test_a_task_inside_a_sub_process_in_a_lane_is_in_that_lane() -> None:
    graph = small_graph()
    sub = Node("sub", "subProcess", "Fix", P, "lane_b", bounds=Bounds(450, 220, 200, 120))
    inner = Node("inner", "userTask", "Check", P, None, "sub", bounds=Bounds(480, 240, 100, 80))
    assert outside_lanes(replace(graph, nodes=(*graph.nodes, sub, inner))) == []


def test_a_graph_without_lanes_says_it_for_all_its_tasks() -> None:
    graph = replace(
        with_stray_task(),
        lanes=(),
        nodes=tuple(replace(n, lane_id=None) for n in with_stray_task().nodes),
    )
    assert outside_lanes(graph) == ["task_review", "stray"]
    assert note_of(diagrams.render_definition(graph, "svg")) == [OWNER_NOTE]


def test_the_note_joins_the_legend_of_a_deal_chart_and_a_heatmap() -> None:
    graph = with_stray_task()
    deal = texts(parse(diagrams.render_instance(graph, READY_VIEW, "svg", lang="zh")))
    assert "图例" in deal and OWNER_NOTE_ZH in deal
    heat = texts(parse(diagrams.render_definition(graph, "svg", heat=HEAT)))
    assert "Deals here now" in heat and OWNER_NOTE in heat


def test_printed_pages_keep_the_note_on_the_chart() -> None:
    graph = with_stray_task()
    layout = diagrams.drawn_layout(graph)
    assert OWNER_NOTE in diagrams.definition_dot(graph, layout, legend_inside=False)
    assert OWNER_NOTE in diagrams.instance_dot(graph, layout, READY_VIEW, legend_inside=False)
