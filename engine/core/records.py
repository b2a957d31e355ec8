"""The records the use cases return: a deal, a task, a history entry, a definition.

The pages, the JSON API and the CLI's `--json` all show these, so they are typed once here,
as TypedDicts: at run time they stay the plain dicts the API serialises (ids as strings, times
as ISO 8601 text), so the JSON is what it always was, while mypy checks every key a caller
reads.  Built from rows by engine.store.records; read-only for callers.
"""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = [
    "Deal",
    "DealRow",
    "DealSummary",
    "DefinitionRecord",
    "Deployed",
    "HistoryEntry",
    "StartedDeal",
    "TaskCompleted",
    "TaskRecord",
]


class DealRow(TypedDict):
    """A deal's row as stored (engine.store.records), without what the use cases derive."""

    instance_id: str
    process_id: str
    version: int
    name: str
    owner: str | None
    amount: float | None  # the deal's value
    expected_close: str | None  # YYYY-MM-DD
    lead_source: str | None
    tier: str | None
    stage: str | None
    status: str  # running, completed, error, cancelled
    lost_reason: str | None
    created_at: str | None
    updated_at: str | None
    completed_at: str | None
    next_due_at: str | None
    activity_at: str | None
    escalated_at: str | None


class DealSummary(DealRow):
    """A deal as lists, boards and searches show it (never its workflow state), with its
    outcome (engine.usecases.outcomes): `won`, `lost` or None while it is open; `lost_reason`
    only for a lost deal."""

    outcome: str | None


class TaskRecord(TypedDict):
    """An open task: whose it is (assignee, or the queue of its lane's role), its form."""

    task_id: str
    instance_id: str
    element_id: str
    name: str
    lane: str | None
    assignee: str | None
    stage: str | None
    due_at: str | None
    form: str | None
    created_at: str | None


class HistoryEntry(TypedDict):
    """One line of a deal's timeline: what happened, who did it, when, with what data."""

    at: str | None
    actor: str | None
    kind: str
    element_id: str | None
    element_name: str | None
    task_id: str | None
    entered_at: str | None
    data: Any


class Deal(DealSummary):
    """One deal with everything about it (`Service.show`), with its customer's id and name
    (None for a deal without a customer)."""

    customer_id: int | None
    customer: str | None
    position: dict[str, str]  # element id -> ready, waiting, completed, error, ...
    data: dict[str, Any]
    tasks: list[TaskRecord]
    timers: list[dict[str, Any]]
    error: dict[str, Any] | None
    history: list[HistoryEntry]


class StartedDeal(TypedDict):
    instance_id: str
    process_id: str
    version: int
    status: str


class TaskCompleted(TypedDict):
    instance_id: str
    status: str
    ready: list[str]  # the element ids of the tasks open now


class DefinitionRecord(TypedDict):
    """A deployed process: its id, name and latest version."""

    process_id: str
    name: str
    version: int
    versions: int


class Deployed(TypedDict):
    """What a deploy did to one process: a new version, or none (`changed` False)."""

    process_id: str
    version: int
    changed: bool
