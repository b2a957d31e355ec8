"""Importing leads in a real browser (Debian's Chromium through Playwright, the real app on a
local port, CSRF on): alice uploads 200 leads of which 3 are bad, sees the preview with the 3
errors named, confirms, and sees 197 imported.  Screenshots: /tmp/import-leads-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from engine.usecases.service import Service
from tests.engine.test_imports import BAD, HEADER, csv_bytes, leads
from tests.webui.conftest import PASSWORD
from tests.webui.test_browser import CHROMIUM, launched, served

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")
SHOTS = Path("/tmp")


@pytest.fixture
def page(db_url: str, staff: Service) -> Iterator[Page]:
    with launched() as browser, served(db_url, "import-test") as url:
        yield _page(browser, url)


def _page(browser: Browser, url: str) -> Page:
    return browser.new_context(base_url=url, locale="en-US").new_page()


def test_a_rep_imports_197_of_200_leads(page: Page, staff: Service, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(csv_bytes(HEADER, leads()))
    page.goto("/login")
    page.locator("#username").fill("alice")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")
    page.wait_for_url("**/tasks")
    page.goto("/deals")
    page.locator("#import-leads").click()
    page.wait_for_url("**/imports")
    page.locator("#file").set_input_files(str(path))
    page.locator("#import-upload button[type=submit]").click()
    page.wait_for_url("**/imports/preview")
    expect(page.locator("#import-counts")).to_contain_text(
        "200 rows: 197 ready to import, 3 with errors (skipped)."
    )
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(3)
    for index, row in enumerate(sorted(BAD)):
        expect(errors.nth(index).locator("td").first).to_have_text(str(row))
    expect(page.locator("#map_0")).to_have_value("company")
    expect(page.locator("#import-sample tbody tr").first).to_contain_text("Trade show")
    page.screenshot(path=str(SHOTS / "import-leads-1-preview.png"), full_page=True)
    assert staff.instances() == []
    page.locator("#import-confirm").click()
    page.wait_for_url("**/imports/run")
    expect(page.locator("#import-result")).to_have_text("197 deals imported, 3 rows skipped.")
    expect(page.locator("#import-skipped tbody tr")).to_have_count(3)
    page.screenshot(path=str(SHOTS / "import-leads-2-result.png"), full_page=True)
    assert len(staff.instances()) == 197
