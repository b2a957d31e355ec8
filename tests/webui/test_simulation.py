"""The what-if simulation page and API (webui/simulation.py, webui/api/simulation.py): the
current version beside the designer's draft or an initiative's change, the validation
figure, the bottleneck and the simulated heatmap, in English and Chinese; who may see it;
the API as documented; and in a real Chromium, the spinner while a run is under way."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser

from engine.usecases.demo import WON, complete_step
from engine.usecases.service import Service
from tests.conftest import LEAD

from .conftest import PASSWORD, login, text
from .test_browser import launched, served
from .test_reports import conforms, token

START = datetime(2026, 1, 5, 9, tzinfo=UTC)
NOW = START + timedelta(weeks=12)


@pytest.fixture
def history(staff: Service) -> Service:
    """Ten deals won over ten weeks, each step two days after the one before."""
    with time_machine.travel(START, tick=False) as traveller:
        for n in range(10):
            traveller.move_to(START + timedelta(weeks=n))
            deal = staff.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)
            for element, changes in WON:
                traveller.shift(timedelta(days=2))
                complete_step(staff, deal["instance_id"], element, **changes)
    return staff


@pytest.fixture
def now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def faster_needs_draft(service: Service) -> None:
    """dora's draft: the needs analysis in half a day (a `duration` the simulation reads)."""
    files = service.definition_files("sales_pipeline")
    name = next(n for n, t in files.items() if 'id="task_needs_analysis"' in t)
    anchor = "<spiffworkflow:properties>"
    at = files[name].index(anchor, files[name].index('id="task_needs_analysis"')) + len(anchor)
    prop = '<spiffworkflow:property name="duration" value="PT12H" />'
    changed = files[name][:at] + prop + files[name][at:]
    service.save_draft_definition(
        "sales_pipeline", {**files, name: changed}, actor="dora", base_version=1
    )


def days(cell: str) -> float:
    found = re.fullmatch(r"([0-9.]+) d", cell.strip())
    assert found is not None, cell
    return float(found.group(1))


def cycle_cells(page: str) -> list[str]:
    row = re.search(r"Sales cycle, median</th>(.*?)</tr>", page, re.S)
    assert row is not None
    return re.findall(r'<td class="num">(.*?)</td>', row.group(1), re.S)


def test_a_manager_sees_the_current_version_with_its_validation(
    client: FlaskClient, history: Service, now: None
) -> None:
    login(client, "mia")
    answer = client.get("/simulation/sales_pipeline")
    page = text(answer)
    assert answer.status_code == 200
    assert "What-if simulation" in page and "How far to trust it" in page
    # Ten deals, each won 16 days after it started (six steps of 2 days, then legal and
    # finance side by side, finance done 4 days after the split): the replay of the history
    # reproduces both figures.
    assert "median sales cycle of 16 days against 16 actual" in page
    assert "10 deals won against 10 actual" in page
    assert "Within the tolerance" in page
    (cycle,) = cycle_cells(page)  # a year ahead: at least the 16 days, a little queueing
    assert 16 <= days(cycle) < 22
    assert "Only the current version" in page
    assert 'id="heatmap"' in page and "<svg" in page.split('id="heatmap"')[1]
    # Its legend tells simulated figures from today's deals.
    assert "Deals there on an average simulated day" in page and "Deals here now" not in page
    assert "Bottleneck" in page and "Only 10 deals in the history" in page


def test_the_draft_beside_the_current_version(
    client: FlaskClient, history: Service, now: None
) -> None:
    faster_needs_draft(history)
    login(client, "mia")
    page = text(client.get("/simulation/sales_pipeline?draft=1&weeks=26&seed=2"))
    assert "The change: the designer&#39;s draft, saved by" in page
    current, draft, change = cycle_cells(page)
    # The needs analysis: 2 days -> half a day, the same deals otherwise (common numbers).
    assert days(draft) - days(current) == pytest.approx(-1.5, abs=0.3)
    assert "better" in change
    assert "set by the designer" in page
    assert 'value="26"' in page and 'value="2"' in page


def test_asking_for_a_draft_that_is_not_there_says_so(
    client: FlaskClient, history: Service, now: None
) -> None:
    login(client, "dora")
    page = text(client.get("/simulation/sales_pipeline?draft=1"))
    assert "There is no saved draft of this process yet" in page
    assert "Current version" in page


