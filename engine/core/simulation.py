"""What-if simulation: many deals walked through a process chart at once, to see what a change
of the process would do before it is rolled out.  Pure: a Graph and fitted figures in, a
result out; no database, no clock reads, and the same seed gives the same answer.

Why on the graph and not on SpiffWorkflow: a year of a few thousand deals is some hundred
thousand steps, and the conditions of the gateways read data no simulated deal has.  So each
gateway's way out is drawn by how often deals took it (measured from history, or set by the
designer as a `probability` property on a new flow), and each element takes as long as a stay
there drawn from history (or the designer's `duration` property, on the team's calendar).

People are the limit: every human task is done by someone holding its lane's role, and a role
has as many *slots* as its people can keep in hand at once (history says how many deals a
person of the role worked on at the same time).  A task waits while every slot is taken: that
wait, per task and per role, is where a change makes a queue (the bottleneck).  Time is in
days from the start of the run.

Bounds: at most MAX_DEALS deals, MAX_WEEKS weeks, MAX_STEPS elements per deal and
MAX_RUN_STEPS in all (a loop that never ends stops there and its deals are counted as cut), so
a hostile or broken chart cannot run unbounded.
"""

from __future__ import annotations

import functools
import math
import random
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import simpy

from engine.core.calendar import Calendar, parse_duration
from engine.core.graph import GATEWAY_KINDS, SUBPROCESS_KINDS, TASK_KINDS, Graph, Node
from engine.core.roles import role_key
from engine.errors import DefinitionError, ValidationError

__all__ = [
    "MAX_DEALS",
    "MAX_WEEKS",
    "Fitted",
    "Hints",
    "Outcome",
    "hints_from_xml",
    "percentile",
    "simulate",
    "summarise",
    "workday_ratio",
]

MAX_WEEKS = 260  # five years
MAX_DEALS = 50_000
MAX_STEPS = 400  # elements one deal passes; a loop beyond it is cut (and counted)
MAX_RUN_STEPS = 2_000_000  # elements all deals of a run pass: past it, every deal is cut
DEFAULT_SLOTS = 8  # deals one person keeps in hand at once when history does not say
PROGRESS_STEPS = 20  # how often a run reports how far it is
# Done by a person of the lane; every other activity runs by itself (scripts, rules, ...).
MANUAL_KINDS = frozenset({"userTask", "manualTask", "task"})
ACTIVITY_KINDS = TASK_KINDS | SUBPROCESS_KINDS

Progress = Callable[[int, int], None]
Steps = Generator[Any, Any, None]  # a simpy process


@dataclass(frozen=True)
class Hints:
    """What the designer wrote for the simulation into the file: a `duration` (ISO 8601,
    working time) per element and a `probability` (per cent) per sequence flow."""

    durations: Mapping[str, float] = field(default_factory=dict)  # element -> calendar days
    probabilities: Mapping[str, float] = field(default_factory=dict)  # flow id -> weight


@dataclass(frozen=True)
class Fitted:
    """The team's figures the simulation runs on (engine.usecases.simulation fits them)."""

    arrivals_per_week: float
    durations: Mapping[str, Sequence[float]] = field(default_factory=dict)  # element -> days
    branches: Mapping[str, float] = field(default_factory=dict)  # flow id -> times taken
    # boundary event id -> (share of its activity's stays it fired on, days after the start)
    boundaries: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    slots: Mapping[str, int] = field(default_factory=dict)  # role key -> per person
    people: Mapping[str, int] = field(default_factory=dict)  # role key -> active users
    won: frozenset[str] = frozenset()  # reaching one of these elements wins the deal
    # element -> factor on its durations: a change an initiative proposes (0.8: 20% faster)
    changes: Mapping[str, float] = field(default_factory=dict)


@dataclass
class _Records:
    """What one run saw, within its window [start, end)."""

    start: float
    end: float
    waits: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    works: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    role_waits: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    busy: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    present: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    waiting: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    role_waiting: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    # deals: (arrived, won at or None, ended at or None)
    deals: list[list[float | None]] = field(default_factory=list)
    cut: int = 0  # deals stopped at MAX_STEPS

    def overlap(self, begin: float, finish: float) -> float:
        return max(0.0, min(finish, self.end) - max(begin, self.start))


@dataclass(frozen=True)
class Outcome:
    """A run: the window it measured and what it saw there (`summarise` makes the figures)."""

    graph: Graph
    process_id: str
    fitted: Fitted
    records: _Records
    sources: Mapping[str, str]  # element -> where its duration came from
    capacity: Mapping[str, int]  # role key -> slots in all
    role_names: Mapping[str, str]  # role key -> the lane's name


