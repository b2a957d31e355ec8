"""engine.core.graph's parser (engine/graph_xml.py): BPMN XML -> Graph, on real and small files.

The corpus tests compare every graph with an independent lxml walk of the same file, so a
shape or an edge the parser loses or misplaces shows up by id.  The small files under
data/graph/ each pin one feature (nested lanes, sub-processes, markers, pools, broken input).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from engine.core.graph import (
    ARTIFACT_KINDS,
    EVENT_KINDS,
    GATEWAY_KINDS,
    SUBPROCESS_KINDS,
    TASK_KINDS,
    UNKNOWN_KIND,
    Bounds,
    Graph,
    Lane,
    Node,
    Point,
    Pool,
    diagram_ids,
    graph_from_xml,
    graphs_from_xml,
)
from engine.errors import DefinitionError
from tests.conftest import CORPORA

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data" / "graph"
MIWG = CORPORA / "miwg"
CAMUNDA = CORPORA / "camunda7"

MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {
    "bpmn": MODEL,
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
NODE_KINDS = EVENT_KINDS | TASK_KINDS | SUBPROCESS_KINDS | GATEWAY_KINDS | ARTIFACT_KINDS
# Kinds drawn only when a diagram shows them: a process's own data inputs and outputs live in
# its ioSpecification (a task's are internal), and a message is a root element.
DRAWN_ONLY = {"dataObject", "message", "dataInput", "dataOutput"}
FLOW_KINDS = {"sequenceFlow", "messageFlow", "association"}

MIWG_FILES = sorted(
    path
    for folder in ("Reference", "bpmn-io-18.6.1", "signavio-19.9.0")
    for path in (MIWG / folder).glob("*.bpmn")
)
CAMUNDA_FILES = sorted([*CAMUNDA.rglob("*.bpmn"), *CAMUNDA.rglob("*.bpmn20.xml")])
SPIFF_FILES = sorted((CORPORA / "spiff-examples").rglob("*.bpmn"))
# Files in the corpora that lxml cannot parse.  Checked by test_malformed_corpus_files: today
# every BPMN file of the three MIWG folders and of camunda7 is well-formed XML; what is broken
# upstream is inside the model (see UNKNOWN), which must not stop a file from being drawn.
MALFORMED: set[str] = set()
# What the corpus draws that a Graph holds only as an "unknown" item, with a warning: one
# C.7.0 BPMNEdge that stands for no element (Trisotech's line from a data object onto a
# flow, its ends named by DI ids).  Everything else is held as what it is.
UNKNOWN = {
    "Reference/C.7.0.bpmn": {
        "_985753e3-a4ce-486b-908a-509d382259ed": (
            "the edge _985753e3-a4ce-486b-908a-509d382259ed refers to no element: drawn as a "
            "grey line"
        )
    }
}

needs_corpora = pytest.mark.skipif(not MIWG.is_dir(), reason="shared/corpora is not beside")


def corpus_name(path: Path) -> str:
    for folder in (MIWG, CAMUNDA, CORPORA):
        if path.is_relative_to(folder):
            return str(path.relative_to(folder))
    return path.name


def every_diagram(paths: list[Path]) -> list[tuple[Path, str | None]]:
    cases: list[tuple[Path, str | None]] = []
    for path in paths:
        if corpus_name(path) in MALFORMED:
            continue
        root = etree.parse(str(path)).getroot()
        ids = [d.get("id") for d in root.findall("bpmndi:BPMNDiagram", NS) if d.get("id")]
        cases.extend((path, d) for d in ids or [None])
    return cases


def read(name: str, diagram: str | None = None) -> Graph:
    return graph_from_xml((DATA / name).read_bytes(), file=name, diagram=diagram)


def shapes_by_id(graph: Graph) -> dict[str, Node | Lane | Pool]:
    items: list[Node | Lane | Pool] = [*graph.nodes, *graph.lanes, *graph.pools]
    return {x.id: x for x in items}


# --- an independent reading of the DI, to compare with ---------------------------------------


def bounds_of(element: etree._Element | None) -> Bounds | None:
    found = element.find("dc:Bounds", NS) if element is not None else None
    if found is None:
        return None
    return Bounds(*(float(found.get(a)) for a in ("x", "y", "width", "height")))


def diagram_of(root: etree._Element, diagram: str) -> etree._Element:
    return root.xpath("bpmndi:BPMNDiagram[@id=$d]", namespaces=NS, d=diagram)[0]


def kinds_by_id(root: etree._Element) -> dict[str, str]:
    return {
        el.get("id"): etree.QName(el).localname for el in root.iter(f"{{{MODEL}}}*") if el.get("id")
    }


def assert_references_resolve(graph: Graph) -> None:
    """The promise to diagrams/: every id a graph mentions is in the graph."""
    nodes = {n.id for n in graph.nodes}
    lanes = {x.id for x in graph.lanes}
    ids = [*shapes_by_id(graph), *(e.id for e in graph.edges)]
    shapes = len(graph.nodes) + len(graph.lanes) + len(graph.pools)
    assert len(ids) == len(set(ids)) == shapes + len(graph.edges)
    for node in graph.nodes:
        assert node.kind in NODE_KINDS | {UNKNOWN_KIND}
        assert node.kind != UNKNOWN_KIND or (node.bounds is not None and node.process_id is None)
        assert node.parent_id is None or node.parent_id in nodes
        assert node.lane_id is None or node.lane_id in lanes
        assert node.attached_to is None or node.attached_to in nodes
        assert (node.attached_to is not None) == (node.kind == "boundaryEvent")
        assert node.process_id is None or node.process_id in graph.process_ids
    for lane in graph.lanes:
        assert lane.parent_id is None or lane.parent_id in lanes
    ends = nodes | {p.id for p in graph.pools}
    for edge in graph.edges:
        assert edge.source in ends and edge.target in ends


# --- the corpora ------------------------------------------------------------------------------


@needs_corpora
@pytest.mark.parametrize(
    ("path", "diagram"), every_diagram(MIWG_FILES), ids=lambda v: getattr(v, "name", v)
)
def test_every_miwg_diagram_shows_every_shape_and_edge(path: Path, diagram: str | None) -> None:
    graph = graph_from_xml(path.read_bytes(), file=path.name, diagram=diagram)
    assert diagram is not None and graph.diagram == diagram
    root = etree.parse(str(path)).getroot()
    kinds = kinds_by_id(root)
    drawn = diagram_of(root, diagram)
    found = shapes_by_id(graph)
    edges = {e.id: e for e in graph.edges}

    shown: set[str] = set()
    for shape in drawn.iter("{*}BPMNShape"):
        element = shape.get("bpmnElement")
        kind = kinds.get(element)
        if kind not in NODE_KINDS | {"lane", "participant"}:
            continue
        shown.add(element)
        item = found[element]
        assert item.bounds == bounds_of(shape), element
        if isinstance(item, Node):
            assert item.kind == kind
            assert item.label_bounds == bounds_of(shape.find("bpmndi:BPMNLabel", NS))
    # Only what this diagram shows (C.4.0 and C.5.0 spread their models over several).
    assert found.keys() == shown
    assert graph.has_di

    for edge in drawn.iter("{*}BPMNEdge"):
        element = edge.get("bpmnElement")
        if kinds.get(element) in FLOW_KINDS:
            points = tuple(
                Point(float(w.get("x")), float(w.get("y"))) for w in edge.findall("di:waypoint", NS)
            )
            assert edges[element].waypoints == points, element
    assert_references_resolve(graph)


@needs_corpora
@pytest.mark.parametrize(
    "path", [*MIWG_FILES, *CAMUNDA_FILES, *SPIFF_FILES], ids=lambda p: corpus_name(p)
)
def test_what_the_corpus_draws_that_a_graph_holds_only_as_unknown(path: Path) -> None:
    """Every shape and edge of every diagram is in its graph by its element's id (by its own
    id when it has no element); the pinned UNKNOWN ones as "unknown", each with a warning,
    and a file that draws nothing unknown has no warning at all."""
    root = etree.parse(str(path)).getroot()
    expected = UNKNOWN.get(corpus_name(path), {})
    unknown: dict[str, str] = {}
    graphs = graphs_from_xml(path.read_bytes(), file=path.name)
    diagrams = root.findall("bpmndi:BPMNDiagram", NS)
    if not diagrams:  # a file without DI: one graph of everything
        assert graphs == [graph_from_xml(path.read_bytes(), file=path.name)]
        diagrams = []
    for diagram, graph in zip(diagrams, graphs if diagrams else [], strict=True):
        drawn = list(diagram.iter("{*}BPMNShape", "{*}BPMNEdge"))
        if graph is None:  # bpmn.io's empty diagrams of collapsed sub-processes
            assert drawn == []
            continue
        items = {**shapes_by_id(graph), **{e.id: e for e in graph.edges}}
        for di in drawn:
            item = items.pop(di.get("bpmnElement") or di.get("id"))
            if getattr(item, "kind", None) == UNKNOWN_KIND:
                unknown[item.id] = graph.warnings[len(unknown)]
        assert items == {}  # nothing the diagram does not draw
        assert_references_resolve(graph)
    assert unknown == expected
    assert {w for g in graphs if g is not None for w in g.warnings} == set(expected.values())


@needs_corpora
def test_data_associations_join_the_data_and_the_activity() -> None:
    path = MIWG / "Reference" / "C.4.0.bpmn"
    xml = path.read_bytes()
    root = etree.parse(str(path)).getroot()
    graphs = [graph_from_xml(xml, diagram=d) for d in diagram_ids(xml)]
    associations = [e for g in graphs for e in g.edges if e.kind.startswith("data")]
    assert len(associations) == 12
    for edge in associations:
        (element,) = root.xpath("//*[@id=$i]", i=edge.id)
        owner = element.getparent().get("id")
        if edge.kind == "dataInputAssociation":
            source = element.findtext("bpmn:sourceRef", namespaces=NS)
            assert (edge.source, edge.target) == (source, owner)
        else:
            target = element.findtext("bpmn:targetRef", namespaces=NS)
            assert (edge.source, edge.target) == (owner, target)
        assert len(edge.waypoints) >= 2


@needs_corpora
def test_one_graph_per_diagram_of_a_file_with_several() -> None:
    xml = (MIWG / "Reference" / "C.4.0.bpmn").read_bytes()
    ids = diagram_ids(xml)
    graphs = [graph_from_xml(xml, diagram=d) for d in ids]
    # Four collaborations of one pool each, one per diagram; unnamed, so named by the process.
    assert [g.name for g in graphs] == [
        "Money Bank - Process",
        "IT - Process",
        "Payroll - Process",
        "Facilities - Process",
    ]
    assert [len(g.pools) for g in graphs] == [1, 1, 1, 1]
    node_sets = [{n.id for n in g.nodes} for g in graphs]
    assert sum(map(len, node_sets)) == len(set().union(*node_sets))  # no node drawn twice
    # The default is the main diagram: the collaboration that shows the most, here the first.
    assert graph_from_xml(xml) == graphs[0]
    # C.5.0's second diagram is the plane of a process called from the first.
    xml = (MIWG / "Reference" / "C.5.0.bpmn").read_bytes()
    called = graph_from_xml(xml, diagram=diagram_ids(xml)[1])
    assert called.name == "Check for connected clients"
    assert called.pools == () and called.has_di


@needs_corpora
def test_diagrams_without_an_id_cannot_be_chosen() -> None:
    # bpmn.io writes an empty, id-less diagram per collapsed sub-process without contents.
    xml = (MIWG / "bpmn-io-18.6.1" / "B.2.0-export.bpmn").read_bytes()
    assert len(etree.fromstring(xml).findall("bpmndi:BPMNDiagram", NS)) == 3
    assert diagram_ids(xml) == ["BPMNDiagram_1"]
    with pytest.raises(DefinitionError) as caught:
        graph_from_xml(xml, file="B.2.0-export.bpmn", diagram="BPMNDiagram_2")
    assert caught.value.element_id == "BPMNDiagram_2"


@needs_corpora
def test_malformed_corpus_files() -> None:
    paths = [*MIWG_FILES, *CAMUNDA_FILES]
    assert len(paths) == 21 + 3 + 2 + 15
    broken = set()
    for path in paths:
        try:
            etree.fromstring(path.read_bytes())
        except etree.XMLSyntaxError:
            broken.add(corpus_name(path))
    assert broken == MALFORMED
    # A real file cut short names the file and the line where the XML stops making sense.
    text = (MIWG / "Reference" / "C.1.0.bpmn").read_text(encoding="utf-8")
    cut = "\n".join(text.splitlines()[:40])
    with pytest.raises(DefinitionError) as caught:
        graph_from_xml(cut, file="C.1.0.bpmn")
    assert caught.value.file == "C.1.0.bpmn"
    assert caught.value.line == 40
    assert str(caught.value).startswith("C.1.0.bpmn:40: not well-formed XML")


@needs_corpora
@pytest.mark.parametrize("path", CAMUNDA_FILES, ids=lambda p: p.name)
def test_camunda_models_parse(path: Path) -> None:
    graph = graph_from_xml(path.read_bytes(), file=path.name)
    root = etree.parse(str(path)).getroot()
    flow_nodes = [
        el
        for el in root.iter(f"{{{MODEL}}}*")
        if etree.QName(el).localname in NODE_KINDS - DRAWN_ONLY
    ]
    drawn_only = [n for n in graph.nodes if n.kind in DRAWN_ONLY]
    assert len(graph.nodes) - len(drawn_only) == len(flow_nodes) > 0
    assert all(n.bounds is not None for n in drawn_only)
    assert graph.warnings == ()
    assert graph.has_di == (path.name != "checkCreditProcess.bpmn20.xml")
    assert_references_resolve(graph)


@needs_corpora
def test_a_file_without_di_from_camunda() -> None:
    path = next(p for p in CAMUNDA_FILES if p.name == "checkCreditProcess.bpmn20.xml")
    graph = graph_from_xml(path.read_bytes(), file=path.name)
    assert graph.diagram is None and not graph.has_di
    assert all(n.bounds is None and n.label_bounds is None for n in graph.nodes)
    assert len(graph.edges) == 5 and all(e.waypoints == () for e in graph.edges)
    assert [e.condition is not None for e in graph.edges].count(True) == 2


# --- our own processes ------------------------------------------------------------------------


def shipped(name: str) -> Graph:
    return graph_from_xml((ROOT / "processes" / name).read_bytes(), file=name)


def test_sales_pipeline() -> None:
    graph = shipped("sales_pipeline.bpmn")
    assert graph.name == "Sales pipeline" and graph.file == "sales_pipeline.bpmn"
    assert graph.process_ids == ("sales_pipeline",)
    assert [x.name for x in graph.lanes] == [
        "Sales Rep",
        "Sales Manager",
        "Product Expert",
        "Legal",
        "Finance",
        "After-Sales",
        "Marketing",
    ]
    nodes = {n.id: n for n in graph.nodes}
    timer = nodes["timer_needs_idle"]
    assert (timer.kind, timer.event, timer.interrupting, timer.attached_to) == (
        "boundaryEvent",
        "timer",
        False,
        "task_needs_analysis",
    )
    assert timer.lane_id == "lane_sales_rep"
    defaults = [e for e in graph.edges if e.source == "gw_discount_ok" and e.is_default]
    assert [e.id for e in defaults] == ["flow_discount_within_5"]
    conditioned = next(e for e in graph.edges if e.id == "flow_discount_above_5")
    assert conditioned.condition == "discount_percent > 5" and not conditioned.is_default
    user_tasks = [n for n in graph.nodes if n.kind == "userTask"]
    assert len(user_tasks) > 10 and all(n.stage for n in user_tasks)
    assert nodes["task_qualify_lead"].stage == "qualification"
    assert graph.has_di
    assert all(n.lane_id is not None for n in graph.nodes)
    assert all(len(e.waypoints) >= 2 for e in graph.edges)
    assert [p.process_id for p in graph.pools] == ["sales_pipeline"]
    assert_references_resolve(graph)


def test_optimization_initiative() -> None:
    graph = shipped("optimization_initiative.bpmn")
    assert graph.has_di
    assert [x.name for x in graph.lanes] == ["Sales Manager", "Sales Rep"]
    assert all(n.stage for n in graph.nodes if n.kind == "userTask")
    assert_references_resolve(graph)


def test_text_and_bytes_give_the_same_graph() -> None:
    # Text that still declares its encoding is what lxml refuses unless handled.
    path = ROOT / "processes" / "sales_pipeline.bpmn"
    text = path.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert graph_from_xml(text) == graph_from_xml(path.read_bytes())
    assert "discount ≤ 5%" in {e.name for e in graph_from_xml(text).edges}


# --- small files, one feature each ------------------------------------------------------------


def test_nested_lanes() -> None:
    graph = read("nested_lanes.bpmn")
    lanes = {x.id: x for x in graph.lanes}
    assert {i: x.parent_id for i, x in lanes.items()} == {
        "lane_sales": None,
        "lane_inside": "lane_sales",
        "lane_field": "lane_sales",
        "lane_north": "lane_field",
        "lane_office": None,
    }
    assert lanes["lane_north"].bounds == Bounds(190, 150, 510, 150)
    assert all(x.process_id == "proc_nested" for x in graph.lanes)
    # Parent lanes list their children's nodes too; the innermost lane wins.
    assert {n.id: n.lane_id for n in graph.nodes} == {
        "start": "lane_inside",
        "task_a": "lane_inside",
        "task_b": "lane_north",
        "task_c": "lane_office",
        "end": "lane_office",
    }
    start = next(n for n in graph.nodes if n.id == "start")
    assert start.label_bounds == Bounds(196, 121, 44, 14)
    assert graph.pools[0].bounds == Bounds(100, 50, 600, 400)
    assert graph.name == "Nested lanes"  # the collaboration has no name


def test_expanded_and_collapsed_sub_processes() -> None:
    graph = read("subprocesses.bpmn")
    nodes = {n.id: n for n in graph.nodes}
    assert nodes["sub_check"].expanded is True
    assert nodes["sub_ship"].expanded is False
    assert nodes["start"].expanded is None  # only sub-processes are expanded or not
    assert [n.id for n in graph.nodes if n.parent_id == "sub_check"] == [
        "check_start",
        "task_check_stock",
        "check_end",
    ]
    assert nodes["task_check_stock"].bounds == Bounds(300, 120, 100, 80)
    # The collapsed one's contents are drawn on the other diagram, not on this one.
    assert not {"ship_start", "task_pack", "ship_end"} & nodes.keys()
    assert "flow_ship_start" not in {e.id for e in graph.edges}
    assert all(n.process_id == "proc_orders" for n in graph.nodes)
    assert graph.has_di


def test_a_file_with_two_diagrams() -> None:
    xml = (DATA / "subprocesses.bpmn").read_text(encoding="utf-8")
    assert diagram_ids(xml) == ["diagram_orders", "diagram_ship"]
    assert graph_from_xml(xml).diagram == "diagram_orders"
    inside = graph_from_xml(xml, file="subprocesses.bpmn", diagram="diagram_ship")
    assert inside.diagram == "diagram_ship"
    assert [n.id for n in inside.nodes] == ["ship_start", "task_pack", "ship_end"]
    assert [e.id for e in inside.edges] == ["flow_ship_start", "flow_ship_end"]
    # The sub-process itself is not on this diagram, so nothing points at it.
    assert all(n.parent_id is None for n in inside.nodes)
    assert inside.nodes[1].bounds == Bounds(270, 138, 100, 80)
    assert inside.name == "Order handling" and inside.has_di
    with pytest.raises(DefinitionError, match="no such diagram"):
        graph_from_xml(xml, diagram="diagram_missing")


def test_markers_events_and_data() -> None:
    graph = read("markers_no_di.bpmn")
    nodes = {n.id: n for n in graph.nodes}
    assert nodes["task_each_parallel"].loop == "parallel"
    assert nodes["task_each_sequential"].loop == "sequential"
    assert nodes["task_retry"].loop == "standard"
    assert nodes["end"].loop is None
    assert nodes["task_each_parallel"].stage == "contact"
    assert nodes["task_each_sequential"].stage is None
    assert {i: (n.event, n.interrupting) for i, n in nodes.items() if n.kind in EVENT_KINDS} == {
        "start_either": ("parallelMultiple", True),
        "timer_retry_slow": ("timer", False),
        "catch_either": ("multiple", True),  # one definition inline, one by reference
        "catch_shared_timer": ("timer", True),
        "error_pay": ("error", True),
        "start_cancel_request": ("message", False),
        "end": (None, True),
    }
    assert nodes["timer_retry_slow"].attached_to == "task_retry"
    assert nodes["error_pay"].attached_to == "tx_pay"
    assert {n.id: n.parent_id for n in graph.nodes if n.parent_id} == {
        "task_charge": "tx_pay",
        "task_anything": "adhoc_prepare",
        "start_cancel_request": "sub_events",
    }
    assert nodes["call_invoice"].kind == "callActivity"
    # Data: references are drawn (named after what they refer to), the data object is not.
    assert "do_order" not in nodes
    assert (nodes["ref_order"].name, nodes["ref_crm"].name) == ("Order", "CRM")
    assert nodes["group_sync"].name == "Nightly sync"
    edges = {e.id: e for e in graph.edges}
    assert (edges["in_order"].source, edges["in_order"].target) == ("ref_order", "task_read_write")
    assert (edges["out_crm"].source, edges["out_crm"].target) == ("task_read_write", "ref_crm")
    assert edges["flow_big"].condition == "amount > 1000" and not edges["flow_big"].is_default
    assert edges["flow_small"].is_default and edges["flow_small"].condition is None
    assert "flow_missing_node" not in edges  # its target was deleted, which is said
    assert graph.warnings == (
        "the sequenceFlow flow_missing_node ends at task_deleted, which is not in the file: "
        "not drawn",
    )
    assert_references_resolve(graph)


def test_a_file_without_di() -> None:
    graph = read("markers_no_di.bpmn")
    assert diagram_ids((DATA / "markers_no_di.bpmn").read_bytes()) == []
    assert graph.diagram is None and not graph.has_di
    assert all(n.bounds is None and n.label_bounds is None for n in graph.nodes)
    assert all(e.waypoints == () and e.label_bounds is None for e in graph.edges)
    assert len(graph.nodes) == 21  # every flow node and artifact, at every depth
    assert graph.name == "proc_markers"  # no collaboration, no process name: the process id


def test_pools_and_message_flows() -> None:
    graph = read("collaboration.bpmn")
    assert graph.name == "Quote exchange"
    assert graph.process_ids == ("proc_seller", "proc_customer")
    assert [(p.id, p.name, p.process_id) for p in graph.pools] == [
        ("pool_seller", "Seller", "proc_seller"),
        ("pool_customer", "Customer", "proc_customer"),
        ("pool_bank", "Bank", None),  # a black box
    ]
    assert graph.pools[2].bounds == Bounds(100, 560, 600, 60)
    edges = {e.id: e for e in graph.edges}
    quote = edges["msg_quote"]
    assert (quote.kind, quote.source, quote.target, quote.name) == (
        "messageFlow",
        "task_send_quote",
        "start_quote",
        "Quote",
    )
    assert quote.waypoints == (Point(310, 180), Point(310, 382))
    assert quote.label_bounds == Bounds(318, 270, 32, 14)
    assert edges["msg_payment"].target == "pool_bank"  # a message flow may end on a pool
    nodes = {n.id: n for n in graph.nodes}
    assert {n.process_id for n in graph.nodes if n.id.startswith("seller")} == {"proc_seller"}
    assert nodes["start_quote"].process_id == "proc_customer"


def test_text_annotation_and_association() -> None:
    graph = read("collaboration.bpmn")
    annotation = next(n for n in graph.nodes if n.kind == "textAnnotation")
    assert (annotation.id, annotation.text, annotation.name) == (
        "ann_quote",
        "Valid for 30 days",
        "",
    )
    assert annotation.bounds == Bounds(400, 50, 120, 30)
    association = next(e for e in graph.edges if e.kind == "association")
    assert (association.source, association.target) == ("task_send_quote", "ann_quote")
    assert association.waypoints == (Point(350, 100), Point(400, 65))


def test_inconsistent_files_lose_only_what_cannot_be_drawn() -> None:
    graph = read("inconsistent.bpmn")
    nodes = {n.id: n for n in graph.nodes}
    assert list(nodes) == [
        "start",
        "task_ok",
        "timer_prefixed",
        "task_no_bounds",
        "end",
        "ann_flow",
        "ghost_task",  # a shape for an element the file lacks: a grey box where it was drawn
    ]
    assert (nodes["ghost_task"].kind, nodes["ghost_task"].bounds) == (
        UNKNOWN_KIND,
        Bounds(10, 10, 100, 80),
    )
    assert nodes["task_ok"].bounds == Bounds(200, 78, 100, 80)  # the first of two shapes
    assert nodes["task_no_bounds"].bounds is None and not graph.has_di
    assert nodes["timer_prefixed"].attached_to == "task_ok"  # "tns:task_ok"
    assert nodes["task_ok"].lane_id == "lane_only"  # " task_ok " in flowNodeRef
    edges = {e.id: e for e in graph.edges}
    # The flow to a deleted node, and the two edges for nothing that join no shape are left
    # out.  The association to a flow ends at the flow's end nearer to where it touches it.
    assert list(edges) == ["flow_ok", "flow_last", "assoc_to_flow"]
    assert edges["flow_ok"].waypoints == (Point(136, 118), Point(200, 118))  # "abc" dropped
    assert edges["flow_ok"].condition is None  # an empty conditionExpression
    assert (edges["assoc_to_flow"].source, edges["assoc_to_flow"].target) == ("ann_flow", "start")
    assert_references_resolve(graph)
    # Nothing is left out silently: each loss is a warning naming the DI and the element.
    assert graph.warnings == (
        'the shape task_no_bounds_di of "No bounds" (task_no_bounds) has no readable '
        "position: the diagram is laid out automatically",
        "the shape ghost_task_di refers to ghost_task, which is not an element of the file: "
        "drawn as a grey box",
        'the shape task_ok_di_again shows "Fine" (task_ok) a second time: only its first '
        "shape is drawn",
        "the edge flow_to_nowhere_di of flow_to_nowhere ends at missing_node, which is not "
        "an element of the file: not drawn",
        "the edge edge_for_nothing refers to no element and joins no shape of the diagram: "
        "not drawn",
        "the edge ghost_flow_di refers to ghost_flow, which is not an element of the file, "
        "and joins no shape of the diagram: not drawn",
    )


def test_not_bpmn() -> None:
    with pytest.raises(DefinitionError, match=r"not a BPMN 2\.0 file") as caught:
        read("not_bpmn.bpmn")
    assert caught.value.file == "not_bpmn.bpmn"
    assert "DMN" in str(caught.value)
    with pytest.raises(DefinitionError, match=r"not a BPMN 2\.0 file"):
        diagram_ids(b"<definitions/>")  # right name, no namespace


def test_broken_xml() -> None:
    with pytest.raises(DefinitionError) as caught:
        read("broken.bpmn")
    error = caught.value
    assert (error.file, error.line) == ("broken.bpmn", 7)
    assert "Opening and ending tag mismatch: task line 5 and process" in error.detail
    with pytest.raises(DefinitionError) as caught:
        diagram_ids(b"")
    assert caught.value.line == 1


def test_names_fall_back_to_the_file() -> None:
    empty = f'<definitions xmlns="{MODEL}" id="defs"/>'
    graph = graph_from_xml(empty, file="empty.bpmn")
    assert graph == Graph(
        name="empty.bpmn", file="empty.bpmn", warnings=("the file holds no process",)
    )
    assert not graph.has_di


def test_the_parser_module_can_be_imported_first() -> None:
    # core.graph delegates to core.graph_xml lazily so that neither import order fails.
    code = (
        "import engine.core.graph_xml, engine.core.graph; print(engine.core.graph.graph_from_xml)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_entities_are_never_resolved() -> None:
    secret = ROOT / "tests" / "engine" / "data" / "graph" / "broken.bpmn"
    xml = (
        f'<!DOCTYPE bpmn:definitions [<!ENTITY leak SYSTEM "file://{secret}">]>'
        f'<bpmn:definitions xmlns:bpmn="{MODEL}"><bpmn:process id="p">'
        '<bpmn:textAnnotation id="a"><bpmn:text>&leak;</bpmn:text></bpmn:textAnnotation>'
        "</bpmn:process></bpmn:definitions>"
    )
    (annotation,) = graph_from_xml(xml).nodes
    assert "task_unclosed" not in annotation.text
