"""Reports on the sales process, "decide by data" (domain.md): funnel, lead channels, cycle
and time in stage, reps, stale deals and SLA breaches.

Stages come from the deployed versions: a stage is the `stage` property of BPMN elements.  A
deal *enters* a stage when one of the stage's entry elements becomes ready: an element reached
from the start or from an element of an earlier stage (found on the version's graph).  Going
back (a lead sent to nurturing) enters nothing; a nurtured lead qualifying again enters
qualification again.  Its time is `History.entered_at` (when the element became ready), or
`History.at` for elements that ran at once, or the open task's `created_at` while it is open.

Every figure is a SQL aggregate.  The history is read through the period: rows of the elements
asked for, at or after the start of the period (from now back to the period's start), so a
report over the last 90 days reads the last 90 days, whatever the size of the history.  That
wants one index, history (element_id, at, entered_at, instance_id): without it the same
queries scan the table.  Medians and 90th percentiles are computed in SQL with window
functions (linear interpolation between the two closest values, as `statistics.median` and
PostgreSQL's `percentile_cont`); Python only touches a few rows per group.

Filters apply to the deals: process and version, owner, team (a role: the deals owned by the
users who hold it), tier, lead channel, and who is asking (engine.access: a rep's reports cover
the deals the rep may see).  Durations are in seconds; costs per channel are a monthly spend
kept in the `setting` table (key `channel_costs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from engine import access, clock, runtime, settings, users
from engine.calendar import known_sla, zone
from engine.db import Database
from engine.errors import ValidationError
from engine.graph import Heat
from engine.models import Definition, DefinitionVersion, History, Instance, OpenTask, User, UserRole
from engine.recording import STAGE_ORDER
from engine.records import iso
from engine.roles import role_key
from engine.stale import stale_clause

__all__ = [
    "DEFAULT_PROCESS",
    "REPORTS",
    "Filters",
    "channel_costs",
    "channels",
    "cycle",
    "funnel",
    "heat",
    "period",
    "reps",
    "set_channel_costs",
    "stale",
]

DEFAULT_PROCESS = "sales_pipeline"
REPORTS = ("funnel", "channels", "cycle", "reps", "stale")
COSTS_KEY = "channel_costs"
ACTION_KINDS = ("claimed", "completed")  # what a person does with a task
WON, LOST = "won", "lost"
DAYS_PER_MONTH = 365.25 / 12
STALE_LIST = 50  # stale deals listed by name
MAX_COST = Decimal("1e12")
PERCENTILES = {"median": (1, 2), "p90": (9, 10)}  # p = a/b: integer arithmetic in SQL


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
    (engine.settings), as UTC datetimes for Filters."""
    tz = zone(settings.get(s, "timezone") or "UTC")
    since = datetime.combine(first, time(), tz).astimezone(UTC) if first else None
    until = datetime.combine(last + timedelta(days=1), time(), tz).astimezone(UTC) if last else None
    if since is not None and until is not None and until <= since:
        raise ValidationError("the period ends before it starts", field="to")
    return since, until


# --- what the versions' graphs say ------------------------------------------------------------


@dataclass(frozen=True)
class Graph:
    """One version's elements: stages, entry elements, human tasks, stages in flow order."""

    stages: dict[str, str]  # element id -> stage
    entries: dict[str, str]  # entry element id -> the stage it enters
    elements: frozenset[str]
    manual: frozenset[str]
    timed: frozenset[str]  # where deals spend time: not gateways, not boundary events
    slas: frozenset[str]  # human tasks with an SLA (engine.escalation)
    order: tuple[str, ...]  # stages as first met walking from the start
    names: dict[str, str]  # element id -> its name in the diagram


_GRAPHS: dict[str, Graph] = {}  # content hash -> graph; a version's content never changes