def workday_ratio(calendar: Calendar) -> float:
    """Calendar days per working day (7/5 for Monday to Friday): a designer's `P2D` is two
    working days, which the simulation's calendar-day clock sees as this many times two."""
    days = len(calendar.hours.weekdays)
    return 7.0 / days


def hints_from_xml(xml: str | bytes, calendar: Calendar, *, file: str | None = None) -> Hints:
    """The designer's simulation properties of a BPMN file; a `duration` that is not an ISO
    8601 duration is a DefinitionError naming the file, line and element."""
    from engine.core.graph_xml import MODEL, SPIFF, parse_definitions

    root = parse_definitions(xml, file)
    path = f"{{{MODEL}}}extensionElements/{{{SPIFF}}}properties/{{{SPIFF}}}property"
    durations: dict[str, float] = {}
    probabilities: dict[str, float] = {}
    day = calendar.hours.day_seconds or 86400
    for element in root.iter():
        ident = element.get("id") if isinstance(element.tag, str) else None
        if ident is None:
            continue
        for prop in element.iterfind(path):
            name, value = prop.get("name"), (prop.get("value") or "").strip()
            where = {"file": file, "line": prop.sourceline, "element_id": ident}
            if name == "duration":
                try:
                    span = parse_duration(value)
                except ValueError as exc:
                    raise DefinitionError(f"duration: {exc}", **where) from None
                working = (span.weeks * len(calendar.hours.weekdays) + span.days) + (
                    span.seconds / day
                )
                durations[ident] = working * workday_ratio(calendar)
            elif name == "probability":
                try:
                    share = float(value.rstrip("%"))
                except ValueError:
                    share = -1.0
                if not 0 <= share <= 100:
                    raise DefinitionError(
                        f"probability '{value}' is not a share between 0 and 100 (per cent)",
                        **where,
                    )
                probabilities[ident] = share
    return Hints(durations=durations, probabilities=probabilities)


class _Chart:
    """The graph of one process, ready to walk: flows out of and into each node."""

    def __init__(self, graph: Graph, process_id: str) -> None:
        nodes = [
            n
            for n in graph.nodes
            if n.process_id == process_id and n.parent_id is None and n.kind != "unknown"
        ]
        self.nodes: dict[str, Node] = {n.id: n for n in nodes}
        lanes = {lane.id: lane.name for lane in graph.lanes}
        self.role: dict[str, str] = {}
        self.role_names: dict[str, str] = {}
        for n in nodes:
            if n.lane_id in lanes:
                self.role[n.id] = role_key(lanes[n.lane_id])
                self.role_names.setdefault(role_key(lanes[n.lane_id]), lanes[n.lane_id])
        self.out: dict[str, list[tuple[str, str, bool]]] = defaultdict(list)  # (flow, to, cond)
        self.incoming: dict[str, int] = defaultdict(int)
        for e in graph.edges:
            if e.kind == "sequenceFlow" and e.source in self.nodes and e.target in self.nodes:
                conditional = e.condition is not None or e.is_default
                self.out[e.source].append((e.id, e.target, conditional))
                self.incoming[e.target] += 1
        self.boundaries: dict[str, list[Node]] = defaultdict(list)
        for n in nodes:
            if n.kind == "boundaryEvent" and n.attached_to:
                self.boundaries[n.attached_to].append(n)
        self.starts = [
            n.id
            for n in nodes
            if n.kind == "startEvent" and not n.triggered and not self.incoming[n.id]
        ]
        if not self.starts:
            raise DefinitionError(
                f"process '{process_id}' has no start event to simulate from",
                element_id=process_id,
            )

    def manual(self, node_id: str) -> bool:
        return self.nodes[node_id].kind in MANUAL_KINDS


