"""What-if simulation of a process change (issue 17): the current version and a designer's
draft (or the change an optimisation initiative proposes) run side by side on the team's own
history, with a validation figure that says how far to trust them.

What is fitted from history (the deals of the process started in the last FIT_WEEKS weeks):
arrivals per week and channel, each element's stays (history rows carry when it became ready
and when it was done), how often each way out of a choice was taken (the element that
followed the choice in each deal's history), how often a boundary event fired and how long
after its task began, how many deals one person of a role had in hand at once (its slots),
and the people holding each role now.  The simulation itself is engine.core.simulation.

Validation: the current version is run over the fitting period again, its deals arriving when
the real ones did; the median sales cycle and the number won of that cohort, simulated and
actual, must agree within TOLERANCE.  The figure is in-sample: it tells how well the model
reproduces the past, not that the future will be the same.

Who may: sales managers, designers and admins (`may_simulate`).  A draft is the asking
designer's own, else the one saved last by anyone (a manager looks at the designer's).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.core import simulation as sim
from engine.core.calendar import Calendar
from engine.core.graph import GATEWAY_KINDS, Graph, graph_from_xml
from engine.core.roles import PROCESS_VIEWERS, role_key
from engine.core.stages import STAGE_ORDER
from engine.errors import DefinitionError, ForbiddenError, NotFoundError, ValidationError
from engine.store import deployments as versions
from engine.store import team_settings, users
from engine.store.models import (
    DefinitionDraft,
    History,
    Initiative,
    InitiativeRow,
    Instance,
    OpenTask,
    User,
    UserRole,
)
from engine.usecases.base import UseCases
from engine.usecases.charts import cached_graph, process_file
from engine.usecases.initiatives import table

__all__ = [
    "DEFAULT_FASTER",
    "DEFAULT_SEED",
    "DEFAULT_WEEKS",
    "MAX_WEEKS",
    "TOLERANCE",
    "SimulationCases",
    "may_simulate",
]

DEFAULT_WEEKS = 52
MAX_WEEKS = sim.MAX_WEEKS  # what the pages and the API offer
DEFAULT_SEED = 1
DEFAULT_FASTER = 20  # per cent: an initiative's tasks done this much faster, unless told
FIT_WEEKS = 52  # the history the figures are fitted on
TOLERANCE = 0.25  # validation: simulated within 25% of actual ...
CYCLE_SLACK_DAYS = 2.0  # ... or within this many days of the median cycle
WON_SLACK = 3  # ... or within this many deals won
DEFAULT_WARMUP_DAYS = 60.0
FEW_DEALS = 20  # fewer deals than this in history: the figures are rough
WON_STAGES = frozenset(s for s in STAGE_ORDER[STAGE_ORDER.index("won") :] if s != "lost")
WORK_KINDS = ("completed", "timer", "message", "signal", "escalation", "error")

Progress = Callable[[str, int, int], None]  # (phase, step, steps)


def may_simulate(roles: Iterable[str]) -> bool:
    """Whether someone holding `roles` may simulate process changes: managers, designers,
    admins (those who change or steer the process)."""
    return bool(set(roles) & PROCESS_VIEWERS)


@dataclass(frozen=True)
class _History:
    """What the fit saw of the past: the period, its deals and their sales cycles."""

    since: datetime
    until: datetime
    deals: list[tuple[float, float | None]]  # (created, won) in days from `since`
    channels: Counter[str]

    @property
    def days(self) -> float:
        return max((self.until - self.since).total_seconds() / 86400, 1.0)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _days(a: datetime, b: datetime) -> float:
    return (_aware(b) - _aware(a)).total_seconds() / 86400


class SimulationCases(UseCases):
    """Simulate a process's current version beside a draft or an initiative's change."""

    def check_may_simulate(self, actor: str | None) -> None:
        """ForbiddenError unless `actor` may simulate (None: the command line may)."""
        if actor is None:
            return
        with self.db.read() as s:
            if not may_simulate(users.roles_of(s, actor)):
                raise ForbiddenError(
                    f"{actor} may not simulate process changes (managers, designers, admins)"
                )

    def simulate(
        self,
        process_id: str,
        *,
        actor: str | None,
        draft: bool = False,
        initiative: int | str | None = None,
        faster: int = DEFAULT_FASTER,
        weeks: int = DEFAULT_WEEKS,
        seed: int = DEFAULT_SEED,
        lang: str | None = None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """The current version (and, with `draft` or `initiative`, the change) simulated
        over `weeks` on the team's history; the same seed gives the same answer."""
        _check_numbers(weeks, seed, faster)
        self.check_may_simulate(actor)
        now = clock.now()
        with self.db.read() as s:
            row = versions.version_row(s, process_id, None)
            graph = cached_graph(self.space, row)
            current_xml = process_file(dict(row.files), process_id)
            calendar = team_settings.sla_calendar(s)
            changes: dict[str, float] = {}
            ini_record = None
            if initiative is not None:
                ini = table.find(s, initiative)
                if ini.process_id != process_id:
                    raise ValidationError(
                        f"initiative {ini.id} improves '{ini.process_id}', not '{process_id}'",
                        field="initiative",
                    )
                elements = _initiative_elements(s, ini.id)
                changes = dict.fromkeys(elements, 1 - faster / 100)
                ini_record = {"id": ini.id, "name": ini.name, "elements": sorted(elements)}
            draft_row = _draft(s, process_id, actor) if draft else None
            fitted, history = _fit(s, process_id, graph, now, calendar)
            texts = self.version(s, row.id).texts(lang) if lang else None
        current_hints = _hints(current_xml, calendar, "process")
        warmup = _warmup(history)
        total_days = weeks * 7
        phases = 3 if draft_row is not None or changes else 2

        def step(phase: str) -> sim.Progress | None:
            if progress is None:
                return None
            return lambda done, steps: progress(phase, done, steps)

        current = sim.simulate(
            graph, process_id, fitted, days=total_days, warmup_days=warmup, seed=seed,
            hints=current_hints, progress=step("current"),
        )  # fmt: skip
        validation = _validate(graph, process_id, fitted, history, current_hints, seed, step)
        result: dict[str, Any] = {
            "process_id": process_id,
            "version": row.version,
            "weeks": weeks,
            "seed": seed,
            "history": _history_record(history, fitted, calendar),
            "current": {**_record(current, calendar, texts), "validation": validation},
            "draft": None,
            "change": None,
            "warnings": _warnings(graph, process_id, fitted, history, current),
            "phases": phases,
        }
        if draft_row is None and not changes:
            return result
        if draft_row is not None:
            name, xml = process_file(dict(draft_row.files), process_id)
            draft_graph = graph_from_xml(xml, file=name)
            draft_hints = _hints((name, xml), calendar, "draft")
            result["change"] = {
                "kind": "draft",
                "saved_by": draft_row.saved_by,
                "saved_at": clock.iso(draft_row.saved_at),
                "base_version": draft_row.base_version,
            }
        else:
            draft_graph, draft_hints = graph, current_hints
        if changes:
            fitted = _with_changes(fitted, changes)
            result["change"] = {
                **(result["change"] or {"kind": "initiative"}),
                "initiative": ini_record,
                "faster": faster,
            }
        proposed = sim.simulate(
            draft_graph, process_id, fitted, days=total_days, warmup_days=warmup, seed=seed,
            hints=draft_hints, progress=step("draft"),
        )  # fmt: skip
        result["draft"] = {**_record(proposed, calendar, texts), "validation": validation}
        more = _warnings(draft_graph, process_id, fitted, None, proposed)
        result["warnings"] += [w for w in more if w not in result["warnings"]]
        return result

    def simulation_graph(
        self, process_id: str, *, actor: str | None, draft: bool, lang: str | None = None
    ) -> tuple[Graph, str]:
        """The chart the draft's heatmap is drawn on (the current version's without a draft),
        its labels in `lang`, and a key naming its layout for caching."""
        with self.db.read() as s:
            row = versions.version_row(s, process_id, None)
            graph = cached_graph(self.space, row)
            key = f"{row.content_hash}:{process_id}"
            draft_row = _draft(s, process_id, actor) if draft else None
            if draft_row is not None:
                name, xml = process_file(dict(draft_row.files), process_id)
                graph = graph_from_xml(xml, file=name)
                key = f"draft:{draft_row.id}:{clock.iso(draft_row.saved_at)}"
            if lang:
                texts = self.version(s, row.id).texts(lang)
                if texts.translated:
                    graph, key = texts.graph(graph), f"{key}:{texts.locale}"
        return graph, key

    def simulation_choices(self, process_id: str, actor: str | None) -> dict[str, Any]:
        """What the simulation page offers: whether there is a draft to simulate, and the
        process's initiatives."""
        with self.db.read() as s:
            versions.version_row(s, process_id, None)  # NotFoundError
            found = _draft(s, process_id, actor, required=False)
            initiatives = [
                {"id": i.id, "name": i.name}
                for i in s.scalars(
                    select(Initiative)
                    .where(Initiative.process_id == process_id)
                    .order_by(Initiative.id)
                )
            ]
        return {
            "draft": None
            if found is None
            else {"saved_by": found.saved_by, "saved_at": clock.iso(found.saved_at)},
            "initiatives": initiatives,
        }


