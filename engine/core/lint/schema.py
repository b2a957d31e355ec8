"""Step 1 of engine.core.lint: every BPMN 2.0 XSD error of a file, with its line (the XML
syntax itself is checked in `check`).  An error inside the diagram-drawing part (a
bpmndi:BPMNDiagram: shapes, edges, labels, and the tools' extensions written there) is a
warning: the engine never reads it (engine.core.definitions parses without the XSD once
the lint has run it), so a tool's vendor extension in the drawing does not stop a deploy.

Pure: no database, no clock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from copy import deepcopy

from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from engine.core.lint.bpmn import MODEL
from engine.core.lint.problems import Problem
from engine.core.lint.wording import say

_SCHEMA_LOCK = threading.Lock()
_DIAGRAM = "BPMNDiagram"


# --- 1. schema ------------------------------------------------------------------------


def _schema_problems(name: str, root: etree._Element) -> Iterator[Problem]:
    """Every XSD error of a BPMN file (SpiffWorkflow's validator stops at the first)."""
    copy = deepcopy(root)  # keeps the source lines; preprocess renames some tags
    VALIDATOR.preprocess(copy)
    schema = VALIDATOR.validator
    with _SCHEMA_LOCK:  # the schema's error log is shared by every thread
        if schema.validate(copy):
            return
        found = [(e.message, e.line, e.path) for e in schema.error_log]
    for message, line, path in found:
        shown = message.replace(f"{{{MODEL}}}", "bpmn:")
        if in_diagram(path):
            said = say("file.not_xsd_drawing", library=shown)
            yield Problem.of(said, file=name, line=line or None, severity="warning")
        else:
            yield Problem.of(say("file.not_xsd", library=shown), file=name, line=line or None)


def in_diagram(path: str | None) -> bool:
    """Whether an error's XPath ("/bpmn:definitions/bpmndi:BPMNDiagram[2]/...", with the
    file's own prefixes) lies in a diagram, under the root."""
    steps = [s for s in (path or "").split("/") if s]
    if len(steps) < 2:
        return False
    return steps[1].rpartition(":")[2].partition("[")[0] == _DIAGRAM
