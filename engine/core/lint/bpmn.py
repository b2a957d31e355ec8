"""The BPMN XML as engine.core.lint reads it: namespaces, the kinds of flow node, the files
of one check, and small helpers over lxml elements (local names, children, processes, Spiff
extension properties).

Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"

HUMAN_TASKS = frozenset({"userTask", "manualTask", "task"})
EVENTS = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "implicitThrowEvent",
    }
)
ACTIVITIES = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "adHocSubProcess",
        "transaction",
    }
)
GATEWAYS = frozenset(
    {
        "exclusiveGateway",
        "inclusiveGateway",
        "parallelGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)
FLOW_NODES = EVENTS | ACTIVITIES | GATEWAYS
SCOPES = frozenset({"subProcess", "adHocSubProcess", "transaction"})
SUPPORTED = frozenset(
    etree.QName(tag).localname
    for tag in (*SpiffBpmnParser.PARSER_CLASSES, *SpiffBpmnParser.OVERRIDE_PARSER_CLASSES)
)


@dataclass
class _Files:
    texts: dict[str, str]
    bpmn: dict[str, etree._Element] = field(default_factory=dict)
    dmn: dict[str, etree._Element] = field(default_factory=dict)


def _local(element: Any) -> str:
    if not isinstance(element.tag, str):
        return ""
    namespace, _, name = element.tag[1:].partition("}")
    return name if namespace == MODEL else ""


def _children(element: etree._Element, *names: str) -> Iterator[etree._Element]:
    for child in element.iterchildren(etree.Element):
        if _local(child) in names:
            yield child


def _processes(root: etree._Element) -> list[etree._Element]:
    return list(_children(root, "process"))


def _executable(process: etree._Element) -> bool:
    return process.get("isExecutable", "true") == "true"


def _properties(element: etree._Element) -> dict[str, str]:
    found: dict[str, str] = {}
    for ext in _children(element, "extensionElements"):
        for prop in ext.iter(f"{{{SPIFF}}}property"):
            if prop.get("name") is not None and prop.get("name") not in found:
                found[prop.get("name", "")] = prop.get("value", "")
    return found


def _extension(element: etree._Element, name: str) -> str | None:
    for ext in _children(element, "extensionElements"):
        for found in ext.iterchildren(f"{{{SPIFF}}}{name}"):
            return (found.text or "").strip()
    return None


def _text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""
