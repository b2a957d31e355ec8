"""The forecast from process position: each open deal's chance of being won, when it should
close and what it is worth, learnt from the team's own closed deals; and the backtest that
says whether that beats the stage weights.

Why this method.  A sales manager has to be able to read why a deal got its number, and a
small team has a few hundred closed deals at most: so no fitted model, but conditional
frequencies.  Every closed deal has been, at each step (BPMN element) it waited at, in the
position an open deal is in now: "at Prepare quote, for 12 days so far, after a quote sent
back once, tier A, from a referral".  The chance of an open deal is the share won of the
closed deals' visits that match its position, refined one feature at a time, each level
shrunk towards the one before it (additive smoothing with SMOOTHING pseudo-deals):

    stage weight  ->  element  ->  + time there  ->  + path  ->  + tier  ->  + channel

The stage weight (the board's, engine.usecases.board) is the prior: with no history the
forecast is the board's weighted pipeline, and history takes over as it accumulates.  "Time
there" is a survival condition: a visit counts for a deal that has been at the element for t
days when that visit lasted at least t days, so deals stuck for long are compared with the
deals that were stuck as long (each cell keeps its visits' stays sorted: a bisection).  The
change each refinement makes is the factor shown on a deal's page ("tier A: +12 points").
Shares of matching cases are calibrated by construction, given enough cases; the smoothing
keeps thin cells near their parent.  Where a process has fewer than MIN_CLOSED closed
deals, or a deal's element fewer than MIN_SUPPORT visits, the deal keeps its stage weight
(`basis` "stage_weight"), and the pages say so.  No chance is said as certain: it stays
within FLOOR and CEILING.  A deal that has waited longer than any closed deal waited at its
step is flagged (`beyond`): history says nothing about it, its chance is its step's.

When it closes: among the won deals' visits to the same element that lasted at least as
long (the time there rounded down to AGE_BANDS), how long it still took to the win: an
empirical survival curve of the time to close, of won deals only, so nothing is censored
(the forecast says when it closes if it is won).  The median is the expected close; the
10th and 90th percentiles the 80% interval; CLOSE_POINTS quantiles spread the deal's
expected value over the months.  Too few such wins: for a deal there less than
AGE_BANDS[1] days the stage's wins, else (and then) the close date the owner gave.

A month's expected won value is the sum over deals of value x chance x the share of its
close points in the month; its band is the 80% normal band of that sum of independent
deals (never below 0 nor above the value of the deals that can close in it).

Known limits, said here so they are said: only closed deals teach, so a young team's slow
deals are under-represented until they close; a deal's tier and channel are today's, also
for the steps before the qualification set the tier.

Everything here is pure: plain records in, plain records out (engine.usecases.forecast reads
the history and applies who may see what).  Times are days (floats) since any fixed origin.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AGE_BANDS",
    "MIN_CLOSED",
    "MIN_SUPPORT",
    "Deal",
    "Factor",
    "Model",
    "Prediction",
    "Visit",
    "as_of",
    "backtest",
    "band_of",
    "brier",
    "fit",
    "month_band",
    "position",
    "predict",
    "reliability",
]

SMOOTHING = 5.0  # pseudo-deals of the parent level in each level's share
MIN_CLOSED = 20  # closed deals a process needs before history is used at all
MIN_SUPPORT = 5  # visits an element needs before its deals leave the stage weight
MIN_WINS_FOR_TIME = 5  # won visits needed to say when a deal closes
AGE_BANDS = (0, 3, 7, 14, 30, 60, 120, 240)  # days at an element, rounded down to one
CLOSE_POINTS = 20  # quantiles of a deal's close that spread its value over months
Z80 = 1.2815515655446004  # the normal quantile of 90%: an 80% two-sided band
# No deal is certain either way: what no closed deal contradicted yet is said as 1% or 99%.
FLOOR, CEILING = 0.01, 0.99

WON, LOST = "won", "lost"
LEVELS = ("element", "age", "path", "tier", "channel")


@dataclass(frozen=True)
class Visit:
    """A stay of a deal at one element: entered and left (None: still there), in days."""

    element: str
    entered: float
    left: float | None = None


@dataclass(frozen=True)
class Deal:
    """What the forecast knows of a deal: its visits in order of entry, tier, channel, the
    outcome and when it came (None while open), its value and the owner's close date."""

    id: int
    visits: tuple[Visit, ...]
    tier: str | None = None
    channel: str | None = None
    outcome: str | None = None
    closed: float | None = None
    amount: float = 0.0
    owner: str | None = None
    expected_close: float | None = None


