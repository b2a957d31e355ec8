"""Browser tests of the designer: the real app on a local port, bpmn-js in Debian's Chromium.

A designer adds a user task in the modeler (created through the bpmn-js API, as a drag and
drop would), puts it in a lane and gives it a form in the side panel, and publishes: a new
version.  An invalid change (a gateway without a default, an unsafe condition) is refused
with the error marked on that element, and the previous version still runs.  An imported
file that cannot be deployed is shown all the same, with the reason on its element.  Every
step leaves a screenshot in var/artifacts/browser/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from playwright.sync_api import Browser, Page, expect

from engine.usecases.service import Service
from tests.conftest import CORPORA, LEAD
from tests.webui.conftest import PASSWORD
from tests.webui.test_browser import Shots, launched, served
from tests.webui.test_browser import pytestmark as browser_mark
from webui.designer import BPMN_JS_DIST, MODELER_JS, TEMPLATE

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
CREDIT_FORM = (
    '{"title": "Check credit", "type": "object", "required": ["credit_ok"],'
    ' "properties": {"credit_ok": {"type": "boolean", "title": "Credit is fine"}}}'
)

pytestmark = [
    browser_mark,
    pytest.mark.skipif(
        not (BPMN_JS_DIST / MODELER_JS).is_file(),
        reason="bpmn-js not installed (make npm-assets installs it)",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as chromium:
        yield chromium


@pytest.fixture
def live_url(db_url: str, staff: Service) -> Iterator[str]:
    with served(db_url, "designer-browser") as url:
        yield url


@pytest.fixture
def page(browser: Browser, live_url: str) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_url, locale="en-US", viewport={"width": 1400, "height": 1000}
    )
    problems: list[str] = []
    try:
        found = context.new_page()
        # A script error, a refused resource (the CSP) or a failing request fails the test;
        # the 409/422 answers of a refused save are the page at work.
        found.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
        found.on(
            "console",
            lambda m: (
                problems.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None
            ),
        )
        found.on(
            "response",
            lambda r: (
                problems.append(f"{r.status} {r.url}")
                if r.status >= 400 and r.status not in (409, 422) and "favicon" not in r.url
                else None
            ),
        )
        yield found
    finally:
        context.close()
    assert problems == []


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)


# --- steps ---------------------------------------------------------------------------------


def log_in(page: Page) -> None:
    page.goto("/login")
    page.locator("#username").fill("dora")
    page.locator("#password").fill(PASSWORD)
    page.locator("section.login form button[type=submit]").click()
    page.wait_for_url("**/tasks")


def open_designer(page: Page, process_id: str, shot: Shots) -> None:
    log_in(page)
    page.get_by_role("link", name="Designer", exact=True).click()
    page.wait_for_url("**/designer")
    page.locator(f'tr[data-process="{process_id}"]').get_by_role("link", name="Edit").click()
    page.wait_for_url(f"**/designer/{process_id}")
    wait_for_modeler(page)
    shot(page, f"open-{process_id}")


def wait_for_modeler(page: Page) -> None:
    page.wait_for_function("() => window.salesflowDesigner && window.salesflowDesigner.modeler")
    page.evaluate("() => window.salesflowDesigner.ready")
    expect(page.locator(".bjs-powered-by")).to_be_visible()  # the bpmn.io watermark stays


def select(page: Page, element_id: str) -> None:
    page.evaluate(
        """id => {
            const m = window.salesflowDesigner.modeler;
            m.get('selection').select(m.get('elementRegistry').get(id));
        }""",
        element_id,
    )


def marked(page: Page, css_class: str) -> list[str]:
    """The ids of the diagram elements whose SVG group carries the class."""
    found: list[str] = page.evaluate(
        """cls => Array.from(document.querySelectorAll('g.djs-element.' + cls))
            .map(g => g.getAttribute('data-element-id'))""",
        css_class,
    )
    return found


def bpmn_of(service: Service, process_id: str, version: int | None = None) -> etree._Element:
    files = service.definition_files(process_id, version)
    name = next(n for n in files if n.endswith(".bpmn"))
    return etree.fromstring(files[name].encode("utf-8"))


def version_of(service: Service, process_id: str) -> int | None:
    found = [d["version"] for d in service.definitions() if d["process_id"] == process_id]
    return found[0] if found else None


# --- tests ---------------------------------------------------------------------------------


def test_a_designer_adds_a_task_sets_its_lane_and_form_and_publishes(
    page: Page, staff: Service, shot: Shots
) -> None:
    open_designer(page, "sales_pipeline", shot)
    # The new task goes between the negotiation and its outcome; it is dropped in the sales
    # manager's lane, then put into the sales rep's in the side panel.
    page.evaluate(
        """() => {
            const m = window.salesflowDesigner.modeler;
            const registry = m.get('elementRegistry'), modeling = m.get('modeling');
            const negotiate = registry.get('task_negotiate');
            const manager = registry.get('lane_sales_manager');
            const bo = m.get('bpmnFactory').create('bpmn:UserTask', {id: 'task_check_credit'});
            const shape = modeling.createShape(
                m.get('elementFactory').createShape({type: 'bpmn:UserTask', businessObject: bo}),
                {x: negotiate.x + 60, y: manager.y + manager.height / 2},
                registry.get('pool_sales_pipeline'));
            modeling.reconnectEnd(registry.get('flow_negotiate_to_outcome'), shape,
                                  {x: shape.x, y: shape.y + shape.height / 2});
            modeling.connect(shape, registry.get('gw_outcome'));
            m.get('selection').select(shape);
        }"""
    )
    expect(page.locator("#p-id")).to_have_value("task_check_credit")
    expect(page.locator("#p-lane")).to_have_value("lane_sales_manager")
    page.locator("#p-name").fill("Check credit")
    page.locator("#p-name").press("Tab")
    page.locator("#p-lane").select_option(label="Sales Rep")
    expect(page.locator("#p-lane")).to_have_value("lane_sales_rep")
    # Stage and escalation role are choices (engine.core.stages, the lanes and team roles),
    # with "other…" for a stage of one's own.
    page.locator("#p-stage").select_option(label="other…")
    expect(page.locator("#p-stage-other")).to_be_visible()
    page.locator("#p-stage").select_option("negotiation")
    expect(page.locator("#p-stage-other")).to_be_hidden()
    page.locator("#p-sla").fill("P2D")
    page.locator("#p-sla").press("Tab")
    page.locator("#p-escalateTo").select_option("Sales Manager")
    page.locator("#p-instructions").fill("Ask the credit agency before the contract.")
    page.locator("#p-instructions").press("Tab")
    page.locator("#p-new-form").click()
    expect(page.locator("#p-form")).to_have_value("check_credit.schema.json")
    expect(page.locator("#form-file")).to_have_value("check_credit.schema.json")
    page.locator("#form-text").fill(CREDIT_FORM)
    expect(page.locator("#form-preview").get_by_label("Credit is fine")).to_be_visible()
    shot(page, "task-with-lane-and-form")
    # A timer and a cell of the decision table, while we are at it.
    select(page, "timer_needs_idle")
    expect(page.locator("#p-timer_kind")).to_have_value("timeDuration")
    page.locator("#p-timer").fill('"P5D"')
    page.locator("#p-timer").press("Tab")
    expect(page.locator("#dmn-file")).to_have_value("lead_grading.dmn")
    rows = page.locator("#dmn-grid tbody tr")
    expect(rows).to_have_count(5)
    page.get_by_label("Rule 5: Follow-up plan").fill('"monthly newsletter"')
    page.get_by_label("Rule 5: Follow-up plan").press("Tab")
    page.locator("#dmn-add-row").click()
    expect(rows).to_have_count(6)
    page.get_by_label("Rule 6: Tier").fill('"B"')
    page.get_by_label("Rule 6: Tier").press("Tab")
    rows.nth(5).get_by_role("button", name="Remove row").click()
    expect(rows).to_have_count(5)
    shot(page, "timer-and-table")

    page.locator("#publish").click()
    expect(page.locator("#designer-status")).to_have_text("Version 2 published.")
    shot(page, "published")
    assert version_of(staff, "sales_pipeline") == 2
    files = staff.definition_files("sales_pipeline")
    assert "Credit is fine" in files["check_credit.schema.json"]
    root = bpmn_of(staff, "sales_pipeline")
    [task] = [t for t in root.iter(f"{BPMN}userTask") if t.get("id") == "task_check_credit"]
    assert task.get("name") == "Check credit"
    properties = {p.get("name"): p.get("value") for p in task.iter(f"{SPIFF}property")}
    assert properties == {
        "stage": "negotiation",
        "sla": "P2D",
        "escalateTo": "Sales Manager",
        "formJsonSchemaFilename": "check_credit.schema.json",
    }
    [instructions] = task.iter(f"{SPIFF}instructionsForEndUser")
    assert instructions.text == "Ask the credit agency before the contract."
    [timer] = [t for t in root.iter(f"{BPMN}boundaryEvent") if t.get("id") == "timer_needs_idle"]
    assert [d.text for d in timer.iter(f"{BPMN}timeDuration")] == ['"P5D"']
    table = etree.fromstring(files["lead_grading.dmn"].encode("utf-8"))
    rules = list(table.iter("{*}rule"))
    assert len(rules) == 5
    assert [e.findtext("{*}text") for e in rules[4].iter("{*}outputEntry")] == [
        '"C"',
        '"monthly newsletter"',
    ]
    [lane] = [lane for lane in root.iter(f"{BPMN}lane") if lane.get("id") == "lane_sales_rep"]
    assert "task_check_credit" in [ref.text for ref in lane.iter(f"{BPMN}flowNodeRef")]
    # The new version runs: its spec has the task, in the rep's lane.
    deal = staff.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)
    assert staff.show(deal["instance_id"])["version"] == 2
    # A reload opens the published version.
    page.reload()
    wait_for_modeler(page)
    expect(page.locator("#designer-version")).to_contain_text("Version 2")


def test_an_invalid_change_is_refused_on_its_element_and_the_old_version_runs(
    page: Page, staff: Service, shot: Shots
) -> None:
    open_designer(page, "sales_pipeline", shot)
    select(page, "gw_qualified")
    page.locator("#p-default").select_option(value="")
    page.locator("#publish").click()
    expect(page.locator("#designer-status")).to_contain_text("Nothing was published")
    problems = page.locator("#problems li.error")
    expect(problems.first).to_be_visible()
    shot(page, "no-default-refused")
    on_gateway = {"gw_qualified", "flow_qualified_tier_a_b", "flow_qualified_tier_c"}
    assert set(marked(page, "sf-error")) & on_gateway
    assert set(marked(page, "sf-error")) <= {
        problems.nth(i).get_attribute("data-element") for i in range(problems.count())
    }

    # The default back, an unsafe condition instead.
    select(page, "gw_qualified")
    page.locator("#p-default").select_option(value="flow_qualified_tier_c")
    select(page, "flow_qualified_tier_a_b")
    page.locator("#p-condition").fill("__import__('os').system('true')")
    page.locator("#p-condition").press("Tab")
    page.locator("#publish").click()
    expect(page.locator("#designer-status")).to_contain_text("Nothing was published")
    expect(page.locator("#problems")).to_contain_text("__import__")
    shot(page, "unsafe-condition-refused")
    assert set(marked(page, "sf-error")) & {"flow_qualified_tier_a_b", "gw_qualified"}
    assert "gw_qualified" not in marked(page, "sf-warning")

    # Clicking the problem selects its element in the modeler.
    page.locator("#problems li.error button.element-link").first.click()
    expect(page.locator("#p-id")).to_have_value(
        page.locator("#problems li.error").first.get_attribute("data-element") or ""
    )

    assert version_of(staff, "sales_pipeline") == 1
    # The previous version still runs.
    deal = staff.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)
    assert staff.show(deal["instance_id"])["version"] == 1
    assert [t["element_id"] for t in staff.tasks(instance=str(deal["instance_id"]))] == [
        "task_qualify_lead"
    ]

    # Kept as a draft, problems and all, and there again after a reload until discarded.
    page.locator("#save-draft").click()
    expect(page.locator("#designer-status")).to_contain_text("Draft saved")
    page.reload()
    wait_for_modeler(page)
    expect(page.locator(".designer-draft")).to_contain_text("unpublished draft")
    select(page, "flow_qualified_tier_a_b")
    expect(page.locator("#p-condition")).to_have_value("__import__('os').system('true')")
    shot(page, "draft-reopened")
    with page.expect_navigation():
        page.locator("#discard-draft").click()
    wait_for_modeler(page)
    expect(page.locator(".designer-draft")).to_have_count(0)
    select(page, "flow_qualified_tier_a_b")
    expect(page.locator("#p-condition")).to_have_value('tier in ["A", "B"]')
    assert staff.definition_draft("sales_pipeline", "dora") is None


def test_an_imported_file_is_shown_and_says_why_it_cannot_be_deployed(
    page: Page, staff: Service, shot: Shots, tmp_path: Path
) -> None:
    # Made by hand: no diagram (BPMN DI), and not executable.
    source = TEMPLATE.read_text(encoding="utf-8").replace("new_process", "lead_check")
    source = source.replace('isExecutable="true"', 'isExecutable="false"')
    source = re.sub(r"<bpmndi:BPMNDiagram.*</bpmndi:BPMNDiagram>", "", source, flags=re.S)
    assert "BPMNShape" not in source
    path = tmp_path / "Lead check (other tool).bpmn"
    path.write_text(source, encoding="utf-8")
    log_in(page)
    page.goto("/designer")
    page.locator("#new-process").click()
    page.wait_for_url("**/designer/new")
    wait_for_modeler(page)
    page.locator("#import-file").set_input_files(str(path))
    expect(page.locator("#problems")).to_contain_text("not executable")
    expect(page.locator("#designer-status")).to_contain_text("laid out automatically")
    shot(page, "imported-not-executable")
    assert marked(page, "sf-error") == ["pool_lead_check"]  # the process's pool
    assert page.evaluate(
        "() => !!window.salesflowDesigner.modeler.get('elementRegistry').get('task_first_step')"
    )
    # Made executable in the panel (nothing selected: the process), it publishes.
    page.evaluate("() => window.salesflowDesigner.modeler.get('selection').select(null)")
    page.locator("#p-executable").check()
    page.locator("#publish").click()
    expect(page.locator("#designer-status")).to_have_text("Version 1 published.")
    page.wait_for_url("**/designer/lead_check")
    shot(page, "imported-published")
    assert version_of(staff, "lead_check") == 1
    assert list(staff.definition_files("lead_check")) == ["Lead_check_other_tool_.bpmn"]


def test_a_designer_says_who_starts_the_process(page: Page, staff: Service, shot: Shots) -> None:
    """The process's startRoles (issue 13, item 5), edited with nothing selected: the
    property goes on the process behind the pool, and the engine starts by it."""
    open_designer(page, "optimization_initiative", shot)
    page.evaluate("() => window.salesflowDesigner.modeler.get('selection').select(null)")
    expect(page.locator("#p-start_roles")).to_have_value("Sales Manager")
    assert not staff.may_start("alice", "optimization_initiative")
    page.locator("#p-start_roles").fill("Sales Manager, Sales Rep")
    page.locator("#p-start_roles").press("Tab")
    shot(page, "start-roles")
    page.locator("#publish").click()
    expect(page.locator("#designer-status")).to_have_text("Version 2 published.")
    [process] = bpmn_of(staff, "optimization_initiative").iter(f"{BPMN}process")
    properties = {p.get("name"): p.get("value") for p in process.iter(f"{SPIFF}property")}
    assert properties["startRoles"] == "Sales Manager, Sales Rep"
    assert staff.may_start("alice", "optimization_initiative")
    # Emptied, the property goes: the process is started by the deal owners' roles.
    page.locator("#p-start_roles").fill("")
    page.locator("#p-start_roles").press("Tab")
    page.locator("#publish").click()
    expect(page.locator("#designer-status")).to_have_text("Version 3 published.")
    [process] = bpmn_of(staff, "optimization_initiative").iter(f"{BPMN}process")
    assert "startRoles" not in [p.get("name") for p in process.iter(f"{SPIFF}property")]
    assert staff.may_start("alice", "optimization_initiative")
    assert not staff.may_start("fay", "optimization_initiative")


@pytest.mark.skipif(not CORPORA.is_dir(), reason="shared/corpora is not beside")
def test_an_imported_file_with_several_diagrams_opens_its_main_one(
    page: Page, shot: Shots, tmp_path: Path
) -> None:
    # The food-ordering example holds the process and the drill-down of its sub-process;
    # put the small drill-down first, as some tools do.
    source = (CORPORA / "spiff-examples/examples/2-in-depth/2-3-sub-processes").glob(
        "food-ordering*.bpmn"
    )
    xml = next(iter(source)).read_text(encoding="utf-8")
    blocks = re.findall(r"\s*<bpmndi:BPMNDiagram.*?</bpmndi:BPMNDiagram>", xml, flags=re.S)
    assert len(blocks) == 2
    main_id, drill_id = (re.search(r'id="([^"]+)"', b).group(1) for b in blocks)  # type: ignore[union-attr]
    swapped = xml.replace(blocks[0] + blocks[1], blocks[1] + blocks[0])
    assert swapped != xml
    path = tmp_path / "food ordering.bpmn"
    path.write_text(swapped, encoding="utf-8")
    log_in(page)
    page.goto("/designer/new")
    wait_for_modeler(page)
    page.locator("#import-file").set_input_files(str(path))
    picker = page.locator("#diagram-picker")
    expect(page.locator("#diagram-choice")).to_be_visible()
    expect(picker).to_have_value(main_id)
    assert picker.locator("option").all_inner_texts()[1].endswith("main diagram")
    shown = (
        "() => window.salesflowDesigner.modeler.get('canvas').getRootElement().businessObject.id"
    )
    main_root = page.evaluate(shown)
    picker.select_option(drill_id)
    page.wait_for_function(f"() => ({shown})() !== {main_root!r}")
    shot(page, "several-diagrams-drill-down")
    # The panel still edits the process, not the sub-process the drill-down shows.
    expect(page.locator("#designer-title")).to_have_text("Food_Ordering_Process")
    expect(page.locator("#panel input").first).to_have_value("Food_Ordering_Process")
    assert picker.locator("option").all_inner_texts()[0].startswith("Select Food · 8 shapes")
    picker.select_option(main_id)
    page.wait_for_function(f"() => ({shown})() === {main_root!r}")
