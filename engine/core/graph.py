"""A process as plain data for drawing: what diagrams/ sees of a definition and of a deal.

Pure: built from the BPMN XML (not from the executable spec, so files from other tools that
are not executable can be drawn too) and from an instance's stored position.  diagrams/ only
ever imports these types; it never touches SpiffWorkflow or the database.

Coordinates are BPMN DI coordinates: pixels, origin top-left, y growing downwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Node kinds are the BPMN element names (local part of the tag).
EVENT_KINDS = frozenset(
    {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
)
TASK_KINDS = frozenset(
    {
        "task",
        "userTask",
        "scriptTask",
        "businessRuleTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "manualTask",
    }
)
SUBPROCESS_KINDS = frozenset({"subProcess", "transaction", "adHocSubProcess", "callActivity"})
GATEWAY_KINDS = frozenset(
    {
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)
ARTIFACT_KINDS = frozenset(
    {
        "dataObjectReference",
        "dataObject",
        "dataStoreReference",
        "textAnnotation",
        "group",
        "dataInput",  # a process's own data inputs and outputs (ioSpecification)
        "dataOutput",
        "message",  # a message drawn on its own (an envelope shape)
    }
)
# What a diagram draws that the file does not let us read as a BPMN element: a BPMNShape
# whose bpmnElement names nothing in the file (or an element of a kind no other *_KINDS
# holds: a choreography task, a conversation, ...), and a BPMNEdge likewise (its ends found
# from its DI's sourceElement/targetElement, the element's sourceRef/targetRef, or the shapes
# under its first and last waypoints).  A node of this kind always has DI bounds and no
# process; its id is the bpmnElement the shape names when no other item has that id, else
# the BPMNShape's (BPMNEdge's) own id; its name is the element's name if any, else "".
# diagrams/ draws it as a dashed grey box (a dashed grey line for an edge) with its id, so
# that the picture shows where the tool put something; Graph.warnings says what each was.
UNKNOWN_KIND = "unknown"
# Event definitions, by the local name of their element without "EventDefinition".
EVENT_DEFINITIONS = frozenset(
    {
        "timer",
        "message",
        "signal",
        "error",
        "escalation",
        "conditional",
        "link",
        "terminate",
        "compensate",
        "cancel",
        "multiple",
        "parallelMultiple",
    }
)
STATES = ("completed", "ready", "waiting", "error", "cancelled", "not-reached")


@dataclass(frozen=True)
class Bounds:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True)
class Node:
    """A flow node or an artifact (data object, data store, annotation, group)."""

    id: str
    kind: str  # one of the *_KINDS above, or UNKNOWN_KIND
    name: str = ""
    process_id: str | None = None
    lane_id: str | None = None  # the innermost lane holding it
    parent_id: str | None = None  # the enclosing sub-process, if any
    bounds: Bounds | None = None  # DI shape bounds; None when the file has no DI for it
    label_bounds: Bounds | None = None  # DI label bounds, where the designer put the name
    event: str | None = None  # one of EVENT_DEFINITIONS ("multiple" if several), or None
    interrupting: bool = True  # boundary events (cancelActivity), event sub-process starts
    attached_to: str | None = None  # boundary events: the activity they sit on
    loop: str | None = None  # "standard", "parallel" or "sequential" (multi-instance)
    expanded: bool | None = None  # sub-processes: DI isExpanded
    stage: str | None = None  # spiffworkflow:property "stage"
    triggered: bool = False  # an event sub-process (triggeredByEvent): drawn dotted
    compensation: bool = False  # an activity with isForCompensation: the rewind marker
    collection: bool = False  # data objects, inputs and outputs with isCollection: three bars
    text: str = ""  # text annotations: their text


@dataclass(frozen=True)
class Edge:
    """A sequence flow, message flow or association.

    An association drawn onto a flow (an annotation or a data object about a flow) ends at
    the node at that flow's end nearer to where it touches it; its waypoints are the DI's.
    """

    id: str
    # sequenceFlow, messageFlow, association, dataInputAssociation, dataOutputAssociation, or
    # UNKNOWN_KIND (a BPMNEdge for no element the file holds; see above)
    kind: str
    source: str
    target: str
    name: str = ""
    condition: str | None = None  # conditionExpression text, if any
    is_default: bool = False  # the default flow of its gateway or activity
    waypoints: tuple[Point, ...] = ()  # DI waypoints; empty without DI
    label_bounds: Bounds | None = None
    # Associations: "One" (an arrow at the target) or "Both"; None or "None": no arrow.
    direction: str | None = None
    # Message flows: the envelope DI asks to draw on it (messageVisibleKind "initiating" or
    # "non_initiating"; None: none drawn).
    message: str | None = None


@dataclass(frozen=True)
class Lane:
    id: str
    name: str
    process_id: str | None = None
    parent_id: str | None = None  # the enclosing lane for nested lanes
    bounds: Bounds | None = None
    horizontal: bool = True  # DI isHorizontal: False for a lane drawn top to bottom


@dataclass(frozen=True)
class Pool:
    """A participant of a collaboration (drawn as a pool)."""

    id: str
    name: str
    process_id: str | None = None  # None for a black-box pool
    bounds: Bounds | None = None
    horizontal: bool = True  # DI isHorizontal: False for a pool drawn top to bottom


@dataclass(frozen=True)
class Graph:
    """Everything needed to draw one diagram of a BPMN file (a file without DI: all of it)."""

    name: str
    file: str | None = None
    process_ids: tuple[str, ...] = ()
    pools: tuple[Pool, ...] = ()
    lanes: tuple[Lane, ...] = ()
    nodes: tuple[Node, ...] = ()
    edges: tuple[Edge, ...] = ()
    diagram: str | None = None  # id of the BPMNDiagram this graph shows; None without DI
    # What the reader repaired or could not use, in plain words, for stderr and --json
    # ("the namespace URI ... had spaces: read without them").  Empty for a clean file.
    warnings: tuple[str, ...] = ()

    @property
    def has_di(self) -> bool:
        """True when every node has DI bounds (the file can be drawn as designed)."""
        return bool(self.nodes) and all(n.bounds is not None for n in self.nodes)


@dataclass(frozen=True)
class InstanceView:
    """One deal on its process: the title line and each element's state now."""

    deal: str
    owner: str | None
    status: str  # running, completed, cancelled, error
    stage: str | None
    states: dict[str, str] = field(default_factory=dict)  # element id -> one of STATES
    assignees: dict[str, str] = field(default_factory=dict)  # ready task -> who or "queue: lane"
    due: dict[str, str] = field(default_factory=dict)  # waiting timer / task -> due time text
    errors: dict[str, str] = field(default_factory=dict)  # element in error -> message
    # The title line's and notes' words in the reader's language ("owner", "status", "stage",
    # "due"); English when empty.  `status` and `stage` above are then already in it too.
    words: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Heat:
    """Where deals sit now and how long they spent at each element."""

    deals: int  # how many deals the figures cover
    here_now: dict[str, int] = field(default_factory=dict)  # element id -> deals there now
    median_seconds: dict[str, float] = field(default_factory=dict)  # element id -> median stay
    # A simulation's figures (engine.core.simulation): deals there on an average simulated
    # day, not today's; the legend says so.
    simulated: bool = False


