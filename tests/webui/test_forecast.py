"""The forecast over a history driven through the engine in moved time (engine.usecases.forecast,
webui/forecast.py, webui/api/forecast.py, `salesflow forecast` and `salesflow backtest`):
what it learns from the closed deals, where each open deal is and for how long, who sees
which deals, the page, the deal page's panel, the board's summary, the API and the CLI."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from engine.core import forecast as core
from engine.usecases import forecast as forecast_cases
from engine.usecases.demo import LOST, WON, drive
from engine.usecases.service import Service
from tests.conftest import LEAD

from .conftest import login
from .test_api import API, conforms, error_of

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=200)


def _deal(service: Service, owner: str, channel: str, amount: int) -> str:
    deal = service.start(
        "sales_pipeline",
        owner=owner,
        actor=owner,
        data={**LEAD, "source_channel": channel},
        amount=amount,
    )
    return str(deal["instance_id"])


def _lived(service: Service, steps: list[Any], start: datetime, owner: str, channel: str,
           amount: int, gap: float = 3.0) -> str:  # fmt: skip
    """A deal started at `start`, each of `steps` done `gap` days after the one before."""
    with time_machine.travel(start, tick=False) as traveller:
        iid = _deal(service, owner, channel, amount)
        at = start
        for step in steps:
            at += timedelta(days=gap)
            traveller.move_to(at)
            drive(service, iid, [step])
    return iid


def lived_history(staff: Service) -> dict[str, str]:
    """24 closed deals (won, or lost in negotiation: referrals win, ads lose more), and three
    open ones: alice's at the negotiation for 12 days, bob's at the needs analysis, and a
    deal of ads, also bob's, at its quote."""
    for n in range(24):
        start = T0 + timedelta(days=4 * n)
        channel = "referral" if n % 2 else "ads"
        lost = n % 4 == 0 or (channel == "ads" and n % 3 == 0)
        steps = LOST if lost else WON
        gap = 2 + 2.5 * (n % 5)  # 2 to 12 days a step
        _lived(staff, steps, start, "alice" if n % 3 else "bob", channel, 100_000 + 1000 * n, gap)
    at_negotiation = _lived(staff, WON[:5], NOW - timedelta(days=27), "alice", "referral", 240_000)
    at_needs = _lived(staff, WON[:2], NOW - timedelta(days=10), "bob", "referral", 90_000)
    at_quote = _lived(staff, WON[:4], NOW - timedelta(days=13), "bob", "ads", 50_000)
    return {"negotiation": at_negotiation, "needs": at_needs, "quote": at_quote}


@pytest.fixture
def history(staff: Service) -> dict[str, str]:
    return lived_history(staff)


def test_the_forecast_learns_from_the_closed_deals(staff: Service, history: dict[str, str]) -> None:
    with time_machine.travel(NOW, tick=False):
        found = staff.forecast("sales_pipeline", visible_to="mia")
    assert found["method"] == "history" and found["closed"] == 24
    assert found["won"] == 24 - sum(
        1 for n in range(24) if n % 4 == 0 or (n % 2 == 0 and n % 3 == 0)
    )
    deals = {str(d["instance_id"]): d for d in found["deals"]}
    assert set(deals) == set(history.values())
    negotiation = deals[history["negotiation"]]
    assert negotiation["element_id"] == "task_negotiate"
    assert negotiation["days_there"] == 12  # the quote was done 15 days after its start
    assert negotiation["basis"] == "history"
    # Every deal that reached the negotiation and was lost, was lost there: its chance is the
    # share won of those that got there, smoothed, not the stage's weight of 75%.
    reached = 24
    won_there = found["won"]
    share = (won_there + core.SMOOTHING * 0.75) / (reached + core.SMOOTHING)
    assert negotiation["element_share"] == pytest.approx(100 * share, abs=0.1)
    for d in found["deals"]:
        assert 1 <= d["probability"] <= 99
        assert d["expected_value"] == pytest.approx(
            d["amount"] * d["probability"] / 100, abs=d["amount"] / 1000
        )
        assert d["close_basis"] == "history"
        assert d["close_low"] <= d["expected_close"] <= d["close_high"]
        assert d["close_low"] >= NOW.date().isoformat()
    # Ads lost more: the deal from ads is pushed down by its channel.
    quote = deals[history["quote"]]
    assert any(f["level"] == "channel" and f["points"] < 0 for f in quote["factors"])
    # The months add up the deals' expected values (all close within the six months).
    assert sum(m["expected_value"] for m in found["months"]) == pytest.approx(
        sum(d["expected_value"] for d in found["deals"]), abs=len(found["months"])
    )
    for m in found["months"]:
        assert m["low"] <= m["expected_value"] <= m["high"]


def test_a_rep_sees_the_forecast_of_their_deals(staff: Service, history: dict[str, str]) -> None:
    with time_machine.travel(NOW, tick=False):
        alice = staff.forecast("sales_pipeline", visible_to="alice")
        everyone = staff.forecast("sales_pipeline", visible_to="mia")
    assert [str(d["instance_id"]) for d in alice["deals"]] == [history["negotiation"]]
    assert [g["key"] for g in alice["by_owner"]] == ["alice"]
    assert alice["total"]["expected_value"] < everyone["total"]["expected_value"]
    # The model is the team's: alice's deal has the same chance in both.
    assert alice["deals"][0]["probability"] == next(
        d["probability"]
        for d in everyone["deals"]
        if str(d["instance_id"]) == history["negotiation"]
    )


