"""Rows as the records the CLI, the JSON API and the pages show (engine.core.records: typed
dicts, ids as strings, times as ISO text)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from engine.clock import iso
from engine.core.records import DealRow, HistoryEntry, TaskRecord
from engine.store.models import History, Instance, OpenTask

# What instance_summary reads: lists load only these, never the stored workflow state.
SUMMARY_COLUMNS = (
    Instance.id,
    Instance.process_id,
    Instance.version_number,
    Instance.name,
    Instance.owner,
    Instance.amount,
    Instance.expected_close,
    Instance.lead_source,
    Instance.tier,
    Instance.stage,
    Instance.status,
    Instance.lost_reason,
    Instance.created_at,
    Instance.updated_at,
    Instance.completed_at,
    Instance.next_due_at,
    Instance.activity_at,
    Instance.escalated_at,
)


def instance_summary(inst: Instance | Row[*tuple[Any, ...]]) -> DealRow:
    """The deal's row as stored (an Instance, or a row of SUMMARY_COLUMNS: a list of
    hundreds reads faster without ORM objects); the use cases add what they derive from it
    (engine.usecases.outcomes.deal_summary)."""
    return {
        "instance_id": str(inst.id),
        "process_id": inst.process_id,
        "version": inst.version_number,
        "name": inst.name,
        "owner": inst.owner,
        "amount": float(inst.amount) if inst.amount is not None else None,
        "expected_close": inst.expected_close.isoformat() if inst.expected_close else None,
        "lead_source": inst.lead_source,
        "tier": inst.tier,
        "stage": inst.stage,
        "status": inst.status,
        "lost_reason": inst.lost_reason,
        "created_at": iso(inst.created_at),
        "updated_at": iso(inst.updated_at),
        "completed_at": iso(inst.completed_at),
        "next_due_at": iso(inst.next_due_at),
        "activity_at": iso(inst.activity_at),
        "escalated_at": iso(inst.escalated_at),
    }


def task_record(row: OpenTask) -> TaskRecord:
    return {
        "task_id": row.task_id,
        "instance_id": str(row.instance_id),
        "element_id": row.element_id,
        "name": row.name,
        "lane": row.lane,
        "assignee": row.assignee,
        "stage": row.stage,
        "due_at": iso(row.due_at),
        "form": row.form,
        "created_at": iso(row.created_at),
    }


def history_record(row: History) -> HistoryEntry:
    return {
        "at": iso(row.at),
        "actor": row.actor,
        "kind": row.kind,
        "element_id": row.element_id,
        "element_name": row.element_name,
        "task_id": row.task_id,
        "entered_at": iso(row.entered_at),
        "data": row.data,
    }
