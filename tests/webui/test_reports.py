"""The report pages and the reports API: numbers on the pages, charts, CSV, JSON that matches
the OpenAPI document, who may see what, the channel spend form, and the Chinese UI."""

from __future__ import annotations

import base64
import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest
import time_machine
from flask.testing import FlaskClient

from engine.usecases.service import Service
from tests.engine.test_reports import Deals
from webui.api.document import document

from .conftest import login, post, text

PERIOD = "from=2026-03-01&to=2026-06-30"
API = "/api/v1/reports"
REPORTS = ("funnel", "channels", "cycle", "reps", "stale")


@pytest.fixture
def deals(staff: Service) -> Deals:
    made = Deals(staff)
    for _ in range(3):
        made.add(days=[1] * 8, owner="alice", amount=100_000, channel="referral")
    made.add(days=[1] * 8, owner="bob", amount=40_000, channel="ads")
    made.add(days=[1, 2], owner="bob", channel="ads")
    made.add(days=[1] * 6, owner="bob", lost='=HYPERLINK("http://x")', channel="ads")
    return made


def chart_svg(page: str) -> str:
    found = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert found is not None, "no chart on the page"
    return base64.b64decode(found.group(1)).decode("utf-8")


def token(staff: Service, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {staff.create_token(username)['token']}"}


def conforms(body: Any, schema: str) -> None:
    doc = document()
    root = {"components": doc["components"], "$ref": f"#/components/schemas/{schema}"}
    jsonschema.Draft202012Validator(root).validate(body)


# --- pages --------------------------------------------------------------------------------------


def test_every_report_page_shows_its_chart_and_numbers(client: FlaskClient, deals: Deals) -> None:
    login(client, "mia")
    page = text(client.get(f"/reports/funnel?{PERIOD}"))
    assert "Deals entering each stage" in page
    # 6 deals entered the lead stage, 4 were won and 1 lost: a win rate of 80%.
    rows = re.findall(r'data-label="Entered">(\d+)<', page)
    assert rows[:2] == ["6", "6"] and "80.0%" in page
    svg = chart_svg(page)
    assert svg.startswith("<svg") and "Entered" in svg and "Needs analysis" in svg
    assert "<script" not in svg
    assert 'class="chart-svg"' in page  # the heatmap of the same deals
    for name, words in (
        ("channels", ("Referral", "Advertising", "100.0%")),
        ("cycle", ("Time in each stage", "Needs analysis", "8.0 d")),
        ("reps", ("Alice Rep", "¥300,000", "1.0 d")),
        ("stale", ("The stalest deals", "Needs analysis")),
    ):
        answer = client.get(f"/reports/{name}?{PERIOD}")
        assert answer.status_code == 200, name
        page = text(answer)
        for word in words:
            assert word in page, (name, word)
        assert "<svg" in chart_svg(page)
    assert 'class="chart-svg"' in text(client.get(f"/reports/cycle?{PERIOD}"))


def test_the_default_period_is_the_last_90_days(client: FlaskClient, deals: Deals) -> None:
    login(client, "mia")
    assert client.get("/reports").headers["Location"].endswith("/reports/funnel")
    # The deals of the fixture came in from 2 March 2026 on.
    with time_machine.travel(datetime(2026, 5, 30, 12, tzinfo=UTC), tick=False):
        login(client, "mia")  # a session lasts hours, not months
        page = text(client.get("/reports/funnel"))
        assert 'name="from" value="2026-03-02"' in page and 'name="to" value="2026-05-30"' in page
        assert re.findall(r'data-label="Entered">(\d+)<', page)[0] == "6"
    with time_machine.travel(datetime(2026, 12, 1, 12, tzinfo=UTC), tick=False):
        login(client, "mia")
        page = text(client.get("/reports/funnel"))
        assert re.findall(r'data-label="Entered">(\d+)<', page)[0] == "0"


def test_filters_narrow_the_figures(client: FlaskClient, deals: Deals) -> None:
    login(client, "mia")
    page = text(client.get(f"/reports/funnel?{PERIOD}&owner=bob"))
    assert re.findall(r'data-label="Entered">(\d+)<', page)[0] == "3"
    page = text(client.get(f"/reports/funnel?{PERIOD}&channel=referral"))
    assert re.findall(r'data-label="Entered">(\d+)<', page)[0] == "3"
    bad = client.get("/reports/funnel?from=yesterday")
    assert bad.status_code == 422 and "This filter is not valid: from." in text(bad)
    assert client.get("/reports/nowhere").status_code == 404


def test_csv_downloads(client: FlaskClient, deals: Deals) -> None:
    login(client, "mia")
    answer = client.get(f"/reports/funnel?{PERIOD}&format=csv&table=stages")
    assert answer.mimetype == "text/csv" and "attachment" in answer.headers["Content-Disposition"]
    body = answer.get_data(as_text=True)
    assert body.startswith("\ufeff")  # spreadsheets read the UTF-8 right
    table = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert table[0] == ["stage", "entered", "converted", "conversion"]
    assert table[1] == ["lead", "6", "6", "1.0"]
    reasons = client.get(f"/reports/funnel?{PERIOD}&format=csv&table=lost_reasons")
    rows = list(csv.reader(io.StringIO(reasons.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[1] == ['\'=HYPERLINK("http://x")', "1"]  # never a formula
    assert client.get(f"/reports/funnel?{PERIOD}&format=csv&table=nope").status_code == 404
    cycle = client.get(f"/reports/cycle?{PERIOD}&format=csv&table=cycle").get_data(as_text=True)
    assert list(csv.reader(io.StringIO(cycle.lstrip("\ufeff"))))[1][0] == "4"


# --- who may see what ---------------------------------------------------------------------------


def test_a_rep_sees_the_figures_of_their_deals_and_others_see_none(
    client: FlaskClient, deals: Deals
) -> None:
    login(client, "alice")
    page = text(client.get(f"/reports/funnel?{PERIOD}"))
    assert ">Reports<" in page
    assert re.findall(r'data-label="Entered">(\d+)<', page)[0] == "3"
    assert "Figures over the deals you may see" in page
    assert "Monthly spend per channel" not in text(client.get(f"/reports/channels?{PERIOD}"))
    assert post(client, "/reports/channels/costs", {"cost_ads": "10"}).status_code == 403
    post(client, "/logout")
    login(client, "pete")  # a product expert has no reports
    assert client.get("/reports/funnel").status_code == 403
    assert ">Reports<" not in text(client.get("/tasks"))
    post(client, "/logout")
    assert client.get("/reports/funnel").status_code in (302, 401)


def test_managers_set_the_monthly_spend_per_channel(client: FlaskClient, deals: Deals) -> None:
    login(client, "mia")
    answer = post(
        client,
        "/reports/channels/costs",
        {"cost_ads": "12,000", "cost_referral": "", "from": "2026-03-01", "to": "2026-06-30"},
    )
    assert answer.status_code == 302 and "from=2026-03-01" in answer.headers["Location"]
    page = text(client.get(answer.headers["Location"]))
    assert "Monthly spend per channel saved." in page
    assert 'name="cost_ads" value="12000.0"' in page
    # 12,000 a month over 122 days (4.008 months), 3 ads leads: ¥16,032.85 each.
    assert "¥16,032.85" in page
    refused = post(client, "/reports/channels/costs", {"cost_ads": "-1"})
    assert "needs an amount of 0 or more" in text(client.get(refused.headers["Location"]))


# --- the API ------------------------------------------------------------------------------------


def test_the_api_answers_each_report_as_documented(
    client: FlaskClient, deals: Deals, staff: Service
) -> None:
    mia = token(staff, "mia")
    for name in REPORTS:
        answer = client.get(f"{API}/{name}?{PERIOD}", headers=mia)
        assert answer.status_code == 200, (name, answer.get_json())
        conforms(answer.get_json(), f"{name.capitalize()}Report")
    funnel = client.get(f"{API}/funnel?{PERIOD}&tier=A", headers=mia).get_json()
    assert funnel["filters"]["tier"] == "A"
    assert funnel["filters"]["from"] == "2026-03-01T00:00:00+00:00"
    assert (funnel["won"], funnel["lost"], funnel["win_rate"]) == (4, 1, 0.8)
    answer = client.get(f"{API}/reps?{PERIOD}&format=csv", headers=mia)
    assert answer.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert table[0][0] == "user" and table[1][:4] == ["alice", "3", "3", "300000.0"]


def test_the_api_checks_filters_and_who_asks(
    client: FlaskClient, deals: Deals, staff: Service
) -> None:
    answer = client.get(f"{API}/funnel?from=2026-13-01", headers=token(staff, "mia"))
    assert answer.status_code == 422 and answer.get_json()["field"] == "from"
    answer = client.get(f"{API}/funnel?version=x", headers=token(staff, "mia"))
    assert answer.status_code == 422 and answer.get_json()["field"] == "version"
    assert client.get(f"{API}/stale", headers=token(staff, "pete")).status_code == 403
    assert client.get(f"{API}/stale").status_code == 401
    bob = client.get(f"{API}/channels?{PERIOD}", headers=token(staff, "bob")).get_json()
    assert bob["leads"] == 3 and {c["channel"] for c in bob["channels"]} == {"ads"}


# --- Chinese ------------------------------------------------------------------------------------


def test_the_reports_in_chinese(client: FlaskClient, deals: Deals) -> None:
    login(client, "mia")
    post(client, "/language", {"lang": "zh-Hans"})
    page = text(client.get(f"/reports/funnel?{PERIOD}"))
    for words in ("报表", "漏斗", "进入各阶段的商机", "赢单率", "需求分析"):
        assert words in page, words
    assert "Deals entering each stage" not in page
    svg = chart_svg(page)
    assert "进入" in svg and "需求分析" in svg
    cycle = text(client.get(f"/reports/cycle?{PERIOD}"))
    assert "8.0 天" in cycle and "各阶段停留时间" in cycle
