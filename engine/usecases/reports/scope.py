"""What a report covers: the filters, the period, the versions' graphs (stages, entry
elements, human tasks) and the deals in scope.  Shared by the reports and by the facts
(engine.usecases.reports.facts), which read the same graphs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from engine.core import runtime
from engine.core.calendar import known_sla, zone
from engine.core.roles import role_key
from engine.core.stages import STAGE_ORDER
from engine.errors import ValidationError
from engine.store import team_settings as settings
from engine.store import users
from engine.store.models import Definition, DefinitionVersion, Instance, OpenTask, User, UserRole
from engine.store.plans import Unindexed
from engine.store.records import iso
from engine.usecases import access
from engine.usecases.outcomes import LOST, MARKED_LOST, WON

DEFAULT_PROCESS = "sales_pipeline"


@dataclass(frozen=True)
class Filters:
    """What a report covers.  None is "any"; the period is `[since, until)` in UTC."""

    since: datetime | None = None
    until: datetime | None = None
    process: str = DEFAULT_PROCESS
    version: int | None = None
    owner: str | None = None
    team: str | None = None
    tier: str | None = None
    channel: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": iso(self.since),
            "to": iso(self.until),
            "process": self.process,
            "version": self.version,
            "owner": self.owner,
            "team": self.team,
            "tier": self.tier,
            "channel": self.channel,
        }


def period(s: Session, first: date | None, last: date | None) -> tuple[datetime | None, ...]:
    """From the start of day `first` to the end of day `last` in the team's time zone
    (engine.store.team_settings), as UTC datetimes for Filters."""
    tz = zone(settings.get(s, "timezone") or "UTC")
    since = datetime.combine(first, time(), tz).astimezone(UTC) if first else None
    until = datetime.combine(last + timedelta(days=1), time(), tz).astimezone(UTC) if last else None
    if since is not None and until is not None and until <= since:
        raise ValidationError("the period ends before it starts", field="to")
    return since, until


# --- what the versions' graphs say ------------------------------------------------------------


@dataclass(frozen=True)
class Outline:
    """What the reports know of one version: stages, entry elements, human tasks, stages in
    flow order (the chart's graph of its elements is engine.core.graph.Graph)."""

    stages: dict[str, str]  # element id -> stage
    entries: dict[str, str]  # entry element id -> the stage it enters
    elements: frozenset[str]
    manual: frozenset[str]
    timed: frozenset[str]  # where deals spend time: not gateways, not boundary events
    slas: frozenset[str]  # human tasks with an SLA (engine.jobs.escalation)
    order: tuple[str, ...]  # stages as first met walking from the start
    names: dict[str, str]  # element id -> its name in the diagram
    ranks: dict[str, int]  # stage -> its rank in this version (see _ranked)


GRAPHS: dict[str, Outline] = {}  # content hash -> graph; a version's content never changes


def graph_of(content_hash: str, spec_text: str) -> Outline:
    """The graph of a stored version (its spec's JSON), read once per content."""
    if content_hash not in GRAPHS:
        GRAPHS[content_hash] = build_graph(*runtime.load_spec(spec_text))
    return GRAPHS[content_hash]


def build_graph(main: Any, subprocesses: Mapping[str, Any]) -> Outline:
    """What the reports need to know of a version's process specs."""
    stages: dict[str, str] = {}
    entries: dict[str, str] = {}
    elements: set[str] = set()
    manual: set[str] = set()
    slas: set[str] = set()
    timed: set[str] = set()
    names: dict[str, str] = {}
    order: list[str] = []
    for process_spec in (main, *subprocesses.values()):
        specs = process_spec.task_specs
        for ts in specs.values():
            if getattr(ts, "bpmn_id", None) is None:
                continue
            elements.add(ts.bpmn_id)
            names[ts.bpmn_id] = ts.bpmn_name or ts.bpmn_id
            kind = type(ts).__name__
            if "Gateway" not in kind and kind != "BoundaryEvent":
                timed.add(ts.bpmn_id)
            if getattr(ts, "manual", False):
                manual.add(ts.bpmn_id)
            if known_sla(ts) is not None:
                slas.add(ts.bpmn_id)
            stage = runtime.properties(ts).get("stage")
            if stage:
                stages[ts.bpmn_id] = stage
        order.extend(_flow_order(process_spec, stages, order))
        rank = {name: n for n, name in enumerate(_ranked(order))}
        for ts in specs.values():
            stage = stages.get(getattr(ts, "bpmn_id", None) or "")
            if stage is None:
                continue
            before = _stages_before(ts, specs, stages)
            if None in before or any(rank[b] < rank[stage] for b in before if b is not None):
                entries[ts.bpmn_id] = stage
    # A deal marked lost enters "lost" wherever it was (engine.usecases.outcomes).
    entries[MARKED_LOST] = LOST
    return Outline(
        stages,
        entries,
        frozenset(elements),
        frozenset(manual),
        frozenset(timed),
        frozenset(slas),
        tuple(order),
        names,
        {name: n for n, name in enumerate(_ranked(order))},
    )


def _flow_order(process_spec: Any, stages: Mapping[str, str], seen: list[str]) -> list[str]:
    """Stages in the order a walk from the start meets them."""
    found: list[str] = []
    queue = [process_spec.start]
    visited = {process_spec.start.name}
    while queue:
        ts = queue.pop(0)
        stage = stages.get(getattr(ts, "bpmn_id", None) or "")
        if stage and stage not in seen and stage not in found:
            found.append(stage)
        for child in ts.outputs:
            if child.name not in visited:
                visited.add(child.name)
                queue.append(child)
    return found


def _ranked(order: list[str]) -> list[str]:
    """The sales stages in their order (engine.store.changes), others in flow order before "won"."""
    known = [s for s in STAGE_ORDER if s in order]
    others = [s for s in order if s not in STAGE_ORDER]
    at = known.index(WON) if WON in known else len(known)
    return [*known[:at], *others, *known[at:]]


def _stages_before(ts: Any, specs: Mapping[str, Any], stages: Mapping[str, str]) -> set[str | None]:
    """The stages of the nearest staged elements before `ts` (None: the process start).  A
    boundary event is where its activity is."""
    found: set[str | None] = set()
    todo = [(ts, i) for i in ts.inputs]
    visited: set[str] = set()
    while todo:
        child, spec = todo.pop()
        if type(spec).__name__ == "BoundaryEventSplit":
            attached = specs.get(spec.name.removesuffix(".BoundaryEventSplit"))
            if attached is not None and attached is not child:
                spec = attached  # reached from one of the boundary events
        if spec.name in visited:
            continue
        visited.add(spec.name)
        stage = stages.get(getattr(spec, "bpmn_id", None) or "")
        if stage is not None:
            found.add(stage)
        elif not spec.inputs:
            found.add(None)
        else:
            todo.extend((spec, i) for i in spec.inputs)
    return found


@dataclass(frozen=True)
class Scope:
    """The versions a report covers, merged."""

    names: tuple[str, ...]  # stages by rank
    stages: dict[str, str]
    entries: dict[str, str]
    elements: frozenset[str]
    manual: frozenset[str]
    timed: frozenset[str]
    slas: frozenset[str]
    labels: dict[str, str]  # element id -> its name in the diagram
    # Whether element ids alone tell the process and the stage: then rows need no join with
    # the deal unless the filters ask for one.
    alone: bool

    def order(self, name: str | None) -> int:
        """A sort key: the stage's rank, unknown stages last."""
        return self.names.index(name) if name in self.names else len(self.names)

    @property
    def funnel(self) -> tuple[str, ...]:
        return tuple(n for n in self.names if n not in (LOST, "after_sales"))

    def stage_elements(self, name: str) -> list[str]:
        return sorted(e for e, st in self.entries.items() if st == name)


def scope(s: Session, f: Filters) -> Scope:
    """What the versions of the process in scope say (each version's graph is read once)."""
    rows = s.execute(
        select(
            DefinitionVersion.id,
            DefinitionVersion.content_hash,
            DefinitionVersion.version,
            Definition.process_id,
        )
        .join(Definition)
        .order_by(DefinitionVersion.id)
    ).all()
    graphs: list[Outline] = []
    elsewhere: set[str] = set()
    for vid, content_hash, version, process_id in rows:
        graph = GRAPHS.get(content_hash)
        if graph is None:
            text = s.scalar(select(DefinitionVersion.spec).where(DefinitionVersion.id == vid))
            graph = graph_of(content_hash, text or "")
        if process_id == f.process and f.version in (None, version):
            graphs.append(graph)
        else:
            elsewhere |= graph.elements
    stages: dict[str, str] = {}
    entries: dict[str, str] = {}
    order: list[str] = []
    agree = True
    for graph in graphs:
        for element, stage in graph.stages.items():
            agree = agree and stages.setdefault(element, stage) == stage
        entries.update(graph.entries)
        order.extend(st for st in graph.order if st not in order)
    elements = frozenset().union(*(g.elements for g in graphs))
    return Scope(
        names=tuple(_ranked(order)),
        stages=stages,
        entries=entries,
        elements=elements,
        manual=frozenset().union(*(g.manual for g in graphs)),
        timed=frozenset().union(*(g.timed for g in graphs)),
        slas=frozenset().union(*(g.slas for g in graphs)),
        labels={e: n for g in graphs for e, n in g.names.items()},
        alone=agree and not (elements & elsewhere),
    )


# --- which deals ----------------------------------------------------------------------------


def deal_filter(
    s: Session, f: Filters, viewer: str | None, *, scan: bool = False
) -> list[ColumnElement[bool]]:
    """WHERE clauses on Instance for the filters and who is asking; `scan` when the deals
    must not be reached through the process's index: the query reads most of them, or
    comes to them from another table (see Unindexed)."""
    process = Unindexed(Instance.process_id) if scan else Instance.process_id
    where: list[ColumnElement[bool]] = [process == f.process]
    if f.version is not None:
        where.append(Instance.version_number == f.version)
    for column, value in (
        (Instance.owner, f.owner),
        (Instance.tier, f.tier),
        (Instance.lead_source, f.channel),
    ):
        if value is not None:
            where.append(column == value)
    if f.team is not None:
        members = (
            select(User.username)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == role_key(f.team))
        )
        where.append(Instance.owner.in_(members))
    if viewer is not None:
        roles = users.roles_of(s, viewer)
        if not access.sees_all(roles):  # a manager's report is the team's
            where.append(access.visible_deals(viewer, roles))
    return where


def tasks_of(sc: Scope, deals: list[ColumnElement[bool]]) -> list[Any]:
    """Open tasks of the deals in scope.  Without a join with the deals when the elements
    alone tell the process and no other filter is set: the manager's everyday report."""
    if sc.alone and len(deals) == 1:
        return [OpenTask.element_id.in_(sorted(sc.elements))]
    return [OpenTask.instance_id.in_(select(Instance.id).where(*deals))]


def starting(column: Any, since: datetime | None) -> list[ColumnElement[bool]]:
    return [column >= since] if since is not None else []


def within(column: Any, f: Filters) -> list[ColumnElement[bool]]:
    where = starting(column, f.since)
    if f.until is not None:
        where.append(column < f.until)
    return where


def seconds_between(s: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    if s.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later) - func.extract("epoch", earlier)


def stats_of(found: Mapping[Any, dict[str, Any]], key: Any) -> dict[str, Any]:
    got = found.get(key, {})
    return {
        "count": got.get("count", 0),
        "median_seconds": got.get("median"),
        "p90_seconds": got.get("p90"),
    }


def ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def report(name: str, f: Filters, **parts: Any) -> dict[str, Any]:
    return {"report": name, "filters": f.as_dict(), **parts}
