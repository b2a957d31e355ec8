# ruff: noqa: RUF001 - full-width Chinese punctuation in the expected Chinese
"""engine/core/lint/library.py and structure.py: what SpiffWorkflow's parser stops at, in the
designer's words, never Python's.

Each file here is made to trip the parser the way files from other tools do (the issue's
"Unsupported Catch Event", "raise_validation_exception() got an unexpected keyword argument
'node'", "<Element ... at 0x...>", "SubWorkflow Task; found 0.."): the real parser's error is
worded by `library_said`, and the Check finds the same problem on the XML, with every other
one, before the parser runs.
"""

from __future__ import annotations

import itertools
import re

import pytest
from lxml import etree

from engine.core.definitions import parse_sources
from engine.core.lint import check, checked, localized
from engine.core.lint.library import cleaned, library_said
from engine.core.lint.wording import word
from engine.errors import DefinitionError

MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CJK = re.compile(r"[\u4e00-\u9fff]")
PYTHON = re.compile(
    r"<Element|\bat 0x|0x[0-9a-f]{6}|\w+Error\b|Exception|SubWorkflow|TaskSpec|NoneType|"
    r"Traceback|'node'|%r|(?<!\.)\.\.(?!\.)"
)


def process(body: str, *, head: str = "", executable: str = "true") -> str:
    """A BPMN file: `head` at the top of the definitions, `body` in the process."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{MODEL}" id="defs" targetNamespace="http://salesflow.example/t">
  {head}
  <bpmn:process id="proc" name="Proc" isExecutable="{executable}">
    {body}
  </bpmn:process>
</bpmn:definitions>
"""


def chain(*middle: str, flows: str = "") -> str:
    """start -> the `middle` elements in turn (ids m0, m1, ...) -> end, and extra `flows`."""
    ids = ["start", *[f"m{n}" for n in range(len(middle))], "end"]
    parts = ['<bpmn:startEvent id="start" />', '<bpmn:endEvent id="end" />']
    parts += [m.replace("{id}", f"m{n}") for n, m in enumerate(middle)]
    parts += [
        f'<bpmn:sequenceFlow id="f{n}" sourceRef="{a}" targetRef="{b}" />'
        for n, (a, b) in enumerate(itertools.pairwise(ids))
    ]
    return "\n".join(parts) + flows


def script(name: str = "Work") -> str:
    body = "<bpmn:script>x = 1</bpmn:script>"
    return f'<bpmn:scriptTask id="{{id}}" name="{name}">{body}</bpmn:scriptTask>'


def parser_error(text: str) -> DefinitionError:
    """SpiffWorkflow's own error for the file (the Check's XML rules left out)."""
    with pytest.raises(DefinitionError) as caught:
        parse_sources({"t.bpmn": text}, check=False)
    return caught.value


def worded(text: str) -> str:
    """The parser's error in the designer's words, checked for Python in both languages."""
    err = parser_error(text)
    said = library_said(err, {"t.bpmn": etree.fromstring(text.encode())})
    chinese = word(said, "zh")
    assert not PYTHON.search(said.text), said.text
    assert not PYTHON.search(chinese) and CJK.search(chinese), chinese
    return said.text


def on(element: str, text: str) -> list[str]:
    """The Check's messages on one element."""
    return [p.message for p in check({"t.bpmn": text}) if p.element_id == element]


# --- the parser's errors the issue names ---------------------------------------------------


BOUNDARY = """<bpmn:boundaryEvent id="b1" name="Undo" attachedToRef="m0">{definition}
  <bpmn:outgoing>fb</bpmn:outgoing></bpmn:boundaryEvent>
  <bpmn:endEvent id="end_b" /><bpmn:sequenceFlow id="fb" sourceRef="b1" targetRef="end_b" />"""


@pytest.mark.parametrize(
    ("definition", "says"),
    [
        ("<bpmn:compensateEventDefinition />", "is a compensation event, which salesflow does"),
        ("", "the boundary event has no trigger"),
    ],
)
def test_an_unsupported_catch_event_is_named_with_what_to_do(definition: str, says: str) -> None:
    text = process(chain(script(), flows=BOUNDARY.replace("{definition}", definition)))
    err = parser_error(text)
    assert "Unsupported Catch Event" in str(err.__cause__)  # the library's words
    assert says in worded(text)
    [message] = on("b1", text)
    assert message.startswith("Undo (b1): ") and says in message and "or remove it" in message


