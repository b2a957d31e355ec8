"""engine.core.graph for files from any tool: several diagrams and the main one, vertical
pools, pools for processes, data inputs and outputs, messages, shapes for nothing, and
sub-processes drawn open without saying so.

Real MIWG files, some with a few bytes edited the way other exporters write them.
"""

from __future__ import annotations

import re

import pytest
from lxml import etree

from engine.core.graph import (
    UNKNOWN_KIND,
    Bounds,
    Graph,
    Node,
    Pool,
    diagram_ids,
    diagram_list,
    graph_from_xml,
    graphs_from_xml,
)
from engine.errors import DefinitionError
from tests.conftest import CORPORA
from tests.engine.test_graph import DATA, assert_references_resolve

MIWG = CORPORA / "miwg"
REFERENCE = MIWG / "Reference"
pytestmark = pytest.mark.skipif(not MIWG.is_dir(), reason="shared/corpora is not beside")


def reference(name: str) -> bytes:
    return (REFERENCE / name).read_bytes()


def nodes_of(graph: Graph) -> dict[str, Node]:
    return {n.id: n for n in graph.nodes}


# --- several diagrams ------------------------------------------------------------------------


def test_the_diagrams_of_a_file_are_listed_with_the_main_one() -> None:
    listed = diagram_list(reference("C.5.0.bpmn"))
    assert listed == [
        {
            "id": "_2fcf7782-05d8-4e1d-a8d2-51ea0ec65d7e",
            "name": "Create New Customer",
            "plane": "_906eeac9-47e3-41c3-a8db-b8abb8fd95e6",
            "plane_kind": "collaboration",
            "shapes": 44,
            "edges": 59,
            "main": True,
        },
        {
            "id": "_07be6666-61a7-4857-9e9a-8e1b80fafb52",
            "name": "Check for connected clients",
            "plane": "_774bc005-0917-43d5-ab70-0f9fe123fbd1",
            "plane_kind": "process",
            "shapes": 6,
            "edges": 6,
            "main": False,
        },
    ]
    # C.4.0: four collaborations; the main one is the one that shows the most.
    c40 = diagram_list(reference("C.4.0.bpmn"))
    assert [(d["name"], d["shapes"] + d["edges"], d["main"]) for d in c40] == [
        ("Onboarding employee", 55, True),
        ("IT", 23, False),
        ("Payroll", 18, False),
        ("Facilities", 11, False),
    ]
    assert diagram_list((DATA / "markers_no_di.bpmn").read_bytes()) == []


def test_the_main_diagram_is_drawn_wherever_it_is_in_the_file() -> None:
    """The drill-down written first (as some tools do) is not what a file opens on."""
    xml = reference("C.5.0.bpmn")
    root = etree.fromstring(xml)
    first, second = root.findall("{*}BPMNDiagram")
    root.remove(second)
    first.addprevious(second)  # the called process's small diagram now comes first
    swapped = etree.tostring(root)
    assert diagram_ids(swapped)[0] == "_07be6666-61a7-4857-9e9a-8e1b80fafb52"
    main = graph_from_xml(swapped)
    assert main.diagram == "_2fcf7782-05d8-4e1d-a8d2-51ea0ec65d7e"
    assert main == graph_from_xml(xml)
    assert [d["main"] for d in diagram_list(swapped)] == [False, True]


def test_without_a_collaboration_the_largest_diagram_is_the_main_one() -> None:
    xml = (DATA / "subprocesses.bpmn").read_bytes()
    text = xml.replace(b'bpmnElement="proc_orders"', b'bpmnElement="proc_orders_gone"')
    # Move the small drill-down first: it is still not the main one.
    root = etree.fromstring(text)
    first, second = root.findall("{*}BPMNDiagram")
    root.remove(second)
    first.addprevious(second)
    assert graph_from_xml(etree.tostring(root)).diagram == "diagram_orders"


def test_bpmn_io_exports_with_empty_drill_downs() -> None:
    xml = (MIWG / "bpmn-io-18.6.1" / "B.2.0-export.bpmn").read_bytes()
    graphs = graphs_from_xml(xml, file="B.2.0-export.bpmn")
    assert [g.diagram if g else None for g in graphs] == ["BPMNDiagram_1", None, None]
    assert graphs[0] == graph_from_xml(xml, file="B.2.0-export.bpmn")
    assert [d["main"] for d in diagram_list(xml)] == [True, False, False]
    # The Trisotech reference of the same model has one diagram: the same main choice.
    assert graph_from_xml(reference("B.2.0.bpmn")).diagram == "Trisotech_Visio-_6"


