"""engine/lint.py: every problem of a definition at once, each on the element to fix.

One small BPMN file per rule in tests/engine/data/lint/ (clean.bpmn has none); the shared
form and decision files go with each of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from lxml import etree

from engine.core import camunda
from engine.core.definitions import parse_sources, read_paths
from engine.core.lint import Problem, check, checked, covers_every_case, localized, timer_problem
from tests.conftest import CORPORA, PROCESSES

DATA = Path(__file__).parent / "data" / "lint"
TEAM = {"sales rep", "sales manager"}


def files_with(bpmn: str) -> dict[str, str | bytes]:
    """One BPMN fixture with every form and decision of the folder."""
    return {
        p.name: p.read_text(encoding="utf-8")
        for p in DATA.iterdir()
        if p.suffix in (".json", ".dmn") or p.name == bpmn
    }


def found(problems: list[Problem]) -> dict[str | None, list[Problem]]:
    by_element: dict[str | None, list[Problem]] = {}
    for problem in problems:
        by_element.setdefault(problem.element_id, []).append(problem)
    return by_element


def errors(problems: list[Problem]) -> set[str | None]:
    return {p.element_id for p in problems if p.severity == "error"}


def test_a_clean_definition_has_no_problem_and_the_shipped_processes_no_error() -> None:
    assert check(files_with("clean.bpmn"), held_roles=TEAM) == []
    shipped = check(read_paths([PROCESSES]), held_roles=None)
    assert [p for p in shipped if p.severity == "error"] == []


def test_problems_carry_file_line_element_and_severity() -> None:
    [problem] = [p for p in check(files_with("lanes.bpmn")) if p.element_id == "task_no_lane"]
    assert problem.to_dict() == {
        "element_id": "task_no_lane",
        "message": problem.message,
        "line": 18,
        "file": "lanes.bpmn",
        "severity": "warning",
    }
    assert "has no lane: the deal's owner will get this task" in problem.message
    assert problem.element_name == "Nobody's task"


def test_lanes_a_task_without_a_role_goes_to_the_owner_and_the_check_says_so() -> None:
    # The engine gives a task in no lane, or in a lane without a name, to the deal's owner
    # (engine.store.changes): accepted, with a note.
    problems = check(files_with("lanes.bpmn"), held_roles=TEAM)
    by = found(problems)
    assert errors(problems) == set()
    assert by["task_no_lane"][0].severity == by["task_nameless_lane"][0].severity == "warning"
    assert "the deal's owner will get this task" in by["task_nameless_lane"][0].message
    assert "'lane_nameless', which has no name" in by["task_nameless_lane"][0].message
    # Nobody holds "Pilot" yet: one warning, on the lane, not one per task.
    [nobody] = by["lane_pilots"]
    assert nobody.severity == "warning" and "'Pilot'" in nobody.message
    # The task inside the sub-process is in the sub-process's lane.
    assert "task_in_sub" not in by
    # Without knowing the team, the warning is left out; with "pilot" held, too.
    assert "lane_pilots" not in found(check(files_with("lanes.bpmn")))
    assert "lane_pilots" not in found(check(files_with("lanes.bpmn"), held_roles={"pilot"}))


def test_exclusive_gateways_need_a_default_or_conditions_that_cover_every_case() -> None:
    problems = check(files_with("gateways.bpmn"), held_roles=TEAM)
    by = found(problems)
    assert errors(problems) == {"gw_gap", "f_bare_none"}
    assert "default" in by["gw_gap"][0].message
    assert "without a condition" in by["f_bare_none"][0].message
    # clean.bpmn's gateway has no default: amount >= 10000 / amount < 10000 cover it.
    assert "gw_amount" not in found(check(files_with("clean.bpmn")))


@pytest.mark.parametrize(
    ("conditions", "covered"),
    [
        (["approved", "not approved"], True),
        (["not (a and b)", "a and b"], True),
        (["amount >= 1000", "amount < 1000"], True),
        (["amount > 1000", "amount < 1000"], False),  # 1000 itself
        (["amount > 1000", "amount == 1000", "amount < 1000"], True),
        (["0 <= amount < 10", "amount >= 10", "amount < 0"], True),
        (["amount < 5 or amount > 10", "5 <= amount <= 10"], True),
        (["amount < 5", "discount > 5"], False),  # two different fields
        (["amount != 3", "amount == 3"], True),
        (['tier == "A"', 'tier != "A"'], True),
        (['tier in ("A", "B")', 'tier not in ("A", "B", "C")'], False),  # "C"
        (['tier in ("A", "B", "C")', 'tier not in ("A", "B", "C")'], True),
        (['tier == "A"', 'tier == "B"', 'tier == "C"'], False),
        (["amount > limit", "amount <= limit"], False),  # not shown without constants
        (["amount >", "True"], False),
    ],
)
def test_which_conditions_are_shown_to_cover_every_case(
    conditions: list[str], covered: bool
) -> None:
    assert covers_every_case(conditions) is covered


def test_timers_are_checked_as_the_engine_will_evaluate_them() -> None:
    problems = check(files_with("timers.bpmn"), held_roles=TEAM)
    by = found(problems)
    assert errors(problems) == {"t_bare", "t_bad_duration", "t_bad_date", "t_bad_cycle"}
    assert 'write it as quoted text, "P3D"' in by["t_bare"][0].message
    assert "ISO 8601 duration" in by["t_bad_duration"][0].message
    assert "date-time" in by["t_bad_date"][0].message
    assert "repeating interval" in by["t_bad_cycle"][0].message
    # A name nothing sets is only a warning: the deal's start data may carry it.
    [unknown] = by["t_unknown"]
    assert unknown.severity == "warning" and "'renewal_date'" in unknown.message
    assert {"t_ok", "t_data", "t_cycle_ok"}.isdisjoint(by)


@pytest.mark.parametrize(
    ("kind", "text", "wrong"),
    [
        ("duration", '"P1Y2M10DT2H30M"', False),
        ("duration", '"2026-01-01"', True),
        ("date", '"2026-05-01T09:00:00+08:00"', False),
        ("cycle", '"R/PT1H"', False),
        ("cycle", '"R2/2026-05-01T09:00:00Z/P1D"', False),
        ("cycle", '"R2/2026-05-01T09:00:00Z/2026-06-01T09:00:00Z"', True),
        ("duration", "7", True),
    ],
)
def test_timer_texts(kind: str, text: str, wrong: bool) -> None:
    message, severity = timer_problem(kind, text, set())
    assert (message is not None and severity == "error") is wrong


def test_forms_decisions_and_called_processes_must_be_among_the_files() -> None:
    problems = check(files_with("references.bpmn"), held_roles=TEAM)
    by = found(problems)
    assert errors(problems) == {
        "task_missing_form",
        "task_broken_form",
        "task_missing_decision",
        "task_no_decision",
        "call_missing",
    }
    assert "'nowhere.schema.json'" in by["task_missing_form"][0].message
    assert "not a valid JSON schema" in by["task_broken_form"][0].message
    assert "(there are: lint_grade_decision)" in by["task_missing_decision"][0].message
    assert "nowhere_process" in by["call_missing"][0].message


def test_every_element_is_reached_from_a_start_event() -> None:
    problems = check(files_with("reachability.bpmn"), held_roles=TEAM)
    by = found(problems)
    assert errors(problems) == {"task_orphan", "task_after_orphan", "sub_orphan", "sub_empty"}
    assert "cannot be reached" in by["task_orphan"][0].message
    assert "no start event" in by["sub_empty"][0].message
    # Boundary path, link target and event sub-process are reached.
    assert {"b_timer", "end_b", "link_in", "event_sub"}.isdisjoint(by)


def test_every_unsafe_expression_and_broken_sla_is_reported_at_once() -> None:
    problems = check(files_with("expressions.bpmn"), held_roles=TEAM)
    by = found(problems)
    assert errors(problems) == {"script_import", "gw_unsafe", "task_sla"}
    assert "'import' is not allowed" in by["script_import"][0].message
    assert "__class__" in by["gw_unsafe"][0].message
    assert by["task_sla"][0].message.startswith("Slow task (task_sla): SLA:")


def test_a_model_not_meant_to_run_says_why_per_element() -> None:
    problems = check(files_with("not_executable.bpmn"), held_roles=TEAM)
    by = found(problems)
    assert errors(problems) == {"lint_not_executable", "gw_complex", "service_crm"}
    assert 'isExecutable="false"' in by["lint_not_executable"][0].message
    assert "complexGateway" in by["gw_complex"][0].message
    assert "service task" in by["service_crm"][0].message


def test_a_drawing_beside_a_runnable_process_is_only_a_warning() -> None:
    files = {**files_with("clean.bpmn"), **files_with("not_executable.bpmn")}
    by = found(check(files, held_roles=TEAM))
    assert by["lint_not_executable"][0].severity == "warning"
    assert "clean.bpmn" not in {p.file for p in check(files, held_roles=TEAM)}


def test_xml_and_schema_errors_are_all_reported_with_their_lines() -> None:
    broken = {"broken.bpmn": "<bpmn:definitions xmlns:bpmn='x'>\n<oops>"}
    [problem] = check(broken)
    assert problem.file == "broken.bpmn" and "not well-formed XML" in problem.message
    text = (DATA / "clean.bpmn").read_text(encoding="utf-8")
    text = text.replace(
        '<bpmn:userTask id="task_quote"', '<bpmn:userTask bogus="1" id="task_quote"'
    )
    text = text.replace('<bpmn:endEvent id="end">', '<bpmn:endEvent id="end" what="2">')
    files = {**files_with("clean.bpmn"), "clean.bpmn": text}
    xsd = [p for p in check(files) if "XSD" in p.message]
    assert {p.line for p in xsd} == {24, 61} and all(p.file == "clean.bpmn" for p in xsd)
    assert check({"x.bpmn": b"\xff\xfe"}) == [
        Problem("not UTF-8 text (invalid start byte)", file="x.bpmn")
    ]


# --- Camunda files ---------------------------------------------------------------------


def test_camunda_extensions_are_mapped_or_refused_per_element() -> None:
    problems = check(files_with("camunda.bpmn"), held_roles=TEAM)
    by = found(problems)
    assert errors(problems) == {"script_groovy", "service_java", "flow_large"}
    assert "JUEL" in by["flow_large"][0].message
    assert "but not 'approvals.isApproved(execution)'" in by["flow_large"][0].message
    assert "groovy" in by["script_groovy"][0].message
    assert "Java" in by["service_java"][0].message
    # The user task has a lane (its candidate group) and its form: no problem there.
    assert "task_quote" not in by


def test_a_camunda_file_that_maps_fully_parses_into_our_properties() -> None:
    files = files_with("camunda_mapped.bpmn")
    assert check(files, held_roles=TEAM) == []
    [bundle] = parse_sources({k: str(v) for k, v in files.items()})
    quote = bundle.spec.task_specs["task_quote"]
    assert quote.lane == "Sales Rep"
    assert quote.extensions["properties"] == {
        "formJsonSchemaFilename": "lint_quote.schema.json",
        "stage": "proposal",
        "sla": "P2D",
    }
    assert bundle.spec.task_specs["timer_wait"].event_definition.expression == '"PT5M"'
    # The stored file is the designer's, untouched.
    assert bundle.files["camunda_mapped.bpmn"] == files["camunda_mapped.bpmn"]


def test_camunda_translation_leaves_other_files_alone() -> None:
    root = etree.fromstring((DATA / "clean.bpmn").read_bytes())
    same, findings = camunda.translate(root)
    assert same is root and findings == []
    assert camunda.form_file("camunda-forms:app:task.form") is None
    assert camunda.form_file("embedded:app:forms/quote.schema.json") == "quote.schema.json"


# --- files from other tools: never a crash ---------------------------------------------


MIWG = CORPORA / "miwg"


@pytest.mark.skipif(not MIWG.is_dir(), reason="shared/corpora is not beside")
def test_every_interchange_model_is_checked_without_crashing() -> None:
    """The OMG interchange models are drawings: each says, per element, why it cannot run."""
    models = sorted(MIWG.rglob("*.bpmn"))
    assert len(models) >= 20
    for path in models:
        problems = check({path.name: path.read_bytes()})
        assert any(p.severity == "error" for p in problems), path
        assert all(p.file in (path.name, None) for p in problems), path


# --- names, forms, stages, escalation roles, form rules (issue 14) ---------------------

SNIPPET = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs" targetNamespace="http://salesflow.example/lint">
  <bpmn:process id="snippet" name="Snippet" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_rep" name="Sales Rep">
        <bpmn:flowNodeRef>task_a</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>task_b</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_partner" name="Channel Partner">
        <bpmn:flowNodeRef>task_c</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="task_a" name="Prepare quote">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="snippet.schema.json" />
        {A}
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="task_b" {B_NAME}>
      <bpmn:extensionElements><spiffworkflow:properties>
        {B}
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="task_c" {C_NAME} scriptFormat="python">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>done = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task_a" />
    <bpmn:sequenceFlow id="f2" sourceRef="task_a" targetRef="task_b" />
    <bpmn:sequenceFlow id="f3" sourceRef="task_b" targetRef="task_c" />
    <bpmn:sequenceFlow id="f4" sourceRef="task_c" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
FORM = {
    "type": "object",
    "properties": {"low": {"type": "number"}, "high": {"type": "number"}},
}


def prop(name: str, value: str) -> str:
    return f'<spiffworkflow:property name="{name}" value="{value}" />'


def snippet(
    *,
    a: str = "",
    b: str = prop("formJsonSchemaFilename", "snippet.schema.json"),
    b_name: str = 'name="Approve quote"',
    c_name: str = 'name="Mark done"',
    form: Mapping[str, object] | None = None,
    zh: Mapping[str, object] | None = None,
) -> dict[str, str | bytes]:
    text = SNIPPET.replace("{A}", a).replace("{B}", b)
    text = text.replace("{B_NAME}", b_name).replace("{C_NAME}", c_name)
    files: dict[str, str | bytes] = {
        "snippet.bpmn": text,
        "snippet.schema.json": json.dumps(form or FORM),
    }
    if zh is not None:
        files["snippet.zh-Hans.json"] = json.dumps(zh, ensure_ascii=False)
    return files


def test_a_clean_snippet_has_no_problem() -> None:
    assert check(snippet(), held_roles=None) == []


def test_problems_name_the_element_by_its_name_with_its_id_after_it() -> None:
    problems = check(snippet(b=""), held_roles=None)
    [problem] = problems
    assert problem.message.startswith("Approve quote (task_b): the user task has no form")
    # An element without a name: its id alone.
    [nameless] = check(snippet(c_name=""), held_roles=None)
    assert nameless.message.startswith("task_c: the task has no name")
    # The lint fixtures too: a task in no lane.
    [lane] = [p for p in check(files_with("lanes.bpmn")) if p.element_id == "task_no_lane"]
    assert lane.message == (
        "Nobody's task (task_no_lane): has no lane: the deal's owner will get this task (to "
        "give it to the people of a role instead, put it in a lane named after the role)"
    )


def test_a_task_without_a_name_is_a_warning_for_every_kind_of_task() -> None:
    problems = check(snippet(b_name="", c_name='name=" "'), held_roles=None)
    assert {(p.element_id, p.severity) for p in problems} == {
        ("task_b", "warning"),
        ("task_c", "warning"),
    }
    assert all("has no name" in p.message for p in problems)


def test_a_user_task_without_a_form_is_a_warning_when_the_others_have_one() -> None:
    [problem] = check(snippet(b=""), held_roles=None)
    assert problem.severity == "warning" and problem.element_id == "task_b"
    assert "'formJsonSchemaFilename'" in problem.message
    # No user task has a form: none is expected.
    text = str(snippet(b="")["snippet.bpmn"]).replace(
        prop("formJsonSchemaFilename", "snippet.schema.json"), ""
    )
    assert check({"snippet.bpmn": text}, held_roles=None) == []


def test_a_stage_nobody_knows_is_a_warning_suggesting_the_nearest() -> None:
    [problem] = check(snippet(a=prop("stage", "negotation")), held_roles=None)
    assert problem.severity == "warning" and problem.element_id == "task_a"
    assert "'negotation'" in problem.message and "did you mean 'negotiation'?" in problem.message
    [cased] = check(snippet(a=prop("stage", "Proposal")), held_roles=None)
    assert "did you mean 'proposal'?" in cased.message
    # A stage of the process's own, declared in its translations file, is known.
    zh = {"locale": "zh-Hans", "stages": {"pilot": "试点"}}
    declared = check(snippet(a=prop("stage", "pilot"), zh=zh), held_roles=None)
    assert [p for p in declared if "'pilot' is neither" in p.message] == []
    assert [p.element_id for p in check(snippet(a=prop("stage", "pilot")))] == ["task_a"]


def test_an_escalation_role_that_is_no_lane_nor_team_role_is_an_error() -> None:
    sla = prop("sla", "P2D")
    [problem] = check(snippet(a=sla + prop("escalateTo", "Sales Manger")), held_roles=None)
    assert problem.severity == "error" and problem.element_id == "task_a"
    assert (
        "'Sales Manger'" in problem.message and "did you mean 'Sales Manager'?" in problem.message
    )
    # Reported once, not again by the engine's own SLA check.
    assert problem.message.count("Sales Manger") == 1
    # A team role and a lane of the process (written as the designer likes) are known.
    for role in ("Sales Manager", "sales_manager", "Channel Partner"):
        assert check(snippet(a=sla + prop("escalateTo", role)), held_roles=None) == []


def test_form_rules_that_name_a_field_the_form_lacks_are_warnings() -> None:
    form = {
        **FORM,
        "x-rules": [
            {"field": "high", "rule": ">=", "other": "low"},
            {"field": "high", "rule": ">=", "other": "minimum"},
        ],
    }
    [problem] = check(snippet(form=form), held_roles=None)
    assert problem.severity == "warning" and problem.element_id == "task_a"
    assert "snippet.schema.json" in problem.message
    assert "x-rules[1]: 'other' names no field of the form ('minimum')" in problem.message


# --- files from other tools (issue 15) ------------------------------------------------------

MINIMAL = CORPORA / "spiff-examples" / "examples" / "0-1-minimal-example" / "hello-world.bpmn"


def corpus(path: Path) -> str:
    if not path.is_file():
        pytest.skip("shared/corpora is not beside")
    return path.read_text(encoding="utf-8")


def test_an_xsd_error_in_the_drawing_is_a_warning_and_the_process_still_parses() -> None:
    text = corpus(MINIMAL)
    vendor = '<bpmndi:BPMNShape id="vendor_shape" bpmnElement="StartEvent_1" tool:x="1" '
    drawn = text.replace(
        "<bpmndi:BPMNPlane ", '<bpmndi:BPMNPlane xmlns:tool="urn:tool" ', 1
    ).replace("</bpmndi:BPMNPlane>", "<tool:layer/></bpmndi:BPMNPlane>", 1)
    assert drawn != text and vendor
    result = checked({"hello-world.bpmn": drawn})
    [note] = [p for p in result.problems if "XSD" in p.message]
    assert note.severity == "warning" and note.line is not None
    assert note.message.startswith("the diagram part (how the model is drawn) is not valid")
    assert "does not stop the process from running" in note.message
    assert [p for p in result.problems if p.severity == "error"] == []
    assert result.bundles is not None and result.bundles[0].process_id == "Process_7kik021"
    # The same XSD error in the process itself stays an error.
    broken = text.replace(
        '<bpmn:endEvent id="Event_1nuxsxl">', '<bpmn:endEvent id="Event_1nuxsxl" x="1">'
    )
    assert [p.severity for p in check({"h.bpmn": broken}) if "XSD" in p.message] == ["error"]


def test_a_file_without_a_process_says_so() -> None:
    collaboration = (
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
        'targetNamespace="x"><collaboration id="c">'
        '<participant id="p" name="Customer" /></collaboration></definitions>'
    )
    [problem] = check({"c.bpmn": collaboration})
    assert problem.severity == "error" and problem.file == "c.bpmn"
    assert problem.message.startswith("this file holds no process, so there is nothing to run")
    assert "isExecutable" not in problem.message
    # Beside a file that holds one, only a note.
    beside = check({"c.bpmn": collaboration, **files_with("clean.bpmn")})
    assert [(p.file, p.severity) for p in beside] == [("c.bpmn", "warning")]


def test_a_process_marked_not_executable_says_how_to_run_it() -> None:
    [problem] = [
        p for p in check(files_with("not_executable.bpmn")) if p.element_id == "lint_not_executable"
    ]
    assert problem.message == (
        'lint_not_executable: the process is marked as not executable (isExecutable="false"), so '
        'nothing of it can run: mark it executable in your modeler (isExecutable="true"), then '
        "fix what this check reports"
    )
    # Beside a process that runs, it is a drawing: a note, and its elements are not checked.
    beside = check({**files_with("clean.bpmn"), **files_with("not_executable.bpmn")})
    assert [p.element_id for p in beside] == ["lint_not_executable"]
    assert "kept as a drawing beside the processes that run" in beside[0].message


def test_an_inclusive_gateway_needs_a_default_when_its_conditions_may_all_be_false() -> None:
    text = (
        (DATA / "gateways.bpmn")
        .read_text(encoding="utf-8")
        .replace('<bpmn:exclusiveGateway id="gw_gap"', '<bpmn:inclusiveGateway id="gw_gap"')
        .replace(
            '</bpmn:exclusiveGateway>\n    <bpmn:exclusiveGateway id="gw_bare"',
            '</bpmn:inclusiveGateway>\n    <bpmn:exclusiveGateway id="gw_bare"',
        )
    )
    by = found(check({**files_with("gateways.bpmn"), "gateways.bpmn": text}))
    assert by["gw_gap"][0].message.startswith(
        "Amount? (gw_gap): the inclusive gateway has no default flow and its conditions may all"
    )


def test_a_namespace_with_spaces_is_repaired_and_said() -> None:
    text = (
        (DATA / "clean.bpmn")
        .read_text(encoding="utf-8")
        .replace(
            "<bpmn:definitions ",
            '<bpmn:definitions xmlns:tool="http://tool.example/some thing" ',
            1,
        )
    )
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(text.encode())
    result = checked({**files_with("clean.bpmn"), "clean.bpmn": text}, held_roles=TEAM)
    [note] = result.problems
    assert note.severity == "warning" and note.file == "clean.bpmn"
    assert note.message == (
        'the file was read with a repair: the namespace xmlns:tool="http://tool.example/some '
        'thing" is not a valid URI: read as "http://tool.example/some%20thing"'
    )
    assert result.bundles is not None  # what a deploy stores, parsed from the repaired text
    [chinese] = localized([note], "zh")
    assert chinese.message.startswith("文件经修复后读取\uff1a命名空间 xmlns:tool=")


def test_latin1_bytes_under_a_utf8_declaration_are_read_with_a_note() -> None:
    text = (
        (DATA / "clean.bpmn")
        .read_text(encoding="utf-8")
        .replace('name="Prepare the quote"', 'name="Préparer le devis"')
    )
    assert text != (DATA / "clean.bpmn").read_text(encoding="utf-8")
    result = check({**files_with("clean.bpmn"), "clean.bpmn": text.encode("latin-1")})
    [note] = result
    assert note.severity == "warning" and "read as Windows-1252" in note.message