@pytest.mark.parametrize("kind", ["error", "escalation", "signal", "message"])
def test_an_event_naming_what_no_file_declares_is_worded(kind: str) -> None:
    attribute = f'{kind}Ref="nowhere"'
    event = (
        f'<bpmn:intermediateThrowEvent id="{{id}}" name="Raise"><bpmn:{kind}EventDefinition '
        f"{attribute} /></bpmn:intermediateThrowEvent>"
        if kind in ("escalation", "signal", "message")
        else f'<bpmn:endEvent id="{{id}}" name="Raise"><bpmn:errorEventDefinition {attribute} />'
        "</bpmn:endEvent>"
    )
    text = process(chain(event))
    if kind == "error":  # the library trips over its own call: a TypeError
        cause = str(parser_error(text).__cause__)
        assert "unexpected keyword argument 'node'" in cause
    expected = f"refers to the {kind} 'nowhere', which no file of the definition declares"
    assert expected in worded(text)
    [message] = [m for m in on("m0", text) if expected in m]
    assert message.startswith("Raise (m0): ")
    # Declared in the file: nothing to say.
    declared = process(chain(event), head=f'<bpmn:{kind} id="nowhere" name="N" />')
    assert not [m for m in on("m0", declared) if "no file of the definition" in m]


def test_a_data_association_to_a_process_input_names_it_not_a_python_repr() -> None:
    task = (
        '<bpmn:scriptTask id="{id}" name="Make offer"><bpmn:ioSpecification>'
        '<bpmn:dataInput id="task_in" /><bpmn:inputSet><bpmn:dataInputRefs>task_in'
        "</bpmn:dataInputRefs></bpmn:inputSet><bpmn:outputSet /></bpmn:ioSpecification>"
        "<bpmn:dataInputAssociation><bpmn:sourceRef>request</bpmn:sourceRef>"
        "<bpmn:targetRef>task_in</bpmn:targetRef></bpmn:dataInputAssociation>"
        "<bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>"
    )
    io = (
        '<bpmn:ioSpecification><bpmn:dataInput id="request" name="Travel Request" />'
        "<bpmn:inputSet><bpmn:dataInputRefs>request</bpmn:dataInputRefs></bpmn:inputSet>"
        "<bpmn:outputSet /></bpmn:ioSpecification>"
    )
    text = process(io + chain(task))
    assert "at 0x" in str(parser_error(text).__cause__)  # what the designer saw before
    assert "read from 'Travel Request'" in worded(text)
    [message] = on("m0", text)
    assert message.startswith("Make offer (m0): its data associations read from 'Travel Request'")


def test_an_empty_sub_process_is_worded_without_the_engine_s_words() -> None:
    text = process(chain('<bpmn:subProcess id="{id}" name="Emergency repair" />'))
    assert "SubWorkflow" in str(parser_error(text).__cause__)
    assert worded(text).startswith("the sub-process is empty: draw its steps inside it")
    [message] = on("m0", text)
    assert message.startswith("Emergency repair (m0): the sub-process is empty")
    two = (
        '<bpmn:subProcess id="{id}" name="Two"><bpmn:startEvent id="s1" />'
        '<bpmn:startEvent id="s2" /><bpmn:endEvent id="e1" /></bpmn:subProcess>'
    )
    assert "has 2 start events" in on("m0", process(chain(two)))[0]
    no_end = '<bpmn:subProcess id="{id}" name="Open"><bpmn:startEvent id="s1" /></bpmn:subProcess>'
    assert any("has no end event" in m for m in on("m0", process(chain(no_end))))


def test_a_timer_without_a_time_says_what_to_give_it() -> None:
    timer = (
        '<bpmn:intermediateCatchEvent id="{id}" name="Wait"><bpmn:timerEventDefinition />'
        "</bpmn:intermediateCatchEvent>"
    )
    text = process(chain(timer))
    assert "Time Specification" in str(parser_error(text).__cause__)
    assert worded(text) == "the timer has no time: give it a duration, a date or a cycle"
    assert on("m0", text) == [
        "Wait (m0): the timer has no time: give it a duration, a date or a cycle"
    ]


# --- splits and gateways -------------------------------------------------------------------


def test_a_task_with_two_outgoing_flows_needs_a_parallel_gateway() -> None:
    """SpiffWorkflow does not run the flows leaving a task in parallel: its parser refuses
    them.  The Check says which gateway to add."""
    extra = '<bpmn:sequenceFlow id="f_more" name="Also" sourceRef="m0" targetRef="end" />'
    text = process(chain(script("Task 3"), flows=extra))
    assert "Multiple outgoing flows" in str(parser_error(text).__cause__)
    expected = (
        "Task 3 (m0): has 2 outgoing flows ('f1', 'Also'), and salesflow does not split the "
        "path after a task or an event by itself: add a parallel gateway after 'Task 3' to "
        "split its 2 outgoing flows"
    )
    assert on("m0", text) == [expected]
    condition = "<bpmn:conditionExpression>x</bpmn:conditionExpression></bpmn:sequenceFlow>"
    conditional = extra.replace("/>", ">" + condition)
    [message] = on("m0", process(chain(script("Task 3"), flows=conditional)))
    assert "add an exclusive gateway (one path) or an inclusive gateway" in message


