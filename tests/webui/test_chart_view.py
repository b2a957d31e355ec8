"""The deal page's chart and stage progress bar in a real Chromium (issue 14, "Charts a rep can
read at a glance"), at desktop and phone sizes, in English and Chinese: the chart opens fitted
to its box (svg-pan-zoom from node_modules), zooms in, and fits again; the progress bar marks
the current stage and ticks the done ones; the lane names stay in view while zoomed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.webui.test_browser import (  # noqa: F401  (fixtures)
    ARTIFACTS,
    Shots,
    browser,
    deal,
    live_url,
    log_in,
    pytestmark,
    shot,
)

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
# (viewport, locale), the needs stage's label and the fit button's in that language
SIZES = [
    pytest.param((DESKTOP, "en-US"), "Needs analysis", "Fit", id="desktop-en"),
    pytest.param((DESKTOP, "zh-CN"), "需求分析", "适合窗口", id="desktop-zh"),
    pytest.param((PHONE, "en-US"), "Needs analysis", "Fit", id="phone-en"),
    pytest.param((PHONE, "zh-CN"), "需求分析", "适合窗口", id="phone-zh"),
]
# How the drawn chart sits in its box: the box's and the chart's rectangles on screen (the
# chart's: its page, the white polygon graphviz draws under everything), and the scale
# chart.js reports (svg-pan-zoom's real zoom).
PLACED = """view => {
  const box = view.querySelector('.chart').getBoundingClientRect();
  const drawn = view.querySelector('.svg-pan-zoom_viewport g.graph > polygon')
    .getBoundingClientRect();
  return {box: [box.left, box.top, box.right, box.bottom, box.width, box.height],
          drawn: [drawn.left, drawn.top, drawn.right, drawn.bottom, drawn.width, drawn.height],
          scale: parseFloat(view.querySelector('.chart').dataset.scale)};
}"""


@pytest.fixture
def sized(request: pytest.FixtureRequest, browser: Browser, live_url: str) -> Iterator[Page]:  # noqa: F811
    viewport, locale = request.param
    context = browser.new_context(base_url=live_url, locale=locale, viewport=viewport)
    try:
        yield context.new_page()
    finally:
        context.close()


def placed(page: Page) -> dict[str, list[float] | float]:
    found: dict[str, list[float] | float] = page.locator(".chart-view").evaluate(PLACED)
    return found


def assert_fitted(where: dict) -> None:
    """The whole chart inside its box, filling its width or its height."""
    bl, bt, br, bb, bw, bh = where["box"]
    dl, dt, dr, db, dw, dh = where["drawn"]
    assert dl >= bl - 1 and dt >= bt - 1 and dr <= br + 1 and db <= bb + 1, where
    assert dw >= bw * 0.95 or dh >= bh * 0.95, where


@pytest.mark.parametrize(("sized", "stage", "fit"), SIZES, indirect=["sized"])
def test_rep_sees_the_fitted_chart_and_the_progress_bar_zooms_and_fits(
    sized: Page,
    deal: str,  # noqa: F811
    stage: str,
    fit: str,
    shot: Shots,  # noqa: F811
) -> None:
    page = sized
    log_in(page, "alice", shot)
    page.goto(f"/deals/{deal}")
    view = page.locator(".chart-view.pan-zoom")
    expect(view).to_be_visible()  # chart.js ran over svg-pan-zoom
    expect(page.locator(".chart[data-scale]")).to_have_count(1)

    # The progress bar: above the chart, the current stage marked, the done ones ticked.
    bar = page.locator("nav.stage-progress")
    current = bar.locator("li.step[aria-current=step]")
    expect(current).to_have_count(1)
    expect(current).to_contain_text(stage)
    expect(current).to_have_class("step current")
    done = bar.locator("li.step.done")
    expect(done).to_have_count(3)  # lead, qualification, first contact
    expect(done.first).to_contain_text("✓")
    assert bar.bounding_box()["y"] < view.bounding_box()["y"]  # type: ignore[index]
    # On a phone it leads: right under the deal's title, before the open tasks.
    tasks = page.locator("section.card", has=page.locator("ul.open-tasks"))
    assert bar.bounding_box()["y"] < tasks.bounding_box()["y"]  # type: ignore[index]

    opened = placed(page)
    assert_fitted(opened)
    expect(page.locator(".lane-name").first).to_be_visible()
    # Each lane's name whole (a Chinese one is drawn down its strip, a character a node).
    rep = "销售代表" if stage == "需求分析" else "Sales Rep"
    assert rep in page.locator(".lane-name").all_text_contents()
    shot(page, "opened")
    view.screenshot(path=str(ARTIFACTS / f"{shot.prefix}-chart-fitted.png"))

    # Two presses of + zoom by 1.25 each (svg-pan-zoom draws on the next frame).
    for times in (1, 2):
        page.locator("[data-chart=zoom-in]").click()
        page.wait_for_function(
            "([s, k]) => parseFloat(document.querySelector('.chart').dataset.scale) > s * k",
            arg=[opened["scale"], 1.2**times],
        )
    zoomed = placed(page)
    assert zoomed["drawn"][4] > zoomed["box"][4]  # type: ignore[index]  # wider than its box
    # The lane names stay in view, at the box's left edge, while the lanes' own headers
    # are out of it.
    names = page.locator(".lane-name:visible")
    assert names.count() >= 1
    box_left = zoomed["box"][0]  # type: ignore[index]
    assert abs(names.first.bounding_box()["x"] - box_left) < 8  # type: ignore[index]
    view.screenshot(path=str(ARTIFACTS / f"{shot.prefix}-chart-zoomed.png"))
    # A new window width keeps the reader's zoom (it fits again only when they had not zoomed).
    size = page.viewport_size
    assert size is not None
    page.set_viewport_size({"width": size["width"] - 40, "height": size["height"]})
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert placed(page)["scale"] > opened["scale"] * 1.4  # type: ignore[operator]
    page.set_viewport_size(size)  # back, still zoomed, for "fit" to return to the first view

    page.get_by_role("button", name=fit, exact=True).click()
    # Back to the scale it opened at, then centred (svg-pan-zoom zooms and pans a frame apart).
    page.wait_for_function(
        """s => {
          const box = document.querySelector('.chart').getBoundingClientRect();
          const drawn = document.querySelector('.svg-pan-zoom_viewport g.graph > polygon')
            .getBoundingClientRect();
          return Math.abs(parseFloat(document.querySelector('.chart').dataset.scale) - s) < 1e-3
            && drawn.left >= box.left - 1 && drawn.right <= box.right + 1;
        }""",
        arg=opened["scale"],
    )
    assert_fitted(placed(page))
    shot(page, "fitted-again")