def _graph(content_hash: str, spec_text: str) -> Graph:
    if content_hash in _GRAPHS:
        return _GRAPHS[content_hash]
    main, subprocesses = runtime.load_spec(spec_text)
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
    graph = Graph(
        stages,
        entries,
        frozenset(elements),
        frozenset(manual),
        frozenset(timed),
        frozenset(slas),
        tuple(order),
        names,
    )
    _GRAPHS[content_hash] = graph
    return graph


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
    """The sales stages in their order (engine.recording), others in flow order before "won"."""
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

    def rank(self, name: str) -> int:
        return self.names.index(name)

    def order(self, name: str | None) -> int:
        """A sort key: the stage's rank, unknown stages last."""
        return self.names.index(name) if name in self.names else len(self.names)

    @property
    def funnel(self) -> tuple[str, ...]:
        return tuple(n for n in self.names if n not in (LOST, "after_sales"))

    def entry_rank(self, column: Any) -> ColumnElement[Any]:
        """CASE: the rank of the stage an entry element enters."""
        ranks = {e: self.rank(st) for e, st in sorted(self.entries.items())}
        return case(ranks, value=column, else_=None) if ranks else literal(None)

    def progress(self, rank: Any) -> ColumnElement[Any]:
        """How far along a rank is; None for "lost", which is no progress."""
        if LOST not in self.names:
            return rank
        return case((rank == self.rank(LOST), None), else_=rank)

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
    graphs: list[Graph] = []
    elsewhere: set[str] = set()
    for vid, content_hash, version, process_id in rows:
        if content_hash not in _GRAPHS:
            text = s.scalar(select(DefinitionVersion.spec).where(DefinitionVersion.id == vid))
            _graph(content_hash, text or "")
        graph = _GRAPHS[content_hash]
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


class _Unindexed(FunctionElement[Any]):
    """A column SQLite must not look up through an index (`+column`, SQLite's own way).  A
    report that reads most deals reads them fastest in table order; without statistics SQLite
    takes the board's index for `process_id = ?` and then fetches every row one by one."""

    name = "unindexed"
    inherit_cache = True

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(_Unindexed)
def _plain(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_Unindexed, "sqlite")
def _plus(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.clauses, **kw)


def _deals(
    s: Session, f: Filters, viewer: str | None, *, scan: bool = False
) -> list[ColumnElement[bool]]:
    """WHERE clauses on Instance for the filters and who is asking; `scan` when the deals
    must not be reached through the process's index: the query reads most of them, or
    comes to them from another table (see _Unindexed)."""
    process = _Unindexed(Instance.process_id) if scan else Instance.process_id
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


def _of_deals(column: Any, sc: Scope, deals: list[ColumnElement[bool]]) -> list[Any]:
    """Rows (by their instance id column) of the deals in scope.  Nothing when the elements
    alone tell the process and no other filter is set: the manager's everyday report reads
    the history index only."""
    if sc.alone and len(deals) == 1:
        return []
    return [column.in_(select(Instance.id).where(*deals))]


def _tasks_of(sc: Scope, deals: list[ColumnElement[bool]]) -> list[Any]:
    """Open tasks of the deals in scope (see _of_deals)."""
    if sc.alone and len(deals) == 1:
        return [OpenTask.element_id.in_(sorted(sc.elements))]
    return [OpenTask.instance_id.in_(select(Instance.id).where(*deals))]


def _from(column: Any, since: datetime | None) -> list[ColumnElement[bool]]:
    return [column >= since] if since is not None else []


def _within(column: Any, f: Filters) -> list[ColumnElement[bool]]:
    where = _from(column, f.since)
    if f.until is not None:
        where.append(column < f.until)
    return where


def _seconds(s: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    if s.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later) - func.extract("epoch", earlier)


def _epoch(s: Session, moment: Any) -> ColumnElement[Any]:
    """Seconds since 1970 as a number: sorted, compared and subtracted faster than text."""
    if s.get_bind().dialect.name == "sqlite":
        return (func.julianday(moment) - 2440587.5) * 86400.0
    return func.extract("epoch", moment)


def _before(column: Any, until: datetime | None) -> list[ColumnElement[bool]]:
    """`column` (seconds since 1970) before the end of the period."""
    return [column < until.timestamp()] if until is not None else []


