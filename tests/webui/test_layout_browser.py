"""The page layout in a real Chromium (issue 14, "Honest, humane pages"): on a phone the
header's links fold into a menu that opens and closes; at 1440 px the main pages fit their
width; every page has the site's icon."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from engine.usecases.service import Service
from tests.webui.test_browser import (  # noqa: F401  (fixtures)
    Shots,
    browser,
    deal,
    live_url,
    log_in,
    pytestmark,
    shot,
)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture
def phone(browser: Browser, live_url: str) -> Iterator[Page]:  # noqa: F811
    context = browser.new_context(base_url=live_url, locale="zh-CN", viewport=PHONE)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def desktop(browser: Browser, live_url: str) -> Iterator[Page]:  # noqa: F811
    context = browser.new_context(base_url=live_url, locale="en-US", viewport=DESKTOP)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_on_a_phone_the_header_folds_into_a_menu(phone: Page, shot: Shots) -> None:  # noqa: F811
    log_in(phone, "mia", shot)
    menu = phone.locator("label.menu-button")
    links = phone.locator("nav.main")
    expect(menu).to_be_visible()
    expect(menu).to_contain_text("菜单")
    expect(links).to_be_hidden()
    shot(phone, "folded")
    menu.click()
    expect(links).to_be_visible()
    shot(phone, "open")
    links.get_by_role("link", name="看板").click()
    phone.wait_for_url("**/board")
    expect(phone.locator("nav.main")).to_be_hidden()  # a new page opens folded


def test_at_1440_px_the_main_pages_fit_their_width(desktop: Page, shot: Shots) -> None:  # noqa: F811
    log_in(desktop, "mia", shot)
    expect(desktop.locator("label.menu-button")).to_be_hidden()
    for path in ("/tasks", "/deals", "/board", "/reports/", "/initiatives/", "/processes/"):
        desktop.goto(path)
        overflow = desktop.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, overflow)
    shot(desktop, "board")


def test_every_page_has_the_site_icon(desktop: Page) -> None:
    desktop.goto("/login")
    icon = desktop.locator("link[rel=icon]")
    expect(icon).to_have_attribute("type", "image/svg+xml")
    answer = desktop.request.get(str(icon.get_attribute("href")))
    assert answer.ok and b"<svg" in answer.body()
    legacy = desktop.request.get("/favicon.ico")  # what browsers ask on their own
    assert legacy.ok and b"<svg" in legacy.body()


def test_the_execution_table_fits_1440_px_and_one_save_keeps_every_row(
    desktop: Page,
    shot: Shots,  # noqa: F811
    staff: Service,
) -> None:
    ini = staff.create_initiative(
        name="Faster needs analysis", process_id="sales_pipeline", lead="mia", actor="mia"
    )
    long = "Call every A-tier customer of the last quarter and ask what slowed the decision " * 3
    rows = [
        staff.add_initiative_row(
            ini["id"],
            {"stage": "Needs analysis", "task": f"{n}. {long}", "owner": "alice", "notes": long},
            actor="mia",
        )
        for n in range(1, 4)
    ]
    log_in(desktop, "mia", shot)
    desktop.goto(f"/initiatives/{ini['id']}")
    overflow = desktop.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, overflow
    table = desktop.locator("table.execution")
    box, card = table.bounding_box(), desktop.locator("#table").bounding_box()
    assert box is not None and card is not None and box["width"] <= card["width"]
    shot(desktop, "table")
    desktop.locator(f'[name="{rows[0]["id"]}.status"]').select_option("in progress")
    desktop.locator(f'[name="{rows[2]["id"]}.notes"]').fill("Survey drafted with Li Na")
    desktop.get_by_role("button", name="Save the table").click()
    expect(desktop.locator(".flash.success")).to_contain_text("2 row(s) saved.")
    shot(desktop, "saved")
    now = {r["id"]: r for r in staff.initiative(ini["id"])["rows"]}
    assert now[rows[0]["id"]]["status"] == "in progress"
    assert now[rows[2]["id"]]["notes"] == "Survey drafted with Li Na"
    assert now[rows[1]["id"]]["updated_at"] == rows[1]["updated_at"]  # untouched
