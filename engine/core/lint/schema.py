"""Step 1 of engine.core.lint: every BPMN 2.0 XSD error of a file, with its line (the XML
syntax itself is checked in `check`).

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


# --- 1. schema ------------------------------------------------------------------------


def _schema_problems(name: str, root: etree._Element) -> Iterator[Problem]:
    """Every XSD error of a BPMN file (SpiffWorkflow's validator stops at the first)."""
    copy = deepcopy(root)  # keeps the source lines; preprocess renames some tags
    VALIDATOR.preprocess(copy)
    schema = VALIDATOR.validator
    with _SCHEMA_LOCK:  # the schema's error log is shared by every thread
        if schema.validate(copy):
            return
        found = [(e.message, e.line) for e in schema.error_log]
    for message, line in found:
        shown = message.replace(f"{{{MODEL}}}", "bpmn:")
        yield Problem.of(say("file.not_xsd", library=shown), file=name, line=line or None)