@dataclass(frozen=True)
class Position:
    """Where a deal is at a moment: its element and stage, how long it has been there,
    how many steps it did again before (a quote sent back, a lead nurtured), and the last
    element it repeated."""

    element: str
    stage: str | None
    age: float
    repeats: int
    repeated: str | None


@dataclass(frozen=True)
class Factor:
    """One refinement of a deal's chance: the feature (a LEVELS name), its value, and the
    chance before and after it, in [0, 1]."""

    level: str
    value: Any
    before: float
    after: float

    @property
    def points(self) -> float:
        return round(100 * (self.after - self.before), 1)


@dataclass(frozen=True)
class Prediction:
    """An open deal's forecast.  `basis`: "history", or "stage_weight" when it fell back;
    close times in days (None: nothing to go by), `close_basis` "history", "owner" or None."""

    deal: int
    probability: float
    baseline: float
    basis: str
    position: Position | None
    element_share: float | None
    factors: tuple[Factor, ...]
    close: float | None
    close_low: float | None
    close_high: float | None
    close_basis: str | None
    close_points: tuple[float, ...]
    expected_value: float
    beyond: bool = False  # it has waited longer than any closed deal waited at its step


@dataclass
class Model:
    """The closed deals' visits counted per position (`fit`)."""

    stages: Mapping[str, str]  # element -> stage
    ranks: Mapping[str, int]  # stage -> rank
    weights: Mapping[str, float]  # stage -> stage weight in [0, 1]
    closed: int = 0
    won: int = 0
    cells: dict[tuple[Any, ...], Cell] = field(default_factory=dict)  # see `_keys`
    # (element, band) and ("stage", stage): days from entering to the win, sorted
    to_win: dict[tuple[str, Any], list[float]] = field(default_factory=dict)
    quantiles: dict[tuple[str, Any], tuple[float, ...]] = field(default_factory=dict)

    @property
    def method(self) -> str:
        """The method: `history`, or `stage_weights` for a process with too few closed deals."""
        return "history" if self.closed >= MIN_CLOSED else "stage_weights"


def band_of(age: float) -> int:
    """The AGE_BANDS bound an age (days) is rounded down to."""
    return AGE_BANDS[max(0, bisect.bisect_right(AGE_BANDS, age) - 1)]


def _path_class(repeats: int) -> int:
    return min(repeats, 2)


def _repeats(visits: Sequence[Visit], upto: int) -> tuple[int, str | None]:
    """How many of visits[:upto + 1] were to an element visited before, and the last such."""
    seen: set[str] = set()
    n, last = 0, None
    for v in visits[: upto + 1]:
        if v.element in seen:
            n, last = n + 1, v.element
        seen.add(v.element)
    return n, last


def position(
    deal: Deal, at: float, stages: Mapping[str, str], ranks: Mapping[str, int]
) -> Position | None:
    """Where `deal` was at time `at`: of its visits to staged elements going on then, the
    one furthest along (by stage rank, then the earliest entered); none going on: the last
    staged one entered before (a deal waiting at an unstaged timer).  None before it began."""
    best: tuple[Any, ...] | None = None
    last: int | None = None
    for i, v in enumerate(deal.visits):
        if v.element not in stages or v.entered > at:
            continue
        last = i
        if v.left is None or v.left > at:
            key = (-ranks.get(stages[v.element], -1), v.entered, v.element)
            if best is None or key < best[0]:
                best = (key, i)
    index = best[1] if best is not None else last
    if index is None:
        return None
    visit = deal.visits[index]
    repeats, repeated = _repeats(deal.visits, index)
    return Position(
        visit.element, stages.get(visit.element), max(0.0, at - visit.entered), repeats, repeated
    )


def _keys(element: str, repeats: int, tier: Any, channel: Any) -> list[tuple[Any, ...]]:
    """The cells of a position, coarse to fine (the "age" level reads the element's cell
    for the visits that lasted long enough)."""
    path = _path_class(repeats)
    return [
        ("element", element),
        ("element", element),
        ("path", element, path),
        ("tier", element, path, tier),
        ("channel", element, path, tier, channel),
    ]


@dataclass
class Cell:
    """The visits of one cell: their stays sorted, and how many of those from each on were
    won, so that "lasted at least t days" is a bisection."""

    stays: list[float]
    won_from: list[int]

    def count(self, at_least: float = 0.0) -> tuple[int, int]:
        """(visits, won) among the visits that lasted at least `at_least` days."""
        i = bisect.bisect_left(self.stays, at_least)
        return len(self.stays) - i, self.won_from[i]


def _cell(found: list[tuple[float, bool]]) -> Cell:
    found.sort()
    won_from = [0] * (len(found) + 1)
    for i in range(len(found) - 1, -1, -1):
        won_from[i] = won_from[i + 1] + found[i][1]
    return Cell([stay for stay, _ in found], won_from)


