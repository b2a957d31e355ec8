"""engine/spec_check.py: every expression of a definition is checked at deploy time.

Unsafe texts are refused with the file, the line and the element id; every place where
SpiffWorkflow evaluates something is covered; the project's processes and the basic
SpiffWorkflow examples pass.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.core.script_check import FoundExpression, check_spec, iter_expressions
from engine.errors import UnsafeExpressionError

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "engine" / "data"
PROCESSES = ROOT / "processes"
EXAMPLES = ROOT.parent / "shared" / "corpora" / "spiff-examples" / "examples"


def _specs(parser: SpiffBpmnParser, process_id: str) -> tuple[Any, dict[str, Any]]:
    return parser.get_spec(process_id), parser.get_subprocess_specs(process_id)


def _element_lines(*files: Path) -> dict[str, int]:
    lines: dict[str, int] = {}
    for file in files:
        for element in etree.parse(str(file)).iter():
            if element.get("id") and element.sourceline is not None:
                lines.setdefault(element.get("id"), element.sourceline)
    return lines


def _parse_str(xml: str) -> SpiffBpmnParser:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(xml.encode())
    return parser


# --- Fixtures in tests/engine/data -------------------------------------------------------------


def test_safe_definition_passes_and_lists_its_expressions() -> None:
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(DATA / "expr_quote.bpmn"))
    spec, subprocesses = _specs(parser, "expr_quote")
    check_spec(spec, subprocesses, file="expr_quote.bpmn")
    found = list(iter_expressions(spec, subprocesses))
    assert [(f.element_id, f.what, f.kind) for f in found] == [
        ("task_total", "script", "script"),
        ("gw_big", "condition of the flow to 'task_big'", "expression"),
        ("task_big", "script", "script"),
        ("task_small", "script", "script"),
    ]
    assert found[1].text == 'total > 100 and "vip" not in products'


def test_unsafe_script_is_refused_with_file_line_and_element() -> None:
    file = DATA / "expr_unsafe_script.bpmn"
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(file))
    spec, subprocesses = _specs(parser, "expr_unsafe_script")
    lines = _element_lines(file)
    with pytest.raises(UnsafeExpressionError) as caught:
        check_spec(spec, subprocesses, file="expr_unsafe_script.bpmn", element_lines=lines)
    err = caught.value
    assert err.element_id == "task_shell"
    assert err.file == "expr_unsafe_script.bpmn"
    assert err.line == lines["task_shell"] == 10
    assert "name '__import__' is not allowed (line 2, column 1)" in err.detail
    assert 'script \'note = "just a note" __import__(' in err.detail  # quotes the text
    assert str(err).startswith("expr_unsafe_script.bpmn:10, element 'task_shell': script ")


def test_long_texts_are_quoted_shortened() -> None:
    script = "x = 1\n" * 40 + "import os"
    parser = _parse_str(_process(_task("scriptTask", f"<bpmn:script>{script}</bpmn:script>")))
    with pytest.raises(UnsafeExpressionError) as caught:
        check_spec(*_specs(parser, "proc"))
    quoted = caught.value.detail.split(": ")[0]
    assert quoted.endswith("...'") and len(quoted) < 100


# --- Every place SpiffWorkflow evaluates something ----------------------------------------------

SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def _process(body: str, flows: str | None = None, top: str = "") -> str:
    flows = flows or (
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="el" />'
        '<bpmn:sequenceFlow id="f2" sourceRef="el" targetRef="end" />'
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="{SPIFF}" id="defs" targetNamespace="http://salesflow.example/test">
  {top}
  <bpmn:process id="proc" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {body}
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    {flows}
  </bpmn:process>
</bpmn:definitions>"""


def _task(tag: str, inner: str, extensions: str = "") -> str:
    ext = f"<bpmn:extensionElements>{extensions}</bpmn:extensionElements>" if extensions else ""
    return (
        f'<bpmn:{tag} id="el">{ext}<bpmn:incoming>f1</bpmn:incoming>'
        f"<bpmn:outgoing>f2</bpmn:outgoing>{inner}</bpmn:{tag}>"
    )