def _durations(
    chart: _Chart, fitted: Fitted, hints: Hints
) -> tuple[dict[str, tuple[float, ...]], dict[str, str]]:
    """Element -> the stays to draw from, and where they came from: the designer's
    `duration`, else history (times an initiative's change), else the median of the role's
    other tasks for a new human task, else none (it takes no time)."""
    per_role: defaultdict[str, list[float]] = defaultdict(list)
    for node_id, days in fitted.durations.items():
        if node_id in chart.nodes and chart.manual(node_id) and node_id in chart.role:
            per_role[chart.role[node_id]].extend(days)
    stays: dict[str, tuple[float, ...]] = {}
    sources: dict[str, str] = {}
    for node_id, node in chart.nodes.items():
        if node.kind in GATEWAY_KINDS or node.kind in ("startEvent", "endEvent"):
            continue
        factor = fitted.changes.get(node_id, 1.0)
        if node_id in hints.durations:
            stays[node_id], sources[node_id] = (hints.durations[node_id],), "designer"
        elif fitted.durations.get(node_id):
            stays[node_id] = tuple(d * factor for d in fitted.durations[node_id])
            sources[node_id] = "history"
        elif chart.manual(node_id) and per_role.get(chart.role.get(node_id, "")):
            role_days = sorted(per_role[chart.role[node_id]])
            stays[node_id], sources[node_id] = (percentile(role_days, 0.5) * factor,), "role"
        else:
            stays[node_id], sources[node_id] = (0.0,), "none"
    return stays, sources


def _capacity(chart: _Chart, fitted: Fitted) -> dict[str, int]:
    """Role key -> slots in all: its people times the deals one of them keeps in hand.  A
    role nobody holds still gets one slot (its tasks would wait forever otherwise); the
    use case warns about it."""
    roles = {chart.role[n] for n in chart.nodes if chart.manual(n) and n in chart.role}
    return {
        role: max(1, fitted.people.get(role, 0)) * max(1, fitted.slots.get(role, DEFAULT_SLOTS))
        for role in roles
    }


_MASK = (1 << 64) - 1


def _mix(x: int) -> int:
    """splitmix64's finaliser: 64 well-mixed bits from any integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


@functools.lru_cache(maxsize=4096)
def _key(text: str) -> int:
    return _mix(zlib.crc32(text.encode("utf-8")))


class _Draws:
    """A deal's random numbers, one per step: (what is drawn, how many times before).  The
    current version and a draft draw the same number for the same step of the same deal
    (common random numbers), so a change shows its own effect rather than another roll of
    the dice."""

    def __init__(self, seed: int, n: int) -> None:
        self.base = _mix(_mix(seed) ^ n)
        self.visits: Counter[str] = Counter()

    def unit(self, what: str) -> float:
        """A number in [0, 1)."""
        self.visits[what] += 1
        return _mix(self.base ^ _key(what) ^ _mix(self.visits[what])) / 2**64

    def choice(self, what: str, items: Sequence[str], weights: Sequence[float]) -> str:
        point = self.unit(what) * sum(weights)
        for item, weight in zip(items, weights, strict=True):
            point -= weight
            if point < 0:
                return item
        return items[-1]


@dataclass
class _Deal:
    """One simulated deal while it runs: its draws, its record (arrived, won, finished), the
    event its end succeeds, and its tokens' shared state."""

    rng: _Draws
    record: list[float | None]
    finished: simpy.Event
    alive: int = 0  # tokens still on their way
    steps: int = 0  # elements passed (MAX_STEPS)
    joins: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    done: bool = False  # terminated, or cut at MAX_STEPS


