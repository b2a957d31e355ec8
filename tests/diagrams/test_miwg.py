"""Every model of shared/corpora (the MIWG suite as exported by three tools, Camunda's and
SpiffWorkflow's examples) drawn as designed.

For every diagram of every file with DI, each BPMNShape of an element the graph holds must
show up in the SVG as a group with the element's id, at its DI position: one uniform scale
and translation, fitted here by least squares, must carry every DI centre onto the centre of
the shape graphviz drew.  Every node, lane, pool and flow of the graph is a group with its
id, every BPMNShape and BPMNEdge of the diagram names one of them, and no text is written
off the canvas.  A file with several diagrams draws its main one by default.
"""

from __future__ import annotations

import re
from pathlib import Path
from statistics import fmean

import pytest
from lxml import etree

import diagrams
from diagrams.text import text_width
from engine.core.graph import Graph, diagram_ids, graph_from_xml
from tests.diagrams.svg import SVG, canvas, groups, parse, text_spots

CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"
MIWG = CORPORA / "miwg"
FILES = sorted(CORPORA.rglob("*.bpmn")) if CORPORA.is_dir() else []
DI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
TOLERANCE = 3.0  # points, after the fitted transform
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")

Pair = tuple[tuple[float, float], tuple[float, float]]


def di_centres(
    root: etree._Element, diagram: str | None, left_aligned: set[str]
) -> dict[str, tuple[float, float]]:
    """bpmnElement -> centre of its DI bounds on the diagram, read independently of engine/
    (for text annotations, drawn as an open bracket: the middle of their left edge)."""
    plane = root if diagram is None else root.find(f".//{{{DI}}}BPMNDiagram[@id='{diagram}']")
    found: dict[str, tuple[float, float]] = {}
    for shape in plane.iter(f"{{{DI}}}BPMNShape"):
        bounds = shape.find(f"{{{DC}}}Bounds")
        element = (shape.get("bpmnElement") or "").split(":")[-1]
        if bounds is None or not element or element in found:
            continue
        x, y, w, h = (float(bounds.get(k)) for k in ("x", "y", "width", "height"))
        found[element] = (x if element in left_aligned else x + w / 2, y + h / 2)
    return found


def fit(pairs: list[Pair]) -> tuple[float, float, float]:
    """Scale s and offsets with svg = (s*x + tx, -s*y + ty): DI's y grows down, graphviz's up."""
    axes = [[(di[0], svg[0]) for di, svg in pairs], [(-di[1], svg[1]) for di, svg in pairs]]
    num = den = 0.0
    for axis in axes:
        ma, mb = fmean(a for a, _ in axis), fmean(b for _, b in axis)
        num += sum((a - ma) * (b - mb) for a, b in axis)
        den += sum((a - ma) ** 2 for a, _ in axis)
    s = num / den if den else 1.0
    tx, ty = (fmean(b - s * a for a, b in axis) for axis in axes)
    return s, tx, ty


def outline_centre(group: etree._Element, left: bool) -> tuple[float, float]:
    """Centre of everything drawn in the group (a lane is its header strip plus its body);
    with `left`, the middle of its left edge."""
    xs: list[float] = []
    ys: list[float] = []
    for shape in group.iter(f"{SVG}ellipse", f"{SVG}polygon", f"{SVG}path", f"{SVG}polyline"):
        if shape.tag == f"{SVG}ellipse":
            cx, cy, rx, ry = (float(shape.get(k)) for k in ("cx", "cy", "rx", "ry"))
            xs += [cx - rx, cx + rx]
            ys += [cy - ry, cy + ry]
        else:
            values = [float(v) for v in NUMBER.findall(shape.get("points") or shape.get("d"))]
            xs += values[0::2]
            ys += values[1::2]
    assert xs, f"nothing drawn in <g id={group.get('id')}>"
    x = min(xs) if left else (min(xs) + max(xs)) / 2
    return x, -(min(ys) + max(ys)) / 2  # graphviz writes y negated


def element_ids(graph: Graph) -> set[str]:
    return (
        {n.id for n in graph.nodes}
        | {lane.id for lane in graph.lanes}
        | {p.id for p in graph.pools}
    )