def fit(
    deals: Iterable[Deal],
    *,
    stages: Mapping[str, str],
    ranks: Mapping[str, int],
    weights: Mapping[str, float],
    before: float | None = None,
) -> Model:
    """Gather the visits of the deals closed (before `before`, when given) per cell, with
    how long each lasted and whether its deal was won."""
    model = Model(stages=stages, ranks=ranks, weights=weights)
    cells: dict[tuple[Any, ...], list[tuple[float, bool]]] = defaultdict(list)
    to_win: dict[tuple[str, Any], list[float]] = defaultdict(list)
    for deal in deals:
        if deal.outcome not in (WON, LOST) or deal.closed is None:
            continue
        if before is not None and deal.closed >= before:
            continue
        won = deal.outcome == WON
        model.closed += 1
        model.won += won
        for i, v in enumerate(deal.visits):
            if v.element not in stages or v.entered >= deal.closed:
                continue
            stay = min(v.left if v.left is not None else deal.closed, deal.closed) - v.entered
            repeats, _ = _repeats(deal.visits, i)
            for key in _keys(v.element, repeats, deal.tier, deal.channel)[1:]:
                cells[key].append((stay, won))
            if not won:
                continue
            to_win[("stage", stages[v.element])].append(deal.closed - v.entered)
            for band in AGE_BANDS:
                if band and stay < band:
                    break
                to_win[(v.element, band)].append(deal.closed - v.entered - band)
    model.cells = {key: _cell(found) for key, found in cells.items()}
    model.to_win = {key: sorted(values) for key, values in to_win.items()}
    return model


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values, interpolated linearly (as statistics.quantiles'
    "inclusive" method)."""
    if len(values) == 1:
        return values[0]
    at = q * (len(values) - 1)
    low = math.floor(at)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (at - low)


def _shrunk(cell: Cell | None, at_least: float, parent: float) -> float:
    n, won = cell.count(at_least) if cell is not None else (0, 0)
    return (won + SMOOTHING * parent) / (n + SMOOTHING)


def _close(
    model: Model, pos: Position | None, deal: Deal, now: float
) -> tuple[tuple[float, ...], str | None]:
    """A deal's CLOSE_POINTS close times (see the module's docstring) and their basis."""
    if pos is not None:
        band = band_of(pos.age)
        tries: list[tuple[tuple[str, Any], float]] = [((pos.element, band), pos.age - band)]
        if band == 0 and pos.stage is not None:  # older deals: only those as old say when
            tries.append((("stage", pos.stage), pos.age))
        for key, spent in tries:
            found = _close_quantiles(model, key)
            if found:
                return tuple(now + max(0.0, q - spent) for q in found), "history"
    if deal.expected_close is not None:
        return (max(now, deal.expected_close),) * CLOSE_POINTS, "owner"
    return (), None


def _close_quantiles(model: Model, key: tuple[str, Any]) -> tuple[float, ...]:
    """The CLOSE_POINTS quantiles of a cell's days to the win (none for too few wins),
    worked out once per cell."""
    kept = model.quantiles.get(key)
    if kept is None:
        found = model.to_win.get(key, [])
        kept = ()
        if len(found) >= MIN_WINS_FOR_TIME:
            kept = tuple(quantile(found, (k + 0.5) / CLOSE_POINTS) for k in range(CLOSE_POINTS))
        model.quantiles[key] = kept
    return kept


def predict(model: Model, deal: Deal, now: float) -> Prediction:
    """The forecast of one open deal at `now` (see the module's docstring)."""
    pos = position(deal, now, model.stages, model.ranks)
    stage = pos.stage if pos is not None else None
    baseline = model.weights.get(stage or "", 0.5)
    chance, share = baseline, None
    factors: list[Factor] = []
    basis = "stage_weight"
    beyond = False
    if pos is not None and model.method == "history":
        keys = _keys(pos.element, pos.repeats, deal.tier, deal.channel)
        support = model.cells.get(keys[0])
        if support is not None and support.count()[0] >= MIN_SUPPORT:
            basis = "history"
            beyond = pos.age > 0 and support.count(pos.age)[0] == 0
            values: list[Any] = [
                pos.element,
                pos.age,
                (pos.repeats, pos.repeated),
                deal.tier,
                deal.channel,
            ]
            for level, key, value in zip(LEVELS, keys, values, strict=True):
                after = _shrunk(model.cells.get(key), pos.age if level != "element" else 0, chance)
                if level == "element":
                    share = after
                elif level != "age" or pos.age > 0:
                    factors.append(Factor(level, value, chance, after))
                chance = after
    points, close_basis = _close(model, pos, deal, now)
    ordered = sorted(points)
    chance = min(CEILING, max(FLOOR, chance))
    return Prediction(
        deal=deal.id,
        probability=chance,
        baseline=baseline,
        basis=basis,
        position=pos,
        element_share=share,
        factors=tuple(sorted(factors, key=lambda f: -abs(f.after - f.before))),
        close=quantile(ordered, 0.5) if ordered else None,
        close_low=quantile(ordered, 0.1) if ordered else None,
        close_high=quantile(ordered, 0.9) if ordered else None,
        close_basis=close_basis,
        close_points=tuple(ordered),
        expected_value=round(chance * deal.amount, 2),
        beyond=beyond,
    )


# --- months -----------------------------------------------------------------------------------


def month_band(
    predictions: Iterable[tuple[Prediction, float]], month_of: Any
) -> dict[Any, dict[str, float]]:
    """Per month (`month_of(time)` names it): the expected won value, and its 80% band, of
    deals `(prediction, value)` (see the module's docstring)."""
    mean: dict[Any, float] = defaultdict(float)
    var: dict[Any, float] = defaultdict(float)
    top: dict[Any, float] = defaultdict(float)
    for pred, value in predictions:
        if not pred.close_points or value <= 0:
            continue
        share: dict[Any, int] = defaultdict(int)
        for point in pred.close_points:
            share[month_of(point)] += 1
        for month, k in share.items():
            chance = pred.probability * k / len(pred.close_points)
            mean[month] += value * chance
            var[month] += value * value * chance * (1 - chance)
            top[month] += value
    found = {}
    for month in sorted(mean):
        spread = Z80 * math.sqrt(var[month])
        found[month] = {
            "expected_value": round(mean[month], 2),
            "low": round(max(0.0, mean[month] - spread), 2),
            "high": round(min(top[month], mean[month] + spread), 2),
        }
    return found


# --- how good it is ---------------------------------------------------------------------------


def brier(pairs: Sequence[tuple[float, bool]]) -> float | None:
    """The mean squared gap between chance and outcome (0 is perfect; always 50% scores
    0.25); None without pairs."""
    if not pairs:
        return None
    return sum((p - float(won)) ** 2 for p, won in pairs) / len(pairs)


def reliability(pairs: Sequence[tuple[float, bool]], bins: int = 10) -> list[dict[str, Any]]:
    """The reliability table: per tenth of the chance, how many deals, their mean chance and
    the share of them won (None in an empty tenth)."""
    rows = []
    for b in range(bins):
        found = [(p, won) for p, won in pairs if min(int(p * bins), bins - 1) == b]
        rows.append(
            {
                "from": b / bins,
                "to": (b + 1) / bins,
                "deals": len(found),
                "predicted": sum(p for p, _ in found) / len(found) if found else None,
                "observed": sum(won for _, won in found) / len(found) if found else None,
            }
        )
    return rows


def backtest(
    deals: Sequence[Deal],
    *,
    at: float,
    stages: Mapping[str, str],
    ranks: Mapping[str, int],
    weights: Mapping[str, float],
) -> dict[str, Any]:
    """Train on the deals closed before `at`, predict the deals open at `at` that have
    closed since, and compare with the stage weights on the same deals: Brier scores and
    reliability tables of both."""
    model = fit(deals, stages=stages, ranks=ranks, weights=weights, before=at)
    scored: list[tuple[Prediction, bool]] = []
    for deal in deals:
        began = min((v.entered for v in deal.visits), default=None)
        if deal.closed is None or deal.closed < at or began is None or began > at:
            continue
        pred = predict(model, as_of(deal, at), at)
        if pred.position is not None:
            scored.append((pred, deal.outcome == WON))
    ours = [(p.probability, won) for p, won in scored]
    base = [(p.baseline, won) for p, won in scored]
    return {
        "method": model.method,
        "trained_on": model.closed,
        "won_in_training": model.won,
        "deals": len(scored),
        "won": sum(won for _, won in scored),
        "fell_back": sum(p.basis != "history" for p, _ in scored),
        "brier": brier(ours),
        "baseline_brier": brier(base),
        "reliability": reliability(ours),
        "baseline_reliability": reliability(base),
    }


def as_of(deal: Deal, at: float) -> Deal:
    """A deal as it was at `at`: the visits begun by then, those going on still open."""
    visits = tuple(
        Visit(v.element, v.entered, v.left if v.left is not None and v.left <= at else None)
        for v in deal.visits
        if v.entered <= at
    )
    return Deal(
        deal.id, visits, deal.tier, deal.channel, None, None, deal.amount, deal.owner,
        deal.expected_close,
    )  # fmt: skip