def _gateway(condition: str) -> str:
    body = (
        '<bpmn:exclusiveGateway id="el" default="f3"><bpmn:incoming>f1</bpmn:incoming>'
        "<bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:exclusiveGateway>"
        '<bpmn:endEvent id="end_other"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>'
    )
    flows = (
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="el" />'
        '<bpmn:sequenceFlow id="f2" sourceRef="el" targetRef="end">'
        f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="f3" sourceRef="el" targetRef="end_other" />'
    )
    return _process(body, flows)


def _timer(definition: str) -> str:
    return _process(
        _task(
            "intermediateCatchEvent",
            f"<bpmn:timerEventDefinition>{definition}</bpmn:timerEventDefinition>",
        )
    )


def _mi(characteristics: str) -> str:
    return _process(
        _task(
            "task",
            "<bpmn:multiInstanceLoopCharacteristics>"
            f"{characteristics}</bpmn:multiInstanceLoopCharacteristics>",
        )
    )


UNSAFE = "().__class__"
LOCATIONS = {
    "script task": (
        _process(_task("scriptTask", f"<bpmn:script>{UNSAFE}</bpmn:script>")),
        "script",
    ),
    "pre-script": (
        _process(_task("task", "", f"<spiffworkflow:preScript>{UNSAFE}</spiffworkflow:preScript>")),
        "pre-script",
    ),
    "post-script": (
        _process(
            _task("userTask", "", f"<spiffworkflow:postScript>{UNSAFE}</spiffworkflow:postScript>")
        ),
        "post-script",
    ),
    "gateway condition": (_gateway(UNSAFE), "condition of the flow to 'end'"),
    "timer duration": (
        _timer(f"<bpmn:timeDuration>{UNSAFE}</bpmn:timeDuration>"),
        "timer duration",
    ),
    "timer date": (_timer(f"<bpmn:timeDate>{UNSAFE}</bpmn:timeDate>"), "timer date"),
    "timer cycle": (_timer(f"<bpmn:timeCycle>{UNSAFE}</bpmn:timeCycle>"), "timer cycle"),
    "conditional event": (
        _process(
            _task(
                "intermediateCatchEvent",
                f"<bpmn:conditionalEventDefinition><bpmn:condition>{UNSAFE}</bpmn:condition>"
                "</bpmn:conditionalEventDefinition>",
            )
        ),
        "event condition",
    ),
    "standard loop": (
        _process(
            _task(
                "task",
                f"<bpmn:standardLoopCharacteristics><bpmn:loopCondition>{UNSAFE}</bpmn:loopCondition>"
                "</bpmn:standardLoopCharacteristics>",
            )
        ),
        "loop condition",
    ),
    "multi-instance cardinality": (
        _mi(f"<bpmn:loopCardinality>{UNSAFE}</bpmn:loopCardinality>"),
        "loop cardinality",
    ),
    "multi-instance completion": (
        _mi(
            "<bpmn:loopCardinality>3</bpmn:loopCardinality>"
            f"<bpmn:completionCondition>{UNSAFE}</bpmn:completionCondition>"
        ),
        "completion condition",
    ),
    "signal payload": (
        _process(
            _task("intermediateThrowEvent", '<bpmn:signalEventDefinition signalRef="sig" />'),
            top=(
                '<bpmn:signal id="sig" name="sig"><bpmn:extensionElements>'
                f"<spiffworkflow:payloadExpression>{UNSAFE}</spiffworkflow:payloadExpression>"
                "</bpmn:extensionElements></bpmn:signal>"
            ),
        ),
        "signal payload",
    ),
    "service parameter": (
        _process(
            _task(
                "serviceTask",
                "",
                '<spiffworkflow:serviceTaskOperator id="http/GetRequest">'
                "<spiffworkflow:parameters>"
                f'<spiffworkflow:parameter id="url" type="str" value="{UNSAFE}" />'
                "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>",
            )
        ),
        "service parameter 'url'",
    ),
}


@pytest.mark.parametrize("location", sorted(LOCATIONS))
def test_every_evaluated_place_is_checked(location: str) -> None:
    xml, what = LOCATIONS[location]
    spec, subprocesses = _specs(_parse_str(xml), "proc")
    with pytest.raises(UnsafeExpressionError) as caught:
        check_spec(spec, subprocesses)
    assert caught.value.element_id == "el"
    assert caught.value.detail.startswith(f"{what} '{UNSAFE}': attribute '__class__'")
    # The same place with a safe text passes.
    safe = xml.replace(UNSAFE, '"PT1H"' if "timer" in location else "3")
    check_spec(*_specs(_parse_str(safe), "proc"))