# --- what is asked --------------------------------------------------------------------------


def _check_numbers(weeks: int, seed: int, faster: int) -> None:
    if not isinstance(weeks, int) or not 1 <= weeks <= sim.MAX_WEEKS:
        raise ValidationError(f"weeks: a whole number from 1 to {sim.MAX_WEEKS}", field="weeks")
    if not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise ValidationError("seed: a whole number from 0 to 2147483647", field="seed")
    if not isinstance(faster, int) or not 1 <= faster <= 90:
        raise ValidationError("faster: a share from 1 to 90 (per cent)", field="faster")


def _draft(
    s: Session, process_id: str, actor: str | None, *, required: bool = True
) -> DefinitionDraft | None:
    """The asking designer's draft of the process, else the one saved last."""
    query = select(DefinitionDraft).where(DefinitionDraft.process_id == process_id)
    own = (
        s.scalars(query.where(DefinitionDraft.saved_by == actor)).first()
        if actor is not None
        else None
    )
    found = own or s.scalars(query.order_by(DefinitionDraft.saved_at.desc())).first()
    if found is None and required:
        raise NotFoundError(f"there is no draft of '{process_id}': save one in the designer first")
    return found


def _initiative_elements(s: Session, initiative_id: int) -> set[str]:
    rows = s.scalars(
        select(InitiativeRow.elements).where(InitiativeRow.initiative_id == initiative_id)
    )
    return {str(e) for elements in rows for e in (elements or [])}


