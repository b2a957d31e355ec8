"""Messages' rows kept in step with a deal on every save (engine.store.changes): the kept
messages a deal now waits for are handed to it, and its message_subscription rows match
what it waits for.  The rules of sending are engine.usecases.messages's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.exceptions import WorkflowException
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from engine.core import runtime
from engine.core.messages import (
    Waiting,
    catalog,
    catch_message,
    deal_columns,
    failure_of,
    history_note,
    matches,
    message_event,
    note_task,
    waiting_for,
)
from engine.core.version import VersionRuntime
from engine.errors import ValidationError
from engine.store.models import Instance, MessageSubscription, ReceivedMessage

# A save hands over at most this many kept messages (a loop catching the same message).
MAX_KEPT_PER_SAVE = 20


@dataclass
class Kept:
    """Kept messages handed to an instance during one save."""

    rows: list[ReceivedMessage] = field(default_factory=list)
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)  # task id -> history data
    error: dict[str, Any] | None = None


def deliver_kept(
    s: Session, inst: Instance, vr: VersionRuntime, change: runtime.Change, *, now: datetime
) -> Kept:
    """Hand the instance the kept messages it now waits for, oldest first.  Called by
    save_change before it records the change; free for versions that catch no message, one
    indexed query for an instance that waits for one.  A failure while the engine runs on
    puts the deal in error (like a timer) instead of undoing the caller's change."""
    kept = Kept()
    if not catalog(vr).names:
        return kept
    wf = change.workflow
    taken: set[int] = set()
    for _ in range(MAX_KEPT_PER_SAVE):
        waiting = waiting_for(wf)
        if not waiting:
            break
        query = (
            select(ReceivedMessage)
            .where(
                ReceivedMessage.name.in_(sorted({w.name for w in waiting})),
                ReceivedMessage.delivered_at.is_(None),
                ReceivedMessage.expires_at > now,
            )
            .order_by(ReceivedMessage.received_at, ReceivedMessage.id)
        )
        if s.get_bind().dialect.name != "sqlite":
            query = query.with_for_update(skip_locked=True)
        rows = [r for r in s.scalars(query) if r.id not in taken]
        if not rows or runtime.has_error(wf):
            break
        delivered = _hand_over(inst, wf, change, waiting, rows, kept, now)
        if delivered is None:
            break
        taken.add(delivered.id)
        if kept.error is not None:
            break
    return kept


def _hand_over(
    inst: Instance,
    wf: runtime.SalesWorkflow,
    change: runtime.Change,
    waiting: list[Waiting],
    rows: list[ReceivedMessage],
    kept: Kept,
    now: datetime,
) -> ReceivedMessage | None:
    """Deliver the first kept message that matches the instance; the row, or None."""
    columns = deal_columns(inst)
    data = runtime.current_data(wf)
    for row in rows:
        correlation = row.correlation or {}
        target = correlation.get("instance_id")
        if target is not None and target != inst.id:
            continue
        if not matches(columns, data, correlation.get("fields") or {}):
            continue
        payload = row.data or {}
        for w in (w for w in waiting if w.name == row.name):
            try:
                event = message_event(w, payload)
            except ValidationError:
                continue
            if not w.task.task_spec.catches(w.task, event):
                continue
            row.delivered_at = now
            row.instance_id = inst.id  # None for a new instance: set after its flush
            kept.rows.append(row)
            try:
                catch_message(w, event, payload)
                change.engine_steps()
            except WorkflowException as exc:
                kept.error = failure_of(exc)
            kept.notes[note_task(w)] = history_note(row.name, row.message_id, None, payload)
            return row
    return None


def sync_subscriptions(
    s: Session,
    inst: Instance,
    vr: VersionRuntime,
    wf: runtime.SalesWorkflow,
    *,
    new: bool,
    kept: Kept,
) -> None:
    """Make the instance's message_subscription rows match what it waits for now (after
    save_change has flushed the instance, so a new one has its id)."""
    for row in kept.rows:
        row.instance_id = inst.id
    if not catalog(vr).names:
        return
    wanted = set()
    if inst.status == "running":
        wanted = {(w.name, w.element_id) for w in waiting_for(wf)}
    have: dict[tuple[str, str], int] = {}
    stale = []
    if not new:
        rows = s.execute(
            select(
                MessageSubscription.id, MessageSubscription.name, MessageSubscription.element_id
            ).where(MessageSubscription.instance_id == inst.id)
        )
        for r in rows:
            key = (r.name, r.element_id)
            if key in wanted and key not in have:
                have[key] = r.id
            else:
                stale.append(r.id)
    if stale:
        s.execute(delete(MessageSubscription).where(MessageSubscription.id.in_(stale)))
    fresh = [
        {"instance_id": inst.id, "name": name, "element_id": element}
        for name, element in sorted(wanted - set(have))
    ]
    if fresh:
        s.execute(insert(MessageSubscription), fresh)
