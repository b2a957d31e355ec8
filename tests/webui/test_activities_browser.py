# ruff: noqa: RUF001 - full-width Chinese punctuation in the Chinese texts
"""Browser test of activities (issue 19, "What it must show"): a rep logs a call from the deal
page and sees it on the deal's timeline and on the customer's page, in English and in
Chinese.  Debian's Chromium through Playwright, as in test_browser.py; every step leaves a
screenshot in var/artifacts/browser/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from engine.usecases.service import Service
from tests.webui.conftest import deal_at_needs_analysis
from tests.webui.test_browser import Shots, launched, log_in, served
from tests.webui.test_browser import pytestmark as browser_tests

pytestmark = browser_tests
COMPANY = "Lotus Trading"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as chromium:
        yield chromium


@pytest.fixture
def deal(staff: Service) -> str:
    return deal_at_needs_analysis(staff, owner="alice", company=COMPANY)


@pytest.fixture
def live_url(db_url: str, deal: str) -> Iterator[str]:
    with served(db_url, "activities-browser-test") as url:
        yield url


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)


def page_in(browser: Browser, url: str, locale: str) -> Page:
    return browser.new_context(base_url=url, locale=locale).new_page()


def log_a_call(page: Page, deal: str, notes: str, shot: Shots, *, summary: str, save: str) -> None:
    """From the deal page's panel: open it, choose a call, write the notes, send."""
    page.goto(f"/deals/{deal}")
    panel = page.locator("#activities")
    panel.locator("summary", has_text=summary).click()
    panel.locator("#activity-kind").select_option("call")
    expect(panel.locator("#activity-at")).not_to_have_value("")  # now, ready
    panel.locator("#activity-notes").fill(notes)
    panel.locator("#activity-next-step").fill("demo")
    panel.locator("#activity-next-step-at").fill("2030-01-15")
    shot(page, "panel-filled")
    panel.get_by_role("button", name=save).click()
    page.wait_for_url(f"**/deals/{deal}#activities")


@pytest.mark.parametrize(
    ("locale", "texts"),
    [
        (
            "en-US",
            {
                "summary": "Log a call, visit, meeting…",
                "save": "Log it",
                "flash": "Call logged.",
                "sentence": f"Call with {COMPANY} by Alice Rep",
            },
        ),
        (
            "zh-CN",
            {
                "summary": "记录电话、拜访、会议…",
                "save": "记录",
                "flash": "已记录：电话。",
                "sentence": f"Alice Rep 给 {COMPANY} 打了电话",
            },
        ),
    ],
    ids=["english", "chinese"],
)
def test_a_rep_logs_a_call_from_the_deal_page_and_sees_it_on_the_timeline_and_customer(
    browser: Browser, live_url: str, deal: str, shot: Shots, locale: str, texts: dict[str, str]
) -> None:
    page = page_in(browser, live_url, locale)
    try:
        log_in(page, "alice", shot)
        notes = f"Budget confirmed ({locale})"
        log_a_call(page, deal, notes, shot, summary=texts["summary"], save=texts["save"])
        expect(page.locator(".flash, .flashes, [role=status]").first).to_contain_text(
            texts["flash"]
        )
        entry = page.locator("#timeline li.event.activity").first
        expect(entry).to_contain_text(texts["sentence"])
        expect(entry.locator("blockquote")).to_have_text(notes)
        shot(page, "deal-timeline")
        # The deal's customer: the call is on its page too.
        page.locator("#deal-customer").click()
        page.wait_for_url("**/customers/*")
        expect(page.locator("#activities")).to_contain_text(notes)
        shot(page, "customer-page")
    finally:
        page.context.close()
