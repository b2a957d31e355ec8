"""The forecast as use cases: each open deal's chance, close date and expected value, the
months' expected won value with its band (the team's, per rep, per channel), one deal's
forecast with the factors that moved it, and the backtest against the stage weights.

The estimation is engine.core.forecast (pure); this module reads what it needs and applies
who may see what.  Three statements read a process's deals: the deals, the history rows
that tell of stays at elements and of wins and losses, and the open tasks.  The model learnt
from the closed deals is kept per process and per state of the closed deals (how many, the
highest id, the stage weights): it changes only when a deal is won or lost, or a weight is
set.  A reader sees the forecast of the deals they may see (engine.usecases.access: managers
and admins every deal, a rep theirs); the months add up those deals only.  The model itself
learns from all the team's closed deals, and shows nobody any other deal.  The backtest
reads the whole team's history: a manager's (or an admin's).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, time, tzinfo
from time import monotonic as time_now
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from engine import clock
from engine.core import forecast as core
from engine.core.calendar import zone
from engine.core.roles import MANAGERS
from engine.errors import ForbiddenError, NotFoundError, ValidationError
from engine.store import heat as store_heat
from engine.store import team_settings as settings
from engine.store import users
from engine.store.models import Definition, DefinitionVersion, History, Instance, OpenTask
from engine.usecases import access
from engine.usecases.base import UseCases
from engine.usecases.board import default_probability, stage_order
from engine.usecases.outcomes import LOST, MARKED_LOST, WON, WON_STAGES, latest_version, outcome_of
from engine.usecases.reports.cases import may_read_reports
from engine.usecases.reports.scope import DEFAULT_PROCESS, GRAPHS, Outline, graph_of
from engine.usecases.unit import parse_id

__all__ = ["BACKTEST_ROLES", "HORIZON_MONTHS", "ForecastCases", "month_key"]

BACKTEST_ROLES = MANAGERS  # the backtest reads every deal of the team
HORIZON_MONTHS = 6  # months shown from the current one on
DAY = 86400.0
OPEN_STATUSES = ("running", "error")


def _days(moment: datetime) -> float:
    return moment.timestamp() / DAY


def _moment(days: float) -> datetime:
    return datetime.fromtimestamp(days * DAY, UTC)


def month_key(days: float, tz: tzinfo) -> str:
    """The month (YYYY-MM, in the team's time zone) a time in days falls in."""
    return _moment(days).astimezone(tz).strftime("%Y-%m")


def _day(days: float | None, tz: tzinfo) -> str | None:
    return None if days is None else _moment(days).astimezone(tz).date().isoformat()


def _months_from(first: str, n: int) -> list[str]:
    year, month = map(int, first.split("-"))
    found = []
    for _ in range(n):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def _checked_month(month: str | None) -> str | None:
    if month is None or month == "":
        return None
    try:
        return datetime.strptime(month, "%Y-%m").strftime("%Y-%m")
    except (TypeError, ValueError):
        raise ValidationError("a month such as 2026-03", field="month") from None


class _Process:
    """What a process's versions say: element -> stage, stage -> rank, stage -> weight,
    element -> name, and which elements enter "won" and "lost"."""

    def __init__(self, graphs: Iterable[Outline], latest: Outline, order: tuple[str, ...],
                 stored: Mapping[str, int]) -> None:  # fmt: skip
        self.stages: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.won: set[str] = set()
        self.lost: set[str] = {MARKED_LOST}
        for graph in graphs:
            self.stages.update(graph.stages)
            self.names.update(graph.names)
            for element, stage in graph.entries.items():
                (self.won if stage == WON else self.lost if stage == LOST else set()).add(element)
        self.stages.update(latest.stages)
        self.names.update(latest.names)
        self.ranks = dict(latest.ranks)
        still_open = [st for st in order if outcome_of(st) is None]
        chances = {st: default_probability(i, len(still_open)) for i, st in enumerate(still_open)}
        chances.update(stored)
        self.weights = {st: chances.get(st, 50) / 100 for st in set(self.stages.values())}
        # The positions are staged elements where deals wait (not the ends).
        self.stages = {e: st for e, st in self.stages.items() if outcome_of(st) is None}


_MODELS: dict[tuple[Any, ...], core.Model] = {}
_MODELS_LOCK = threading.Lock()
# The open deals' forecasts of the latest state (ForecastCases._open_forecasts).
_OPEN: dict[tuple[Any, ...], tuple[datetime, list[Any]]] = {}

# What the board and the deal page show is the latest forecast worked out, while it is
# younger than these (seconds, on a monotonic clock): finding out whether the closed or open
# deals changed reads every one of them (tens of milliseconds at 100,000 deals), which those
# pages cannot afford on every view; the forecast page, the API and the command line always
# find out.  Kept on the workspace (Workspace.kept): ("forecast model", process) -> (when,
# the weights, the model), ("forecast open", process) -> (when, as of, the open deals'
# forecasts, the team's summary), ("forecast summary", process, user) -> (when, a summary).
MODEL_FRESH = 600.0
SUMMARY_FRESH = 120.0


class ForecastCases(UseCases):
    """The forecast from process position (engine.core.forecast)."""

    def forecast(
        self,
        process: str = DEFAULT_PROCESS,
        *,
        visible_to: str | None = None,
        month: str | None = None,
        lang: str | None = None,
    ) -> dict[str, Any]:
        """The forecast of the open deals of `process` that `visible_to` may see (None: all):
        `{"process_id", "as_of", "method", "closed", "won", "fell_back", "deals": [...],
        "months": [{"month", "expected_value", "low", "high"}], "by_owner", "by_channel"}`;
        `month` (YYYY-MM) keeps that month and the deals expected to close in it.
        ForbiddenError for someone who reads no reports, NotFoundError for a process not
        deployed, ValidationError (field `month`) for a bad month."""
        wanted = _checked_month(month)
        with self.db.read() as s:
            visible = self._visible(s, visible_to, process)
            proc, tz = self._process(s, process)
            model = self._model(s, process, proc)
            now, predicted = self._open_forecasts(s, process, proc, model)
        today = _days(now)
        names = self._names(process, lang)
        rows = []
        predictions = []
        for pred, deal, about in predicted:
            if visible is not None and deal.id not in visible:
                continue
            predictions.append((pred, deal))
            rows.append(_deal_row(pred, deal, about, proc, tz, names))
        first = month_key(today, tz)
        months = _months(predictions, tz, first, wanted)
        if wanted is not None:
            rows = [r for r in rows if (r["expected_close"] or "")[:7] == wanted]
        rows.sort(key=lambda r: (-r["expected_value"], r["instance_id"]))
        return {
            "process_id": process,
            "as_of": clock.iso(now),
            "method": model.method,
            "closed": model.closed,
            "won": model.won,
            "min_closed": core.MIN_CLOSED,
            "fell_back": sum(r["basis"] != "history" for r in rows),
            "month": wanted,
            "deals": rows,
            "total": {
                "deals": len(rows),
                "value": round(sum(r["amount"] or 0 for r in rows), 2),
                "expected_value": float(round(sum(r["expected_value"] for r in rows))),
            },
            "months": months,
            "by_owner": _grouped(predictions, tz, first, wanted, lambda d: d.owner or ""),
            "by_channel": _grouped(predictions, tz, first, wanted, lambda d: d.channel or ""),
        }

    def deal_forecast(
        self, instance_id: str | int, *, visible_to: str | None = None, lang: str | None = None
    ) -> dict[str, Any] | None:
        """One deal's forecast (a row of `forecast`, with `factors`), or None for a deal
        that is won, lost or ended; NotFoundError for a deal `visible_to` may not see."""
        iid = parse_id(instance_id)
        now = clock.now()
        with self.db.read() as s:
            inst = s.execute(
                select(Instance.process_id, Instance.owner).where(Instance.id == iid)
            ).first()
            if inst is None:
                raise NotFoundError(f"no deal {iid}")
            if visible_to is not None:
                roles = users.roles_of(s, visible_to)
                if not may_read_reports(roles):
                    raise ForbiddenError("forecasts are for sales reps, sales managers and admins")
                team = access.team_deals_shared(s)
                if not access.may_see(s, visible_to, roles, iid, team=team):
                    raise NotFoundError(f"no deal {iid}")
            process = inst.process_id
            proc, tz = self._process(s, process)
            model = self._recent_model(s, process, proc)
            if model is None:  # a large team's, being learnt (`_recent_model`)
                return None
            deals, info = _read_deals(s, process, proc, only=iid)
        if not deals or deals[0].outcome is not None:
            return None
        if info[iid]["status"] not in OPEN_STATUSES:
            return None
        pred = core.predict(model, deals[0], _days(now))
        return {
            **_deal_row(pred, deals[0], info[iid], proc, tz, self._names(process, lang)),
            "method": model.method,
            "closed": model.closed,
        }

    def backtest(
        self, at: date | str, *, process: str = DEFAULT_PROCESS, user: str | None = None
    ) -> dict[str, Any]:
        """Train on the deals closed before the start of day `at` (team's time zone),
        predict the deals open then that have closed since, and score both the forecast
        and the stage weights on them (engine.core.forecast.backtest).  ForbiddenError
        for `user` other than a manager or an admin (None: whoever runs the command
        line); ValidationError (field `at`) for a bad or future date."""
        if isinstance(at, str):
            try:
                at = date.fromisoformat(at)
            except ValueError:
                raise ValidationError("a date such as 2026-03-01", field="at") from None
        with self.db.read() as s:
            if user is not None and not users.roles_of(s, user) & BACKTEST_ROLES:
                raise ForbiddenError(f"{user} may not run the backtest: a sales manager does")
            proc, tz = self._process(s, process)
            moment = datetime.combine(at, time(), tz).astimezone(UTC)
            if moment > clock.now():
                raise ValidationError("the backtest's date is in the future", field="at")
            deals, _info = _read_deals(s, process, proc)
        found = core.backtest(
            deals, at=_days(moment), stages=proc.stages, ranks=proc.ranks, weights=proc.weights
        )
        return {"process_id": process, "at": at.isoformat(), **found}

    def check_forecast_reader(self, username: str) -> None:
        """ForbiddenError unless `username` reads forecasts (whoever reads reports)."""
        with self.db.read() as s:
            self._sees_all(s, username)

    # --- reading ------------------------------------------------------------------------------

    def _visible(self, s: Session, username: str | None, process: str) -> set[int] | None:
        """The ids of the process's open deals `username` may see (None: every deal);
        ForbiddenError for someone who reads no reports.  Only the open ones: a rep's whole
        history of deals took tens of milliseconds at 100,000 deals."""
        if self._sees_all(s, username):
            return None
        assert username is not None
        roles = users.roles_of(s, username)
        clause = access.visible_deals(username, roles, team=access.team_deals_shared(s))
        query = select(Instance.id).where(
            Instance.process_id == process, Instance.status.in_(OPEN_STATUSES), clause
        )
        return set(s.scalars(query))

    def _process(self, s: Session, process: str) -> tuple[_Process, tzinfo]:
        """What the process's versions say (their graphs, read once per content), with the
        stage weights the board uses, and the team's time zone."""
        vr = latest_version(self, s, process)
        graphs = []
        for vid, content_hash in s.execute(
            select(DefinitionVersion.id, DefinitionVersion.content_hash)
            .join(Definition, Definition.id == DefinitionVersion.definition_id)
            .where(Definition.process_id == process)
            .order_by(DefinitionVersion.version)
        ):
            graph = GRAPHS.get(content_hash)
            if graph is None:
                spec = s.scalar(select(DefinitionVersion.spec).where(DefinitionVersion.id == vid))
                graph = graph_of(content_hash, spec or "")
            graphs.append(graph)
        stored = {
            **settings.DEFAULT_PROBABILITIES,
            **(settings.get(s, "stage_probabilities") or {}),
        }
        proc = _Process(graphs, graphs[-1], stage_order(vr), stored)
        return proc, zone(settings.get(s, "timezone") or "UTC")

    def _model(self, s: Session, process: str, proc: _Process) -> core.Model:
        """The model of the process's closed deals, kept while they and the weights stay as
        they are."""
        closed = or_(Instance.stage == LOST, Instance.stage.in_(_won_stages(proc)))
        n, top, total = s.execute(
            select(func.count(), func.max(Instance.id), func.sum(Instance.id)).where(
                Instance.process_id == process, closed
            )
        ).one()
        key = (self.db.describe(), process, n, top, total, tuple(sorted(proc.weights.items())))
        model = _MODELS.get(key)
        if model is None:
            deals, _info = _read_deals(s, process, proc, which="closed")
            model = core.fit(deals, stages=proc.stages, ranks=proc.ranks, weights=proc.weights)
            with _MODELS_LOCK:
                _MODELS.clear()  # one state per process is enough; older ones never return
                _MODELS[key] = model
        weights = tuple(sorted(proc.weights.items()))
        self.space.kept[("forecast model", process)] = (time_now(), weights, model)
        return model

    def _recent_model(self, s: Session, process: str, proc: _Process) -> core.Model | None:
        """The model `_model` gave last, learnt with these weights: while younger than
        MODEL_FRESH as it is; older, as it is while a new one is learnt in the background.
        None: none yet for a large team's process (learning from tens of thousands of closed
        deals takes seconds), which is being learnt in the background; a small team's is
        learnt now."""
        key = ("forecast model", process)
        recent = self.space.kept.get(key)
        weights = tuple(sorted(proc.weights.items()))
        if recent is not None and recent[1] == weights:
            if time_now() - recent[0] >= MODEL_FRESH:
                _behind(self.space.kept, key, lambda: self._learn(process))
            return recent[2]
        if _large(s, process):
            _behind(self.space.kept, key, lambda: self._learn(process))
            return None
        return self._model(s, process, proc)

    def _learn(self, process: str) -> None:
        """`_model` in a transaction of its own (a background refresh)."""
        with self.db.read() as s:
            self._model(s, process, self._process(s, process)[0])

    def _refresh_open(self, process: str) -> tuple[float, datetime, list[Any], dict[str, Any]]:
        """The open deals' forecasts worked out anew for the board (`forecast_summary`)."""
        with self.db.read() as s:
            proc, tz = self._process(s, process)
            model = self._model(s, process, proc)
            now, predicted = self._open_forecasts(s, process, proc, model)
        everyone = _summary_of(model.method, [(p, d) for p, d, _ in predicted], tz, now)
        recent = (time_now(), now, predicted, everyone)
        self.space.kept[("forecast open", process)] = recent
        return recent

    def forecast_summary(
        self, process: str = DEFAULT_PROCESS, *, visible_to: str | None = None
    ) -> dict[str, Any] | None:
        """The board's forecast: `{"process_id", "method", "expected_value", "months"}` (the
        current month only) of the open deals `visible_to` may see, from the latest forecast
        while younger than SUMMARY_FRESH (older: as it is, while a new one is worked out in
        the background; none yet for a large team: None, while it is).  ForbiddenError and
        NotFoundError as `forecast`."""
        with self.db.read() as s:
            sees_all = self._sees_all(s, visible_to)  # ForbiddenError first
            mine_key = ("forecast summary", process, visible_to)
            kept = self.space.kept.get(mine_key)
            if kept is not None and time_now() - kept[0] < SUMMARY_FRESH:
                return kept[1]
            _proc, tz = self._process(s, process)  # NotFoundError for a process not deployed
            key = ("forecast open", process)
            recent = self.space.kept.get(key)
            if recent is None and _large(s, process):
                _behind(self.space.kept, key, lambda: self._refresh_open(process))
                return None
            if recent is not None and time_now() - recent[0] >= SUMMARY_FRESH:
                _behind(self.space.kept, key, lambda: self._refresh_open(process))
        if recent is None:
            recent = self._refresh_open(process)  # a small team's: now
        _when, now, predicted, everyone = recent
        with self.db.read() as s:
            if sees_all:
                return {"process_id": process, **everyone}
            visible = self._visible(s, visible_to, process)
            assert visible is not None
        mine = [(p, d) for p, d, _about in predicted if d.id in visible]
        found = {"process_id": process, **_summary_of(everyone["method"], mine, tz, now)}
        self.space.kept[mine_key] = (time_now(), found)  # a team's people: a few hundred
        return found

    def _sees_all(self, s: Session, username: str | None) -> bool:
        """Whether `username` sees every deal's forecast (None: whoever runs the command
        line); ForbiddenError for someone who reads no reports."""
        if username is None:
            return True
        roles = users.roles_of(s, username)
        if not may_read_reports(roles):
            raise ForbiddenError("forecasts are for sales reps, sales managers and admins")
        return access.sees_every_deal(roles, team=access.team_deals_shared(s))

    def _open_forecasts(
        self, s: Session, process: str, proc: _Process, model: core.Model
    ) -> tuple[datetime, list[tuple[core.Prediction, core.Deal, dict[str, Any]]]]:
        """Every open deal of the process with its forecast, and when it was made: kept
        while no deal changed (the newest history row and change of a deal) within the
        hour, so that the board and the page do not work it out on every visit."""
        now = clock.now()
        changed = s.execute(
            select(func.max(Instance.updated_at), func.count()).where(
                Instance.process_id == process
            )
        ).one()
        key = (
            self.db.describe(),
            process,
            model.closed,
            model.won,
            tuple(sorted(proc.weights.items())),
            s.scalar(select(func.max(History.id))),
            *changed,
            int(_days(now) * 24),
        )
        kept = _OPEN.get(key)
        if kept is not None:
            return kept
        deals, info = _read_deals(s, process, proc, which="open")
        today = _days(now)
        found = (now, [(core.predict(model, d, today), d, info[d.id]) for d in deals])
        with _MODELS_LOCK:
            _OPEN.clear()  # one state is enough: an older one never returns
            _OPEN[key] = found
        return found

    def _names(self, process: str, lang: str | None) -> Any:
        return self.process_texts(process, lang) if lang else None  # type: ignore[attr-defined]


def _won_stages(proc: _Process) -> list[str]:
    """The stages of a won deal (engine.usecases.outcomes: "won" and those after it)."""
    return sorted(WON_STAGES)


def _read_deals(
    s: Session,
    process: str,
    proc: _Process,
    *,
    only: int | None = None,
    which: str | None = None,
) -> tuple[list[core.Deal], dict[int, dict[str, Any]]]:
    """The process's deals as the forecast sees them (`which`: only the "open" or the
    "closed" ones), in three statements, and per deal what the pages show besides (name,
    stage, status, amount, owner)."""
    over = or_(Instance.stage == LOST, Instance.stage.in_(_won_stages(proc)))
    where: list[ColumnElement[bool]] = [Instance.process_id == process]
    if only is not None:
        where.append(Instance.id == only)
    if which == "closed":
        where.append(over)
    elif which == "open":
        where += [Instance.status.in_(OPEN_STATUSES), ~over | Instance.stage.is_(None)]
    rows = s.execute(
        select(
            Instance.id,
            Instance.name,
            Instance.stage,
            Instance.status,
            Instance.tier,
            Instance.lead_source,
            Instance.amount,
            Instance.owner,
            Instance.expected_close,
            Instance.completed_at,
            Instance.updated_at,
        ).where(*where)
    ).all()
    ids = select(Instance.id).where(*where)
    ends = proc.won | proc.lost
    visits: dict[int, list[core.Visit]] = defaultdict(list)
    ended: dict[int, float] = {}
    for iid, element, at, entered in s.execute(
        select(History.instance_id, History.element_id, History.at, History.entered_at)
        .where(
            History.instance_id.in_(ids),
            History.element_id.is_not(None),
            or_(History.entered_at.is_not(None), History.element_id.in_(sorted(ends))),
        )
        .order_by(History.instance_id, History.id)
    ):
        if element in ends:
            ended.setdefault(iid, _days(at))
        if entered is not None and element in proc.stages:
            visits[iid].append(core.Visit(element, _days(entered), _days(at)))
    if which != "closed":
        for iid, element, created in s.execute(
            select(OpenTask.instance_id, OpenTask.element_id, OpenTask.created_at).where(
                OpenTask.instance_id.in_(ids)
            )
        ):
            if element in proc.stages:
                visits[iid].append(core.Visit(element, _days(created)))
    deals = []
    info: dict[int, dict[str, Any]] = {}
    for row in rows:
        outcome = outcome_of(row.stage)
        closed = None
        if outcome is not None:
            moment = row.completed_at or row.updated_at
            closed = ended.get(row.id, _days(moment) if moment else None)
        close_by = row.expected_close
        deals.append(
            core.Deal(
                id=row.id,
                visits=tuple(sorted(visits.get(row.id, []), key=lambda v: v.entered)),
                tier=row.tier,
                channel=row.lead_source,
                outcome=outcome,
                closed=closed,
                amount=float(row.amount or 0),
                owner=row.owner,
                expected_close=None
                if close_by is None
                else _days(datetime.combine(close_by, time(12), UTC)),
            )
        )
        info[row.id] = {
            "name": row.name,
            "stage": row.stage,
            "status": row.status,
            "amount": None if row.amount is None else float(row.amount),
            "owner": row.owner,
        }
    return deals, info


# --- results ----------------------------------------------------------------------------------


def _factor(f: core.Factor, proc: _Process, names: Any) -> dict[str, Any]:
    """A factor as the pages and the API show it: what it is about, and by how many points
    it moved the chance."""
    found: dict[str, Any] = {"level": f.level, "points": f.points}
    if f.level == "age":
        found["days"] = int(f.value)
    elif f.level == "path":
        repeats, element = f.value
        found["repeats"] = repeats
        found["element_id"] = element
        found["element_name"] = _name(element, proc, names) if element else None
    else:
        found["value"] = f.value
    return found


def _name(element: str | None, proc: _Process, names: Any) -> str | None:
    if element is None:
        return None
    default = proc.names.get(element, element)
    return str(names.name(element, default)) if names is not None else default


def _deal_row(
    pred: core.Prediction,
    deal: core.Deal,
    info: Mapping[str, Any],
    proc: _Process,
    tz: tzinfo,
    names: Any,
) -> dict[str, Any]:
    pos = pred.position
    return {
        "instance_id": deal.id,
        "name": info["name"],
        "owner": deal.owner,
        "stage": info["stage"],
        "channel": deal.channel,
        "tier": deal.tier,
        "amount": info["amount"],
        "element_id": pos.element if pos else None,
        "element_name": _name(pos.element if pos else None, proc, names),
        "days_there": int(pos.age) if pos else None,
        "probability": round(100 * pred.probability, 1),
        "stage_weight": round(100 * pred.baseline, 1),
        "element_share": None if pred.element_share is None else round(100 * pred.element_share, 1),
        "basis": pred.basis,
        "beyond_history": pred.beyond,
        "expected_close": _day(pred.close, tz),
        "close_low": _day(pred.close_low, tz),
        "close_high": _day(pred.close_high, tz),
        "close_basis": pred.close_basis,
        "expected_value": float(round(pred.expected_value)),
        "factors": [_factor(f, proc, names) for f in pred.factors[:3] if abs(f.points) >= 1],
    }


# A process with more deals than this has its forecast worked out in the background when the
# board or a deal page asks first (engine.store.heat counts them in an index).
LARGE = 5_000
_REFRESHING: set[tuple[int, tuple[Any, ...]]] = set()
_log = logging.getLogger(__name__)


def _large(s: Session, process: str) -> bool:
    return store_heat.deal_counts(s, process, None)[0] > LARGE


def _behind(kept: dict[Any, Any], key: tuple[Any, ...], work: Callable[[], Any]) -> None:
    """`work` in a thread of its own, unless the same work for the same workspace (`kept`,
    which the thread keeps alive) runs already."""
    running = (id(kept), key)
    with _MODELS_LOCK:
        if running in _REFRESHING:
            return
        _REFRESHING.add(running)

    def run() -> None:
        try:
            work()
        except Exception:  # a background refresh must never take the web process down
            _log.exception("the forecast of %s could not be worked out", key[-1])
        finally:
            with _MODELS_LOCK:
                _REFRESHING.discard(running)

    threading.Thread(target=run, name="salesflow-forecast", daemon=True).start()


def _summary_of(
    method: str, predictions: list[tuple[core.Prediction, core.Deal]], tz: tzinfo, now: datetime
) -> dict[str, Any]:
    """The board's figures: the deals' expected won value, and the current month's."""
    first = month_key(_days(now), tz)
    return {
        "method": method,
        "expected_value": float(round(sum(p.expected_value for p, _ in predictions))),
        "months": _months(predictions, tz, first, None)[:1],
    }


def _months(
    predictions: list[tuple[core.Prediction, core.Deal]],
    tz: tzinfo,
    first: str,
    wanted: str | None,
) -> list[dict[str, Any]]:
    """HORIZON_MONTHS months from `first` (or only `wanted`), each with its expected won
    value and band; what falls later is left out, what fell earlier counts in the first."""
    found = core.month_band(
        ((p, d.amount) for p, d in predictions), lambda t: max(first, month_key(t, tz))
    )
    shown = [wanted] if wanted is not None else _months_from(first, HORIZON_MONTHS)
    empty = {"expected_value": 0.0, "low": 0.0, "high": 0.0}
    return [
        {"month": m, **{k: float(round(v)) for k, v in found.get(m, empty).items()}} for m in shown
    ]


def _grouped(
    predictions: list[tuple[core.Prediction, core.Deal]],
    tz: tzinfo,
    first: str,
    wanted: str | None,
    key: Any,
) -> list[dict[str, Any]]:
    """The months per group (owner, channel): each group's deals on their own."""
    groups: dict[str, list[tuple[core.Prediction, core.Deal]]] = defaultdict(list)
    for pred, deal in predictions:
        groups[key(deal)].append((pred, deal))
    found = []
    for name in sorted(groups):
        months = _months(groups[name], tz, first, wanted)
        found.append(
            {
                "key": name or None,
                "deals": len(groups[name]),
                "expected_value": float(round(sum(p.expected_value for p, _ in groups[name]))),
                "months": months,
            }
        )
    return found