class _Run:
    """One simulation: the simpy environment, the roles' slots and the records."""

    def __init__(
        self,
        chart: _Chart,
        fitted: Fitted,
        hints: Hints,
        seed: int,
        records: _Records,
    ) -> None:
        self.env = simpy.Environment()
        self.chart, self.fitted, self.hints, self.seed = chart, fitted, hints, seed
        self.records = records
        self.stays, self.sources = _durations(chart, fitted, hints)
        self.capacity = _capacity(chart, fitted)
        self.slots = {role: simpy.Resource(self.env, n) for role, n in self.capacity.items()}
        self.open: dict[int, tuple[str, str, float, float | None]] = {}  # under way
        self.count = 0
        self.steps = 0  # elements passed by every deal so far (MAX_RUN_STEPS)

    # --- a deal ------------------------------------------------------------------------

    def deal(self, n: int, arrived: float) -> Steps:
        """One deal, from its start events until no token of it is left (or it terminated)."""
        d = _Deal(_Draws(self.seed, n), [arrived, None, None], self.env.event())
        self.records.deals.append(d.record)
        for start in self.chart.starts:
            d.alive += 1
            self.env.process(self.token(start, d))
        yield d.finished

    def token(self, node_id: str, d: _Deal) -> Steps:
        chart = self.chart
        while node_id and not d.done:
            d.steps += 1
            self.steps += 1
            if d.steps > MAX_STEPS or self.steps > MAX_RUN_STEPS:
                self.records.cut += 1
                d.done = True
                break
            node = chart.nodes[node_id]
            if node_id in self.fitted.won and d.record[1] is None:
                d.record[1] = self.env.now
            if node.kind in ACTIVITY_KINDS or node.kind == "intermediateCatchEvent":
                away = yield from self.work(node, d)
                # An interrupting boundary event took the deal its own way, else on from here.
                node_id = self.next_after(node.id if away is None else away, d)
                continue
            if node.kind == "endEvent" and node.event == "terminate":
                d.done = True
                break
            if node.kind == "parallelGateway" and chart.incoming[node_id] > 1:
                d.joins[node_id] += 1
                if d.joins[node_id] < chart.incoming[node_id]:
                    break  # the others are still on their way
                d.joins[node_id] = 0
            node_id = self.next_after(node_id, d)
        d.alive -= 1
        if (d.alive <= 0 or d.done) and not d.finished.triggered:
            d.record[2] = self.env.now
            d.finished.succeed()

    def next_after(self, node_id: str, d: _Deal) -> str:
        """Where a token goes on from `node_id` ("" when nowhere): one way drawn by its
        frequency at a choice, every way at a parallel split (extra tokens started here)."""
        ways = self.chart.out.get(node_id, [])
        if not ways:
            return ""
        node = self.chart.nodes[node_id]
        choose = node.kind in GATEWAY_KINDS - {"parallelGateway"} or any(c for _, _, c in ways)
        if len(ways) == 1 or not choose:
            for _flow, target, _c in ways[1:]:
                d.alive += 1
                self.env.process(self.token(target, d))
            return ways[0][1]
        weights = [self.weight(flow) for flow, _t, _c in ways]
        if sum(weights) <= 0:
            weights = [1.0] * len(ways)
        return d.rng.choice(f"way:{node_id}", [t for _f, t, _c in ways], weights)

    def weight(self, flow: str) -> float:
        if flow in self.hints.probabilities:
            return self.hints.probabilities[flow]
        return float(self.fitted.branches.get(flow, 0.0))

    def draw(self, node_id: str, rng: _Draws) -> float:
        stays = self.stays.get(node_id, (0.0,))
        return stays[min(len(stays) - 1, int(rng.unit(f"stay:{node_id}") * len(stays)))]

    def work(self, node: Node, d: _Deal) -> Generator[Any, Any, str | None]:
        """An activity or a waiting event: wait for a slot of its role (human tasks), then
        take its time; boundary events fire on a share of its stays.  Returns the
        interrupting boundary event that took the deal away, else None."""
        env = self.env
        asked = env.now
        work = self.draw(node.id, d.rng)
        role = self.chart.role.get(node.id, "") if self.chart.manual(node.id) else ""
        key = self.count = self.count + 1
        self.open[key] = (node.id, role, asked, None)
        request = self.slots[role].request() if role in self.slots else None
        if request is not None:
            yield request
        begun = env.now
        self.open[key] = (node.id, role, asked, begun)
        away = ""
        for boundary in self.chart.boundaries.get(node.id, ()):
            share, after = self.fitted.boundaries.get(boundary.id, (0.0, 0.0))
            if d.rng.unit(f"fires:{boundary.id}") >= share:
                continue
            if boundary.interrupting and not away and after < work:
                work, away = after, boundary.id
            elif not boundary.interrupting:
                d.alive += 1
                env.process(self.later(boundary.id, after, d))
        if work > 0:
            yield env.timeout(work)
        if request is not None:
            self.slots[role].release(request)
        del self.open[key]
        self.note(node.id, role, asked, begun, env.now)
        return away or None

    def later(self, boundary: str, after: float, d: _Deal) -> Steps:
        """A non-interrupting boundary event: its way starts `after` days into the task."""
        yield self.env.timeout(after)
        target = "" if d.done else self.next_after(boundary, d)
        yield from self.token(target, d)

    def note(self, node_id: str, role: str, asked: float, begun: float, ended: float) -> None:
        r = self.records
        if r.start <= asked < r.end:
            r.waits[node_id].append(begun - asked)
            r.works[node_id].append(ended - begun)
            if role:
                r.role_waits[role].append(begun - asked)
        r.present[node_id] += r.overlap(asked, ended)
        r.waiting[node_id] += r.overlap(asked, begun)
        if role:
            r.busy[role] += r.overlap(begun, ended)
            r.role_waiting[role] += r.overlap(asked, begun)

    def close(self) -> None:
        """Count what is still under way at the end of the run."""
        now = self.env.now
        for node_id, role, asked, begun in self.open.values():
            start = now if begun is None else begun
            self.records.present[node_id] += self.records.overlap(asked, now)
            self.records.waiting[node_id] += self.records.overlap(asked, start)
            if role:
                self.records.busy[role] += self.records.overlap(start, now)
                self.records.role_waiting[role] += self.records.overlap(asked, start)

    def arrivals(self, times: Sequence[float]) -> Steps:
        for n, at in enumerate(times):
            if at > self.env.now:
                yield self.env.timeout(at - self.env.now)
            self.env.process(self.deal(n, at))


