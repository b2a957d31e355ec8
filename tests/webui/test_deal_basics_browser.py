"""Browser test of the deal basics (issue 14, "What it must show"): a manager marks a deal lost
from the proposal stage and sees it red in the list and counted in the funnel report; the board
shows the value totals and the weighted pipeline.  Debian's Chromium through Playwright, as in
test_browser.py; every step leaves a screenshot in var/artifacts/browser/."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from engine.usecases.demo import WON, drive
from engine.usecases.service import Service
from tests.conftest import LEAD
from tests.webui.test_browser import Shots, launched, log_in, served
from tests.webui.test_browser import pytestmark as browser_tests

pytestmark = browser_tests
COMPANY = "Lotus Trading"
RED, GREEN = "rgb(254, 226, 226)", "rgb(220, 252, 231)"  # the lost and won badges


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as chromium:
        yield chromium


@pytest.fixture
def deals(staff: Service) -> dict[str, str]:
    """alice's deals: Lotus Trading and Pine Logistics at the proposal, a won one."""
    made = {}
    for company, amount in ((COMPANY, 300_000), ("Pine Logistics", 200_000), ("Won Co", 50_000)):
        deal = staff.start(
            "sales_pipeline",
            owner="alice",
            actor="alice",
            data={**LEAD, "company": company},
            amount=amount,
            expected_close="2026-09-30",
        )
        drive(staff, deal["instance_id"], WON if company == "Won Co" else WON[:3])
        made[company] = str(deal["instance_id"])
    return made


@pytest.fixture
def page(browser: Browser, db_url: str, deals: dict[str, str]) -> Iterator[Page]:
    with served(db_url, "deal-basics-test") as url:
        context = browser.new_context(base_url=url, locale="en-US")
        try:
            yield context.new_page()
        finally:
            context.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)


def background(locator: object) -> str:
    return str(locator.evaluate("e => getComputedStyle(e).backgroundColor"))  # type: ignore[attr-defined]


def test_manager_marks_a_deal_lost_sees_it_red_and_counted_and_the_board_weighs_the_rest(
    page: Page, deals: dict[str, str], shot: Shots
) -> None:
    log_in(page, "mia", shot)
    nav = page.get_by_role("navigation", name="Main")

    # The board before: both proposals' values, weighted at the proposal's 60%.
    nav.get_by_role("link", name="Board", exact=True).click()
    page.wait_for_url("**/deals/board")
    totals = page.locator("#pipeline-totals")
    expect(totals).to_contain_text("¥500,000")  # open pipeline: the two proposals
    expect(totals).to_contain_text("¥300,000")  # weighted: 60% of it
    proposal = page.locator('section.column[data-stage="proposal"]')
    expect(proposal.locator(".column-figures .value")).to_have_text("¥500,000")
    expect(proposal.locator(".column-figures .weighted")).to_contain_text("weighted ¥300,000")
    expect(proposal.locator("a.deal-card", has_text=COMPANY)).to_contain_text("¥300,000")
    shot(page, "board-before")

    # The deal page: "Mark lost" with the process's reasons.
    proposal.locator("a.deal-card", has_text=COMPANY).click()
    page.wait_for_url(f"**/deals/{deals[COMPANY]}")
    expect(page.get_by_role("heading", level=1)).to_have_text(COMPANY)
    page.locator("details.mark-lost > summary").click()
    reason = page.locator("#lost-reason")
    expect(reason).to_be_visible()
    shot(page, "mark-lost-open")
    page.locator("details.mark-lost button[type=submit]").click()  # no reason: the browser asks
    assert reason.evaluate("e => e.validity.valid") is False
    reason.select_option(label="Price too high")
    page.locator("details.mark-lost button[type=submit]").click()
    page.wait_for_url(f"**/deals/{deals[COMPANY]}")
    badge = page.locator(".page-head .badge.outcome-lost")
    expect(badge).to_have_text("Lost")
    assert background(badge) == RED
    expect(page.locator("#outcome-note")).to_contain_text("Marked lost by mia: Price too high")
    expect(page.locator(".open-tasks")).to_have_count(0)  # its tasks are cancelled
    expect(page.locator("ol.timeline li.event.lost").first).to_contain_text("Marked lost by")
    shot(page, "deal-lost")

    # The list: red, with its reason; the won deal green; never a green "Completed".
    nav.get_by_role("link", name="Deals", exact=True).click()
    page.wait_for_url("**/deals")
    row = page.locator("table.deals tbody tr", has_text=COMPANY)
    expect(row).to_have_class(re.compile(r"\boutcome-lost\b"))
    expect(row.locator(".badge.outcome-lost")).to_have_text("Lost")
    assert background(row.locator(".badge.outcome-lost")) == RED
    expect(row).to_contain_text("Price too high")
    won = page.locator("table.deals tbody tr", has_text="Won Co")
    assert background(won.locator(".badge.outcome-won")) == GREEN
    expect(page.locator("table.deals .badge.status-completed")).to_have_count(0)
    shot(page, "list")

    # The funnel counts it, with its reason.
    nav.get_by_role("link", name="Reports", exact=True).click()
    page.wait_for_url(re.compile(r"/reports/funnel"))
    expect(page.locator("p.totals")).to_contain_text("Lost 1")
    reasons = page.locator("table.report-table").nth(1)
    expect(reasons.locator("tbody tr", has_text="price too high")).to_contain_text("1")
    shot(page, "funnel")

    # The board after: only the other proposal is left in the pipeline.
    nav.get_by_role("link", name="Board", exact=True).click()
    page.wait_for_url("**/deals/board")
    expect(page.locator("#pipeline-totals")).to_contain_text("¥200,000")
    expect(page.locator("#pipeline-totals")).to_contain_text("¥120,000")
    proposal = page.locator('section.column[data-stage="proposal"]')
    expect(proposal.locator("a.deal-card", has_text=COMPANY)).to_have_count(0)
    expect(proposal.locator(".column-figures .weighted")).to_contain_text("(60%)")
    after_sales = page.locator('section.column[data-stage="after_sales"]')
    assert background(after_sales.locator(".badge.outcome-won").first) == GREEN
    shot(page, "board-after")


