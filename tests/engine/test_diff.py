"""What changed between two versions (engine.core.diff): added, removed and changed elements and
flows, with the aspect that changed, from modified copies of the shipped sales pipeline."""

from __future__ import annotations

import json
from pathlib import Path

from engine.core.definitions import parse_sources, read_paths
from engine.core.diff import Difference, Side, VersionDiff, compare
from engine.core.graph import graph_from_xml
from tests.conftest import PROCESSES
from tests.engine.test_migration import ADDED, REMOVED, make_v2

PIPELINE = "sales_pipeline.bpmn"


def shipped() -> dict[str, str]:
    return read_paths([PROCESSES])


def side(version: int, sources: dict[str, str]) -> Side:
    [bundle] = [b for b in parse_sources(sources) if b.process_id == "sales_pipeline"]
    graph = graph_from_xml(bundle.files[PIPELINE], file=PIPELINE)
    return Side(version, graph, bundle.spec, bundle.subprocess_specs, bundle.files)


def edited(*replacements: tuple[str, str], file: str = PIPELINE) -> dict[str, str]:
    sources = shipped()
    text = sources[file]
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    sources[file] = text
    return sources


def changed(diff: VersionDiff) -> dict[str, list[str]]:
    return {c.element_id: [d.aspect for d in c.differences] for c in diff.changes}


def test_the_same_files_have_no_differences() -> None:
    found = compare(side(1, shipped()), side(2, shipped()))
    assert found.changes == ()
    assert found.counts() == {"added": 0, "removed": 0, "changed": 0}


def test_an_added_a_removed_and_a_renamed_step(tmp_path: Path) -> None:
    found = compare(side(1, shipped()), side(2, read_paths([make_v2(tmp_path / "v2")])))
    assert found.ids("added") == [ADDED, "flow_review_to_quote_merge"]
    assert found.ids("removed") == [REMOVED, "flow_nurture_follow_up_to_requalify"]
    assert changed(found) == {
        ADDED: [],
        REMOVED: [],
        "flow_review_to_quote_merge": [],
        "flow_nurture_follow_up_to_requalify": [],
        "task_qualify_lead": ["name"],
        "gw_requalify_merge": ["incoming"],
        "timer_wait_30_days": ["outgoing"],
        "task_design_proposal": ["outgoing"],
        "gw_quote_merge": ["incoming"],
        "flow_wait_to_nurture_follow_up": ["target"],
        "flow_proposal_to_quote_merge": ["target"],
    }
    [renamed] = [c for c in found.changes if c.element_id == "task_qualify_lead"]
    assert renamed.status == "changed" and renamed.kind == "userTask"
    assert renamed.differences == (Difference("name", "Qualify lead", "Qualify lead (ICP)"),)
    [proposal] = [c for c in found.changes if c.element_id == "task_design_proposal"]
    assert proposal.differences[0].new == ADDED
    assert found.marks()[ADDED] == "added" and found.marks()[REMOVED] == "removed"
    assert found.to_dict()["counts"] == {"added": 2, "removed": 2, "changed": 7}
    # Compared the other way round, added and removed swap.
    back = compare(side(2, read_paths([tmp_path / "v2"])), side(1, shipped()))
    assert back.ids("added") == [REMOVED, "flow_nurture_follow_up_to_requalify"]


def test_conditions_timers_scripts_properties_and_lanes() -> None:
    lane = (
        "        <bpmn:flowNodeRef>task_design_proposal</bpmn:flowNodeRef>\n",
        "",
    )
    manager = (
        "<bpmn:flowNodeRef>task_escalate_needs_idle</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>task_escalate_needs_idle</bpmn:flowNodeRef>"
        "<bpmn:flowNodeRef>task_design_proposal</bpmn:flowNodeRef>",
    )
    sources = edited(
        ("discount_percent &gt; 5</bpmn:conditionExpression>",
         "discount_percent &gt; 8</bpmn:conditionExpression>"),
        ('"P30D"', '"P20D"'),
        ("nurture_rounds = nurture_rounds + 1", "nurture_rounds = nurture_rounds + 2"),
        ('name="stage" value="proposal"', 'name="stage" value="negotiation"'),
        ('name="sla" value="P3D"', 'name="sla" value="P5D"'),
        lane,
        manager,
    )  # fmt: skip
    found = compare(side(1, shipped()), side(2, sources))
    assert changed(found) == {
        "gw_discount_ok": ["conditions"],
        "flow_discount_above_5": ["condition"],
        "timer_wait_30_days": ["timer"],
        "task_count_nurture_round": ["script"],
        "task_design_proposal": ["lane", "stage"],
        "task_needs_analysis": ["sla"],
    }
    differences = {
        (c.element_id, d.aspect): (d.old, d.new) for c in found.changes for d in c.differences
    }
    assert differences["task_design_proposal", "lane"] == ("Product Expert", "Sales Manager")
    assert differences["timer_wait_30_days", "timer"] == ('"P30D"', '"P20D"')
    assert differences["flow_discount_above_5", "condition"] == (
        "discount_percent > 5",
        "discount_percent > 8",
    )
    assert differences["gw_discount_ok", "conditions"][1] == (
        "→ gw_negotiate_merge: (default)\n→ task_approve_discount: discount_percent > 8"
    )


def test_a_changed_form_or_decision_table_changes_the_steps_that_use_it() -> None:
    sources = shipped()
    schema = json.loads(sources["needs_analysis.schema.json"])
    schema["title"] = "Needs analysis (v2)"
    sources["needs_analysis.schema.json"] = json.dumps(schema)
    sources["lead_grading.dmn"] = sources["lead_grading.dmn"].replace(
        "</definitions>", "<!-- reviewed --></definitions>"
    )
    assert sources["lead_grading.dmn"] != shipped()["lead_grading.dmn"]
    found = compare(side(1, shipped()), side(2, sources))
    assert changed(found) == {
        "task_needs_analysis": ["form_schema"],
        "task_grade_lead": ["decision_table"],
    }


def test_moving_shapes_on_the_drawing_is_no_change() -> None:
    sources = edited(('<dc:Bounds x="1360" y="620"', '<dc:Bounds x="1300" y="640"'))
    assert compare(side(1, shipped()), side(2, sources)).changes == ()


def test_drawings_alone_compare_without_specs() -> None:
    old = graph_from_xml(shipped()[PIPELINE])
    new = graph_from_xml(edited(('name="Negotiate"', 'name="Negotiate terms"'))[PIPELINE])
    found = compare(Side(1, old), Side(2, new))
    assert changed(found) == {"task_negotiate": ["name"]}