def arrival_times(rate_per_week: float, days: float, seed: int) -> list[float]:
    """When deals arrive: a Poisson stream of `rate_per_week`, over `days`."""
    if rate_per_week <= 0:
        return []
    expected = rate_per_week * days / 7
    if expected > MAX_DEALS:
        raise ValidationError(
            f"about {expected:,.0f} deals to simulate, more than {MAX_DEALS:,}: simulate "
            "fewer weeks",
            field="weeks",
        )
    rng = random.Random(seed)
    times: list[float] = []
    at = 0.0
    while True:
        at += rng.expovariate(rate_per_week / 7)
        if at >= days or len(times) >= MAX_DEALS:
            return times
        times.append(at)


def simulate(
    graph: Graph,
    process_id: str,
    fitted: Fitted,
    *,
    days: float,
    warmup_days: float = 0.0,
    seed: int = 1,
    hints: Hints | None = None,
    arrivals: Sequence[float] | None = None,
    progress: Progress | None = None,
) -> Outcome:
    """Run the process for `warmup_days` (not measured: the team's desks fill up) and then
    `days` (measured), deals arriving as `fitted` says (or at `arrivals`, days from the
    start: a past period replayed).  `progress(step, PROGRESS_STEPS)` as the run goes."""
    if not 0 < days <= MAX_WEEKS * 7:
        raise ValidationError(f"a simulation covers 1 to {MAX_WEEKS} weeks", field="weeks")
    chart = _Chart(graph, process_id)
    horizon = warmup_days + days
    records = _Records(start=warmup_days, end=horizon)
    run = _Run(chart, fitted, hints or Hints(), seed, records)
    times = (
        list(arrivals)
        if arrivals is not None
        else arrival_times(fitted.arrivals_per_week, horizon, seed)
    )
    run.env.process(run.arrivals(times[:MAX_DEALS]))
    for step in range(1, PROGRESS_STEPS + 1):
        run.env.run(until=horizon * step / PROGRESS_STEPS)
        if progress is not None:
            progress(step, PROGRESS_STEPS)
    run.close()
    return Outcome(
        graph=graph,
        process_id=process_id,
        fitted=fitted,
        records=records,
        sources=run.sources,
        capacity=run.capacity,
        role_names=chart.role_names,
    )