@pytest.mark.parametrize("kind", ["exclusive", "inclusive"])
def test_a_gateway_with_three_bare_flows_is_one_problem_naming_them_all(kind: str) -> None:
    gateway = f'<bpmn:{kind}Gateway id="{{id}}" name="Which way?" />'
    bare = "".join(
        f'<bpmn:sequenceFlow id="bare{n}" name="{name}" sourceRef="m0" targetRef="end" />'
        for n, name in enumerate(["", "North", "South"])
    )
    text = process(chain(gateway, flows=bare))
    problems = [p for p in check({"t.bpmn": text}) if p.severity == "error"]
    [problem] = problems
    assert problem.element_id == "m0"
    assert problem.message == (
        f"Which way? (m0): the flows 'f1', 'bare0', 'North', 'South' leave this {kind} gateway "
        "without a condition, and none of them is its default flow: give each a condition, "
        "or make one of them the gateway's default flow and give the others a condition"
    )
    # The parser's own error on the first of them is the same problem: not said twice.
    assert "without condition" in str(parser_error(text).__cause__)
    [chinese] = localized(problems, "zh")
    assert chinese.message.startswith("Which way? (m0)：流 'f1', 'bare0', 'North', 'South' 从该")


def test_one_bare_flow_is_marked_on_the_flow() -> None:
    gateway = '<bpmn:exclusiveGateway id="{id}" name="Big?" default="f1" />'
    bare = '<bpmn:sequenceFlow id="bare" name="Yes" sourceRef="m0" targetRef="end" />'
    [problem] = check({"t.bpmn": process(chain(gateway, flows=bare))})
    assert problem.element_id == "bare"
    assert problem.message == (
        "Yes (bare): leaves the exclusive gateway 'Big?' without a condition and is not its "
        "default flow: give it a condition (the gateway has its default flow already)"
    )


# --- files the parser cannot finish -------------------------------------------------------


def test_a_data_object_the_parser_would_look_for_forever_is_named_and_not_parsed() -> None:
    """SpiffWorkflow looks for a data object in the task's scope and the one around it, then
    loops for ever: the Check names it and does not start the parser."""
    sub = (
        '<bpmn:subProcess id="{id}" name="Outer"><bpmn:startEvent id="s1" />'
        '<bpmn:subProcess id="inner" name="Inner"><bpmn:startEvent id="s2" />'
        '<bpmn:dataObjectReference id="ref" name="Quote" dataObjectRef="far" />'
        '<bpmn:scriptTask id="t" name="Use it"><bpmn:ioSpecification><bpmn:dataInput id="i" />'
        "<bpmn:inputSet><bpmn:dataInputRefs>i</bpmn:dataInputRefs></bpmn:inputSet>"
        "<bpmn:outputSet /></bpmn:ioSpecification><bpmn:dataInputAssociation>"
        "<bpmn:sourceRef>ref</bpmn:sourceRef><bpmn:targetRef>i</bpmn:targetRef>"
        "</bpmn:dataInputAssociation><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>"
        '<bpmn:endEvent id="e2" /><bpmn:sequenceFlow id="g1" sourceRef="s2" targetRef="t" />'
        '<bpmn:sequenceFlow id="g2" sourceRef="t" targetRef="e2" /></bpmn:subProcess>'
        '<bpmn:endEvent id="e1" /><bpmn:sequenceFlow id="h1" sourceRef="s1" targetRef="inner" />'
        '<bpmn:sequenceFlow id="h2" sourceRef="inner" targetRef="e1" /></bpmn:subProcess>'
    )
    text = process('<bpmn:dataObject id="far" name="Quote" />' + chain(sub))
    result = checked({"t.bpmn": text})
    assert result.bundles is None
    [message] = [p.message for p in result.problems if p.element_id == "t"]
    assert message.startswith("Use it (t): uses the data object 'Quote', which is declared")


def test_a_text_the_library_words_is_cleaned_of_python() -> None:
    assert cleaned("Exactly one start event is required in a SubWorkflow Task; found 0.. ") == (
        "Exactly one start event is required in a sub-process; found 0"
    )
    repr_ = (
        "Cannot resolve <Element {http://www.omg.org/spec/BPMN/20100524/MODEL}sourceRef at 0x7f>"
    )
    assert cleaned(repr_) == "Cannot resolve sourceRef"
    assert cleaned("NotImplementedError('Unsupported thing: %r', b'<a/>')") == "Unsupported thing"
    assert cleaned("TypeError(\"f() got an unexpected keyword argument 'node'\")") == ""
    assert cleaned("the task spec has no BpmnWorkflow") == "the task has no process"


def test_an_unknown_library_text_is_framed_or_left_out() -> None:
    err = DefinitionError("cannot be parsed: something odd", file="t.bpmn")
    err.__cause__ = ValueError("something odd happened in the spec")
    said = library_said(err, {})
    assert said.key == "parse.library"
    assert (
        said.text
        == "salesflow cannot run this as it is modelled: something odd happened in the definition"
    )
    err.__cause__ = KeyError(("a", object()))
    assert library_said(err, {}).key == "parse.unknown"