def test_subprocesses_are_checked_too() -> None:
    body = (
        '<bpmn:subProcess id="el">'
        "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>"
        '<bpmn:startEvent id="sub_start"><bpmn:outgoing>s1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:scriptTask id="sub_script"><bpmn:incoming>s1</bpmn:incoming>'
        "<bpmn:outgoing>s2</bpmn:outgoing><bpmn:script>import os</bpmn:script></bpmn:scriptTask>"
        '<bpmn:endEvent id="sub_end"><bpmn:incoming>s2</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="sub_script" />'
        '<bpmn:sequenceFlow id="s2" sourceRef="sub_script" targetRef="sub_end" />'
        "</bpmn:subProcess>"
    )
    spec, subprocesses = _specs(_parse_str(_process(body)), "proc")
    assert "el" in subprocesses
    with pytest.raises(UnsafeExpressionError) as caught:
        check_spec(spec, subprocesses)
    assert caught.value.element_id == "sub_script"
    assert "'import' is not allowed" in caught.value.detail


# --- DMN ---------------------------------------------------------------------------------------


def _decision_parser(dmn_text: str) -> SpiffBpmnParser:
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(DATA / "expr_grade.bpmn"))
    parser.add_dmn_str(dmn_text.encode(), filename="expr_grade.dmn")
    return parser


def test_decision_table_cells_are_checked_in_the_form_the_engine_evaluates() -> None:
    parser = _decision_parser((DATA / "expr_grade.dmn").read_text())
    spec, subprocesses = _specs(parser, "expr_grade")
    check_spec(spec, subprocesses)
    texts = [f for f in iter_expressions(spec, subprocesses) if f.element_id == "task_grade"]
    table = "decision table 'expr_grade_table'"
    assert texts[:3] == [
        FoundExpression(
            "task_grade",
            f"{table} rule 1, input 'Revenue'",
            "annual_revenue>= 5000000",
            "expression",
        ),
        FoundExpression(
            "task_grade",
            f"{table} rule 1, input 'Intent'",
            '(intent.lower()) == ("high")',
            "expression",
        ),
        FoundExpression("task_grade", f"{table} rule 1, output 'Tier'", '"A"', "expression"),
    ]
    assert [f.text for f in texts if "rule 2, input" in f.what] == [
        "annual_revenue",
        "1000000 <= dmninputexpr < 5000000",
    ]


@pytest.mark.parametrize(
    ("original", "unsafe", "where"),
    [
        ('<text>"high"</text>', "<text>().__class__</text>", "rule 1, input 'Intent'"),
        ("<text>&gt;= 5000000</text>", "<text>.__class__</text>", "rule 1, input 'Revenue'"),
        (
            "<text>1000000 &lt;= ? &lt; 5000000</text>",
            "<text>?.__class__</text>",
            "rule 2, input 'Revenue'",
        ),
        ('<text>"B"</text>', "<text>open('/etc/passwd')</text>", "rule 2, output 'Tier'"),
        ("<text>intent.lower()</text>", "<text>intent.__class__</text>", "rule 1, input 'Intent'"),
    ],
)
def test_unsafe_decision_cell_is_refused_naming_the_business_rule_task(
    original: str, unsafe: str, where: str
) -> None:
    text = (DATA / "expr_grade.dmn").read_text()
    assert original in text
    parser = _decision_parser(text.replace(original, unsafe, 1))
    with pytest.raises(UnsafeExpressionError) as caught:
        check_spec(*_specs(parser, "expr_grade"), file="expr_grade.bpmn")
    assert caught.value.element_id == "task_grade"
    assert caught.value.detail.startswith(f"decision table 'expr_grade_table' {where} ")
    assert "is not allowed" in caught.value.detail


# --- Real definitions ----------------------------------------------------------------------------


@pytest.mark.parametrize("bpmn", sorted(PROCESSES.glob("*.bpmn")), ids=lambda p: p.name)
def test_project_processes_pass(bpmn: Path) -> None:
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(bpmn))
    parser.add_dmn_files([str(p) for p in sorted(PROCESSES.glob("*.dmn"))])
    process_ids = parser.get_process_ids()
    assert process_ids
    for process_id in process_ids:
        check_spec(*_specs(parser, process_id), file=bpmn.name)


