"""What a flowchart needs from the database: a version's graph, a deal's view, a heatmap, and
the stage progress bar drawn above a deal's chart (`deal_progress`).

The helpers take an open session and return engine.core.graph types, so diagrams/ never sees the
database.  Everything is read from the rows the engine keeps up to date (position, open
tasks, timers, history; for a heatmap, the report facts: engine.usecases.heat); no workflow is
loaded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, TypedDict

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from engine import clock
from engine.core.graph import Graph, Heat, InstanceView, graph_from_xml
from engine.core.translations import Texts
from engine.errors import NotFoundError
from engine.store import deployments as versions
from engine.store.models import DefinitionVersion, History, Instance, OpenTask
from engine.store.records import iso, task_record
from engine.usecases.base import UseCases
from engine.usecases.heat import process_heat
from engine.usecases.reports import facts
from engine.usecases.reports.scope import GRAPHS, Outline, graph_of
from engine.usecases.texts import is_english
from engine.usecases.unit import Workspace, parse_id

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

# What a deal's chart is drawn from (Service.instance_chart, charts.instance_view).
CHART_COLUMNS = (
    Instance.id,
    Instance.version_id,
    Instance.process_id,
    Instance.name,
    Instance.owner,
    Instance.status,
    Instance.stage,
    Instance.position,
    Instance.timers,
    Instance.error,
)


def process_file(files: dict[str, str], process_id: str) -> tuple[str, str]:
    """The BPMN file (name, text) of a version that defines `process_id`."""
    for name, text in sorted(files.items()):
        if not name.endswith(".bpmn"):
            continue
        root = etree.fromstring(text.encode("utf-8"), etree.XMLParser(resolve_entities=False))
        if root.find(f".//{{{BPMN_NS}}}process[@id='{process_id}']") is not None:
            return name, text
    raise NotFoundError(f"no BPMN file of process '{process_id}' in this version")


def cached_graph(space: Workspace, row: DefinitionVersion) -> Graph:
    """A stored version's graph, parsed once per process and kept."""
    cached = space.graphs.get(row.id)
    if cached is None:
        cached = space.graphs.setdefault(row.id, version_graph(row))
    return cached


def version_graph(row: DefinitionVersion) -> Graph:
    name, text = process_file(row.files, row.definition.process_id)
    return graph_from_xml(text, file=name)


def _when(value: str | None) -> str:
    if not value:
        return ""
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC")


def instance_view(s: Session, inst: Instance) -> InstanceView:
    """A deal's position for its chart: states, who holds each open task, what is due."""
    tasks = s.scalars(
        select(OpenTask).where(OpenTask.instance_id == inst.id).order_by(OpenTask.created_at)
    )
    return view_of(
        {
            "name": inst.name,
            "owner": inst.owner,
            "status": inst.status,
            "stage": inst.stage,
            "position": inst.position,
            "timers": inst.timers,
            "error": inst.error,
            "tasks": [task_record(t) for t in tasks],
        }
    )


def view_of(deal: Mapping[str, Any]) -> InstanceView:
    """`instance_view` of a deal already read (`Service.show`'s record): the deal page
    draws its chart from what it shows, without reading the deal again."""
    assignees: dict[str, str] = {}
    due: dict[str, str] = {}
    for task in deal["tasks"]:
        assignees[task["element_id"]] = task["assignee"] or f"queue: {task['lane'] or 'anyone'}"
        if task["due_at"] is not None:
            due[task["element_id"]] = _when(task["due_at"])
    for timer in deal["timers"]:
        due[timer["element_id"]] = _when(timer.get("due_at"))
    errors = {}
    error = deal["error"]
    if error and error.get("element_id"):
        errors[error["element_id"]] = str(error.get("message", ""))
    return InstanceView(
        deal=deal["name"],
        owner=deal["owner"],
        status=deal["status"],
        stage=deal["stage"],
        states=dict(deal["position"]),
        assignees=assignees,
        due=due,
        errors=errors,
    )


# The chart's own words in Simplified Chinese (element names come from the translations).
_ZH_WORDS = {"owner": "负责人", "status": "状态", "stage": "阶段", "due": "到期"}
_ZH_QUEUE = "队列："  # noqa: RUF001 - a Chinese colon in Chinese text
_ZH_STATUS = {"running": "进行中", "completed": "已完成", "cancelled": "已取消", "error": "出错"}


def worded(view: InstanceView, texts: Texts) -> InstanceView:
    """A deal's chart view in the reader's language: the title line's words, its status and
    its stage's label (Simplified Chinese is the one other language the UI speaks)."""
    queue = "queue: "
    assignees = {
        element: (
            f"{_ZH_QUEUE}{texts.lane(who[len(queue) :]) or who[len(queue) :]}"
            if who.startswith(queue)
            else who
        )
        for element, who in view.assignees.items()
    }
    return replace(
        view,
        words=dict(_ZH_WORDS),
        status=_ZH_STATUS.get(view.status, view.status),
        stage=texts.stage(view.stage, view.stage),
        assignees=assignees,
    )