# --- figures ------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) of sorted `values`, linear between neighbours; 0 for none."""
    if not values:
        return 0.0
    position = (len(values) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return values[low] + (values[high] - values[low]) * (position - low)


def _days(value: float) -> float:
    return round(value, 2)


def cycles(outcome: Outcome, *, cohort: bool = False) -> list[float]:
    """Sorted sales cycles (days from arrival to the win) of the deals won in the window;
    `cohort`: of the deals that also arrived in it (a past period replayed)."""
    r = outcome.records
    found = []
    for arrived, won, _ended in r.deals:
        if won is None or arrived is None or not r.start <= won < r.end:
            continue
        if cohort and not r.start <= arrived < r.end:
            continue
        found.append(won - arrived)
    return sorted(found)


def _histogram(values: Sequence[float]) -> list[dict[str, float]]:
    """Cycle days in about ten bins of a round width."""
    if not values:
        return []
    top = max(values)
    width = next((w for w in (1, 2, 5, 7, 10, 14, 30, 60, 90) if top / w <= 12), 180)
    bins: defaultdict[int, int] = defaultdict(int)
    for v in values:
        bins[int(v // width)] += 1
    return [
        {"from": b * width, "to": (b + 1) * width, "deals": bins.get(b, 0)}
        for b in range(int(top // width) + 1)
    ]


def summarise(outcome: Outcome) -> dict[str, Any]:
    """The figures of a run: cycle time distribution, wins per month, roles and tasks with
    their queues and waits, the bottleneck, and the heat of the chart."""
    r = outcome.records
    window = max(r.end - r.start, 1e-9)
    cycle = cycles(outcome)
    chart_nodes = {n.id: n for n in outcome.graph.nodes}
    roles = []
    for role, slots in sorted(outcome.capacity.items()):
        waits = sorted(r.role_waits.get(role, []))
        roles.append(
            {
                "role": outcome.role_names.get(role, role),
                "people": outcome.fitted.people.get(role, 0),
                "slots": slots,
                "utilisation": round(r.busy.get(role, 0.0) / (slots * window), 3),
                "wait_days_p50": _days(percentile(waits, 0.5)),
                "wait_days_p90": _days(percentile(waits, 0.9)),
                "queue": round(r.role_waiting.get(role, 0.0) / window, 2),
            }
        )
    tasks = []
    for node_id in sorted(outcome.sources, key=lambda n: _order(outcome.graph, n)):
        node = chart_nodes[node_id]
        if node.kind not in ACTIVITY_KINDS and node.kind != "intermediateCatchEvent":
            continue
        if outcome.sources[node_id] == "none" and node.kind not in MANUAL_KINDS:
            continue  # a script or a rule: it takes no time and nobody's hands
        waits, works = sorted(r.waits.get(node_id, [])), sorted(r.works.get(node_id, []))
        tasks.append(
            {
                "element_id": node_id,
                "name": node.name or node_id,
                "role": outcome.role_names.get(_role_of(outcome, node_id), ""),
                "count": len(works),
                "wait_days_p50": _days(percentile(waits, 0.5)),
                "work_days_p50": _days(percentile(works, 0.5)),
                "queue": round(r.waiting.get(node_id, 0.0) / window, 2),
                "deals_here": round(r.present.get(node_id, 0.0) / window, 2),
                "source": outcome.sources[node_id],
            }
        )
    arrived = sum(1 for a, _w, _e in r.deals if a is not None and r.start <= a < r.end)
    return {
        "deals": arrived,
        "won": len(cycle),
        "cut": r.cut,
        "cycle_days": {
            "p50": _days(percentile(cycle, 0.5)),
            "p90": _days(percentile(cycle, 0.9)),
            "histogram": _histogram(cycle),
        },
        "won_per_month": round(len(cycle) / (window / (365.25 / 12)), 2),
        "roles": roles,
        "tasks": tasks,
        "bottleneck": _bottleneck(tasks),
    }


def _role_of(outcome: Outcome, node_id: str) -> str:
    for node in outcome.graph.nodes:
        if node.id == node_id and node.lane_id:
            lane = next((la for la in outcome.graph.lanes if la.id == node.lane_id), None)
            if lane is not None and node.kind in MANUAL_KINDS:
                return role_key(lane.name)
    return ""


def _order(graph: Graph, node_id: str) -> tuple[float, float, str]:
    """Tasks in the order of the chart: left to right, top to bottom."""
    for node in graph.nodes:
        if node.id == node_id and node.bounds is not None:
            return (node.bounds.x, node.bounds.y, node_id)
    return (math.inf, math.inf, node_id)


def _bottleneck(tasks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The task where deals queue the most for someone free; when nobody queues, the one
    where deals spend the most time ("time")."""
    queued = [t for t in tasks if t["queue"] > 0.005]
    if queued:
        top = max(queued, key=lambda t: (t["queue"], t["element_id"]))
        return {**_brief(top), "reason": "queue"}
    held = [t for t in tasks if t["deals_here"] > 0]
    if held:
        top = max(held, key=lambda t: (t["deals_here"], t["element_id"]))
        return {**_brief(top), "reason": "time"}
    return None


def _brief(task: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("element_id", "name", "role", "wait_days_p50", "work_days_p50", "queue")
    return {k: task[k] for k in keys}


def heat_figures(outcome: Outcome) -> tuple[int, dict[str, int], dict[str, float]]:
    """The heat of a run, for drawing: deals it had, deals at each element on an average
    day (rounded), and the median stay there (wait and work) in seconds."""
    r = outcome.records
    window = max(r.end - r.start, 1e-9)
    here = {n: round(v / window) for n, v in r.present.items() if round(v / window) > 0}
    stays = {}
    for node_id, works in r.works.items():
        total = sorted(w + q for w, q in zip(works, r.waits.get(node_id, []), strict=False))
        median = percentile(total, 0.5) if total else 0.0
        if median > 0:  # a script or a rule takes no time: no note on it
            stays[node_id] = median * 86400
    return len(r.deals), here, stays
