"""The Customers report tab: the customer figures with their charts and tables, the churn
window, the CSV tables, a rep's figures, English and Chinese; and the API's answer as the
OpenAPI document describes it."""

from __future__ import annotations

import csv
import io

import pytest
from flask.testing import FlaskClient

from engine.usecases.service import Service
from tests.engine.test_customer_figures import Story, story  # noqa: F401  (the history)

from .conftest import login, post, text
from .test_reports import chart_svg, conforms, token

FEBRUARY = "from=2026-02-01&to=2026-02-28"


@pytest.fixture
def figures(staff: Service, story: Story) -> Story:  # noqa: F811
    staff.set_channel_costs({"referral": 1000}, actor="mia")
    return story


def test_the_customers_page(client: FlaskClient, figures: Story) -> None:
    login(client, "mia")
    page = text(client.get(f"/reports/customers?{FEBRUARY}"))
    assert 'aria-current="page">Customers<' in page
    for shown in (
        "Churn rate",
        "20.0%",  # 1 of 5 customers churned; 1 of 5 bought twice
        "1 of 5 customers with a win",
        "¥400",  # the median lifetime value
        "Mean ¥450",
        "66.7%",  # 2 of 3 wins revisited within 7 days
        "Visits per week",
        "Delta",
        "¥1,000",
    ):
        assert shown in page, shown
    assert page.count('<img src="data:image/svg+xml;base64,') == 3
    assert "Visits per week" in chart_svg(page)
    # The churn window: 19 days churns Alpha too.
    narrower = text(client.get(f"/reports/customers?{FEBRUARY}&window_days=19"))
    assert "2 of 5 customers with a win" in narrower and 'value="19"' in narrower
    assert client.get(f"/reports/customers?{FEBRUARY}&window_days=0").status_code == 422


def test_the_customers_csv_tables(client: FlaskClient, figures: Story) -> None:
    login(client, "mia")
    for table, first in (
        ("customers", "customer_id"),
        ("reps", "user"),
        ("channels", "channel"),
        ("figures", "customers"),
    ):
        answer = client.get(f"/reports/customers?{FEBRUARY}&format=csv&table={table}")
        assert answer.mimetype == "text/csv", table
        rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
        assert next(iter(rows[0])) == first, table
    top = client.get(f"/reports/customers?{FEBRUARY}&format=csv").get_data(as_text=True)
    names = [r["name"] for r in csv.DictReader(io.StringIO(top.lstrip("\ufeff")))]
    assert names == ["Delta", "Zeta", "Alpha", "Beta", "Gamma"]
    figures_csv = client.get(f"/reports/customers?{FEBRUARY}&format=csv&table=figures")
    row = next(csv.DictReader(io.StringIO(figures_csv.get_data(as_text=True).lstrip("\ufeff"))))
    assert (row["churn_rate"], row["repeat_purchase_rate"], row["clv_median"]) == (
        "0.2",
        "0.2",
        "400.0",
    )


def test_a_rep_sees_the_customers_of_their_deals(client: FlaskClient, figures: Story) -> None:
    login(client, "alice")
    page = text(client.get(f"/reports/customers?{FEBRUARY}"))
    assert "0 of 3 customers with a win" in page
    assert "Delta" in page and "Beta" not in page and "Gamma" not in page


def test_the_customers_page_in_chinese(client: FlaskClient, figures: Story) -> None:
    login(client, "mia")
    post(client, "/language", {"lang": "zh-Hans"})
    page = text(client.get(f"/reports/customers?{FEBRUARY}"))
    for words in ("客户流失率", "复购率", "客户生命周期价值", "成交后 7 天内回访", "每周拜访"):
        assert words in page, words
    for english in ("Churn rate", "Repeat-purchase rate", "Top customers by lifetime value"):
        assert english not in page, english


def test_the_api_answers_as_documented(client: FlaskClient, figures: Story, staff: Service) -> None:
    mia = token(staff, "mia")
    answer = client.get(f"/api/v1/reports/customers?{FEBRUARY}", headers=mia)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    conforms(body, "CustomersReport")
    assert (body["churn_rate"], body["repeat_purchase_rate"], body["clv_median"]) == (0.2, 0.2, 400)
    assert body["revisit_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert (body["visits_per_week"], body["proposals_per_week"]) == (2, 0.75)
    window = client.get(f"/api/v1/reports/customers?{FEBRUARY}&window_days=19", headers=mia)
    assert window.get_json()["churn_rate"] == 0.4
    bad = client.get(f"/api/v1/reports/customers?{FEBRUARY}&window_days=0", headers=mia)
    assert bad.status_code == 422 and bad.get_json()["field"] == "window_days"
    as_csv = client.get(f"/api/v1/reports/customers?{FEBRUARY}&format=csv&table=reps", headers=mia)
    assert as_csv.get_data(as_text=True).splitlines()[1].startswith("alice,6,2,")
    assert client.get("/api/v1/reports/customers", headers=token(staff, "pete")).status_code == 403
    alice = client.get(f"/api/v1/reports/customers?{FEBRUARY}", headers=token(staff, "alice"))
    assert alice.get_json()["customers"] == 3