# --- the stage progress bar of a deal ----------------------------------------------------------

WON, LOST = "won", "lost"
DAY = 86400.0
# A stage's state on the bar: passed through, where the deal is, passed over (a C lead skips
# the needs analysis), still ahead, or where a lost deal ended.
PROGRESS_STATES = ("done", "current", "skipped", "ahead", "lost")


class StageStep(TypedDict):
    stage: str
    state: str  # one of PROGRESS_STATES
    entered_at: str | None  # the deal's first entry into the stage
    seconds: float  # time spent in it, all its stays together (until now for the current one)
    days: float  # the same in days, one decimal


class DealProgress(TypedDict):
    instance_id: str
    process_id: str
    version: int
    status: str
    stage: str | None
    stages: list[StageStep]


# (element id, at, entered_at) of a history row; (element id, created_at) of an open task
StageRow = tuple[str | None, datetime, datetime | None]
OpenStageRow = tuple[str, datetime]


def stage_entries(
    outline: Outline, history: Iterable[StageRow], open_tasks: Iterable[OpenStageRow]
) -> list[tuple[datetime, str]]:
    """Where the deal was, in time order: a row of each element of a stage it passed, at the
    time the element became ready (else when it ran), and its open tasks.  Every element of a
    stage counts, not only those the reports take for its entries: a lead sent back to the
    nurture loop is in the lead stage again."""
    found: list[tuple[datetime, str]] = []
    for element, at, entered in history:
        stage = outline.stages.get(element or "")
        if stage is None or (entered is None and element in outline.manual):
            continue  # a claim or hand-over of a task tells of no entry
        found.append((entered or at, stage))
    for element, created in open_tasks:
        stage = outline.stages.get(element)
        if stage is not None and (created, stage) not in found:
            found.append((created, stage))
    found.sort(key=lambda entry: entry[0])  # stable: rows of one moment keep their order
    return found


def stage_progress(
    outline: Outline,
    entries: list[tuple[datetime, str]],
    *,
    stage: str | None,
    status: str,
    ended: datetime,
) -> list[StageStep]:
    """The process's stages in order, each with its state and the time the deal spent in it
    (a stay lasts until another stage is entered, the last one until `ended`)."""
    spent: dict[str, float] = defaultdict(float)
    first: dict[str, datetime] = {}
    for n, (at, name) in enumerate(entries):
        first.setdefault(name, at)
        until = entries[n + 1][0] if n + 1 < len(entries) else max(ended, at)
        spent[name] += (until - at).total_seconds()
    ranks = outline.ranks
    order = sorted(ranks, key=lambda name: ranks[name])
    lost = stage == LOST
    if lost:  # the stages before a win, then where it ended
        won_rank = ranks.get(WON, len(ranks))
        order = [name for name in order if ranks[name] < won_rank and name != LOST] + [LOST]
    else:
        order = [name for name in order if name != LOST]
    here = ranks.get(stage or "", -1)
    finished = status in ("completed", "cancelled")
    steps: list[StageStep] = []
    for name in order:
        if name == LOST and lost:
            state = "lost"
        elif name == stage:
            state = "done" if finished else "current"
        elif ranks.get(name, len(ranks)) < here or (finished and name in first):
            state = "done" if name in first else "skipped"
        else:
            state = "ahead"
        seconds = round(spent.get(name, 0.0), 3)
        steps.append(
            {
                "stage": name,
                "state": state,
                "entered_at": iso(first.get(name)),
                "seconds": seconds,
                "days": round(seconds / DAY, 1),
            }
        )
    return steps


