"""SVG without pango: the lean graphviz render.py uses for SVG draws what the full one draws.

dot.py writes every line of text as its own fixed-size node (diagrams/lettering.py), so no
position in the SVG comes from graphviz's measure of a text.  Here the sales pipeline (as
designed with a title, a deal with every state, notes and a legend, a heatmap) is drawn by
the full graphviz (pango measures the text) and by the lean one (graphviz estimates it): every
text and every shape must be at the same place, and neither graphviz may complain.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lxml import etree

import diagrams
from diagrams.lettering import Line, bodies
from diagrams.render import lean_folder
from engine.core.graph import Graph, Heat, InstanceView, graph_from_xml
from tests.diagrams.svg import SVG

RENDER = sys.modules["diagrams.render"]  # the package exports a function of the same name
PIPELINE = Path(__file__).resolve().parents[2] / "processes" / "sales_pipeline.bpmn"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
TEXT_TOLERANCE = 0.5  # points: pango's line metrics round differently (0.4 at 14 pt)
SHAPE_TOLERANCE = 0.01
DONE = ["start_lead_received", "task_prepare_deal", "gw_requalify_merge", "task_qualify_lead",
        "task_grade_lead", "gw_qualified", "task_initial_contact"]  # fmt: skip
VIEW = InstanceView(
    deal='Deal 1 · 上海星辰 <&> \\ "q"',
    owner="王芳",
    status="running",
    stage="needs",
    states={
        **dict.fromkeys(DONE, "completed"),
        "task_needs_analysis": "ready",
        "timer_needs_idle": "waiting",
        "task_count_nurture_round": "error",
        "task_nurture_follow_up": "cancelled",
    },
    assignees={"task_needs_analysis": "alice (Sales Rep)"},
    due={"timer_needs_idle": "2024-05-03 09:00", "task_needs_analysis": "2024-05-04"},
    errors={"task_count_nurture_round": "ZeroDivisionError: division by zero"},
)
HEAT = Heat(
    deals=10_000,
    here_now={"task_needs_analysis": 4200, "task_negotiate": 310, "timer_needs_idle": 3},
    median_seconds={"task_needs_analysis": 5 * 86400, "task_negotiate": 3600.0},
)


@pytest.fixture(scope="module")
def pipeline() -> Graph:
    return graph_from_xml(PIPELINE.read_bytes(), file=PIPELINE.name)


def full_svg(dot: str) -> bytes:
    """The full graphviz (pango and cairo loaded), as render.py ran it for SVG before."""
    env = {k: v for k, v in os.environ.items() if k != "GVBINDIR"}
    done = subprocess.run(
        ["neato", "-n2", "-Tsvg"], input=dot.encode(), capture_output=True, env=env, check=True
    )
    assert done.stderr == b"", done.stderr.decode()  # graphviz had nothing to complain about
    return done.stdout


@dataclass
class Drawing:
    canvas: str  # the viewBox
    texts: list[tuple[str, ...]] = field(default_factory=list)  # anchor, text, font, colour
    spots: list[tuple[float, float]] = field(default_factory=list)  # each text's x, y
    shapes: list[tuple[str, list[float]]] = field(default_factory=list)  # tag, coordinates


def drawing(svg: bytes) -> Drawing:
    root = etree.fromstring(svg)
    found = Drawing(root.get("viewBox"))
    for element in root.iter():
        tag = str(element.tag).removeprefix(SVG)
        if tag == "text":
            found.texts.append(
                (
                    element.get("text-anchor"),
                    "".join(element.itertext()),
                    element.get("font-size"),
                    element.get("font-family"),
                    element.get("fill") or "",
                )
            )
            found.spots.append((float(element.get("x")), float(element.get("y"))))
        elif tag in ("polygon", "polyline", "path", "ellipse"):
            if tag == "ellipse":
                values = " ".join(element.get(k) for k in ("cx", "cy", "rx", "ry"))
            else:
                values = element.get("points") or element.get("d")
            found.shapes.append((tag, [float(v) for v in NUMBER.findall(values)]))
    return found


def charts(graph: Graph) -> dict[str, str]:
    layout = diagrams.drawn_layout(graph)
    return {
        "definition": diagrams.definition_dot(graph, layout, title="Sales pipeline 销售"),
        "instance": diagrams.instance_dot(graph, layout, VIEW),
        "heatmap": diagrams.definition_dot(graph, layout, heat=HEAT),
    }


def test_svg_is_drawn_without_pango() -> None:
    folder = lean_folder()
    assert folder is not None, "the lean graphviz could not be set up on this machine"
    names = os.listdir(folder)
    assert any(n.startswith("libgvplugin_core.") for n in names)
    assert any(n.startswith("libgvplugin_neato_layout.") for n in names)
    assert not [n for n in names if "pango" in n or "cairo" in n or "gd." in n]
    assert lean_folder() == folder  # made once per process


@pytest.mark.parametrize("chart", ["definition", "instance", "heatmap"])
def test_every_text_and_shape_is_where_the_full_graphviz_puts_it(
    pipeline: Graph, chart: str, caplog: pytest.LogCaptureFixture
) -> None:
    dot = charts(pipeline)[chart]
    with caplog.at_level(logging.DEBUG, logger="diagrams.render"):
        lean = diagrams.render(dot, "svg")
    assert caplog.records == []  # no warning, and no fall-back to the full graphviz
    ours, full = drawing(lean), drawing(full_svg(dot))
    assert ours.canvas == full.canvas
    assert ours.texts == full.texts  # the same texts in the same order, anchors, fonts, colours
    for text, (x, y), (fx, fy) in zip(ours.texts, ours.spots, full.spots, strict=True):
        assert abs(x - fx) <= TEXT_TOLERANCE and abs(y - fy) <= TEXT_TOLERANCE, (text, x, y, fx, fy)
    assert [tag for tag, _ in ours.shapes] == [tag for tag, _ in full.shapes]
    for (tag, values), (_, full_values) in zip(ours.shapes, full.shapes, strict=True):
        assert len(values) == len(full_values), tag
        pairs = zip(values, full_values, strict=True)
        assert all(abs(a - b) <= SHAPE_TOLERANCE for a, b in pairs), tag
    assert len(ours.texts) > 100  # every name, note, marker, title and legend line is there


def test_a_line_is_exactly_where_it_was_put() -> None:
    """x is the line's left end, centre or right end; the baseline is where it was put (pango
    rounds its line metrics: within half a point)."""
    lines = [
        Line(text, 100.0 + 150 * column, 50.0 + 40 * row, size, "black", align)
        for row, size in enumerate((8.0, 9.0, 14.0))
        for column, (align, text) in enumerate(
            [("left", "Needs analysis"), ("center", "上海星辰 <&>"), ("right", 'a \\ "b"')]
        )
    ]
    statements = [f'"~{i}" [{bodies(line)[0]}];' for i, line in enumerate(lines)]
    dot = (
        'digraph { graph [viewport="500,200,1,250,100", notranslate="true"]; '
        'node [fontname="Noto Sans CJK SC", margin="0"]; ' + " ".join(statements) + " }"
    )
    anchors = {"left": "start", "center": "middle", "right": "end"}
    for svg, tolerance in ((diagrams.render(dot, "svg"), 0.01), (full_svg(dot), 0.5)):
        found = drawing(svg)
        assert [text[1] for text in found.texts] == [line.text for line in lines]
        for line, text, (x, y) in zip(lines, found.texts, found.spots, strict=True):
            assert text[0] == anchors[line.align]
            assert x == pytest.approx(line.x, abs=0.01)
            assert -y == pytest.approx(line.baseline, abs=tolerance)


def test_without_the_lean_graphviz_svg_falls_back_to_the_full_one(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, pipeline: Graph
) -> None:
    def nowhere(executable: str) -> str:
        raise OSError("no plugins here")

    monkeypatch.setattr(RENDER, "_lean", RENDER._Lean())
    monkeypatch.setattr(RENDER, "plugin_folder", nowhere)
    dot = charts(pipeline)["instance"]
    with caplog.at_level(logging.DEBUG, logger="diagrams.render"):
        svg = diagrams.render(dot, "svg")
    assert svg == full_svg(dot)
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    assert "no plugins here" in caplog.records[0].getMessage()
    assert lean_folder() is None  # not tried again in this process


def test_a_removed_plugin_folder_is_made_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RENDER, "_lean", RENDER._Lean())
    first = lean_folder()
    assert first is not None
    shutil.rmtree(first)  # e.g. a cleaner of /tmp
    assert diagrams.render('digraph { a [pos="0,0!", label=""] }', "svg").startswith(b"<?xml")
    second = lean_folder()
    assert second is not None and second != first and os.path.isdir(second)
    shutil.rmtree(second)


def test_only_svg_uses_the_lean_graphviz(monkeypatch: pytest.MonkeyPatch, pipeline: Graph) -> None:
    seen: list[tuple[str, bool]] = []
    call = RENDER._call

    def spy(program: str, executable: str, args: list[str], text: str, env: object) -> object:
        seen.append((args[-1] if program == "neato" else args[0], env is not None))
        return call(program, executable, args, text, env)

    def resident(executable: str, env: object, text: str, timeout: float) -> None:
        seen.append(("-Tsvg resident", env is not None))
        return None  # then the one-shot graphviz draws it

    monkeypatch.setattr(RENDER, "_call", spy)
    monkeypatch.setattr(RENDER._resident, "draw", resident)
    dot = charts(pipeline)["definition"]
    for fmt in ("svg", "png", "pdf", "dot"):
        diagrams.render(dot, fmt)
    diagrams.auto_layout(pipeline)
    assert seen == [("-Tsvg resident", True), ("-Tsvg", True), (f"-Gdpi={RENDER.PNG_DPI}", False),
                    ("-Tpdf", False), ("-Tjson", False)]  # fmt: skip