def _entered(s: Session, f: Filters, sc: Scope, deals: list[ColumnElement[bool]]) -> Any:
    """(iid, rank, e): each time a deal entered a stage (e: seconds since 1970), from the
    start of the period on."""
    when = func.coalesce(History.entered_at, History.at)
    # The engine's own rows of an element: a human task's carry the time it became ready;
    # claims, escalations and hand-overs of it do not (and nobody claims a script).
    engine_row = or_(
        History.entered_at.is_not(None),
        History.element_id.in_(sorted(set(sc.entries) - sc.manual)),
    )
    done = select(
        History.instance_id.label("iid"),
        sc.entry_rank(History.element_id).label("rank"),
        _epoch(s, when).label("e"),
    ).where(
        History.element_id.in_(sorted(sc.entries)),
        engine_row,
        *_from(History.at, f.since),
        *_from(when, f.since),
        *_of_deals(History.instance_id, sc, deals),
    )
    now_open = select(
        OpenTask.instance_id, sc.entry_rank(OpenTask.element_id), _epoch(s, OpenTask.created_at)
    ).where(
        OpenTask.element_id.in_(sorted(sc.entries)),
        *_from(OpenTask.created_at, f.since),
        *_tasks_of(sc, deals),
    )
    return union_all(done, now_open).subquery("entered")


def _first(entered: Any, sc: Scope, *, top: bool = False) -> Any:
    """(iid, rank, e[, top]): a deal's first entry into each stage since the period began
    [and the furthest stage it has reached since]."""
    columns = [entered.c.iid, entered.c.rank, func.min(entered.c.e).label("e")]
    if top:
        furthest = func.max(func.max(sc.progress(entered.c.rank)))
        columns.append(furthest.over(partition_by=entered.c.iid).label("top"))
    return select(*columns).group_by(entered.c.iid, entered.c.rank).subquery("first")


def _won(f: Filters, sc: Scope, deals: list[ColumnElement[bool]]) -> Any:
    """The deals that entered "won" in the period: (iid, at, created_at, owner, amount)."""
    return (
        select(
            Instance.id.label("iid"),
            History.at.label("at"),
            Instance.created_at,
            Instance.owner,
            Instance.amount,
        )
        .select_from(History)
        .join(Instance, Instance.id == History.instance_id)
        .where(History.element_id.in_(sc.stage_elements(WON) or [""]), *_within(History.at, f))
        .where(*deals)
        .subquery("won")
    )


# --- medians and percentiles in SQL ---------------------------------------------------------


def _percentiles(s: Session, values: Select[Any, Any]) -> dict[Any, dict[str, Any]]:
    """For a SELECT of (group, value): per group the count, median and 90th percentile.

    Rows are numbered per group in value order; for p = a/b the two rows around position
    p*(n-1) are picked with integer arithmetic (the same on every database), and only those
    come back to be interpolated."""
    d = values.subquery()
    g, x = d.c[0], d.c[1]
    numbered = select(
        g.label("g"),
        x.label("x"),
        (func.row_number().over(partition_by=g, order_by=x) - 1).label("i"),
        func.count().over(partition_by=g).label("n"),
    ).subquery()
    i, n = numbered.c.i, numbered.c.n
    picks = []
    needed = []
    for name, (a, b) in PERCENTILES.items():
        # lo: i*b <= a*(n-1) < (i+1)*b; hi: the row after it.
        lo = and_(i * b <= a * (n - 1), (i + 1) * b > a * (n - 1))
        hi = and_((i - 1) * b <= a * (n - 1), i * b > a * (n - 1))
        needed.append(and_((i - 1) * b <= a * (n - 1), (i + 1) * b > a * (n - 1)))
        picks += [
            func.min(case((lo, numbered.c.x))).label(f"{name}_lo"),
            func.min(case((hi, numbered.c.x))).label(f"{name}_hi"),
        ]
    query = (
        select(numbered.c.g, func.max(n).label("n"), *picks)
        .where(or_(*needed))  # a few rows per group
        .group_by(numbered.c.g)
    )
    found: dict[Any, dict[str, Any]] = {}
    for row in s.execute(query).mappings():
        count = int(row["n"])
        stats: dict[str, Any] = {"count": count}
        for name, (a, b) in PERCENTILES.items():
            low, high = float(row[f"{name}_lo"]), row[f"{name}_hi"]
            value = low if high is None else low + (a * (count - 1) % b) / b * (float(high) - low)
            stats[name] = round(value, 3)
        found[row["g"]] = stats
    return found