# The parser lives in engine/graph_xml.py, which imports the types above; importing it here
# at module level would make the two modules' import order matter, so these delegate.
def graph_from_xml(
    xml: str | bytes, *, file: str | None = None, diagram: str | None = None
) -> Graph:
    """The Graph of one diagram of a BPMN file: the main one (a collaboration's, else the
    one that shows the most) unless `diagram` names one by its id or its name.

    Raises DefinitionError (with the file and the line) for text that is not well-formed
    XML even after the usual repairs (engine.core.xml_repair) or not BPMN, and for a diagram
    the file does not have.  Anything else that cannot be drawn as designed (DI for unknown
    elements, flows to missing nodes) is drawn as "unknown" or left out, and said in the
    graph's warnings, with what was repaired.
    """
    from engine.core import graph_xml

    return graph_xml.graph_from_xml(xml, file=file, diagram=diagram)


def graphs_from_xml(xml: str | bytes, *, file: str | None = None) -> list[Graph | None]:
    """One Graph per diagram of the file, in file order (as diagram_list lists them), None
    for a diagram that shows nothing; a file without DI: its one Graph of everything."""
    from engine.core import graph_xml

    return graph_xml.graphs_from_xml(xml, file=file)


def diagram_ids(xml: str | bytes, *, file: str | None = None) -> list[str]:
    """The ids of the file's bpmndi:BPMNDiagram elements, in file order.

    A diagram without an id (bpmn.io writes empty ones) cannot be named, so it is not listed.
    """
    from engine.core import graph_xml

    return graph_xml.diagram_ids(xml, file=file)


def diagram_list(xml: str | bytes, *, file: str | None = None) -> list[dict[str, Any]]:
    """The file's diagrams, in file order, for choosing one: each a dict of "id" and "name"
    (None when the file gives none), "plane" (the id of what it draws) and "plane_kind"
    ("collaboration", "process", "subProcess", ... or None), "shapes" and "edges" (how many
    it holds) and "main" (True for the one graph_from_xml draws by default).  [] without DI.
    """
    from engine.core import graph_xml

    return graph_xml.diagram_list(xml, file=file)


def warning_text(warning: str, lang: str | None) -> str:
    """One of Graph.warnings in `lang` ("zh": Simplified Chinese; else as it is, English)."""
    from engine.core import graph_words

    return graph_words.in_language(warning, lang)
