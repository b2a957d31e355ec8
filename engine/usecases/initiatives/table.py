"""An initiative's execution table against the database: the records the use cases return,
finding an initiative and its rows, and checking a row's fields where the database has a say
(is the owner an active user? are the elements in the process's current version?).  The
rules that need no database are engine.core.initiatives'."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.core.graph import Graph
from engine.core.initiatives import (
    check_elements,
    checked_date,
    checked_status,
    checked_text,
    element_ids,
    not_a_person,
    owner_name,
)
from engine.core.roles import role_key
from engine.errors import NotFoundError, ValidationError
from engine.store import deployments as versions
from engine.store import team_settings as settings
from engine.store.models import Initiative, InitiativeReview, InitiativeRow, User, UserRole
from engine.store.records import iso
from engine.usecases.charts import cached_graph
from engine.usecases.unit import Workspace

# --- records -------------------------------------------------------------------------------


def row_record(row: InitiativeRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "stage": row.stage,
        "task": row.task,
        "owner": row.owner,
        "planned_date": row.planned_date.isoformat() if row.planned_date else None,
        "actual_date": row.actual_date.isoformat() if row.actual_date else None,
        "status": row.status,
        "notes": row.notes,
        "contact": row.contact,
        "elements": list(row.elements or []),
        "flagged": row.flagged,
        "blocked_reviews": row.blocked_reviews,
        "updated_at": iso(row.updated_at),
        "updated_by": row.updated_by,
    }


def review_record(review: InitiativeReview) -> dict[str, Any]:
    return {
        "id": review.id,
        "at": iso(review.at),
        "by": review.by,
        "blocked_rows": list(review.blocked_rows or []),
        "notes": review.notes,
    }


def summary(ini: Initiative, status: str | None) -> dict[str, Any]:
    return {
        "id": ini.id,
        "name": ini.name,
        "process_id": ini.process_id,
        "lead": ini.lead,
        "effective_at": iso(ini.effective_at),
        "instance_id": str(ini.instance_id) if ini.instance_id is not None else None,
        "status": status,
        "created_at": iso(ini.created_at),
        "created_by": ini.created_by,
    }


# --- finding -------------------------------------------------------------------------------


def find(s: Session, initiative_id: int | str, *, lock: bool = False) -> Initiative:
    """The initiative (locked for this transaction with `lock`); NotFoundError for an id
    that names none."""
    try:
        iid = int(initiative_id)
    except (TypeError, ValueError):
        raise NotFoundError(f"no initiative with id '{initiative_id}'") from None
    bind = s.get_bind()
    ini = s.get(Initiative, iid, with_for_update=lock and bind.dialect.name != "sqlite")
    if ini is None:
        raise NotFoundError(f"no initiative with id '{initiative_id}'")
    return ini


def rows_of(s: Session, ini: Initiative) -> list[InitiativeRow]:
    """The initiative's rows in table order."""
    return list(
        s.scalars(
            select(InitiativeRow)
            .where(InitiativeRow.initiative_id == ini.id)
            .order_by(InitiativeRow.position, InitiativeRow.id)
        )
    )


def process_graph(space: Workspace, s: Session, process_id: str) -> tuple[Graph, int]:
    """The graph of the process's current version, and that version's number."""
    row = versions.version_row(s, process_id, None)
    return cached_graph(space, row), row.version


# --- checking a row's fields ---------------------------------------------------------------


def _owner(s: Session, value: Any) -> str:
    """Exactly one active user: a list, a team, a role or several names are refused."""
    name = owner_name(value)
    found = s.execute(select(User.active).where(User.username == name)).first()
    if found is not None:
        if not found[0]:
            raise ValidationError(f"user '{name}' is no longer active", field="owner")
        return name
    held = s.scalar(select(UserRole.role).where(UserRole.role == role_key(name)).limit(1))
    raise not_a_person(name, held_role=held is not None)


def _elements(space: Workspace, s: Session, process_id: str, value: Any) -> list[str]:
    if value is None:
        return []
    chosen = element_ids(value)
    graph, version = process_graph(space, s, process_id)
    check_elements(chosen, graph, process_id, version)
    return chosen


def apply(
    space: Workspace,
    s: Session,
    ini: Initiative,
    row: InitiativeRow,
    fields: Mapping[str, Any],
    actor: str,
) -> None:
    """Set the fields given on the row, each checked (ValidationError naming the first bad
    one), and note who changed it when."""
    if "stage" in fields:
        row.stage = checked_text(fields["stage"], "stage")
    if "task" in fields:
        row.task = checked_text(fields["task"], "task", required=True)
    if "owner" in fields:
        row.owner = _owner(s, fields["owner"])
    if "planned_date" in fields:
        row.planned_date = checked_date(fields["planned_date"], "planned_date")
    if "actual_date" in fields:
        actual = checked_date(fields["actual_date"], "actual_date")
        today = settings.sla_calendar(s).local_date(clock.now())
        if actual is not None and actual > today:
            raise ValidationError(
                "the actual date is when it was done: not after today", field="actual_date"
            )
        row.actual_date = actual
    if "status" in fields:
        row.status = checked_status(fields["status"])
        if row.status != "blocked":
            row.flagged = False
    if "notes" in fields:
        row.notes = checked_text(fields["notes"], "notes")
    if "contact" in fields:
        row.contact = checked_text(fields["contact"], "contact")
    if "elements" in fields:
        row.elements = _elements(space, s, ini.process_id, fields["elements"])
    row.updated_at = clock.now()
    row.updated_by = actor