def test_a_diagram_is_chosen_by_its_id_or_its_name() -> None:
    xml = reference("C.4.0.bpmn")
    by_name = graph_from_xml(xml, diagram="Payroll")
    assert by_name.diagram == "_a90a886a-6aa2-4cce-9593-8729f9f15e12"
    assert by_name == graph_from_xml(xml, diagram="_a90a886a-6aa2-4cce-9593-8729f9f15e12")
    with pytest.raises(DefinitionError) as caught:
        graph_from_xml(xml, file="C.4.0.bpmn", diagram="HR")
    assert str(caught.value).startswith(
        "C.4.0.bpmn, element 'HR': the file has no such diagram (its diagrams: "
        '_1484687a-1f56-4a0b-8eac-a76d5806a31e "Onboarding employee", '
    )
    twice = xml.replace(b'name="Payroll"', b'name="IT"')
    with pytest.raises(DefinitionError, match=r"several diagrams are called this \(_2197"):
        graph_from_xml(twice, diagram="IT")


# --- pools and lanes -------------------------------------------------------------------------


def test_vertical_pools_and_lanes() -> None:
    graph = graph_from_xml(reference("A.4.1.bpmn"))  # Signavio: isHorizontal="false"
    assert [(p.name, p.horizontal) for p in graph.pools] == [("Pool 1", False), ("Pool 2", False)]
    assert [(x.name, x.horizontal) for x in graph.lanes] == [
        ("Lane 1", False),
        ("Lane 2 ", False),
        ("Lane 3", False),
    ]
    # Without the attribute (A.4.0) or with "true" (C.1.0): horizontal.
    for name in ("A.4.0.bpmn", "C.1.0.bpmn"):
        graph = graph_from_xml(reference(name))
        assert graph.pools and all(p.horizontal for p in graph.pools)
        assert all(x.horizontal for x in graph.lanes)


def test_a_pool_drawn_for_a_process_itself() -> None:
    # Some tools draw the pool of a process-only file for the process, with no participant.
    pool = (
        b'<bpmndi:BPMNShape id="pool_di" bpmnElement="WFP-6-" isHorizontal="true">'
        b'<dc:Bounds x="20" y="20" width="900" height="300"/></bpmndi:BPMNShape>'
    )
    xml = reference("A.1.0.bpmn").replace(b"</bpmndi:BPMNPlane>", pool + b"</bpmndi:BPMNPlane>")
    graph = graph_from_xml(xml)
    assert graph.pools == (Pool("WFP-6-", "", "WFP-6-", Bounds(20, 20, 900, 300)),)
    assert graph.warnings == ()
    assert_references_resolve(graph)


# --- data, messages --------------------------------------------------------------------------


def test_a_process_s_own_data_inputs_and_outputs() -> None:
    graph = graph_from_xml(reference("C.6.0.bpmn"))
    nodes = nodes_of(graph)
    data_input = nodes["_e8347f3a-e1a1-41d1-b2e1-4089c02028bc"]
    data_output = nodes["_1a713fab-bf18-4975-afe3-d2bd2820023b"]
    assert (data_input.kind, data_input.name) == ("dataInput", "Travel Request")
    assert (data_output.kind, data_output.name) == ("dataOutput", "Itinerary")
    assert data_input.process_id == data_output.process_id == graph.process_ids[0]
    # A task's own inputs (inside its ioSpecification) are not drawn: only the process's.
    assert "_9628422b-85a6-4857-8c14-7289b9fd9a8a" not in nodes
    edges = {e.kind: e for e in graph.edges if e.kind.startswith("data")}
    assert edges["dataInputAssociation"].source == data_input.id
    assert edges["dataOutputAssociation"].target == data_output.id
    assert nodes[edges["dataInputAssociation"].target].kind == "sendTask"
    assert graph.warnings == ()
    assert_references_resolve(graph)


