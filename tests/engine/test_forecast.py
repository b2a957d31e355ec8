"""The forecast's estimation (engine.core.forecast) on generated histories whose truth is
known: a three-step process where tier, channel, a quote sent back and time stuck at a step
change the chance of a win by known amounts.  Calibrated within 5 points per tenth, better
than the stage weights, the factors pointing the way the generator pushes, and a fall-back to
the stage weights where history is thin."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from typing import Any

import pytest

from engine.core import forecast
from engine.core.forecast import Deal, Visit

STAGES = {"e_contact": "contact", "e_quote": "negotiation", "e_close": "contract"}
RANKS = {"contact": 0, "negotiation": 1, "contract": 2}
WEIGHTS = {"contact": 0.25, "negotiation": 0.5, "contract": 0.75}  # k/(n+1), the board's
ADVANCE = {"e_contact": 0.6, "e_quote": 0.75, "e_close": 0.6}
TIER = {"A": 1.25, "B": 1.0, "C": 0.7}
CHANNEL = {"referral": 1.15, "ads": 0.9, "trade_show": 1.0}
SENT_BACK = 0.3  # a quote sent back once: one more visit to e_quote
SENT_BACK_PENALTY = 0.7  # ... and the closing step is that much less likely to succeed
FAST, SLOW = 8.0, 25.0  # mean days at a step of a deal that goes on, of one lost there


def generate(rng: random.Random, start: float) -> Deal:
    """One deal from the generator, to its end."""
    tier = rng.choices(list(TIER), (0.3, 0.4, 0.3))[0]
    channel = rng.choices(list(CHANNEL), (0.3, 0.4, 0.3))[0]
    visits: list[Visit] = []
    now = start
    sent_back = False
    steps = ["e_contact", "e_quote", "e_close"]
    while steps:
        element = steps.pop(0)
        chance = ADVANCE[element] * TIER[tier] * CHANNEL[channel]
        if element == "e_close" and sent_back:
            chance *= SENT_BACK_PENALTY
        goes_on = rng.random() < min(chance, 0.97)
        stay = rng.expovariate(1 / (FAST if goes_on else SLOW))
        visits.append(Visit(element, now, now + stay))
        now += stay
        if not goes_on:
            return Deal(len(visits), tuple(visits), tier, channel, "lost", now, 100_000.0)
        if element == "e_quote" and not sent_back and rng.random() < SENT_BACK:
            sent_back = True
            steps.insert(0, "e_quote")
    return Deal(0, tuple(visits), tier, channel, "won", now, 100_000.0)


def history(seed: int, deals: int, span: float = 1000.0) -> list[Deal]:
    rng = random.Random(seed)
    return [_numbered(generate(rng, rng.uniform(0, span)), n) for n in range(deals)]


def _numbered(deal: Deal, n: int) -> Deal:
    return Deal(n, deal.visits, deal.tier, deal.channel, deal.outcome, deal.closed, deal.amount)


def open_at(seed: int, at: float, wanted: int) -> list[tuple[Deal, bool]]:
    """`wanted` deals open at `at` (arrived at an even rate before it), as they were then,
    each with whether it was won in the end."""
    rng = random.Random(seed)
    found = []
    while len(found) < wanted:
        deal = _numbered(generate(rng, rng.uniform(at - 400, at)), len(found))
        if deal.closed is not None and deal.closed > at:
            found.append((forecast.as_of(deal, at), deal.outcome == "won"))
    return found


@pytest.fixture(scope="module")
def model() -> forecast.Model:
    return forecast.fit(history(1, 12_000), stages=STAGES, ranks=RANKS, weights=WEIGHTS)


@pytest.fixture(scope="module")
def scored(model: forecast.Model) -> list[tuple[forecast.Prediction, bool]]:
    return [
        (forecast.predict(model, deal, 2000.0), won) for deal, won in open_at(2, 2000.0, 12_000)
    ]


def test_calibrated_within_5_points_per_tenth(scored: list[Any]) -> None:
    table = forecast.reliability([(p.probability, won) for p, won in scored])
    filled = [row for row in table if row["deals"] >= 150]
    assert len(filled) >= 6, table  # the chances spread over most of the range
    for row in filled:
        assert abs(row["predicted"] - row["observed"]) <= 0.05, row
    # and the tenths too small to judge hold few deals
    assert sum(row["deals"] for row in filled) >= 0.95 * len(scored)


def test_beats_the_stage_weights(scored: list[Any]) -> None:
    ours = forecast.brier([(p.probability, won) for p, won in scored])
    base = forecast.brier([(p.baseline, won) for p, won in scored])
    assert ours is not None and base is not None
    assert ours < base - 0.02, (ours, base)
    assert all(p.basis == "history" for p, _ in scored)


def test_the_factors_point_the_way_the_generator_pushes(scored: list[Any]) -> None:
    moved: dict[tuple[str, Any], list[float]] = defaultdict(list)
    for pred, _won in scored:
        for factor in pred.factors:
            value = factor.value[0] if factor.level == "path" else factor.value
            if factor.level == "age":
                value = forecast.band_of(value) >= 30
            moved[(factor.level, value)].append(factor.points)

    def mean(key: tuple[str, Any]) -> float:
        return sum(moved[key]) / len(moved[key])

    assert mean(("tier", "A")) > 3 and mean(("tier", "C")) < -3
    assert mean(("channel", "referral")) > 0 > mean(("channel", "ads"))
    assert mean(("age", True)) < -5  # stuck for a month or more: the losers linger
    sent_back = [
        f.points
        for p, _ in scored
        if p.position.element == "e_close" and p.position.repeats
        for f in p.factors
        if f.level == "path"
    ]
    assert len(sent_back) > 100 and sum(sent_back) / len(sent_back) < -5


def test_close_dates_follow_the_generator(model: forecast.Model) -> None:
    """A deal that just reached the closing step is won, if won, after FAST days on average:
    median FAST x ln 2 from now, 10%-90% of an exponential around it."""
    deal = Deal(1, (Visit("e_close", 100.0),), "B", "ads", amount=50_000.0)
    pred = forecast.predict(model, deal, 100.0)
    assert pred.close is not None and pred.close_low is not None and pred.close_high is not None
    assert pred.close - 100 == pytest.approx(FAST * math.log(2), rel=0.1)
    assert pred.close_low - 100 == pytest.approx(-FAST * math.log(0.9), rel=0.25)
    assert pred.close_high - 100 == pytest.approx(-FAST * math.log(0.1), rel=0.1)
    assert pred.expected_value == pytest.approx(50_000 * pred.probability, abs=0.01)


def test_months_add_up_and_the_band_holds_80_percent(scored: list[Any]) -> None:
    """Each month's expected value is the sum of value x chance x share of the month; drawn
    from the predictions themselves, the month's total falls in its band about 80% of
    the time."""
    chosen = [p for p, _ in scored[:400] if p.close_points]  # those old past any win: none
    assert len(chosen) > 350
    months = forecast.month_band(((p, 10_000.0) for p in chosen), lambda t: int(t // 30))
    total = sum(m["expected_value"] for m in months.values())
    assert total == pytest.approx(sum(10_000 * p.probability for p in chosen), rel=1e-6)
    rng = random.Random(5)
    inside = tries = 0
    for _ in range(400):
        drawn: dict[int, float] = defaultdict(float)
        for p in chosen:
            if rng.random() < p.probability:
                drawn[int(rng.choice(p.close_points) // 30)] += 10_000
        for month, figures in months.items():
            if figures["expected_value"] >= 50_000:
                tries += 1
                inside += figures["low"] <= drawn[month] <= figures["high"]
    assert 0.72 <= inside / tries <= 0.9, inside / tries


def test_thin_history_falls_back_to_the_stage_weights() -> None:
    few = forecast.fit(history(3, 12), stages=STAGES, ranks=RANKS, weights=WEIGHTS)
    assert few.method == "stage_weights"
    pred = forecast.predict(few, Deal(1, (Visit("e_quote", 0.0),), "A", "ads"), 5.0)
    assert pred.basis == "stage_weight" and pred.probability == 0.5 and pred.factors == ()
    # Enough closed deals, but a step none of them waited at: its deals keep their weight.
    model = forecast.fit(
        history(3, 400), stages={**STAGES, "e_new": "contract"}, ranks=RANKS, weights=WEIGHTS
    )
    assert model.method == "history"
    pred = forecast.predict(model, Deal(2, (Visit("e_new", 0.0),), "A", "ads"), 5.0)
    assert pred.basis == "stage_weight" and pred.probability == 0.75


def test_backtest_scores_both_on_the_same_deals() -> None:
    deals = history(4, 3000, span=600)
    report = forecast.backtest(deals, at=450.0, stages=STAGES, ranks=RANKS, weights=WEIGHTS)
    assert report["method"] == "history"
    assert report["trained_on"] == sum(1 for d in deals if d.closed is not None and d.closed < 450)
    open_then = [d for d in deals if d.visits[0].entered <= 450 < (d.closed or math.inf)]
    assert report["deals"] == len(open_then) > 100
    assert report["won"] == sum(d.outcome == "won" for d in open_then)
    assert report["brier"] < report["baseline_brier"]
    assert sum(row["deals"] for row in report["reliability"]) == report["deals"]
    assert sum(row["deals"] for row in report["baseline_reliability"]) == report["deals"]
