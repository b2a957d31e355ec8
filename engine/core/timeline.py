"""A deal's timeline as the people selling read it: the engine's history folded into business
entries (issue 14: "Quote sent back by Zhang Wei: 'price too low'", not "Completed:
Qualified?").

Pure: from a deal's history rows (engine.core.records.HistoryEntry, oldest first) and the
graph of its version (engine.core.graph.Graph: element kinds, flows and their names), plus
the forms of its tasks, for the send-back marker (engine.core.forms `sent_back`).  Names are
taken as given: the caller passes rows and a graph already in the reader's language.

What is shown, and what is folded into what:
- a completed human task is a step, `step`; the gateways, scripts and decision tables the
  engine ran right after it are folded into it, and the names of the flows they took are its
  `outcomes` ("approved", "tier A or B"): then it is a `decision`.  A task whose form marks
  a choice that sends the work back (`x-send-back`), completed with that choice, is
  `sent_back`, with the comment and the step it reopens (`target`);
- a timer that fired is a `reminder` on a task (a boundary event) or `waited` (a timer the
  process waits for); a message caught is `message`;
- the process's end is `won` or `closed` when the deal passed the won or lost stage, else
  `finished`; other end events (a side branch's) are folded;
- boundary timers cancelled because their task was done in time are hidden (folded); a task
  cancelled because the deal was marked lost, cancelled or moved is folded into that entry;
- the kinds that already speak business (comments, claims, hand-overs, marked lost,
  changes of value, escalations, incidents, ...) are kept as they are;
- the calls, visits and meetings logged on the deal (engine.usecases.activities) are
  `activity` entries among the steps (`with_activities`): the kind of activity and the rest
  in `data`, its notes as the `comment`, the customer in `name`.
Every entry keeps the raw rows it stands for (`folded`), oldest first, its own included, so a
page can still show them under "Details".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypedDict

from engine.core.forms import send_back_field, sent_back
from engine.core.graph import GATEWAY_KINDS, Edge, Graph, Node
from engine.core.records import HistoryEntry

__all__ = [
    "BUSINESS_KINDS",
    "HUMAN_KINDS",
    "TimelineEntry",
    "activity_entry",
    "business_timeline",
    "with_activities",
]

# The elements a person completes.  A plain BPMN "task" waits for someone too in SpiffWorkflow.
HUMAN_KINDS = frozenset({"userTask", "manualTask", "task"})
# The kinds of entries this module makes (the others are history kinds kept as they are).
BUSINESS_KINDS = (
    "step",
    "decision",
    "sent_back",
    "reminder",
    "waited",
    "message",
    "won",
    "closed",
    "finished",
    "deal_cancelled",
    "task_cancelled",
    "activity",
)
ACTIVITY = "activity"
# What a cancelled task is folded into when it comes with it: the deal ended or moved, or an
# interrupting event took over.
_CANCELLING = frozenset(
    {"lost", "deal_cancelled", "migrated", "incident_skip", "reminder", "waited", "message"}
)
_WON, _LOST = "won", "lost"  # the stages a won or lost deal passes (engine.core.stages)
_SEQUENCE = "sequenceFlow"


class TimelineEntry(TypedDict):
    """One line of the business timeline."""

    kind: str  # one of BUSINESS_KINDS, or a history kind kept as it is (comment, lost, ...)
    at: str | None
    actor: str | None
    element_id: str | None
    name: str | None  # the element's name (a step's, a timer's, a message's), if any
    outcomes: list[str]  # the names of the flows the step's decisions took, in order
    target: str | None  # sent_back: the name of the step it reopens, when the process says
    comment: str | None  # a comment's text; a decision's comment (why it was sent back)
    outputs: dict[str, Any]  # what the decision tables folded into a step wrote
    data: Any  # the data of the row the entry stands for (kept kinds: as stored)
    folded: list[HistoryEntry]  # the raw rows it stands for, oldest first


def business_timeline(
    history: Sequence[HistoryEntry], graph: Graph, forms: Mapping[str, Any] | None = None
) -> list[TimelineEntry]:
    """The business entries of a deal's `history` (oldest first), oldest first.  `forms`:
    element id -> the JSON schema of its form, for the tasks whose form may send back."""
    return _Reader(graph, forms or {}).read(history)


def _entry(row: HistoryEntry, kind: str, name: str | None = None) -> TimelineEntry:
    return {
        "kind": kind,
        "at": row["at"],
        "actor": row["actor"],
        "element_id": row["element_id"],
        "name": name if name is not None else row["element_name"],
        "outcomes": [],
        "target": None,
        "comment": None,
        "outputs": {},
        "data": row["data"],
        "folded": [row],
    }


class _Reader:
    """One reading of a history against one graph."""

    def __init__(self, graph: Graph, forms: Mapping[str, Any]) -> None:
        self.nodes: dict[str, Node] = {n.id: n for n in graph.nodes}
        self.forms = forms
        self.outgoing: dict[str, list[Edge]] = {}
        self.incoming: dict[str, list[Edge]] = {}
        for edge in graph.edges:
            if edge.kind == _SEQUENCE:
                self.outgoing.setdefault(edge.source, []).append(edge)
                self.incoming.setdefault(edge.target, []).append(edge)
        self.ends = self._process_ends()

    def _process_ends(self) -> frozenset[str]:
        """The end events the process's own flow reaches from its start: the deal's end.  An
        end event reached only from a boundary event (an escalation's branch) or inside a
        sub-process ends a branch, not the deal."""
        todo = [n.id for n in self.nodes.values() if n.kind == "startEvent" and not n.parent_id]
        seen = set(todo)
        while todo:
            for edge in self.outgoing.get(todo.pop(), ()):
                if edge.target not in seen:
                    seen.add(edge.target)
                    todo.append(edge.target)
        return frozenset(i for i in seen if self.nodes.get(i, _NOWHERE).kind == "endEvent")

    # --- what a row is -----------------------------------------------------------------

    def node(self, row: HistoryEntry) -> Node | None:
        return self.nodes.get(row["element_id"] or "")

    def is_human(self, row: HistoryEntry) -> bool:
        """A task a person does: by the graph, or, for an element the graph does not hold
        (a called process's), by someone having completed it."""
        node = self.node(row)
        if node is None:
            return bool(row["element_id"]) and row["actor"] is not None
        return node.kind in HUMAN_KINDS

    def is_end(self, row: HistoryEntry) -> bool:
        return (row["element_id"] or "") in self.ends

    def name(self, row: HistoryEntry) -> str | None:
        node = self.node(row)
        return row["element_name"] or (node.name if node is not None else None) or None

    # --- the reading -------------------------------------------------------------------

    def read(self, history: Sequence[HistoryEntry]) -> list[TimelineEntry]:
        shown: list[TimelineEntry] = []
        waiting: list[HistoryEntry] = []  # rows that go with the next entry shown
        used: set[int] = set()

        def show(entry: TimelineEntry) -> None:
            entry["folded"][:0] = waiting
            waiting.clear()
            shown.append(entry)

        def hide(row: HistoryEntry) -> None:  # folded into the entry before, if any
            (shown[-1]["folded"] if shown else waiting).append(row)

        for i, row in enumerate(history):
            if i in used:
                continue
            kind = row["kind"]
            if kind == "completed" and self.is_human(row):
                entry, chain = self._step(history, i)
                used.update(chain)
                show(entry)
            elif kind == "completed" and self.is_end(row):
                show(self._end(history, i))
            elif kind == "completed":
                hide(row)  # a gateway, a script, a start or a branch's end: the engine's
            elif kind == "timer":
                node = self.node(row)
                boundary = node is not None and node.kind == "boundaryEvent"
                show(_entry(row, "reminder" if boundary else "waited", self.name(row)))
            elif kind == "message":
                show(_entry(row, "message", self.name(row)))
            elif kind == "cancelled" and not row["element_id"]:
                entry = _entry(row, "deal_cancelled")  # an incident's deal stopped for good
                entry["comment"] = _text(row["data"], "reason")
                show(entry)
            elif kind == "cancelled" and self.is_human(row):
                self._cancelled_task(history, i, shown, waiting, show)
            elif kind == "cancelled":
                hide(row)  # a timer or an event nobody waits for any more
            else:
                entry = _entry(row, kind)
                if kind == "comment":
                    entry["comment"] = _text(row["data"], "text")
                show(entry)
        if waiting and shown:
            shown[-1]["folded"].extend(waiting)
        return shown

    def _cancelled_task(
        self,
        history: Sequence[HistoryEntry],
        i: int,
        shown: list[TimelineEntry],
        waiting: list[HistoryEntry],
        show: Callable[[TimelineEntry], None],
    ) -> None:
        """A task nobody will do: part of the deal's end or move (the entry after it, or,
        when that came first, the one before), or of a timer that took over; else a line of
        its own."""
        row = history[i]
        later = (r for r in history[i + 1 :] if r["kind"] != "cancelled" or _deal_cancel(r))
        after = next(later, None)
        if after is not None and (after["kind"] in _CANCELLING or _deal_cancel(after)):
            waiting.append(row)
        elif shown and shown[-1]["kind"] in _CANCELLING:
            shown[-1]["folded"].append(row)
        else:
            show(_entry(row, "task_cancelled", self.name(row)))

    def _step(self, history: Sequence[HistoryEntry], i: int) -> tuple[TimelineEntry, set[int]]:
        """A completed task with what the engine did right after it (the rows up to the next
        thing a person or the clock did): the decisions it made and the flows they took."""
        row = history[i]
        entry = _entry(row, "step", self.name(row))
        reached = {row["element_id"] or ""}
        taken: list[Edge] = []
        chain = {i}
        j = i + 1
        while j < len(history):
            nxt = history[j]
            if nxt["kind"] == "cancelled" and nxt["element_id"] and not self.is_human(nxt):
                pass  # its boundary timer, done with: hidden in the step
            elif nxt["kind"] != "completed" or self.is_human(nxt) or self.is_end(nxt):
                break
            else:
                element = nxt["element_id"] or ""
                came = [e for e in self.incoming.get(element, ()) if e.source in reached]
                if came:
                    reached.add(element)
                    taken.extend(came)
                node = self.node(nxt)
                if node is not None and node.kind == "businessRuleTask":
                    entry["outputs"].update(_mapping(nxt["data"]))
            entry["folded"].append(nxt)
            chain.add(j)
            j += 1
        # A decision whose way out is not among the rows above: the next element the deal
        # reached from it says which way it went (the approval task after "discount > 5%").
        for gateway in sorted(reached):
            node = self.nodes.get(gateway)
            if node is None or node.kind not in GATEWAY_KINDS:
                continue
            if any(e.source == gateway for e in taken):
                continue
            found = self._way_out(history[j:], gateway)
            if found is not None:
                taken.append(found)
        entry["outcomes"] = [e.name for e in taken if e.name]
        if entry["outcomes"]:
            entry["kind"] = "decision"
        self._decided(entry, row, reached, taken)
        return entry, chain

    def _way_out(self, later: Iterable[HistoryEntry], gateway: str) -> Edge | None:
        ways = {e.target: e for e in self.outgoing.get(gateway, ())}
        for row in later:
            element = row["element_id"] or ""
            if element == gateway:
                return None  # decided again before we saw the first decision's way
            if row["kind"] in ("completed", "timer", "message") and element in ways:
                return ways[element]
        return None

    def _decided(
        self, entry: TimelineEntry, row: HistoryEntry, reached: set[str], taken: list[Edge]
    ) -> None:
        """A step whose form decides whether the work goes back: sent back (with the comment,
        and the step it reopens) or let through (with the comment, if one was given)."""
        schema = self.forms.get(row["element_id"] or "")
        marked = send_back_field(schema)
        if marked is None:
            return
        back = sent_back(schema, row["data"])
        if back is None:
            comment = _text(row["data"], marked[2]) if marked[2] else None
            entry["comment"] = comment or None
            return
        entry["kind"] = "sent_back"
        entry["comment"] = back[1] or None
        entry["target"] = self._reopened(reached, taken)

    def _reopened(self, reached: set[str], taken: list[Edge]) -> str | None:
        """The task the flow taken leads back to: from where the rows end, on through
        gateways with one way out, to the first task a person does."""
        for edge in taken:  # the way out seen later in the history
            found = self.nodes.get(edge.target)
            if edge.target not in reached and found is not None and found.kind in HUMAN_KINDS:
                return found.name or None
        left = {e.source for e in taken}
        todo = sorted(n for n in reached if n not in left)
        seen: set[str] = set(reached)
        while todo:
            outs = self.outgoing.get(todo.pop(), [])
            if len(outs) != 1:
                continue
            target = self.nodes.get(outs[0].target)
            if target is None or target.id in seen:
                continue
            if target.kind in HUMAN_KINDS:
                return target.name or None
            seen.add(target.id)
            if target.kind in GATEWAY_KINDS:
                todo.append(target.id)
        return None

    def _end(self, history: Sequence[HistoryEntry], i: int) -> TimelineEntry:
        """The deal's end: won or closed by the last won or lost stage it passed."""
        stage = None
        for row in history[:i]:
            node = self.node(row)
            if row["kind"] == "completed" and node is not None and node.stage in (_WON, _LOST):
                stage = node.stage
        kind = {_WON: "won", _LOST: "closed"}.get(stage or "", "finished")
        return _entry(history[i], kind, self.name(history[i]))


_NOWHERE = Node(id="", kind="")


def activity_entry(activity: Mapping[str, Any], about: str | None) -> TimelineEntry:
    """An activity logged on the deal (engine.store.activities.ActivityRecord) as a line of
    its timeline: `name` is whom it was with (`about`: the customer, else the deal), the
    notes its `comment`, the kind of activity, its outcome and next step in `data`."""
    notes = activity.get("notes")
    return {
        "kind": ACTIVITY,
        "at": activity.get("at"),
        "actor": activity.get("by"),
        "element_id": None,
        "name": about,
        "outcomes": [],
        "target": None,
        "comment": notes.strip() if isinstance(notes, str) and notes.strip() else None,
        "outputs": {},
        "data": {
            "activity_id": activity.get("id"),
            "activity": activity.get("kind"),
            "outcome": activity.get("outcome"),
            "next_step": activity.get("next_step"),
            "next_step_at": activity.get("next_step_at"),
        },
        "folded": [],
    }


def with_activities(
    entries: Sequence[TimelineEntry], activities: Sequence[TimelineEntry]
) -> list[TimelineEntry]:
    """The timeline (oldest first) with the activity entries put where their time falls;
    at the same time, what the process did comes first."""
    ordered = sorted(activities, key=lambda e: _instant(e["at"]))
    merged: list[TimelineEntry] = []
    i = 0
    for entry in entries:
        at = _instant(entry["at"])
        while i < len(ordered) and _instant(ordered[i]["at"]) < at:
            merged.append(ordered[i])
            i += 1
        merged.append(entry)
    merged.extend(ordered[i:])
    return merged


def _instant(value: str | None) -> datetime:
    """An entry's ISO time as an instant to compare (naive taken as UTC; none: the start)."""
    if not value:
        return datetime.min.replace(tzinfo=UTC)
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _deal_cancel(row: HistoryEntry) -> bool:
    return row["kind"] == "cancelled" and not row["element_id"]


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _text(data: Any, key: str) -> str | None:
    value = data.get(key) if isinstance(data, Mapping) else None
    return value.strip() if isinstance(value, str) and value.strip() else None
