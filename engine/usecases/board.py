"""The pipeline board: the running deals of a process by stage, with the value in each stage
and the weighted pipeline, and the stage probabilities a sales manager sets.

A process's board has a column per stage of its latest version, in their order (the ranks the
reports give them, engine.usecases.reports.scope: the sales stages in their standard order, a
process's own stages in flow order), without the ends "won" and "lost" where no running deal
waits, and with any stage a running deal of an older version is in.  Per stage: how many of
the running deals the reader may see are there (engine.usecases.access), their value total,
and the weighted pipeline, value x the stage's probability.  A sales manager sets the
probabilities (team setting `stage_probabilities`); a stage without one counts at its place
in its process: the k-th of n stages at k/(n+1).

A column shows its `per_stage` most recently changed deals.  Each card carries what rots it
and what presses it: `stale` (engine.store.stale), `quiet_days` since anyone worked on it,
`rot` (0 fresh, 1 stale, 2 stale twice over) and `due_at`, the due time of the SLA of its
open tasks that runs out first (engine.store.sla); `follow_up_due` when the deal's customer
has been silent past its tier's cadence (engine.usecases.activities).

Two statements whatever the number of stages, over the board's index (ix_instance_board,
which holds the amount and the owner): the counts and values grouped by stage, and the cards,
with their SLAs and their customers' follow-ups, chosen by one UNION ALL of per-stage index
scans.  For someone who sees only some deals (a rep), the deals they may see are read once from
that index and counted and picked in Python (`_few`), so that the visibility rule's lists are
read once, not once per stage.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select, union_all
from sqlalchemy.orm import Session

from engine import clock
from engine.clock import iso
from engine.core.roles import MANAGERS
from engine.core.stages import STAGE_ORDER
from engine.core.version import VersionRuntime
from engine.errors import ForbiddenError
from engine.store import team_settings as settings
from engine.store import users
from engine.store.activities import silent_clause
from engine.store.models import Customer, Instance, OpenTask
from engine.store.records import SUMMARY_COLUMNS, instance_summary
from engine.store.stale import is_stale
from engine.usecases import access
from engine.usecases.base import UseCases
from engine.usecases.outcomes import LOST, WON, deal_summary, latest_version, outcome_of
from engine.usecases.reports.scope import build_graph

__all__ = ["PROBABILITY_ROLES", "BoardCases", "default_probability"]

# Who sets the stage probabilities.
PROBABILITY_ROLES = MANAGERS
_ENDS = (WON, LOST)  # stages no running deal waits in
PROBABILITIES = "stage_probabilities"  # the team setting


def default_probability(position: int, stages: int) -> int:
    """The probability of the `position`-th (from 0) of `stages` open stages of a process
    that no setting names: its share of the way, k/(n+1)."""
    return round(100 * (position + 1) / (stages + 1))


_ORDERS: dict[int, tuple[VersionRuntime, tuple[str, ...]]] = {}
_ORDERS_LOCK = threading.Lock()


def stage_order(vr: VersionRuntime) -> tuple[str, ...]:
    """A version's stages in order (their ranks in the reports), worked out once per
    version object."""
    kept = _ORDERS.get(id(vr))
    if kept is not None and kept[0] is vr:
        return kept[1]
    ranks = build_graph(vr.spec, vr.subprocess_specs).ranks
    order = tuple(sorted(ranks, key=lambda stage: ranks[stage]))
    with _ORDERS_LOCK:
        _ORDERS[id(vr)] = (vr, order)
    return order


def _chances(order: tuple[str, ...], stored: Mapping[str, int]) -> dict[str, int]:
    """Stage -> probability for a version's stages: those set (or the shipped defaults), and
    for each other open stage its place's share (`default_probability`)."""
    still_open = [st for st in order if outcome_of(st) is None]
    found = {st: default_probability(i, len(still_open)) for i, st in enumerate(still_open)}
    return {**found, **stored}


def _known_first(stage: str) -> tuple[int, str]:
    rank = STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER)
    return rank, stage


def _stage_is(stage: str | None) -> ColumnElement[bool]:
    return Instance.stage.is_(None) if stage is None else Instance.stage == stage


def _newest(where: list[ColumnElement[bool]], stages: list[str | None], per_stage: int) -> Any:
    """A query of the `per_stage` most recently changed deals of each stage: one UNION ALL
    of per-stage scans of the board's index."""
    newest = [
        select(Instance.id)
        .where(*where, _stage_is(stage))
        .order_by(Instance.updated_at.desc(), Instance.id.desc())
        .limit(per_stage)
        .subquery()
        for stage in stages
    ]
    ids = union_all(*(select(sub.c.id) for sub in newest)).subquery()
    return select(ids.c.id)


Found = dict[str | None, tuple[int, Any]]  # stage -> (deals, their value)


def _few(s: Session, where: list[ColumnElement[bool]], per_stage: int) -> tuple[Found, list[int]]:
    """The board of someone who sees only some deals (a rep): those deals read once from the
    board's index, which holds the owner, then counted, summed and the newest of each stage
    picked here.  Asked per stage in SQL, the visibility rule read the rep's history once
    per stage."""
    found: Found = {}
    by_stage: dict[str | None, list[tuple[datetime, int]]] = {}
    query = select(Instance.id, Instance.stage, Instance.amount, Instance.updated_at)
    for iid, stage, amount, updated in s.execute(query.where(*where)):
        n, total = found.get(stage, (0, None))
        found[stage] = (n + 1, total if amount is None else (total or 0) + amount)
        by_stage.setdefault(stage, []).append((updated, iid))
    newest = [
        iid
        for deals in by_stage.values()
        for _updated, iid in sorted(deals, reverse=True)[:per_stage]
    ]
    return found, newest


