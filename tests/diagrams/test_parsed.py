"""Real BPMN files through engine.core.graph.graph_from_xml: the sales pipeline and the MIWG
reference files all render, every element where the designer put it, graphviz silent."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import diagrams
from diagrams.layout import MARGIN, SCALE
from engine.core.graph import Heat, InstanceView, graph_from_xml
from tests.diagrams.svg import centre, classes, groups, parse, texts

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "processes" / "sales_pipeline.bpmn"
MIWG = ROOT.parent / "shared" / "corpora" / "miwg" / "Reference"
MIWG_FILES = sorted(MIWG.glob("*.bpmn")) if MIWG.is_dir() else []


def test_the_sales_pipeline_is_drawn_as_designed(caplog: pytest.LogCaptureFixture) -> None:
    graph = graph_from_xml(PIPELINE.read_bytes(), file=PIPELINE.name)
    layout = diagrams.drawn_layout(graph)
    with caplog.at_level(logging.WARNING, logger="diagrams.render"):
        root = parse(diagrams.render(diagrams.definition_dot(graph, layout), "svg"))
    assert caplog.records == []  # graphviz had nothing to complain about
    found = groups(root)
    x0 = min(p.bounds.x for p in graph.pools if p.bounds)
    y1 = max(p.bounds.y + p.bounds.height for p in graph.pools if p.bounds)
    for node in graph.nodes:
        assert node.bounds is not None
        x, y = centre(found[node.id])
        assert abs((x - MARGIN) / SCALE + x0 - (node.bounds.x + node.bounds.width / 2)) <= 2
        assert abs(y1 - (y - MARGIN) / SCALE - (node.bounds.y + node.bounds.height / 2)) <= 2
    for lane in graph.lanes:
        assert classes(found[lane.id]) == ["node", "lane"]
        assert lane.name in texts(root)
    for edge in graph.edges:
        assert classes(found[edge.id])[:2] == ["edge", "flow"]


def test_a_deal_on_the_sales_pipeline() -> None:
    graph = graph_from_xml(PIPELINE.read_bytes(), file=PIPELINE.name)
    done = ["start_lead_received", "task_prepare_deal", "gw_requalify_merge", "task_qualify_lead"]
    view = InstanceView(
        deal="Deal 1 · 上海星辰",
        owner="alice",
        status="running",
        stage="qualification",
        states={**dict.fromkeys(done, "completed"), "task_grade_lead": "error"},
        errors={"task_grade_lead": "no rule matched"},
    )
    root = parse(diagrams.render_instance(graph, view, "svg", cache_key="pipeline"))
    found = groups(root)
    assert classes(found["task_grade_lead"])[-1] == "state-error"
    assert classes(found["flow_requalify_to_qualify_lead"])[-1] == "state-completed"
    assert classes(found["flow_qualified_tier_c"])[-1] == "state-not-reached"
    assert "Deal 1 · 上海星辰" in texts(root)
    diagrams.clear_layout_cache()


def test_a_heatmap_of_the_sales_pipeline() -> None:
    graph = graph_from_xml(PIPELINE.read_bytes(), file=PIPELINE.name)
    heat = Heat(
        deals=10_000,
        here_now={"task_needs_analysis": 4200, "task_negotiate": 310},
        median_seconds={"task_needs_analysis": 5 * 86400},
    )
    text = texts(parse(diagrams.render_definition(graph, "svg", heat=heat)))
    assert "4200 deals · 5.0 d" in text and "310 deals" in text
    assert "Deals here now (of 10,000)" in text


def test_the_sales_pipeline_also_lays_out_automatically() -> None:
    graph = graph_from_xml(PIPELINE.read_bytes(), file=PIPELINE.name)
    layout = diagrams.auto_layout(graph)
    assert set(layout.nodes) == {n.id for n in graph.nodes}
    assert {a.id for a in layout.areas} >= {lane.id for lane in graph.lanes}
    root = parse(diagrams.render(diagrams.definition_dot(graph, layout), "svg"))
    assert {n.id for n in graph.nodes} <= set(groups(root))


@pytest.mark.skipif(not MIWG_FILES, reason="the MIWG corpus is not beside the repository")
@pytest.mark.parametrize("path", MIWG_FILES, ids=lambda p: p.stem)
def test_miwg_reference_files_render(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    graph = graph_from_xml(path.read_bytes(), file=path.name)
    with caplog.at_level(logging.WARNING, logger="diagrams.render"):
        root = parse(diagrams.render_definition(graph, "svg"))
    assert caplog.records == []
    found = groups(root)
    layout = diagrams.layout_for(graph)
    assert {n.id for n in graph.nodes if n.id in layout.nodes} <= set(found)
    assert all(
        found[n.id].get("class", "").split()[1] == n.kind
        for n in graph.nodes
        if n.id in layout.nodes
    )
