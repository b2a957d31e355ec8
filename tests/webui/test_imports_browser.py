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


def chinese_leads(count: int = 200) -> tuple[list[str], list[list[str]]]:
    """A Chinese team's spreadsheet: Chinese headers and labels, values with 万 and ￥ (the
    full-width yen GBK has), dates as 2027年3月31日; rows 20, 77 and 150 (spreadsheet numbers)
    carry one mistake each."""
    header = ["公司名称", "联系人", "渠道", "年营收", "意向", "商机金额", "预计成交日期"]
    channels = ["展会", "转介绍", "社交媒体", "广告"]
    rows = []
    for n in range(count):
        row = [f"线索公司{n:03d}", f"联系人{n}", channels[n % 4], f"{500 + n}万", "高",
               f"￥{100_000 + n * 1_000:,}", f"2027年{n % 12 + 1}月15日"]  # fmt: skip
        rows.append(row)
    rows[18][2] = "传真"  # row 20: no such channel
    rows[75][5] = "很多"  # row 77: not an amount
    rows[148][6] = "下个月"  # row 150: not a date
    return header, rows


@pytest.fixture
def phone_zh(db_url: str, staff: Service) -> Iterator[Page]:
    with launched() as browser, served(db_url, "import-test-zh") as url:
        context = browser.new_context(
            base_url=url, locale="zh-CN", viewport={"width": 390, "height": 844}
        )
        yield context.new_page()
        context.close()


def test_on_a_phone_in_chinese_a_gbk_file_imports_197_with_values_and_dates(
    phone_zh: Page, staff: Service, tmp_path: Path
) -> None:
    page = phone_zh
    header, rows = chinese_leads()
    path = tmp_path / "线索.csv"
    path.write_bytes(csv_bytes(header, rows, encoding="gbk"))  # what a Chinese Excel writes
    page.goto("/login")
    page.locator("#username").fill("alice")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")
    page.wait_for_url("**/tasks")
    page.goto("/imports")
    page.locator("#file").set_input_files(str(path))
    page.locator("#import-upload button[type=submit]").click()
    page.wait_for_url("**/imports/preview")
    expect(page.locator("#import-counts")).to_contain_text(
        "共 200 行：197 行可以导入，3 行有错误（将跳过）。"  # noqa: RUF001
    )
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(3)
    expect(errors.nth(0)).to_contain_text("「传真」不在可选项中")
    expect(errors.nth(1)).to_contain_text("「很多」不是大于或等于 0 的金额")
    expect(errors.nth(2)).to_contain_text("「下个月」不是日期")
    sample = page.locator("#import-sample tbody tr").first
    expect(sample).to_contain_text("展会")
    expect(sample).to_contain_text("¥100,000")
    page.screenshot(path=str(SHOTS / "import-leads-zh-1-preview.png"), full_page=True)
    page.locator("#import-confirm").click()
    page.wait_for_url("**/imports/run")
    expect(page.locator("#import-result")).to_have_text("已导入 197 个商机，跳过 3 行。")  # noqa: RUF001
    page.screenshot(path=str(SHOTS / "import-leads-zh-2-result.png"), full_page=True)
    deals = staff.instances()
    assert len(deals) == 197
    first = next(d for d in deals if d["name"] == "线索公司000")
    assert staff.show(first["instance_id"])["expected_close"] == "2027-01-15"
