"""Saved views in a real browser: a manager filters the deal list, saves it as her default,
opens "Deals" from the menu into it, steps past it to every deal, and deletes it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from engine.usecases.service import Service
from tests.webui.conftest import LEAD
from tests.webui.test_browser import browser, pytestmark, served
from tests.webui.test_humane_browser import log_in

__all__ = ["browser", "pytestmark"]  # the shared Chromium, skipped where there is none

SHOTS = Path("/tmp/salesflow-saved-views")


@pytest.fixture
def live_url(db_url: str, staff: Service) -> Iterator[str]:
    for company, owner in (("Alpha Ltd", "alice"), ("Beta Ltd", "alice"), ("Gamma Ltd", "mia")):
        staff.start("sales_pipeline", owner=owner, actor=owner, data={**LEAD, "company": company})
    with served(db_url, "saved-views-browser") as url:
        yield url


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_manager_saves_her_default_view_and_deals_opens_with_it(
    browser: Browser, live_url: str
) -> None:
    page = browser.new_context(base_url=live_url).new_page()
    log_in(page, "mia")
    page.goto("/deals")
    views = page.locator("#saved-views")
    expect(views).to_contain_text("No saved views yet: filter the list, then save it here.")
    page.locator("select[name=owner]").select_option("alice")
    page.get_by_role("button", name="Filter", exact=True).click()
    page.get_by_role("link", name="Deal", exact=True).click()  # sorted by name
    page.get_by_role("link", name="Deal ▲").click()  # Z to A
    page.locator("#save-view input[name=name]").fill("Alice's deals")
    page.locator("#save-view input[name=default]").check()
    page.locator("#save-view").get_by_role("button", name="Save").click()
    expect(page.locator(".flash.success")).to_contain_text("Saved the view “Alice's deals”.")
    expect(views.get_by_role("link", name="Alice's deals")).to_have_attribute(
        "aria-current", "page"
    )
    shot(page, "saved")

    page.get_by_role("navigation").get_by_role("link", name="Deals", exact=True).first.click()
    expect(page.locator("#default-view")).to_contain_text("Showing your default view")
    expect(page.locator("table.deals tbody tr")).to_have_count(2)
    expect(page.locator("table.deals tbody tr").first).to_contain_text("Beta Ltd")
    page.locator("#default-view").get_by_role("link", name="Show all").click()
    expect(page.locator("table.deals tbody tr")).to_have_count(3)
    expect(page.locator("#default-view")).to_have_count(0)

    views.get_by_role("button", name="Delete the saved view “Alice's deals”").click()
    expect(page.locator(".flash.success")).to_contain_text("The saved view is deleted.")
    expect(page.locator("table.deals tbody tr")).to_have_count(3)
    expect(views).to_contain_text("No saved views yet")
    shot(page, "deleted")