def _hints(file: tuple[str, str], calendar: Calendar, field: str) -> sim.Hints:
    """The designer's simulation properties of a file; one that is not valid is invalid data
    of the request (`field`: the process or the draft), its file, line and element named."""
    try:
        return sim.hints_from_xml(file[1], calendar, file=file[0])
    except DefinitionError as exc:
        raise ValidationError(f"cannot simulate the {field}: {exc}", field=field) from None


def _with_changes(fitted: sim.Fitted, changes: Mapping[str, float]) -> sim.Fitted:
    from dataclasses import replace

    return replace(fitted, changes=dict(changes))


# --- fitting ---------------------------------------------------------------------------------


def _fit(
    s: Session, process_id: str, graph: Graph, now: datetime, calendar: Calendar
) -> tuple[sim.Fitted, _History]:
    """The figures of the process's last FIT_WEEKS weeks (see the module's docstring) and
    the history they came from."""
    since = now - timedelta(weeks=FIT_WEEKS)
    nodes = {n.id: n for n in graph.nodes if n.process_id == process_id}
    lanes = {lane.id: role_key(lane.name) for lane in graph.lanes}
    role_of = {n.id: lanes[n.lane_id] for n in nodes.values() if n.lane_id in lanes}
    manual = {n for n, node in nodes.items() if node.kind in sim.MANUAL_KINDS}
    won_elements = frozenset(n for n, node in nodes.items() if node.stage in WON_STAGES)
    deals = s.execute(
        select(Instance.id, Instance.created_at, Instance.lead_source)
        .where(Instance.process_id == process_id, Instance.created_at >= since)
        .order_by(Instance.id)
    ).all()
    created = {iid: _aware(at) for iid, at, _src in deals}
    first = min(created.values(), default=now)
    history = _History(since=min(first, now), until=now, deals=[], channels=Counter())
    for _iid, _at, source in deals:
        history.channels[source or "other"] += 1
    rows = s.execute(
        select(
            History.instance_id, History.kind, History.element_id, History.at,
            History.entered_at, History.actor,
        )
        .join(Instance, Instance.id == History.instance_id)
        .where(Instance.process_id == process_id, Instance.created_at >= since)
        .order_by(History.instance_id, History.id)
    ).all()  # fmt: skip
    per_deal: defaultdict[int, list[Any]] = defaultdict(list)
    for r in rows:
        per_deal[r[0]].append(r)
    durations: defaultdict[str, list[float]] = defaultdict(list)
    branches: Counter[str] = Counter()
    fired: defaultdict[str, list[float]] = defaultdict(list)
    stays: Counter[str] = Counter()
    held: defaultdict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    choices = _choices(graph, nodes)
    for iid, deal_rows in per_deal.items():
        won_at: datetime | None = None
        steps = [r for r in deal_rows if r[2] in nodes and r[1] in WORK_KINDS]
        for i, (_iid, _kind, element, at, entered, actor) in enumerate(steps):
            node = nodes[element]
            if element in won_elements and won_at is None:
                won_at = _aware(at)
            if entered is not None and node.kind == "boundaryEvent":
                fired[element].append(_days(entered, at))
            elif entered is not None and node.kind not in GATEWAY_KINDS:
                durations[element].append(max(0.0, _days(entered, at)))
                stays[element] += 1
                if element in manual and actor and element in role_of:
                    held[(role_of[element], actor)].append(
                        (_days(since, entered), _days(since, at))
                    )
            if element in choices:
                targets = choices[element]
                later = next((r for r in steps[i + 1 :] if r[2] in targets), None)
                if later is not None:
                    branches[targets[later[2]]] += 1
        start = created.get(iid)
        if start is not None:
            history.deals.append(
                (_days(history.since, start), None if won_at is None else _days(start, won_at))
            )
    for task in s.execute(
        select(OpenTask.element_id, OpenTask.assignee, OpenTask.created_at)
        .join(Instance, Instance.id == OpenTask.instance_id)
        .where(Instance.process_id == process_id, OpenTask.assignee.is_not(None))
    ):
        element, assignee, opened = task
        if element in manual and element in role_of:
            span = (_days(since, opened), _days(since, now))
            held[(role_of[element], str(assignee))].append(span)
    boundaries = {}
    for b, delays in fired.items():
        attached = nodes[b].attached_to or ""
        share = min(1.0, len(delays) / max(1, stays.get(attached, 0)))
        boundaries[b] = (share, sim.percentile(sorted(delays), 0.5))
    people = _people(s)
    slots = _slots(held)
    weeks = max(history.days / 7, 1.0)
    needed = {role for e, role in role_of.items() if e in manual}
    return (
        sim.Fitted(
            arrivals_per_week=len(deals) / weeks,
            durations={e: tuple(d) for e, d in durations.items()},
            branches=dict(branches),
            boundaries=boundaries,
            slots=slots,
            people={r: people.get(r, 0) for r in needed | set(people)},
            won=won_elements,
        ),
        history,
    )


