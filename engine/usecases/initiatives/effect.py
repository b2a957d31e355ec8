"""An initiative's effect: for the elements its rows link, the passes of the process's deals
through them (history rows with the time the element was entered) before `effective_at`
against after it, in one aggregate query; the figures are worked out by
engine.core.initiatives."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import ColumnElement, case, distinct, extract, func, or_, select
from sqlalchemy.orm import Session

from engine.core.initiatives import EMPTY, PASSED, element_effect, figures, flow_nodes
from engine.errors import NotFoundError
from engine.store.models import History, Initiative, InitiativeRow, Instance
from engine.store.records import iso
from engine.usecases.initiatives.table import process_graph
from engine.usecases.outcomes import MARKED_LOST
from engine.usecases.unit import Workspace


def _seconds(s: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    if s.get_bind().dialect.name == "sqlite":
        return cast(
            ColumnElement[float], (func.julianday(later) - func.julianday(earlier)) * 86400.0
        )
    return cast(ColumnElement[float], extract("epoch", later - earlier))


def measure_effect(
    space: Workspace, s: Session, ini: Initiative, rows: Iterable[InitiativeRow]
) -> dict[str, Any]:
    """Before against after `effective_at`, per linked element (one aggregate query)."""
    linked = list(dict.fromkeys(e for r in rows for e in (r.elements or [])))
    result: dict[str, Any] = {"effective_at": iso(ini.effective_at), "elements": []}
    if not linked:
        return result
    try:
        graph, _version = process_graph(space, s, ini.process_id)
        names = flow_nodes(graph, ini.process_id)
        stages = {n.id: n.stage for n in graph.nodes}
    except NotFoundError:
        names, stages = {}, {}
    won_at = [e for e, st in stages.items() if st == "won"]
    lost_at = [e for e, st in stages.items() if st == "lost"]
    won_deals = select(History.instance_id).where(
        History.element_id.in_(won_at), History.kind == "completed"
    )
    lost_deals = select(History.instance_id).where(
        or_(
            History.element_id.in_(lost_at) & (History.kind == "completed"),
            History.element_id == MARKED_LOST,  # marked lost (engine.usecases.outcomes)
        )
    )
    effective = ini.effective_at or ini.created_at
    period = case((History.entered_at < effective, "before"), else_="after").label("period")
    stay = _seconds(s, History.at, History.entered_at)
    query = (
        select(
            History.element_id,
            period,
            func.count(),
            func.count(distinct(History.instance_id)),
            func.avg(stay),
            func.min(stay),
            func.max(stay),
            func.count(distinct(case((History.instance_id.in_(won_deals), History.instance_id)))),
            func.count(distinct(case((History.instance_id.in_(lost_deals), History.instance_id)))),
        )
        .join(Instance, Instance.id == History.instance_id)
        .where(
            Instance.process_id == ini.process_id,
            History.element_id.in_(linked),
            History.kind.in_(PASSED),
            History.entered_at.is_not(None),
        )
        .group_by(History.element_id, period)
    )
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for element_id, when, *counted in s.execute(query):
        found[(element_id, when)] = figures(*counted)
    for element_id in linked:
        before = found.get((element_id, "before"), EMPTY)
        after = found.get((element_id, "after"), EMPTY)
        result["elements"].append(
            element_effect(element_id, names.get(element_id, element_id), before, after)
        )
    return result
