"""The Targets report tab (目标分解): the table per rep and team with attainment and pace, the
chart, the CSV, the form only managers get, in English and Chinese; the reps report's target
columns; and the targets API as documented."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from flask.testing import FlaskClient

from engine.usecases.service import Service
from tests.engine.test_targets import win

from .conftest import login, post, text
from .test_reports import chart_svg, conforms, token

NOW = datetime(2026, 3, 17, tzinfo=UTC)  # 16 of March's 31 days gone by


@pytest.fixture
def march(staff: Service) -> Service:
    win(staff, "alice", 150_000, datetime(2026, 3, 5, 2, tzinfo=UTC))
    win(staff, "bob", 30_000, datetime(2026, 3, 12, 2, tzinfo=UTC))
    staff.set_target("2026-03", "alice", "won_value", 120_000, actor="mia")
    staff.set_target("2026-03", "bob", "won_value", 60_000, actor="mia")
    staff.set_target("2026-03", None, "won_value", 200_000, actor="mia")
    return staff


@pytest.fixture
def now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def row_of(page: str, user: str, metric: str) -> str:
    """The table row of a user's metric ("" for the team)."""
    table = page.split(f'data-user="{user}"', 1)[1].split("</table>", 1)[0]
    return table.split(f'data-metric="{metric}"', 1)[1].split("</tr>", 1)[0]


def test_the_targets_page_for_a_manager(client: FlaskClient, march: Service, now: None) -> None:
    login(client, "mia")
    page = text(client.get("/reports/targets?period=2026-03"))
    assert "Targets and attainment" in page and 'aria-current="page">Targets<' in page
    alice, bob = row_of(page, "alice", "won_value"), row_of(page, "bob", "won_value")
    assert "¥120,000" in alice and "¥150,000" in alice and "125.0%" in alice and "Ahead" in alice
    assert "¥60,000" in bob and "¥30,000" in bob and "50.0%" in bob and "Behind" in bob
    assert "¥180,000" in row_of(page, "", "won_value") and "90.0%" in row_of(page, "", "won_value")
    assert "52% of the month has gone by" in page
    svg = chart_svg(page)
    assert "Won value against target" in svg and "Alice Rep" in svg
    # The form: a manager sets a target and sees it.
    assert "Set a target" in page
    saved = post(
        client,
        "/reports/targets",
        {"period": "2026-03", "user": "bob", "metric": "visits", "value": "8"},
    )
    assert saved.status_code == 302 and saved.headers["Location"].endswith("period=2026-03")
    again = text(client.get(saved.headers["Location"]))
    assert "Target saved." in again and ">8<" in row_of(again, "bob", "visits")
    refused = post(
        client,
        "/reports/targets",
        {"period": "2026-03", "user": "bob", "metric": "visits", "value": "2.5"},
    )
    assert "Not saved: check Target." in text(client.get(refused.headers["Location"]))
    # The month in the address must be a month.
    assert client.get("/reports/targets?period=March").status_code == 422


def test_a_rep_reads_their_rows_and_the_team_s_and_sets_nothing(
    client: FlaskClient, march: Service, now: None
) -> None:
    login(client, "alice")
    page = text(client.get("/reports/targets?period=2026-03"))
    assert 'data-user="alice"' in page and 'data-user=""' in page
    assert 'data-user="bob"' not in page
    assert "Set a target" not in page
    refused = post(
        client,
        "/reports/targets",
        {"period": "2026-03", "user": "alice", "metric": "visits", "value": "100"},
    )
    assert refused.status_code == 403
    other = client.application.test_client()
    login(other, "pete")  # a product expert reads no reports
    assert other.get("/reports/targets").status_code == 403


def test_the_targets_csv(client: FlaskClient, march: Service, now: None) -> None:
    login(client, "mia")
    answer = client.get("/reports/targets?period=2026-03&format=csv")
    assert answer.mimetype == "text/csv"
    assert 'filename="targets-2026-03.csv"' in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    alice = next(r for r in rows if r["user"] == "alice" and r["metric"] == "won_value")
    assert (alice["target"], alice["actual"], alice["attainment"], alice["pace"]) == (
        "120000.0",
        "150000.0",
        "1.25",
        "ahead",
    )


def test_the_reps_report_shows_target_and_attainment(
    client: FlaskClient, march: Service, now: None
) -> None:
    login(client, "mia")
    page = text(client.get("/reports/reps?from=2026-03-01&to=2026-03-31"))
    assert "Attainment" in page and "¥120,000" in page and "125.0%" in page


def test_the_targets_page_in_chinese(client: FlaskClient, march: Service, now: None) -> None:
    login(client, "mia")
    post(client, "/language", {"lang": "zh-Hans"})
    page = text(client.get("/reports/targets?period=2026-03"))
    for words in ("目标与达成", "成交金额", "达成率", "领先", "落后", "设定目标", "团队"):
        assert words in page, words
    for english in ("Targets and attainment", "Ahead", "Behind", "Set a target"):
        assert english not in page, english
    assert "成交金额与目标对比" in chart_svg(page)


def test_the_targets_api_as_documented(client: FlaskClient, march: Service, now: None) -> None:
    mia, alice = token(march, "mia"), token(march, "alice")
    body = {"period": "2026-03", "user": "alice", "metric": "visits", "value": 10}
    answer = client.post("/api/v1/targets", json=body, headers=mia)
    assert answer.status_code == 201, answer.get_json()
    conforms(answer.get_json(), "Target")
    assert answer.get_json() == {**body, "value": 10.0}
    team = client.post("/api/v1/targets", json={**body, "user": None}, headers=mia)
    assert team.status_code == 201 and team.get_json()["user"] is None
    assert client.post("/api/v1/targets", json=body, headers=alice).status_code == 403
    for bad, field in (
        ({**body, "metric": "revenue"}, "metric"),
        ({**body, "value": 2.5}, "value"),
        ({**body, "user": "pete"}, "user"),
        ({**body, "extra": 1}, "extra"),
    ):
        refused = client.post("/api/v1/targets", json=bad, headers=mia)
        assert refused.status_code == 422 and refused.get_json()["field"] == field, bad
    report = client.get("/api/v1/reports/targets?period=2026-03", headers=mia)
    assert report.status_code == 200
    conforms(report.get_json(), "TargetsReport")
    rows = {(r["user"], r["metric"]): r for r in report.get_json()["rows"]}
    assert rows["alice", "won_value"]["attainment"] == 1.25
    assert rows["alice", "visits"]["target"] == 10
    mine = client.get("/api/v1/reports/targets?period=2026-03", headers=alice).get_json()
    assert {r["user"] for r in mine["rows"]} == {None, "alice"}
    as_csv = client.get("/api/v1/reports/targets?period=2026-03&format=csv", headers=mia)
    assert as_csv.mimetype == "text/csv" and as_csv.get_data(as_text=True).startswith("user,")
    assert client.get("/api/v1/reports/targets?period=2026-3", headers=mia).status_code == 422
    assert client.get("/api/v1/reports/targets", headers=token(march, "pete")).status_code == 403