@pytest.fixture
def phone_zh(browser: Browser, db_url: str, deals: dict[str, str]) -> Iterator[Page]:
    with served(db_url, "deal-basics-phone") as url:
        context = browser.new_context(
            base_url=url, locale="zh-CN", viewport={"width": 390, "height": 844}
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def test_on_a_phone_in_chinese_the_same_loss_reads_red_and_counts(
    phone_zh: Page, deals: dict[str, str], shot: Shots
) -> None:
    page = phone_zh
    log_in(page, "mia", shot)
    page.goto("/deals/board")
    totals = page.locator("#pipeline-totals")
    expect(totals).to_contain_text("在途金额")
    expect(totals).to_contain_text("¥500,000")
    expect(totals).to_contain_text("加权在途金额")
    proposal = page.locator('section.column[data-stage="proposal"]')
    expect(proposal.locator(".column-figures .weighted")).to_contain_text("加权 ¥300,000")
    shot(page, "board-zh")

    page.goto(f"/deals/{deals[COMPANY]}")
    page.locator("details.mark-lost > summary").click()
    expect(page.locator("details.mark-lost > summary")).to_contain_text("标记为丢单")
    page.locator("#lost-reason").select_option(label="价格过高")
    shot(page, "mark-lost-zh")
    page.locator("details.mark-lost button[type=submit]").click()
    page.wait_for_url(f"**/deals/{deals[COMPANY]}")
    badge = page.locator(".page-head .badge.outcome-lost")
    expect(badge).to_have_text("丢单")
    assert background(badge) == RED
    expect(page.locator("#outcome-note")).to_contain_text("标记为丢单：价格过高")  # noqa: RUF001
    shot(page, "deal-lost-zh")

    page.goto("/deals")
    row = page.locator("table.deals tbody tr", has_text=COMPANY)
    expect(row.locator(".badge.outcome-lost")).to_have_text("丢单")
    assert background(row.locator(".badge.outcome-lost")) == RED
    expect(row).to_contain_text("价格过高")
    shot(page, "list-zh")

    page.goto("/reports/funnel")
    expect(page.locator("p.totals")).to_contain_text("丢单 1")
    reasons = page.locator("table.report-table").nth(1)
    expect(reasons.locator("tbody tr", has_text="价格过高")).to_contain_text("1")
    shot(page, "funnel-zh")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, overflow  # the phone page fits its width