def di_elements(root: etree._Element, diagram: str | None) -> set[str]:
    """The bpmnElement of every BPMNShape and BPMNEdge of the diagram."""
    plane = root if diagram is None else root.find(f".//{{{DI}}}BPMNDiagram[@id='{diagram}']")
    return {
        (item.get("bpmnElement") or "").split(":")[-1]
        for item in plane.iter(f"{{{DI}}}BPMNShape", f"{{{DI}}}BPMNEdge")
    } - {""}


def off_canvas(svg: etree._Element) -> list[str]:
    """The texts that reach past the canvas's edge (by the drawing's own width estimate)."""
    width, height = canvas(svg)
    out = []
    for text, x, baseline, size, anchor in text_spots(svg):
        wide = text_width(text, size)
        left = {"start": x, "middle": x - wide / 2, "end": x - wide}[anchor]
        if (
            left < 0
            or left + wide > width
            or baseline - 0.3 * size < 0
            or baseline + 0.9 * size > height
        ):
            out.append(text)
    return out


def drawn_files() -> list[Path]:
    return [p for p in FILES if b"BPMNShape" in p.read_bytes()]


@pytest.mark.skipif(not FILES, reason="shared/corpora is not beside the repository")
@pytest.mark.parametrize("path", drawn_files(), ids=lambda p: str(p.relative_to(CORPORA)))
def test_every_shape_is_drawn_where_the_designer_put_it(path: Path) -> None:
    text = path.read_bytes()
    root = etree.fromstring(text)  # every file with DI is well-formed XML
    for diagram in diagram_ids(text, file=path.name) or [None]:
        graph = graph_from_xml(text, file=path.name, diagram=diagram)
        svg = parse(diagrams.render_definition(graph, "svg", layout="drawn"))
        drawn = groups(svg)
        assert sorted(element_ids(graph) - set(drawn)) == [], diagram
        assert sorted({e.id for e in graph.edges} - set(drawn)) == [], diagram
        # Every shape and edge of the diagram is drawn: its element's, or an "unknown" one
        # with the element's id (helper B's parser says which it could not read).
        assert sorted(di_elements(root, diagram) - set(drawn)) == [], diagram
        assert off_canvas(svg) == [], diagram
        brackets = {n.id for n in graph.nodes if n.kind == "textAnnotation"}
        centres = di_centres(root, diagram, brackets)
        expected = {e: c for e, c in centres.items() if e in element_ids(graph)}
        assert expected, f"{diagram}: no shapes"
        assert sorted(set(expected) - set(drawn)) == [], diagram
        pairs = [(expected[e], outline_centre(drawn[e], e in brackets)) for e in sorted(expected)]
        s, tx, ty = fit(pairs)
        assert s > 0
        off = {
            e: round(max(abs(s * x + tx - gx), abs(-s * y + ty - gy)), 1)
            for e, ((x, y), (gx, gy)) in zip(sorted(expected), pairs, strict=True)
        }
        assert {e: d for e, d in off.items() if d > TOLERANCE} == {}, diagram


@pytest.mark.skipif(not FILES, reason="shared/corpora is not beside the repository")
@pytest.mark.parametrize(
    "name", ["Reference/C.4.0.bpmn", "Reference/C.5.0.bpmn"], ids=lambda n: n.split("/")[-1]
)
def test_a_file_of_several_diagrams_draws_its_main_one(name: str) -> None:
    """The main diagram (here: the one with the most shapes, a collaboration) is drawn by
    default, not the first in the file nor a drill-down."""
    text = (MIWG / name).read_bytes()
    root = etree.fromstring(text)
    sizes = {
        d.get("id"): len(list(d.iter(f"{{{DI}}}BPMNShape")))
        for d in root.iter(f"{{{DI}}}BPMNDiagram")
    }
    assert len(sizes) > 1
    main = max(sizes, key=lambda d: sizes[d])
    drawn = groups(parse(diagrams.render_definition(graph_from_xml(text, file=name), "svg")))
    assert sorted(di_elements(root, main) - set(drawn)) == []
    others = set().union(*(di_elements(root, d) for d in sizes if d != main))
    assert others - di_elements(root, main) - set(drawn)  # the drill-downs' own shapes: not