class ChartCases(UseCases):
    """Charts of definitions and deals, and the heat of a process.  Graphs are parsed once
    per version and kept."""

    def definition_chart(
        self, process_id: str, version: int | None = None, *, lang: str | None = None
    ) -> tuple[Graph, str]:
        """A deployed version's graph (its labels in `lang`) and a key that names its layout
        for caching."""
        with self.db.read() as s:
            row = versions.version_row(s, process_id, version)
            graph, key = cached_graph(self.space, row), f"{row.content_hash}:{process_id}"
            return self._in_lang(s, row.id, graph, key, lang)

    def _in_lang(
        self, s: Session, version_id: int, graph: Graph, key: str, lang: str | None
    ) -> tuple[Graph, str]:
        """A chart's graph with its labels in `lang` (engine.core.translations; the same
        graph in English), and its layout key, which names the language it was laid out in."""
        if is_english(lang):
            return graph, key
        texts = self.version(s, version_id).texts(lang)
        if not texts.translated:
            return graph, key
        return texts.graph(graph), f"{key}:{texts.locale}"

    def instance_chart(
        self, instance_id: str | int, *, lang: str | None = None
    ) -> tuple[Graph, InstanceView, str]:
        """A deal's graph (its own version, labels in `lang`), where it stands, and the
        layout's cache key."""
        iid = parse_id(instance_id)
        with self.db.read() as s:
            # Neither the workflow state nor the version's files and spec: a chart is drawn
            # from the position, and the graph is parsed once per version.
            inst = s.scalars(
                select(Instance).options(load_only(*CHART_COLUMNS)).where(Instance.id == iid)
            ).first()
            if inst is None:
                raise NotFoundError(f"no instance with id '{instance_id}'")
            content_hash = s.scalars(
                select(DefinitionVersion.content_hash).where(
                    DefinitionVersion.id == inst.version_id
                )
            ).one()
            graph = self.space.graphs.get(inst.version_id)
            if graph is None:
                row = s.get(DefinitionVersion, inst.version_id)
                assert row is not None  # a foreign key
                graph = cached_graph(self.space, row)
            view = instance_view(s, inst)
            key = f"{content_hash}:{inst.process_id}"
            graph, key = self._in_lang(s, inst.version_id, graph, key, lang)
            if not is_english(lang):
                view = worded(view, self.version(s, inst.version_id).texts(lang))
            return graph, view, key

    def deal_chart(
        self, deal: Mapping[str, Any], *, lang: str | None = None
    ) -> tuple[Graph, InstanceView, str]:
        """`instance_chart` of a deal already read (`show`'s record): its page draws the
        chart from what it shows, reading at most its version's graph, once (and in another
        language than English, the version's translations, once)."""
        key = (str(deal["process_id"]), int(deal["version"]))
        found = self.space.graphs_by_number.get(key)
        if found is None:
            with self.db.read() as s:
                row = versions.version_row(s, *key)
                found = self.space.graphs_by_number.setdefault(
                    key, (cached_graph(self.space, row), f"{row.content_hash}:{key[0]}")
                )
        graph, layout_key = found
        view = view_of(deal)
        if not is_english(lang):
            with self.db.read() as s:
                row_id = versions.version_row(s, *key).id
                graph, layout_key = self._in_lang(s, row_id, graph, layout_key, lang)
                view = worded(view, self.version(s, row_id).texts(lang))
        return graph, view, layout_key

    def deal_progress(self, instance_id: str | int) -> DealProgress:
        """The stage progress bar of a deal: its process's stages in order (as declared on
        its version's elements), which it went through, where it is, and how many days it
        spent in each, from its history and open tasks.  Who may see it is the caller's
        check (`may_see`), as for `show`."""
        iid = parse_id(instance_id)
        with self.db.read() as s:
            inst = s.scalars(
                select(Instance)
                .options(
                    load_only(
                        Instance.id,
                        Instance.process_id,
                        Instance.version_id,
                        Instance.version_number,
                        Instance.status,
                        Instance.stage,
                        Instance.completed_at,
                        Instance.updated_at,
                    )
                )
                .where(Instance.id == iid)
            ).first()
            if inst is None:
                raise NotFoundError(f"no instance with id '{instance_id}'")
            content_hash = s.scalars(
                select(DefinitionVersion.content_hash).where(
                    DefinitionVersion.id == inst.version_id
                )
            ).one()
            outline = GRAPHS.get(content_hash)
            if outline is None:  # the version's spec is read once per content
                spec = s.scalars(
                    select(DefinitionVersion.spec).where(DefinitionVersion.id == inst.version_id)
                ).one()
                outline = graph_of(content_hash, spec or "")
            history = s.execute(
                select(History.element_id, History.at, History.entered_at)
                .where(History.instance_id == iid, History.element_id.is_not(None))
                .order_by(History.id)
            ).all()
            opened = s.execute(
                select(OpenTask.element_id, OpenTask.created_at).where(OpenTask.instance_id == iid)
            ).all()
            finished = inst.status in ("completed", "cancelled")
            ended = (inst.completed_at or inst.updated_at) if finished else clock.now()
            entries = stage_entries(
                outline,
                [(element, at, entered) for element, at, entered in history],
                [(element, created) for element, created in opened],
            )
            return {
                "instance_id": str(inst.id),
                "process_id": inst.process_id,
                "version": inst.version_number,
                "status": inst.status,
                "stage": inst.stage,
                "stages": stage_progress(
                    outline, entries, stage=inst.stage, status=inst.status, ended=ended
                ),
            }

    def heat(self, process_id: str, version: int | None = None) -> Heat:
        """Deals sitting at each element of a process (of one of its versions) now, and the
        median time deals spent there (engine.usecases.heat)."""
        facts.catch_up(self.db)  # the stays of the deals changed since, as the reports do
        with self.db.read() as s:
            row = versions.version_row(s, process_id, version)  # NotFoundError for unknown ones
            chosen = (row.id, row.version) if version is not None else None
            single = row.definition.latest_version == 1  # versions are numbered from 1
            return process_heat(s, self.space.open_positions, process_id, chosen, single=single)