def _choices(graph: Graph, nodes: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Node -> {target: flow} for the nodes where a deal takes one way of several."""
    ways: defaultdict[str, dict[str, str]] = defaultdict(dict)
    conditional: set[str] = set()
    for e in graph.edges:
        if e.kind == "sequenceFlow" and e.source in nodes:
            ways[e.source][e.target] = e.id
            if e.condition is not None or e.is_default:
                conditional.add(e.source)
    return {
        n: targets
        for n, targets in ways.items()
        if len(targets) > 1
        and (
            (nodes[n].kind in GATEWAY_KINDS and nodes[n].kind != "parallelGateway")
            or n in conditional
        )
    }


def _people(s: Session) -> dict[str, int]:
    """Role key -> how many active users hold it."""
    rows = s.execute(
        select(UserRole.role, func.count(func.distinct(User.id)))
        .join(User, User.id == UserRole.user_id)
        .where(User.active)
        .group_by(UserRole.role)
    )
    return {role_key(role): int(n) for role, n in rows}


def _slots(held: Mapping[tuple[str, str], list[tuple[float, float]]]) -> dict[str, int]:
    """Role key -> the most tasks of the role one person had in hand at once."""
    most: dict[str, int] = {}
    for (role, _person), spans in held.items():
        moments = sorted([(a, 1) for a, _b in spans] + [(b, -1) for _a, b in spans])
        now = peak = 0
        for _at, change in moments:
            now += change
            peak = max(peak, now)
        most[role] = max(most.get(role, 0), peak)
    return most


def _warmup(history: _History) -> float:
    """Days the run fills up before it is measured: the 90th percentile sales cycle seen,
    capped at half a year."""
    cycles = sorted(w for _c, w in history.deals if w is not None)
    if not cycles:
        return DEFAULT_WARMUP_DAYS
    return min(180.0, max(7.0, sim.percentile(cycles, 0.9)))


# --- validation and records ---------------------------------------------------------------


def _validate(
    graph: Graph,
    process_id: str,
    fitted: sim.Fitted,
    history: _History,
    hints: sim.Hints,
    seed: int,
    step: Callable[[str], sim.Progress | None],
) -> dict[str, Any]:
    """The current version replayed over the fitting period: the deals arrive when the real
    ones did; actual and simulated median cycle and wins of that cohort side by side."""
    arrivals = sorted(c for c, _w in history.deals)
    actual_cycles = sorted(w for _c, w in history.deals if w is not None)
    outcome = sim.simulate(
        graph, process_id, fitted, days=history.days, seed=seed, hints=hints,
        arrivals=arrivals, progress=step("validation"),
    )  # fmt: skip
    simulated = sim.cycles(outcome, cohort=True)
    actual = {"cycle_days_p50": round(sim.percentile(actual_cycles, 0.5), 2),
              "won": len(actual_cycles)}  # fmt: skip
    replayed = {"cycle_days_p50": round(sim.percentile(simulated, 0.5), 2), "won": len(simulated)}
    cycle_ok = abs(replayed["cycle_days_p50"] - actual["cycle_days_p50"]) <= max(
        TOLERANCE * actual["cycle_days_p50"], CYCLE_SLACK_DAYS
    )
    won_ok = abs(replayed["won"] - actual["won"]) <= max(TOLERANCE * actual["won"], WON_SLACK)
    return {
        "period": {
            "from": clock.iso(history.since),
            "to": clock.iso(history.until),
            "weeks": round(history.days / 7, 1),
            "deals": len(arrivals),
        },
        "actual": actual,
        "simulated": replayed,
        "error": {
            "cycle_days_p50": _relative(replayed["cycle_days_p50"], actual["cycle_days_p50"]),
            "won": _relative(replayed["won"], actual["won"]),
        },
        "tolerance": {
            "relative": TOLERANCE,
            "cycle_days": CYCLE_SLACK_DAYS,
            "won": WON_SLACK,
        },
        "within": bool(actual_cycles) and cycle_ok and won_ok,
        "comparable": bool(actual_cycles),
    }


def _relative(simulated: float, actual: float) -> float | None:
    return None if not actual else round((simulated - actual) / actual, 3)


def _record(outcome: sim.Outcome, calendar: Calendar, texts: Any | None) -> dict[str, Any]:
    """A run's figures, with each role's working hours per week from the team's calendar
    and the names in the reader's language, and its heat for the chart."""
    figures = sim.summarise(outcome)
    per_person = calendar.hours.day_seconds / 3600 * len(calendar.hours.weekdays)
    for role in figures["roles"]:
        role["hours_per_week"] = round(role["people"] * per_person, 1)
    if texts is not None:
        for task in figures["tasks"]:
            task["name"] = texts.name(task["element_id"], task["name"])
        if figures["bottleneck"] is not None:
            b = figures["bottleneck"]
            b["name"] = texts.name(b["element_id"], b["name"])
    deals, here, stays = sim.heat_figures(outcome)
    figures["heat"] = {"deals": deals, "here_now": here, "median_seconds": stays}
    return figures


def _history_record(history: _History, fitted: sim.Fitted, calendar: Calendar) -> dict[str, Any]:
    weeks = max(history.days / 7, 1.0)
    return {
        "from": clock.iso(history.since),
        "to": clock.iso(history.until),
        "weeks": round(history.days / 7, 1),
        "deals": len(history.deals),
        "won": sum(1 for _c, w in history.deals if w is not None),
        "arrivals_per_week": round(fitted.arrivals_per_week, 2),
        "channels": [
            {"channel": c, "per_week": round(n / weeks, 2)}
            for c, n in sorted(history.channels.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "hours_per_week": round(
            calendar.hours.day_seconds / 3600 * len(calendar.hours.weekdays), 1
        ),
    }


def _warnings(
    graph: Graph,
    process_id: str,
    fitted: sim.Fitted,
    history: _History | None,
    outcome: sim.Outcome | None = None,
) -> list[dict[str, Any]]:
    """What makes the figures rough, each with a code the pages word and an English text:
    little or no history (with `history`), roles of the chart nobody holds, deals a run cut
    short in a loop (with `outcome`)."""
    found: list[dict[str, Any]] = []
    if history is not None and not history.deals:
        found.append({"code": "no_history", "message": "no deal of this process in the last "
                      f"{FIT_WEEKS} weeks: nothing to simulate from"})  # fmt: skip
    elif history is not None and len(history.deals) < FEW_DEALS:
        found.append({"code": "few_deals", "count": len(history.deals),
                      "message": f"only {len(history.deals)} deals in the history: "
                      "the figures are rough"})  # fmt: skip
    lanes = {lane.id: lane.name for lane in graph.lanes}
    roles = {
        role_key(lanes[n.lane_id]): lanes[n.lane_id]
        for n in graph.nodes
        if n.process_id == process_id and n.kind in sim.MANUAL_KINDS and n.lane_id in lanes
    }
    for key, name in sorted(roles.items()):
        if not fitted.people.get(key):
            found.append({"code": "role_unheld", "role": name,
                          "message": f"nobody holds the role {name}: its tasks are "
                          "simulated with one person"})  # fmt: skip
    if outcome is not None and outcome.records.cut:
        found.append({"code": "cut", "count": outcome.records.cut,
                      "message": f"{outcome.records.cut} simulated deals went round a loop "
                      f"more than {sim.MAX_STEPS} steps and were stopped"})  # fmt: skip
    return found
