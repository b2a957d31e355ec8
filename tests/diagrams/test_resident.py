"""The graphviz kept running for SVG (diagrams/resident.py): it draws what a one-shot graphviz
draws, chart after chart, and whatever goes wrong with it, the chart is still drawn."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import pytest

import diagrams
from diagrams.resident import Resident
from engine.core.graph import Graph, InstanceView, graph_from_xml

RENDER = sys.modules["diagrams.render"]  # the package exports a function of the same name
PIPELINE = Path(__file__).resolve().parents[2] / "processes" / "sales_pipeline.bpmn"
NEATO = shutil.which("neato") or "neato"


@pytest.fixture(scope="module")
def pipeline() -> Graph:
    return graph_from_xml(PIPELINE.read_bytes(), file=PIPELINE.name)


def deal_dot(graph: Graph, name: str) -> str:
    view = InstanceView(
        deal=name,
        owner="王芳",
        status="running",
        stage="needs",
        states={"task_prepare_deal": "completed", "task_needs_analysis": "ready"},
        assignees={"task_needs_analysis": "alice (Sales Rep)"},
    )
    return diagrams.instance_dot(graph, diagrams.layout_for(graph, None, None), view)


def one_shot(dot: str) -> bytes:
    env = RENDER._lean.environment(NEATO)
    done = RENDER._call("neato", NEATO, ["-n2", "-Tsvg"], dot, env)
    assert done.returncode == 0, done.stderr
    return bytes(done.stdout)


def test_chart_after_chart_it_draws_what_a_one_shot_graphviz_draws(pipeline: Graph) -> None:
    resident = Resident()
    env = RENDER._lean.environment(NEATO)
    # Names that would end the document early if they were not escaped, and CJK text.
    names = ["Deal </svg>\n one", '上海星辰 <&> "q"', "Deal three"]
    first_process = None
    for name in names:
        dot = deal_dot(pipeline, name)
        drawn = resident.draw(NEATO, env, dot, 30)
        assert drawn == one_shot(dot)
        assert resident.process is not None
        first_process = first_process or resident.process.pid
        assert resident.process.pid == first_process  # the same graphviz drew all three
    assert resident.drawn == len(names)
    resident._stop()


def test_broken_dot_gives_none_and_the_next_chart_a_new_graphviz(pipeline: Graph) -> None:
    resident = Resident()
    env = RENDER._lean.environment(NEATO)
    # Never closed: graphviz waits for the rest, so the drawing times out.
    assert resident.draw(NEATO, env, "digraph { a -> ", 0.5) is None
    assert resident.failures == 1 and resident.process is None
    dot = deal_dot(pipeline, "after the failure")
    assert resident.draw(NEATO, env, dot, 30) == one_shot(dot)
    resident._stop()


def test_after_repeated_failures_it_stops_trying() -> None:
    resident = Resident()
    for _ in range(3):
        assert resident.draw(NEATO, None, "digraph { a -> -> b }", 30) is None
    assert resident.failures == 3
    assert resident.draw(NEATO, None, 'digraph { a [pos="0,0!"] }', 30) is None
    assert resident.process is None  # not started again


def test_render_draws_broken_dot_with_the_one_shot_graphviz_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(RENDER, "_resident", Resident())
    with pytest.raises(diagrams.RenderError, match="syntax error"):
        diagrams.render("digraph { a -> }", "svg")


def test_a_killed_graphviz_is_replaced(pipeline: Graph) -> None:
    resident = Resident()
    env = RENDER._lean.environment(NEATO)
    dot = deal_dot(pipeline, "Deal")
    assert resident.draw(NEATO, env, dot, 30) is not None
    assert resident.process is not None
    resident.process.kill()
    resident.process.wait()
    assert resident.draw(NEATO, env, dot, 30) is None  # the dead one is noticed and dropped
    assert resident.draw(NEATO, env, dot, 30) == one_shot(dot)
    resident._stop()


def test_warnings_are_logged_and_the_chart_drawn(caplog: pytest.LogCaptureFixture) -> None:
    resident = Resident()
    dot = 'digraph { a [pos="0,0!", shape=nosuchshape] }'
    with caplog.at_level(logging.WARNING, logger="diagrams.resident"):
        drawn = resident.draw(NEATO, None, dot, 30)
    assert drawn is not None and drawn.rstrip().endswith(b"</svg>")
    assert any("nosuchshape" in r.getMessage() for r in caplog.records)
    resident._stop()
