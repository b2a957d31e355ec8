"""Browser test of the designer's Chinese texts: a designer types a Chinese name in the side
panel and a Chinese field title in the form editor, publishes, and a rep reading 简体中文
sees them on the task.  The real app on a local port, bpmn-js in Debian's Chromium; the
screenshots go to /tmp/salesflow-designer-zh/."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from engine.usecases.demo import WON, drive
from engine.usecases.service import Service
from tests.conftest import LEAD
from tests.webui.conftest import PASSWORD
from tests.webui.test_browser import launched, served
from tests.webui.test_designer_browser import pytestmark as designer_mark
from tests.webui.test_designer_browser import select, wait_for_modeler

pytestmark = designer_mark
SHOTS = Path("/tmp/salesflow-designer-zh")
ZH = "sales_pipeline.zh-Hans.json"
COMPANY = "Lotus Trading"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as chromium:
        yield chromium


@pytest.fixture
def live_url(db_url: str, staff: Service) -> Iterator[str]:
    with served(db_url, "designer-zh-browser") as url:
        yield url


def new_page(browser: Browser, live_url: str, errors: list[str]) -> Page:
    context = browser.new_context(
        base_url=live_url, locale="en-US", viewport={"width": 1400, "height": 1000}
    )
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"script error: {exc}"))
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and "favicon" not in r.url
            else None
        ),
    )
    return page


def log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")
    page.wait_for_url("**/tasks")


def test_a_chinese_name_typed_in_the_designer_is_the_task_name_a_chinese_rep_reads(
    browser: Browser, live_url: str, staff: Service
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    designer = new_page(browser, live_url, errors)
    log_in(designer, "dora")
    designer.goto("/designer/sales_pipeline")
    wait_for_modeler(designer)

    select(designer, "task_needs_analysis")
    name_zh = designer.locator("#p-name_zh")
    expect(name_zh).to_have_value("需求分析")  # read from the translations file
    name_zh.fill("需求调研")
    name_zh.press("Tab")
    designer.locator("#form-file").select_option("needs_analysis.schema.json")
    title = designer.locator('#form-zh input[data-zh="pain_points|title"]')
    expect(title).to_have_value("核心痛点")
    title.fill("客户最大的痛点")
    title.press("Tab")
    choice = designer.locator('#form-zh input[data-zh="main_pain_area|choice|efficiency"]')
    expect(choice).to_have_value("效率")
    designer.locator("#form-zh").screenshot(path=str(SHOTS / "00-form-chinese-texts.png"))
    # The translations file is no form: the form editor does not offer it.
    assert ZH not in designer.locator("#form-file option").all_inner_texts()
    designer.locator("#publish").click()
    expect(designer.locator("#designer-status")).to_have_text("Version 2 published.")
    select(designer, "task_needs_analysis")
    designer.screenshot(path=str(SHOTS / "01-designer-published.png"), full_page=False)

    stored = json.loads(staff.definition_files("sales_pipeline")[ZH])
    assert stored["elements"]["task_needs_analysis"]["name"] == "需求调研"
    assert stored["elements"]["task_qualify_lead"]["name"] == "线索资格审查"  # kept
    fields = stored["forms"]["needs_analysis.schema.json"]["fields"]
    assert fields["pain_points"]["title"] == "客户最大的痛点"

    deal = staff.start(
        "sales_pipeline", owner="alice", actor="alice", data={**LEAD, "company": COMPANY}
    )
    assert staff.show(deal["instance_id"])["version"] == 2
    drive(staff, deal["instance_id"], WON[:2])

    rep = new_page(browser, live_url, errors)
    log_in(rep, "alice")
    rep.locator("form.language").get_by_role("button", name="简体中文").click()
    expect(rep.locator("html")).to_have_attribute("lang", "zh-Hans")
    row = rep.locator("table.tasks tbody tr", has_text=COMPANY)
    row.get_by_role("link", name="需求调研").click()
    rep.wait_for_url(re.compile(r"/tasks/[0-9a-f-]+$"))
    expect(rep.get_by_role("heading", level=1)).to_have_text("需求调研")
    expect(rep.locator("fieldset#f-pain_points legend")).to_contain_text("客户最大的痛点")
    rep.screenshot(path=str(SHOTS / "02-rep-task-zh.png"), full_page=False)
    assert errors == []