def test_the_page_the_deal_panel_and_the_board(app: Flask, history: dict[str, str]) -> None:
    with time_machine.travel(NOW, tick=False):
        client = app.test_client()
        login(client, "mia")
        page = client.get("/reports/forecast")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert 'id="forecast-months"' in html and "data:image/svg+xml;base64," in html
        assert "24 closed deals" in html and "Method: the team" in html
        for iid in history.values():
            assert f'data-deal="{iid}"' in html
        # Each rep's and channel's expected won value as a bar against the largest one.
        owners = staff_forecast(app)["by_owner"]
        top = max(g["expected_value"] for g in owners)
        for g in owners:
            assert f'<meter min="0" max="{top}" value="{g["expected_value"]}"' in html
        assert client.get("/reports/forecast?month=2026-13").status_code == 422
        panel = client.get(f"/deals/{history['negotiation']}").get_data(as_text=True)
        assert 'id="deal-forecast"' in panel and 'id="deal-probability"' in panel
        assert "Of the closed deals that were at Negotiate," in panel
        board = client.get("/deals/board").get_data(as_text=True)
        assert 'id="board-forecast"' in board
        client = app.test_client()
        login(client, "alice")
        mine = client.get("/reports/forecast").get_data(as_text=True)
        assert f'data-deal="{history["negotiation"]}"' in mine
        assert f'data-deal="{history["needs"]}"' not in mine  # bob's
        client = app.test_client()
        login(client, "pete")  # a product expert reads no forecasts
        assert client.get("/reports/forecast").status_code == 403
        assert 'id="board-forecast"' not in client.get("/deals/board").get_data(as_text=True)


def staff_forecast(app: Flask) -> dict[str, Any]:
    """The forecast a manager reads, as the page has it (the same use case)."""
    service: Service = app.extensions["salesflow"]
    return service.forecast("sales_pipeline", visible_to="mia")


def test_the_page_in_chinese(client: FlaskClient, history: dict[str, str]) -> None:
    with time_machine.travel(NOW, tick=False):
        login(client, "mia")
        html = client.get("/reports/forecast", headers={"Accept-Language": "zh-CN"}).get_data(
            as_text=True
        )
    assert "团队自己的历史数据" in html and "赢单概率" in html
    assert "2026年9月" in html  # the months in the reader's words


def test_the_api(client: FlaskClient, staff: Service, history: dict[str, str]) -> None:
    headers = {u: {"Authorization": f"Bearer {staff.create_token(u)['token']}"} for u in
               ("mia", "alice", "pete")}  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        answer = client.get(f"{API}/forecast", headers=headers["mia"])
        assert answer.status_code == 200
        body = answer.get_json()
        conforms(body, "Forecast")
        assert len(body["deals"]) == 3 and len(body["months"]) == 6
        month = body["deals"][0]["expected_close"][:7]
        only = client.get(f"{API}/forecast?month={month}", headers=headers["mia"]).get_json()
        assert [m["month"] for m in only["months"]] == [month]
        assert all(d["expected_close"].startswith(month) for d in only["deals"])
        mine = client.get(f"{API}/forecast", headers=headers["alice"]).get_json()
        assert [str(d["instance_id"]) for d in mine["deals"]] == [history["negotiation"]]
        error_of(client.get(f"{API}/forecast", headers=headers["pete"]), 403)
        error_of(client.get(f"{API}/forecast?month=2026-13", headers=headers["mia"]), 422)
        error_of(client.get(f"{API}/forecast?process=nope", headers=headers["mia"]), 404)


def test_a_deal_lost_leaves_the_forecast_and_teaches_it(
    staff: Service, history: dict[str, str]
) -> None:
    """What is kept between calls (the model, the open deals' forecasts) follows the data."""
    with time_machine.travel(NOW, tick=False):
        before = staff.forecast("sales_pipeline", visible_to="mia")
        staff.mark_lost(history["negotiation"], user="mia", reason="no budget")
        after = staff.forecast("sales_pipeline", visible_to="mia")
        assert staff.deal_forecast(history["negotiation"], visible_to="mia") is None
    assert after["closed"] == before["closed"] + 1 and after["won"] == before["won"]
    assert {str(d["instance_id"]) for d in after["deals"]} == {history["needs"], history["quote"]}


def _join_forecast_threads() -> None:
    for thread in threading.enumerate():
        if thread.name == "salesflow-forecast":
            thread.join()


def test_a_large_teams_forecast_is_worked_out_in_the_background(
    staff: Service, history: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above LARGE deals the deal page and the board never wait seconds for the model to be
    learnt: they show no forecast while a thread works it out, then the one the page shows."""
    monkeypatch.setattr(forecast_cases, "LARGE", 0)
    deal = history["negotiation"]
    with time_machine.travel(NOW, tick=False):
        assert staff.deal_forecast(deal, visible_to="mia") is None
        _join_forecast_threads()
        panel = staff.deal_forecast(deal, visible_to="mia")
        assert staff.forecast_summary("sales_pipeline", visible_to="mia") is None
        _join_forecast_threads()
        summary = staff.forecast_summary("sales_pipeline", visible_to="mia")
        page = staff.forecast("sales_pipeline", visible_to="mia")
    assert panel is not None and summary is not None
    row = next(d for d in page["deals"] if str(d["instance_id"]) == deal)
    assert panel["probability"] == row["probability"]
    assert summary["expected_value"] == page["total"]["expected_value"]
    assert summary["months"] == page["months"][:1]
