"""Browser test of the targets (issue 19, "What it must show"): a manager opens the Targets
report tab, sets a rep's target of won value for this month with the form and sees the rep's
attainment, in English and in Chinese.  Debian's Chromium through Playwright, as in
test_browser.py; every step leaves a screenshot in var/artifacts/browser/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, expect

from engine.usecases.service import Service
from tests.engine.test_targets import win
from tests.webui.test_browser import Shots, launched, log_in, served
from tests.webui.test_browser import pytestmark as browser_tests

pytestmark = browser_tests


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as chromium:
        yield chromium


@pytest.fixture
def live_url(db_url: str, staff: Service) -> Iterator[str]:
    """The app, with a deal of alice's (¥150,000) and one of bob's (¥30,000) won now."""
    win(staff, "alice", 150_000, datetime.now(UTC))
    win(staff, "bob", 30_000, datetime.now(UTC))
    with served(db_url, "targets-test") as url:
        yield url


def page_in(browser: Browser, url: str, locale: str) -> Page:
    return browser.new_context(base_url=url, locale=locale).new_page()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)


def set_target(page: Page, user: str, value: str, save: str) -> None:
    form = page.locator("form.set-target")
    form.locator("#target-user").select_option(user)
    form.locator("#target-metric").select_option("won_value")
    form.locator("#target-value").fill(value)
    form.get_by_role("button", name=save).click()


def test_a_manager_sets_a_target_and_sees_the_attainment(
    browser: Browser, live_url: str, shot: Shots
) -> None:
    page = page_in(browser, live_url, "en-US")
    try:
        log_in(page, "mia", shot)
        page.goto("/reports/funnel")
        page.get_by_role("navigation", name="Reports").get_by_role("link", name="Targets").click()
        page.wait_for_url("**/reports/targets")
        expect(page.get_by_role("heading", name="Set a target")).to_be_visible()
        shot(page, "targets-before")
        set_target(page, "alice", "120000", "Save")
        page.wait_for_url("**/reports/targets?period=*")
        expect(page.locator(".flash.success")).to_have_text("Target saved.")
        row = page.locator('table[data-user="alice"] tr[data-metric="won_value"]')
        expect(row).to_contain_text("¥120,000")  # the target
        expect(row).to_contain_text("¥150,000")  # the actual
        expect(row.locator(".attainment")).to_have_text("125.0%")
        expect(row).to_contain_text("Ahead")
        shot(page, "targets-set")
    finally:
        page.context.close()


def test_a_manager_sets_a_target_in_chinese(browser: Browser, live_url: str, shot: Shots) -> None:
    page = page_in(browser, live_url, "zh-CN")
    try:
        log_in(page, "mia", shot)
        page.goto("/reports/targets")
        expect(page.get_by_role("heading", name="设定目标")).to_be_visible()
        set_target(page, "bob", "60000", "保存")
        page.wait_for_url("**/reports/targets?period=*")
        expect(page.locator(".flash.success")).to_have_text("目标已保存。")
        row = page.locator('table[data-user="bob"] tr[data-metric="won_value"]')
        expect(row.locator("td").first).to_have_text("成交金额")
        expect(row.locator(".attainment")).to_have_text("50.0%")
        shot(page, "targets-set-zh")
    finally:
        page.context.close()