def _stats(found: Mapping[Any, dict[str, Any]], key: Any) -> dict[str, Any]:
    got = found.get(key, {})
    return {
        "count": got.get("count", 0),
        "median_seconds": got.get("median"),
        "p90_seconds": got.get("p90"),
    }


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _report(name: str, f: Filters, **parts: Any) -> dict[str, Any]:
    return {"report": name, "filters": f.as_dict(), **parts}


# --- the reports ----------------------------------------------------------------------------


def funnel(
    db: Database, f: Filters, *, viewer: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Deals entering each stage in the period, and how many of them have gone on to a later
    stage since; deals won and lost in the period, the win rate, the reasons for losses."""
    with db.read() as s:
        sc = scope(s, f)
        deals = _deals(s, f, viewer)
        found: dict[str, tuple[int, int]] = {}
        reasons: list[dict[str, Any]] = []
        if sc.entries:
            first = _first(_entered(s, f, sc, deals), sc, top=True)
            counts = (
                select(
                    first.c.rank,
                    func.count(),
                    func.sum(case((first.c.top > first.c.rank, 1), else_=0)),
                )
                .where(*_before(first.c.e, f.until))
                .group_by(first.c.rank)
            )
            found = {sc.names[r]: (n, int(c or 0)) for r, n, c in s.execute(counts)}
        if LOST in sc.names:
            reason = Instance.data["lost_reason"].as_string()
            lost = (
                select(reason, func.count(func.distinct(Instance.id)))
                .select_from(History)
                .join(Instance, Instance.id == History.instance_id)
                .where(
                    History.element_id.in_(sc.stage_elements(LOST) or [""]),
                    *_within(History.at, f),
                    *deals,
                )
                .group_by(reason)
                .order_by(func.count(func.distinct(Instance.id)).desc(), reason)
            )
            reasons = [{"reason": r or None, "deals": n} for r, n in s.execute(lost)]
    rows = []
    for name in sc.funnel:
        entered, converted = found.get(name, (0, 0))
        last = name == sc.funnel[-1]
        rows.append(
            {
                "stage": name,
                "entered": entered,
                "converted": None if last else converted,
                "conversion": None if last else _ratio(converted, entered),
            }
        )
    won = found.get(WON, (0, 0))[0]
    lost_deals = found.get(LOST, (0, 0))[0]
    return _report(
        "funnel",
        f,
        stages=rows,
        won=won,
        lost=lost_deals,
        win_rate=_ratio(won, won + lost_deals),
        lost_reasons=reasons,
    )


def channels(
    db: Database, f: Filters, *, viewer: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Per lead channel, the leads (deals created in the period), how many of them are won
    by now, the median cycle of those, and what a lead cost where a monthly spend is set."""
    now = now or clock.now()
    with db.read() as s:
        sc = scope(s, f)
        costs = channel_costs(s)
        deals = [*_deals(s, f, viewer, scan=True), *_within(Instance.created_at, f)]
        channel = func.coalesce(Instance.lead_source, "")
        leads = dict(s.execute(select(channel, func.count()).where(*deals).group_by(channel)).all())
        won_rows = (
            select(History.instance_id.label("iid"), func.min(History.at).label("at"))
            .where(
                History.element_id.in_(sc.stage_elements(WON) or [""]),
                *_from(History.at, f.since),
            )
            .group_by(History.instance_id)
            .subquery()
        )
        cycles = _percentiles(
            s,
            select(channel, _seconds(s, won_rows.c.at, Instance.created_at))
            .join(won_rows, won_rows.c.iid == Instance.id)
            .where(*deals),
        )
        first = f.since or s.scalar(select(func.min(Instance.created_at)).where(*deals))
    months = ((f.until or now) - first).total_seconds() / 86400 / DAYS_PER_MONTH if first else 0.0
    items = []
    for key, count in sorted(leads.items(), key=lambda kv: (-kv[1], kv[0])):
        name = key or None
        won = cycles.get(key, {}).get("count", 0)
        monthly = costs.get(key)
        spent = round(monthly * months, 2) if monthly is not None else None
        items.append(
            {
                "channel": name,
                "leads": count,
                "won": won,
                "conversion": _ratio(won, count),
                "median_cycle_seconds": cycles.get(key, {}).get("median"),
                "monthly_cost": monthly,
                "cost": spent,
                "cost_per_lead": round(spent / count, 2) if spent is not None else None,
                "cost_per_won": round(spent / won, 2) if spent is not None and won else None,
            }
        )
    total_leads = sum(i["leads"] for i in items)
    total_won = sum(i["won"] for i in items)
    return _report(
        "channels",
        f,
        channels=items,
        leads=total_leads,
        won=total_won,
        conversion=_ratio(total_won, total_leads),
        months=round(months, 3),
    )


def cycle(
    db: Database, f: Filters, *, viewer: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """The sales cycle (creation to won) of the deals won in the period; the time in each
    stage, from entering it to entering the next, of the stays that began in the period and
    have ended; the time at each element of the elements done in the period."""
    with db.read() as s:
        sc = scope(s, f)
        deals = _deals(s, f, viewer)
        won = _won(f, sc, deals)
        sales_cycle = _percentiles(s, select(literal(1), _seconds(s, won.c.at, won.c.created_at)))
        in_stage: dict[Any, dict[str, Any]] = {}
        if sc.entries:
            first = _first(_entered(s, f, sc, deals), sc)
            stays = select(
                first.c.rank,
                first.c.e,
                func.lead(first.c.e)
                .over(partition_by=first.c.iid, order_by=(first.c.e, first.c.rank))
                .label("left"),
            ).subquery()
            in_stage = _percentiles(
                s,
                select(stays.c.rank, stays.c.left - stays.c.e).where(
                    stays.c.left.is_not(None), *_before(stays.c.e, f.until)
                ),
            )
        at_element = _percentiles(
            s,
            select(History.element_id, _seconds(s, History.at, History.entered_at)).where(
                History.element_id.in_(sorted(sc.timed)),
                *_within(History.at, f),
                History.entered_at.is_not(None),
                *_of_deals(History.instance_id, sc, deals),
            ),
        )
    return _report(
        "cycle",
        f,
        cycle=_stats(sales_cycle, 1),
        stages=[{"stage": n, **_stats(in_stage, r)} for r, n in enumerate(sc.names)],
        elements=[
            {
                "element_id": e,
                "element_name": sc.labels.get(e, e),
                "stage": sc.stages.get(e),
                **_stats(at_element, e),
            }
            for e in sorted(at_element, key=lambda e: (sc.order(sc.stages.get(e)), e))
        ],
    )


def reps(
    db: Database, f: Filters, *, viewer: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Per person: deals owned and running now, deals won in the period and their value, open
    tasks assigned and overdue now, and the median time from a task becoming ready (in the
    period) to the person's first action on it (a claim or the completion)."""
    now = now or clock.now()
    people: dict[str, dict[str, Any]] = {}

    def person(name: str | None) -> dict[str, Any]:
        return people.setdefault(
            name or "",
            {
                "user": name,
                "open_deals": 0,
                "won_deals": 0,
                "won_value": 0.0,
                "open_tasks": 0,
                "overdue_tasks": 0,
                "responses": 0,
                "median_response_seconds": None,
            },
        )

    with db.read() as s:
        sc = scope(s, f)
        deals = _deals(s, f, viewer)
        running = (
            select(Instance.owner, func.count())
            .where(*_deals(s, f, viewer, scan=True), Instance.status == "running")
            .group_by(Instance.owner)
        )
        for owner, n in s.execute(running):
            person(owner)["open_deals"] = n
        won = _won(f, sc, deals)
        value = select(won.c.owner, func.count(), func.sum(won.c.amount)).group_by(won.c.owner)
        for owner, n, amount in s.execute(value):
            person(owner).update(won_deals=n, won_value=float(amount or 0))
        tasks = (
            select(
                OpenTask.assignee,
                func.count(),
                func.sum(case((OpenTask.due_at < now, 1), else_=0)),
            )
            .where(*_tasks_of(sc, deals), OpenTask.assignee.is_not(None))
            .group_by(OpenTask.assignee)
        )
        for assignee, n, overdue in s.execute(tasks):
            person(assignee).update(open_tasks=n, overdue_tasks=int(overdue or 0))
        # A person's first action on a task (a claim or the completion); the completion
        # carries when the task became ready, the open task while it is still open.
        actions = (
            select(
                History.task_id.label("task_id"),
                History.actor.label("actor"),
                func.min(History.at).label("at"),
                func.max(History.entered_at).label("ready"),
            )
            .where(
                History.element_id.in_(sorted(sc.manual)),
                *_from(History.at, f.since),
                History.kind.in_(ACTION_KINDS),
                History.actor.is_not(None),
                History.task_id.is_not(None),
                *_of_deals(History.instance_id, sc, deals),
            )
            .group_by(History.task_id, History.actor)
            .subquery()
        )
        ready = func.coalesce(actions.c.ready, OpenTask.created_at)
        responses = _percentiles(
            s,
            select(actions.c.actor, _seconds(s, actions.c.at, ready))
            .outerjoin(OpenTask, OpenTask.task_id == actions.c.task_id)
            .where(*_within(ready, f)),
        )
        for actor, found in responses.items():
            person(actor).update(responses=found["count"], median_response_seconds=found["median"])
    items = sorted(people.values(), key=lambda p: (p["user"] is None, p["user"] or ""))
    return _report("reps", f, reps=items)


def stale(
    db: Database, f: Filters, *, viewer: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Stale deals now (engine.stale) per stage and owner, the stalest listed; open tasks
    past their SLA now, and escalated; SLA escalations in the period."""
    now = now or clock.now()
    blank = {"stale_deals": 0, "overdue_tasks": 0, "escalated_tasks": 0, "escalations": 0}
    by_stage: dict[str, dict[str, Any]] = {}
    by_owner: dict[str, dict[str, Any]] = {}

    def add(table: dict[str, dict[str, Any]], key_name: str, key: str | None, **n: Any) -> None:
        if not any(n.values()):
            return  # an open task with an SLA that is not due yet
        row = table.setdefault(key or "", {key_name: key, **blank})
        for name, value in n.items():
            row[name] += int(value or 0)

    with db.read() as s:
        sc = scope(s, f)
        deals = _deals(s, f, viewer)
        quiet = stale_clause(settings.stale_days(s), now)
        grouped = (
            select(Instance.stage, Instance.owner, func.count())
            .where(*deals, quiet)
            .group_by(Instance.stage, Instance.owner)
        )
        for stage_name, owner, n in s.execute(grouped):
            add(by_stage, "stage", stage_name, stale_deals=n)
            add(by_owner, "owner", owner, stale_deals=n)
        quiet_since = func.coalesce(Instance.activity_at, Instance.created_at)
        listed = s.execute(
            select(Instance.id, Instance.name, Instance.owner, Instance.stage, quiet_since)
            .where(*deals, quiet)
            .order_by(quiet_since, Instance.id)
            .limit(STALE_LIST)
        ).all()
        tasks = (
            select(
                OpenTask.stage,
                Instance.owner,
                func.sum(case((OpenTask.due_at < now, 1), else_=0)),
                func.sum(case((OpenTask.escalated_at.is_not(None), 1), else_=0)),
            )
            .join(Instance, Instance.id == OpenTask.instance_id)
            .where(*_deals(s, f, viewer, scan=True), OpenTask.due_at.is_not(None))
            .group_by(OpenTask.stage, Instance.owner)
        )
        for stage_name, owner, overdue, escalated in s.execute(tasks):
            add(by_stage, "stage", stage_name, overdue_tasks=overdue, escalated_tasks=escalated)
            add(by_owner, "owner", owner, overdue_tasks=overdue, escalated_tasks=escalated)
        escalations = (
            select(History.element_id, Instance.owner, func.count())
            .join(Instance, Instance.id == History.instance_id)
            .where(
                History.element_id.in_(sorted(sc.slas) or [""]),
                *_within(History.at, f),
                History.kind == "escalated",
                *deals,
            )
            .group_by(History.element_id, Instance.owner)
        )
        per_element: dict[str, int] = {}
        for element_id, owner, n in s.execute(escalations):
            add(by_stage, "stage", sc.stages.get(element_id or ""), escalations=n)
            add(by_owner, "owner", owner, escalations=n)
            per_element[element_id or ""] = per_element.get(element_id or "", 0) + n
    stage_rows = sorted(by_stage.values(), key=lambda r: (sc.order(r["stage"]), r["stage"] or ""))
    return _report(
        "stale",
        f,
        **{k: sum(r[k] for r in stage_rows) for k in blank},
        stages=stage_rows,
        owners=sorted(by_owner.values(), key=lambda r: (r["owner"] is None, r["owner"] or "")),
        elements=[
            {
                "element_id": e,
                "element_name": sc.labels.get(e, e),
                "stage": sc.stages.get(e),
                "escalations": n,
            }
            for e, n in sorted(per_element.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        deals=[
            {
                "instance_id": str(iid),
                "name": name,
                "owner": owner,
                "stage": stage_name,
                "activity_at": iso(since),
                "quiet_days": round((now - since).total_seconds() / 86400, 1),
            }
            for iid, name, owner, stage_name, since in listed
        ],
    )


def heat(
    db: Database,
    f: Filters,
    *,
    viewer: str | None = None,
    median_seconds: Mapping[str, float] | None = None,
) -> Heat:
    """A heatmap of the deals in scope (diagrams/): how many running deals wait at each
    element now, and the median times at elements (from `cycle`) when given."""
    with db.read() as s:
        sc = scope(s, f)
        deals = _deals(s, f, viewer)
        here = s.execute(
            select(OpenTask.element_id, func.count(func.distinct(OpenTask.instance_id)))
            .where(*_tasks_of(sc, deals))
            .group_by(OpenTask.element_id)
        ).all()
        count = s.scalar(select(func.count()).select_from(Instance).where(*deals)) or 0
    return Heat(
        deals=count,
        here_now={element: n for element, n in here},
        median_seconds=dict(median_seconds or {}),
    )


# --- costs per channel ------------------------------------------------------------------------


def channel_costs(s: Session) -> dict[str, float]:
    """Channel -> monthly spend, as set (engine.settings, key `channel_costs`)."""
    value = settings.get(s, COSTS_KEY) or {}
    return {str(k): float(v) for k, v in dict(value).items()}


def set_channel_costs(
    db: Database, costs: Mapping[str, Any], *, actor: str | None = None
) -> dict[str, float]:
    """Set every channel's monthly spend at once (an empty value removes one); a
    ValidationError names the channel whose value is not an amount from 0."""
    clean: dict[str, float] = {}
    for raw_name, raw in costs.items():
        name = str(raw_name).strip()
        if not name or len(name) > 80:
            raise ValidationError("a channel is named by 1 to 80 characters", field="channel")
        if raw is None or str(raw).strip() == "":
            continue
        try:
            amount = Decimal(str(raw).strip().replace(",", ""))
        except InvalidOperation:
            raise ValidationError(f"'{raw}' is not an amount", field=name) from None
        if not amount.is_finite() or amount < 0 or amount >= MAX_COST:
            raise ValidationError(f"'{raw}' is not an amount from 0", field=name)
        clean[name] = float(round(amount, 2))
    with db.write() as s:
        settings.store(s, COSTS_KEY, clean or None, actor=actor)
    return clean