def test_messages_on_flows_and_on_their_own() -> None:
    graph = graph_from_xml(reference("B.2.0.bpmn"))
    assert {e.id: e.message for e in graph.edges if e.kind == "messageFlow"} == {
        "_9428f666-fc8a-41be-8a77-9b280e14e7ae": None,
        "_09e7cb23-4a1b-4165-b93a-cf635c223ee5": "initiating",
    }
    # A message drawn as an envelope of its own, as Bizagi and Signavio can.
    xml = (DATA / "collaboration.bpmn").read_bytes()
    xml = xml.replace(
        b"<bpmn:collaboration",
        b'<bpmn:message id="msg_quote" name="Quote"/>\n<bpmn:collaboration',
        1,
    )
    shape = (
        b'<bpmndi:BPMNShape id="msg_quote_di" bpmnElement="msg_quote">'
        b'<dc:Bounds x="330" y="260" width="20" height="14"/></bpmndi:BPMNShape>'
    )
    xml = xml.replace(b"</bpmndi:BPMNPlane>", shape + b"</bpmndi:BPMNPlane>")
    message = nodes_of(graph_from_xml(xml))["msg_quote"]
    assert (message.kind, message.name, message.bounds) == (
        "message",
        "Quote",
        Bounds(330, 260, 20, 14),
    )
    assert message.process_id is None


# --- what refers to nothing ------------------------------------------------------------------


def test_a_diagram_that_refers_to_no_process_draws_its_shapes() -> None:
    # The plane and every shape name ids the file does not have (a tool that renumbered
    # the model but not the diagram): no blank picture, a grey box per shape, and a word.
    xml = re.sub(rb'bpmnElement="([^"]+)"', rb'bpmnElement="gone\1"', reference("A.1.0.bpmn"))
    graph = graph_from_xml(xml, file="A.1.0.bpmn")
    root = etree.fromstring(xml)
    shapes = root.findall(".//{*}BPMNShape")
    assert [n.kind for n in graph.nodes] == [UNKNOWN_KIND] * len(shapes) == [UNKNOWN_KIND] * 5
    assert [n.id for n in graph.nodes] == [s.get("bpmnElement") for s in shapes]
    assert graph.has_di and graph.process_ids == ()
    # Edges for nothing are drawn between the shapes under their ends.
    assert len(graph.edges) == 4 and {e.kind for e in graph.edges} == {UNKNOWN_KIND}
    first = shapes[0]
    assert graph.warnings[0] == (
        f"the shape {first.get('id')} refers to {first.get('bpmnElement')}, which is not an "
        "element of the file: drawn as a grey box"
    )
    assert graph.warnings[-1] == (
        "the diagram Trisotech_Visio-_6 refers to no process of the file: its shapes are "
        "drawn as grey boxes"
    )
    assert_references_resolve(graph)


def test_a_file_with_a_diagram_and_no_process() -> None:
    root = etree.fromstring(reference("A.1.0.bpmn"))
    root.remove(root.find("{*}process"))
    graph = graph_from_xml(etree.tostring(root))
    assert len(graph.nodes) == 5 and all(n.kind == UNKNOWN_KIND for n in graph.nodes)
    assert graph.warnings[-1] == "the file holds no process"
    assert_references_resolve(graph)


def test_many_warnings_of_one_kind_are_counted() -> None:
    xml = re.sub(rb'bpmnElement="([^"]+)"', rb'bpmnElement="gone\1"', reference("C.1.0.bpmn"))
    graph = graph_from_xml(xml)
    grey = [w for w in graph.warnings if w.endswith("drawn as a grey box")]
    assert len(grey) == 10 and "and 17 more like it" in graph.warnings


# --- sub-processes drawn open ----------------------------------------------------------------


def test_sub_processes_drawn_around_their_children_are_expanded() -> None:
    xml = reference("B.2.0.bpmn")
    flagged = {n.id: n.expanded for n in graph_from_xml(xml).nodes if n.expanded is not None}
    bare = re.sub(rb' isExpanded="(true|false)"', b"", xml)
    inferred = {n.id: n.expanded for n in graph_from_xml(bare).nodes if n.expanded is not None}
    # Every one the tool marked expanded is found so (an expanded call activity too, drawn
    # around the process it calls); a collapsed one stays unknown (None), not False.
    assert inferred == {i: True for i, e in flagged.items() if e}
    assert len(inferred) == 4 and False in flagged.values()
    # Our own small file: the open sub-process without its flag, the collapsed one too.
    small = (DATA / "subprocesses.bpmn").read_bytes()
    small = small.replace(b' isExpanded="true"', b"").replace(b' isExpanded="false"', b"")
    nodes = nodes_of(graph_from_xml(small))
    assert (nodes["sub_check"].expanded, nodes["sub_ship"].expanded) == (True, None)