def test_the_page_in_chinese(client: FlaskClient, history: Service, now: None) -> None:
    login(client, "mia")
    page = text(client.get("/simulation/sales_pipeline", headers={"Accept-Language": "zh-CN"}))
    assert "假设模拟" in page and "可信程度" in page and "成交周期分布" in page
    assert "模拟中平均每天停留的商机" in page and "当前停留的商机" not in page


def test_only_managers_designers_and_admins(app: Flask, history: Service) -> None:
    rep = app.test_client()
    login(rep, "alice")
    assert rep.get("/simulation/sales_pipeline").status_code == 403
    client = app.test_client()
    login(client, "dora")
    assert client.get("/simulation/no_such_process").status_code == 404
    assert client.get("/simulation/sales_pipeline?weeks=0").status_code == 404
    assert client.get("/simulation/sales_pipeline?weeks=x").status_code == 404


def test_the_links_to_it(app: Flask, history: Service, now: None) -> None:
    client = app.test_client()
    login(client, "mia")
    ini = history.create_initiative(
        name="Faster needs analysis", process_id="sales_pipeline", lead="mia", actor="mia"
    )
    page = text(client.get(f"/initiatives/{ini['id']}"))
    link = f'href="/simulation/sales_pipeline?initiative={ini["id"]}"'
    assert link in page and "Simulate the change" in page
    assert 'href="/simulation/sales_pipeline"' in text(client.get("/processes/sales_pipeline"))
    designer_client = app.test_client()
    login(designer_client, "dora")
    designer = text(designer_client.get("/designer/sales_pipeline"))
    assert 'id="simulate" href="/simulation/sales_pipeline?draft=1"' in designer


# --- the API --------------------------------------------------------------------------------


def test_the_api_answers_as_documented(client: FlaskClient, history: Service, now: None) -> None:
    faster_needs_draft(history)
    url = "/api/v1/definitions/sales_pipeline/simulation?draft=true&weeks=26&seed=2"
    answer = client.get(url, headers=token(history, "mia"))
    assert answer.status_code == 200
    body = answer.get_json()
    conforms(body, "Simulation")
    shift = body["draft"]["cycle_days"]["p50"] - body["current"]["cycle_days"]["p50"]
    assert shift == pytest.approx(-1.5, abs=0.3)
    assert body["current"]["validation"]["actual"] == {"cycle_days_p50": 16, "won": 10}
    assert body["current"]["validation"]["within"] is True
    assert client.get(url, headers=token(history, "mia")).get_json() == body  # same seed


def test_the_api_refuses_with_the_json_error_shape(client: FlaskClient, history: Service) -> None:
    base = "/api/v1/definitions/sales_pipeline/simulation"
    refused = client.get(base, headers=token(history, "alice"))
    assert refused.status_code == 403 and refused.get_json()["error"] == "ForbiddenError"
    mia = token(history, "mia")
    bad = client.get(f"{base}?weeks=0", headers=mia)
    assert bad.status_code == 422 and bad.get_json()["field"] == "weeks"
    assert client.get(f"{base}?draft=true", headers=mia).status_code == 404  # no draft yet
    missing = client.get("/api/v1/definitions/nothing/simulation", headers=mia)
    assert missing.status_code == 404 and "nothing" in missing.get_json()["message"]
    assert client.get(base).status_code == 401


# --- in a real browser ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as chromium:
        yield chromium


def test_the_form_shows_a_spinner_while_it_runs(
    browser: Browser, db_url: str, history: Service
) -> None:
    with served(db_url, "simulation-test") as url:
        context = browser.new_context(base_url=url, locale="en-US")
        page = context.new_page()
        try:
            page.goto("/login")
            page.locator("#username").fill("mia")
            page.locator("#password").fill(PASSWORD)
            page.locator("section.login form button[type=submit]").click()
            page.goto("/simulation/sales_pipeline")
            assert page.locator("#sim-busy").is_hidden()
            # The page's own script shows the spinner on submit; a listener added after it
            # keeps the page from leaving, so that what the user sees meanwhile stays.
            page.evaluate(
                "document.querySelector('form.sim-form')"
                ".addEventListener('submit', (e) => e.preventDefault())"
            )
            page.locator("input[name=weeks]").fill("13")
            page.get_by_role("button", name="Simulate").click()
            assert page.locator("#sim-busy").is_visible()
            assert page.get_by_role("button", name="Simulate").is_disabled()
            page.goto("/simulation/sales_pipeline?weeks=13")  # what the form asks for
            assert page.locator("#validation").is_visible()
            assert "13 weeks simulated" in page.content()
        finally:
            context.close()
