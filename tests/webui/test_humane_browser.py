# ruff: noqa: RUF001 - full-width Chinese punctuation in the Chinese pages
"""Browser tests of issue 14's humane pages, in Chinese (Chromium through Playwright, the app
served as in tests/webui/test_browser.py): a manager sends a discount back with a comment
and the rep reads it above the reopened quote form; a budget maximum below the minimum is
refused by the page's script with the engine's message.  Screenshots go to /tmp."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from engine.usecases.demo import BIG_DISCOUNT, drive
from engine.usecases.service import Service
from tests.webui.conftest import LEAD, PASSWORD, deal_at_needs_analysis
from tests.webui.test_browser import browser, pytestmark, served

__all__ = ["browser", "pytestmark"]  # the shared Chromium, skipped where there is none

SHOTS = Path("/tmp/salesflow-humane")
COMMENT = "价格太低：折扣最多 5%，请重新报价"


@pytest.fixture
def live_url(db_url: str, staff: Service) -> Iterator[str]:
    staff.set_user("mia", display_name="张伟 Zhang Wei")
    staff.set_user("alice", display_name="王芳 Wang Fang")
    for name in ("mia", "alice"):
        staff.set_language(name, "zh")
    with served(db_url, "humane-browser") as url:
        yield url


def new_page(browser: Browser, url: str) -> Page:
    return browser.new_context(base_url=url, locale="zh-CN").new_page()


def log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")
    page.wait_for_url("**/tasks")


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_manager_sends_the_discount_back_and_the_rep_reads_why_in_chinese(
    browser: Browser, live_url: str, staff: Service
) -> None:
    deal = staff.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)
    drive(staff, deal["instance_id"], BIG_DISCOUNT[:5])

    manager = new_page(browser, live_url)
    log_in(manager, "mia")
    manager.locator("table.tasks tbody tr", has_text="ACME Tools").get_by_role(
        "link", name="折扣审批"
    ).click()
    manager.wait_for_url(re.compile(r"/tasks/[0-9a-f-]+$"))
    choices = manager.locator("#f-discount_approved")
    expect(choices.get_by_label("批准")).to_have_attribute("type", "radio")
    expect(choices.get_by_label("退回")).to_have_attribute("type", "radio")
    choices.get_by_label("退回").check()
    manager.locator("#f-approval_comment").fill(COMMENT)
    shot(manager, "1-manager-sends-back")
    manager.locator("form[data-schema-form] button[value=complete]").click()
    manager.wait_for_url(re.compile(r"/deals/\d+$"))
    manager.context.close()
    assert staff.show(deal["instance_id"])["data"]["discount_approved"] is False

    rep = new_page(browser, live_url)
    log_in(rep, "alice")
    expect(rep.locator("header")).to_contain_text("1")  # the bell
    rep.locator("table.tasks tbody tr", has_text="ACME Tools").get_by_role(
        "link", name="报价"
    ).click()
    rep.wait_for_url(re.compile(r"/tasks/[0-9a-f-]+$"))
    box = rep.locator("#sent-back")
    expect(box).to_be_visible()
    expect(box.locator("h2")).to_contain_text("已由 张伟 Zhang Wei 于")
    expect(box.locator("blockquote")).to_have_text(COMMENT)
    expect(box).to_contain_text("「折扣审批」把此任务退回给了你")
    above = rep.evaluate(
        "() => document.querySelector('#sent-back').getBoundingClientRect().bottom"
        " <= document.querySelector('form[data-schema-form]').getBoundingClientRect().top"
    )
    assert above is True
    shot(rep, "2-rep-reads-the-comment")
    rep.goto("/notifications")
    expect(rep.locator("main")).to_contain_text(COMMENT)
    shot(rep, "3-rep-notification")
    rep.context.close()


def test_the_page_refuses_a_budget_maximum_below_the_minimum_before_sending(
    browser: Browser, live_url: str, staff: Service
) -> None:
    deal_at_needs_analysis(staff)
    rep = new_page(browser, live_url)
    log_in(rep, "alice")
    rep.locator("table.tasks tbody tr", has_text="ACME Tools").get_by_role(
        "link", name="需求分析"
    ).click()
    rep.wait_for_url(re.compile(r"/tasks/[0-9a-f-]+$"))
    task_url = rep.url
    for n, text in enumerate(("报价太慢", "线索流失", "看不到管道")):
        rep.locator(f"#f-pain_points-{n}").fill(text)
    rep.get_by_label("效率").check()
    rep.locator("#f-cost_if_persists").fill("每季度流失 15% 的线索")
    rep.locator("#f-tried_before").fill("共享表格")
    rep.locator("#f-decision_makers-0-name").fill("王磊")
    rep.locator("#f-decision_makers-0-role").fill("首席运营官")
    rep.locator("#f-budget_range-min").fill("300000")
    rep.locator("#f-budget_range-max").fill("150000")
    rep.locator("form[data-schema-form] button[value=complete]").click()
    message = "最高预算低于最低预算：此处请填写最高的金额。"
    expect(rep.locator("#f-budget_range-max")).to_have_js_property("validationMessage", message)
    assert rep.url == task_url  # not sent
    shot(rep, "4-budget-rule-in-the-browser")
    rep.locator("#f-budget_range-max").fill("350000")
    expect(rep.locator("#f-budget_range-max")).to_have_js_property("validationMessage", "")
    rep.context.close()
