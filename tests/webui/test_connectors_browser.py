"""Browser test of a service task's connector in the designer's side panel (bpmn-js in
Debian's Chromium): a designer opens a process with a service task, sees its connector, the
allowed hosts and the secrets' names (never their values), changes method, results and
retries, and publishes; the new version's BPMN carries the `salesflow:connector` as edited,
and the engine reads it.  Screenshots go to var/artifacts/browser/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from engine.core import connectors
from engine.usecases.service import Service
from tests.engine.test_connectors import model
from tests.webui.test_browser import Shots, launched, served
from tests.webui.test_designer_browser import bpmn_of, open_designer, pytestmark, select

__all__ = ["pytestmark"]

SALESFLOW = f"{{{connectors.SALESFLOW}}}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as chromium:
        yield chromium


@pytest.fixture
def page(browser: Browser, db_url: str, staff: Service) -> Iterator[Page]:
    staff.allow_host("crm.example.com", user="root")
    staff.set_connector_secret("crm_token", "tok-never-shown", user="root")
    staff.publish(model("https://crm.example.com/leads/{{company}}"), actor="dora")
    with served(db_url, "connectors-browser") as url:
        context = browser.new_context(
            base_url=url, locale="en-US", viewport={"width": 1400, "height": 1000}
        )
        errors: list[str] = []
        found = context.new_page()
        found.on("pageerror", lambda exc: errors.append(str(exc)))
        yield found
        context.close()
        assert errors == []


def test_a_designer_edits_a_connector_in_the_side_panel(page: Page, staff: Service) -> None:
    shot = Shots("connector-side-panel")
    open_designer(page, "crm_lookup", shot)
    select(page, "task_crm")
    expect(page.locator("fieldset.connector")).to_be_visible()
    expect(page.locator("#p-connector-url")).to_have_value(
        "https://crm.example.com/leads/{{company}}"
    )
    expect(page.locator("#p-connector-method")).to_have_value("POST")
    panel = page.locator("#panel")
    expect(panel).to_contain_text("Allowed hosts: crm.example.com.")
    expect(panel).to_contain_text("{{secret:crm_token}}")
    assert "tok-never-shown" not in page.content()
    page.locator("#p-connector-method").select_option("PUT")
    page.locator("#p-connector-results").fill("crm_id = body.crm_id\ncrm_score = body.score")
    page.locator("#p-connector-results").press("Tab")
    page.locator("#p-connector-retries").fill("4")
    page.locator("#p-connector-retries").press("Tab")
    page.locator("fieldset.connector").scroll_into_view_if_needed()
    shot(page, "connector-edited")
    page.locator("#publish").click()
    expect(page.locator("#designer-status")).to_have_text("Version 2 published.")

    [connector] = bpmn_of(staff, "crm_lookup", 2).iter(f"{SALESFLOW}connector")
    assert (connector.get("method"), connector.get("retries")) == ("PUT", "4")
    results = [(r.get("name"), r.get("path")) for r in connector.iter(f"{SALESFLOW}result")]
    assert results == [("crm_id", "body.crm_id"), ("crm_score", "body.score")]
    headers = [(h.get("name"), h.get("value")) for h in connector.iter(f"{SALESFLOW}header")]
    assert headers == [("Authorization", "Bearer {{secret:crm_token}}")]
    task = connector.getparent().getparent()
    read = connectors.read_connector(task)
    assert read is not None and read.retries == 4 and read.method == "PUT"