# The SpiffWorkflow example processes: those written in plain expressions pass (the number
# is how many expressions were checked; two call spiff-arena's get_current_user(), which our
# language provides: engine.core.expressions.acting_user).
_STRATEGIES = "2-in-depth/2-2-external-services/service-task-error-strategies"
EXAMPLE_RESULTS: dict[str, int | tuple[str, int, str]] = {
    "0-1-minimal-example/hello-world.bpmn": 0,
    "0-2-basic-example/user-guide-basics.bpmn": 12,
    "0-4-request-permissions/signupCustomer.bpmn": 4,
    "1-basic-concepts/1-2-forms/form_examples.bpmn": 2,
    "1-basic-concepts/1-4-decisions/decision_example.bpmn": 10,
    "1-basic-concepts/1-6-roles/my_vacation.bpmn": 1,
    f"{_STRATEGIES}/catch-outliers.bpmn": 0,
    f"{_STRATEGIES}/service-task-error-strategies.bpmn": 26,
    "2-in-depth/2-3-sub-processes/food-ordering-process.bpmn": 5,
    "2-in-depth/2-3-sub-processes/handle-payment.bpmn": 4,
    "2-in-depth/2-4-messages/chef/simple-message-chef.bpmn": 3,
    "2-in-depth/2-4-messages/waiter/simple-message-waiter.bpmn": 3,
    "2-in-depth/2-5-loops/multi-instance/multi-instance.bpmn": 1,
    "2-in-depth/events/escalation-events/escalation-events.bpmn": 6,
    "2-in-depth/events/timer-events/timer-events.bpmn": 1,
    "2-in-depth/message-api/message-api.bpmn": 7,
    "3-use-cases/allow-updates-until-approved/edit_till_action.bpmn": 1,
    "3-use-cases/invitation-to-quote/prototype/request-quote/request-quote.bpmn": 0,
    "3-use-cases/invitation-to-quote/prototype/submit-quote/submit-quote.bpmn": 1,
    "3-use-cases/todo-list/todolist.bpmn": 1,
}
NOT_EXECUTABLE = {"3-use-cases/invitation-to-quote/prototype/receive-quote/receive-quote.bpmn"}


def _example_files() -> list[str]:
    return sorted(str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("*.bpmn"))


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="SpiffWorkflow example corpus not present")
def test_example_results_cover_every_example_file() -> None:
    assert set(_example_files()) == set(EXAMPLE_RESULTS) | NOT_EXECUTABLE


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="SpiffWorkflow example corpus not present")
@pytest.mark.parametrize("relative", sorted(EXAMPLE_RESULTS))
def test_spiff_example(relative: str) -> None:
    bpmn = EXAMPLES / relative
    parser = SpiffBpmnParser()  # with its neighbours: call activities and decisions live there
    parser.add_bpmn_files([str(p) for p in sorted(bpmn.parent.glob("*.bpmn"))])
    parser.add_dmn_files([str(p) for p in sorted(bpmn.parent.glob("*.dmn"))])
    own = {el.get("id") for el in etree.parse(str(bpmn)).iter("{*}process")}
    process_ids = [pid for pid in parser.get_process_ids() if pid in own]
    assert len(process_ids) == 1
    expected = EXAMPLE_RESULTS[relative]
    with warnings.catch_warnings():
        # The message examples keep their payload where SpiffWorkflow 3.2 deprecates it.
        warnings.filterwarnings("ignore", "spiffworkflow:messagePayload", DeprecationWarning)
        spec, subprocesses = _specs(parser, process_ids[0])
    if isinstance(expected, int):
        check_spec(spec, subprocesses, file=relative)
        assert len(list(iter_expressions(spec, subprocesses))) == expected
        return
    element_id, line, message = expected
    with pytest.raises(UnsafeExpressionError) as caught:
        check_spec(spec, subprocesses, file=relative, element_lines=_element_lines(bpmn))
    assert caught.value.element_id == element_id
    assert caught.value.line == line
    assert message in caught.value.detail
    assert str(caught.value).startswith(f"{relative}:{line}, element '{element_id}'")