class BoardCases(UseCases):
    """The pipeline board and the stage probabilities behind its weighted pipeline."""

    def set_probabilities(self, values: Mapping[str, Any], *, user: str) -> dict[str, int]:
        """Set stages' probabilities (stage -> percent 0-100; an empty value returns a stage
        to its default), by a sales manager or an admin; ValidationError naming the
        setting `stage_probabilities` for a bad one.  The other stages keep theirs."""
        with self.db.read() as s:
            if not users.roles_of(s, user) & PROBABILITY_ROLES:
                raise ForbiddenError(
                    f"{user} may not set the stage probabilities: a sales manager does"
                )
            stored = dict(settings.get(s, "stage_probabilities") or {})
        merged = {**stored, **values}
        saved = settings.save(self.db, {"stage_probabilities": merged}, actor=user)
        chances: dict[str, int] = saved["stage_probabilities"]
        return chances

    def board(
        self, process: str, *, visible_to: str | None = None, per_stage: int = 50
    ) -> dict[str, Any]:
        """The running deals of a process by stage (see the module's docstring):
        `{"process_id", "stages": [{"stage", "outcome", "count", "value", "probability",
        "weighted", "cards"}]}`; NotFoundError for a process not deployed."""
        now = clock.now()
        with self.db.read() as s:
            order = stage_order(latest_version(self, s, process))
            where: list[ColumnElement[bool]] = [
                Instance.process_id == process,
                Instance.status == "running",
            ]
            few = None
            if visible_to is not None:
                roles = users.roles_of(s, visible_to)
                team = access.team_deals_shared(s)
                if not access.sees_every_deal(roles, team=team):
                    visible = access.visible_deals(visible_to, roles, team=team)
                    few = _few(s, [*where, visible], per_stage)
            if few is None:
                grouped = (
                    select(Instance.stage, func.count(), func.sum(Instance.amount))
                    .where(*where)
                    .group_by(Instance.stage)
                )
                found = {stage: (n, total) for stage, n, total in s.execute(grouped)}
                newest: Any = _newest(where, list(found), per_stage)
            else:
                found, newest = few
            stored = settings.load_all(s)  # one read for the probabilities and cadences
            chances = _chances(order, {**settings.DEFAULT_PROBABILITIES, **stored[PROBABILITIES]})
            cards = self._cards(s, newest, stored, now) if found else {}
        columns: list[str | None] = [st for st in order if st not in _ENDS or st in found]
        extra = sorted(
            (st for st in found if st is not None and st not in columns), key=_known_first
        )
        columns += extra
        if None in found:
            columns.append(None)  # deals of no stage, last
        stages = []
        for stage in columns:
            n, total = found.get(stage, (0, None))
            value = float(total or 0)
            chance = chances.get(stage or "", 50)  # a stage only an older version has
            stages.append(
                {
                    "stage": stage,
                    "outcome": outcome_of(stage),
                    "count": n,
                    "value": value,
                    "probability": chance,
                    "weighted": round(value * chance / 100, 2),
                    "cards": cards.get(stage, []),
                }
            )
        return {"process_id": process, "stages": stages}

    def _cards(
        self,
        s: Session,
        newest: Any,
        stored: Mapping[str, Any],
        now: datetime,
    ) -> dict[str | None, list[dict[str, Any]]]:
        """The deals `newest` names (the most recently changed of each stage: ids, or a
        query of them), with what rots them (stale, quiet days), the due time of the SLA of
        their open tasks that runs out first and whether their customer is due a follow-up
        (team settings `stored`): one statement, its rows as they are (no ORM objects)."""
        stale_days: Mapping[str, int | None] = stored["stale_days"]
        due = (
            select(func.min(OpenTask.due_at))
            .where(OpenTask.instance_id == Instance.id, OpenTask.due_at.is_not(None))
            .correlate(Instance)
            .scalar_subquery()
        )
        # On the deal's customer row, joined by its key: as a correlated EXISTS, PostgreSQL
        # hashed the silent customers of the whole team first (a scan of every customer).
        follow_up = case((silent_clause(stored["cadence_days"], now), True), else_=False)
        rows = s.execute(
            select(*SUMMARY_COLUMNS, due.label("due_at"), follow_up.label("follow_up_due"))
            .outerjoin(Customer, Customer.id == Instance.customer_id)
            .where(Instance.id.in_(newest))
            .order_by(Instance.updated_at.desc(), Instance.id.desc())
        ).all()
        found: dict[str | None, list[dict[str, Any]]] = {}
        for inst in rows:
            stale = is_stale(
                stale_days,
                now,
                status=inst.status,
                stage=inst.stage,
                activity_at=inst.activity_at,
                created_at=inst.created_at,
            )
            quiet = max(0, (now - (inst.activity_at or inst.created_at)).days)
            limit = stale_days.get(inst.stage or "") or 0
            card: dict[str, Any] = {
                **deal_summary(instance_summary(inst)),
                "due_at": iso(inst.due_at),
                "stale": stale,
                "quiet_days": quiet,
                "rot": 0 if not stale else 2 if limit and quiet >= 2 * limit else 1,
                "follow_up_due": bool(inst.follow_up_due),
            }
            found.setdefault(inst.stage, []).append(card)
        return found
